package tomlfile

import (
	"encoding"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// The TOML library decodes a table by ranging over a Go map, so of two
// mistyped fields it reports one or the other at random: a person fixing
// a file would see its errors change from run to run. firstTypeError finds
// the one to report, the first in the file, with the library's own words:
// it decodes the file again, key by key in the order the file gives them
// (a table's keys; an array's elements in turn), each leaf by the library.

// firstTypeError returns the first error the library meets decoding data
// into a value of t's type in the file's order, or nil if it meets none or
// data does not parse; and where it is, as "server[2].name" (the
// library's own errors say "server.name", and the line of the last).
func firstTypeError(data string, t reflect.Type) (error, string) {
	var root map[string]toml.Primitive
	md, err := toml.Decode(data, &root)
	if err != nil {
		return nil, ""
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, ""
	}
	o := &orderer{md: md, keys: map[string][]string{}, seen: map[string]bool{}, fields: map[reflect.Type][]field{}}
	// The library lists the keys in the file's order, a table's before
	// what is in it, and an array of tables' name again before each of
	// its tables: so each table's keys, each element of an array its own.
	elems := map[string]int{} // an array of tables' elements so far
	for _, k := range md.Keys() {
		at := "" // where k's parent is, its arrays' elements numbered
		for j := range k {
			next := child(at, k[j])
			if !o.seen[next] {
				o.seen[next] = true
				o.keys[at] = append(o.keys[at], k[j])
			}
			at = next
			if md.Type(k[:j+1]...) == "ArrayHash" {
				if j == len(k)-1 {
					elems[at]++
				}
				at = element(at, elems[at]-1)
			}
		}
	}
	err = o.table("", "", root, t)
	return err, o.field
}

// child and element name where a table is in a file: a key in a table,
// an element of an array.
func child(at, key string) string     { return at + "\x00" + key }
func element(at string, i int) string { return at + "\x00#" + strconv.Itoa(i) }

type orderer struct {
	md   toml.MetaData
	keys map[string][]string // each table's keys, in the file's order
	seen map[string]bool     // the keys listed there, by where they are
	// fields are the fields of each struct type met so far.
	fields map[reflect.Type][]field
	field  string // where the error is
}

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	tomlUnmarshaler = reflect.TypeFor[toml.Unmarshaler]()
)

// node decodes p, the value at at, which people call field, into a new
// value of type t, and returns the first error.
func (o *orderer) node(at, field string, p toml.Primitive, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pt := reflect.PointerTo(t)
	whole := func() error {
		err := o.md.PrimitiveDecode(p, reflect.New(t).Interface())
		if err != nil && o.field == "" {
			o.field = field
		}
		return err
	}
	if pt.Implements(textUnmarshaler) || pt.Implements(tomlUnmarshaler) {
		return whole()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		if t.Kind() == reflect.Map && t.Key().Kind() != reflect.String {
			return whole()
		}
		var m map[string]toml.Primitive
		if err := o.md.PrimitiveDecode(p, &m); err != nil {
			return whole() // not a table: the library says so
		}
		return o.table(at, field, m, t)
	case reflect.Slice, reflect.Array:
		if e := t.Elem(); e.Kind() != reflect.Struct && e.Kind() != reflect.Map && e.Kind() != reflect.Pointer {
			return whole() // a list of values, decoded in order
		}
		var list []toml.Primitive
		if err := o.md.PrimitiveDecode(p, &list); err != nil {
			return whole()
		}
		if t.Kind() == reflect.Array && len(list) > t.Len() {
			return whole()
		}
		for i, e := range list {
			if err := o.node(element(at, i), field+"["+strconv.Itoa(i+1)+"]", e, t.Elem()); err != nil {
				return err
			}
		}
		return nil
	}
	return whole()
}

// table decodes the table m at at into a new value of struct or map
// type t, key by key in the file's order, and returns the first error.
func (o *orderer) table(at, field string, m map[string]toml.Primitive, t reflect.Type) error {
	names := slices.Clip(o.keys[at])
	for name := range m { // any the order missed, after it, sorted
		if !o.seen[child(at, name)] {
			names = append(names, name)
		}
	}
	slices.Sort(names[len(o.keys[at]):])
	for _, name := range names {
		p, ok := m[name]
		if !ok {
			continue
		}
		var ft reflect.Type
		if t.Kind() == reflect.Map {
			ft = t.Elem()
		} else if f, ok := o.fieldOf(t, name); ok {
			ft = f
		} else {
			continue // an unknown field, reported after decoding
		}
		sub := name
		if field != "" {
			sub = field + "." + name
		}
		if err := o.node(child(at, name), sub, p, ft); err != nil {
			return err
		}
	}
	return nil
}

// fieldOf returns the type of the field of struct t that the library
// decodes key into: the field of that name, else the first whose name
// matches in any case, among the fields the library sees (fields).
func (o *orderer) fieldOf(t reflect.Type, key string) (reflect.Type, bool) {
	fs, ok := o.fields[t]
	if !ok {
		fs = fields(t)
		o.fields[t] = fs
	}
	var fold reflect.Type
	for _, f := range fs {
		if f.name == key {
			return f.typ, true
		}
		if fold == nil && strings.EqualFold(f.name, key) {
			fold = f.typ
		}
	}
	return fold, fold != nil
}

// field is a field of a struct as the library sees it.
type field struct {
	name   string // its toml tag's name, else its Go name
	tagged bool
	index  []int
	typ    reflect.Type
}

// fields returns the fields of struct t the library decodes into, in its
// order, as its typeFields finds them: those of embedded structs without
// a tag too, and of each name the one Go's rules for embedding make
// dominant (a tagged one if it is alone at its depth), none if two are.
func fields(t reflect.Type) []field {
	var all []field
	visited := map[reflect.Type]bool{}
	for next := []field{{typ: t}}; len(next) > 0; {
		current := next
		next = nil
		count := map[reflect.Type]int{}
		for _, f := range current {
			count[f.typ]++
		}
		for _, f := range current {
			if visited[f.typ] {
				continue
			}
			visited[f.typ] = true
			for i := range f.typ.NumField() {
				sf := f.typ.Field(i)
				if !sf.IsExported() && !sf.Anonymous {
					continue
				}
				tag := sf.Tag.Get("toml")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				index := append(slices.Clip(f.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					all = append(all, field{name, tagged, index, ft})
					if count[f.typ] > 1 { // twice: a conflict
						all = append(all, all[len(all)-1])
					}
					continue
				}
				next = append(next, field{index: index, typ: ft})
			}
		}
	}
	// Of each name, the dominant field: the shallowest, and of those the
	// tagged one, if one alone is, or the only one.
	slices.SortStableFunc(all, func(a, b field) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return len(a.index) - len(b.index)
	})
	var out []field
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].name == all[i].name {
			j++
		}
		same := all[i:j]
		for k := range same {
			if len(same[k].index) > len(same[0].index) {
				same = same[:k]
				break
			}
		}
		var tagged []field
		for _, f := range same {
			if f.tagged {
				tagged = append(tagged, f)
			}
		}
		switch {
		case len(tagged) == 1:
			out = append(out, tagged[0])
		case len(tagged) == 0 && len(same) == 1:
			out = append(out, same[0])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b field) int { return slices.Compare(a.index, b.index) })
	return out
}
