package system

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/payload"
	"allot.dev/allot/pkg/tree"
)

// Editing a system file's quota tree in place. People write these files
// by hand, with comments, blank lines and an order of their own; `allot
// group` and `allot user` change one entry or a few, so they change only
// those entries' lines and keep every other byte of the file.
//
// The file is read as a list of statements (a blank line, a comment line,
// a table header, a key and its value, which may span lines) by a scanner
// that knows TOML's strings and comments, so a "[[group]]" inside a string
// is not a header. An entry is a [[group]] or [[user]] header, the comment
// lines directly above it, and the statements of its table and subtables
// ([group.quota]). The edit is checked by reading the text it makes: it
// must describe exactly the system the command meant to write.

// LayoutError says why a system file's tree cannot be edited in place: the
// caller then writes the whole file in allot's layout (Marshal).
type LayoutError struct {
	Reason string
}

func (e *LayoutError) Error() string { return "cannot edit the file in place: " + e.Reason }

func layoutErrorf(format string, args ...any) error {
	return &LayoutError{Reason: fmt.Sprintf(format, args...)}
}

// EditTree returns data, a system file that reads as a system whose other
// parts are those of want, with its [[group]] and [[user]] entries changed
// to want's tree: the entries want does not have are removed with their
// lines, the ones whose fields differ are rewritten in allot's layout
// (the comment lines directly above them kept), the new ones are added
// after the entry before them in want's order, and every other byte is
// kept. A file with CRLF line endings keeps them. name is used in errors.
//
// It fails with a *LayoutError when the file's layout cannot be edited
// safely (the tree as inline tables or dotted keys, a subtable apart from
// its entry, a key not in lower case, entries in another order than
// want's), or when the text it made does not read as want: then nothing
// it made is returned. It reads data and the text it made with Parse.
func EditTree(name string, data []byte, want *System, cat *catalog.Catalog) ([]byte, error) {
	old, err := Parse(name, data, cat)
	if err != nil {
		return nil, err
	}
	out, err := editTree(data, &old.Tree, want)
	if err != nil {
		return nil, err
	}
	got, err := Parse(name, out, cat)
	if err != nil {
		return nil, layoutErrorf("the edited file does not read: %v", err)
	}
	// Marshal is the canonical form of a system: two systems are the
	// same when it writes the same bytes for both.
	var at time.Time
	if !bytes.Equal(got.Marshal(at), want.Marshal(at)) {
		return nil, layoutErrorf("the edited file does not read as the system meant")
	}
	return out, nil
}

// Kinds of statement.
const (
	stBlank = iota
	stComment
	stHeader
	stKeyValue
)

// statement is one statement of a TOML file: data[start:end] holds its
// lines, their line endings included (the last line of a file may have
// none).
type statement struct {
	kind       int
	start, end int
	array      bool     // a header of an array of tables, [[…]]
	key        []string // a header's or a key/value's key, unquoted
}

// entry is a [[group]] or [[user]] table in a file, by statement index:
// lead is the first of the comment lines directly above its header (the
// header when there are none), last its last header, key, or comment line
// right below them.
type entry struct {
	lead, header, last int
}

// editTree edits data as EditTree does, but for the final check: have is
// the tree data holds.
func editTree(data []byte, have *tree.Tree, want *System) ([]byte, error) {
	sts, err := scan(data)
	if err != nil {
		return nil, err
	}
	groups, users, err := entries(sts)
	if err != nil {
		return nil, err
	}
	if len(groups) != len(have.Groups) || len(users) != len(have.Users) {
		return nil, layoutErrorf("its groups or users are not all written as [[group]] and [[user]] tables")
	}
	eol := []byte("\n")
	if i := bytes.IndexByte(data, '\n'); i > 0 && data[i-1] == '\r' {
		eol = []byte("\r\n")
	}
	ed := &edits{sts: sts, eol: eol, deleted: make([]bool, len(sts)),
		repl: map[int][]byte{}, ins: map[int][][]byte{}}
	render := func(write func(*bytes.Buffer)) []byte {
		var b bytes.Buffer
		write(&b)
		return bytes.ReplaceAll(b.Bytes(), []byte("\n"), eol)
	}
	groupNode := func(g *tree.Group) node { return node{g.Path, render(func(b *bytes.Buffer) { writeGroup(b, g) })} }
	userNode := func(u *tree.User) node { return node{u.Name, render(func(b *bytes.Buffer) { writeUser(b, u) })} }
	oldGroups, newGroups := nodes(have.Groups, groupNode), nodes(want.Tree.Groups, groupNode)
	oldUsers, newUsers := nodes(have.Users, userNode), nodes(want.Tree.Users, userNode)
	// A first group goes above the users, as allot writes them, and
	// above the comments and blank lines before them; a first user at the
	// end.
	end := anchor{at: len(sts), after: true}
	firstGroup := end
	if len(users) > 0 {
		at := users[0].lead
		for at > 0 && (sts[at-1].kind == stBlank || sts[at-1].kind == stComment) {
			at--
		}
		firstGroup = anchor{at: at, after: true}
	}
	if err := ed.plan("group", groups, oldGroups, newGroups, firstGroup); err != nil {
		return nil, err
	}
	if err := ed.plan("user", users, oldUsers, newUsers, end); err != nil {
		return nil, err
	}
	out := ed.apply(data)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		out = bytes.TrimSuffix(out, eol)
	}
	return out, nil
}

// node is a group or a user: its path or name, and its table as allot
// writes it.
type node struct {
	key  string
	text []byte
}

// nodes returns the node of each group or user of list.
func nodes[T any](list []T, of func(*T) node) []node {
	ns := make([]node, len(list))
	for i := range list {
		ns[i] = of(&list[i])
	}
	return ns
}

// anchor is where new entries go: before statement at (len: the end of
// the file), after an entry or before one.
type anchor struct {
	at    int
	after bool
}

// edits are the changes to a file's statements: deleted ones, text that
// replaces statements (at the first of them), text inserted before a
// statement.
type edits struct {
	sts     []statement
	eol     []byte
	deleted []bool
	repl    map[int][]byte
	ins     map[int][][]byte
}

// plan changes the entries ents of one kind, whose nodes are have, into
// want: an entry in both stays where it is, rewritten if it changed; one
// only in have goes; one only in want goes after the entry before it in
// want, or at first when there is none.
func (ed *edits) plan(kind string, ents []entry, have, want []node, first anchor) error {
	index := make(map[string]int, len(have))
	for i, n := range have {
		index[n.key] = i
	}
	if len(ents) > 0 {
		first = anchor{at: ents[0].lead}
	}
	at := first
	kept := make([]bool, len(have))
	prev := -1
	for _, n := range want {
		i, ok := index[n.key]
		if !ok {
			t := slices.Concat(n.text, ed.eol)
			if at.after {
				t = slices.Concat(ed.eol, n.text)
			}
			ed.ins[at.at] = append(ed.ins[at.at], t)
			continue
		}
		if i < prev {
			return layoutErrorf("the %ss would change order", kind)
		}
		prev, kept[i] = i, true
		e := ents[i]
		if !bytes.Equal(have[i].text, n.text) {
			ed.repl[e.header] = n.text
			for j := e.header; j <= e.last; j++ {
				ed.deleted[j] = true
			}
		}
		at = anchor{at: e.last + 1, after: true}
	}
	for i, e := range ents {
		if !kept[i] {
			ed.remove(e)
		}
	}
	return nil
}

// remove deletes an entry and a blank line beside it, so that removing
// an entry between blank lines leaves one.
func (ed *edits) remove(e entry) {
	for j := e.lead; j <= e.last; j++ {
		ed.deleted[j] = true
	}
	blank := func(j int) bool { return j >= 0 && j < len(ed.sts) && ed.sts[j].kind == stBlank }
	before, after := e.lead-1, e.last+1
	switch {
	case blank(after) && (before < 0 || blank(before)):
		ed.deleted[after] = true
	case after == len(ed.sts) && blank(before):
		ed.deleted[before] = true
	}
}

// apply writes data with the edits made.
func (ed *edits) apply(data []byte) []byte {
	out := make([]byte, 0, len(data)+1024)
	put := func(t []byte) {
		// Text inserted after a last line without a line ending starts
		// on a line of its own.
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, ed.eol...)
		}
		out = append(out, t...)
	}
	for i := 0; i <= len(ed.sts); i++ {
		for _, t := range ed.ins[i] {
			put(t)
		}
		if i == len(ed.sts) {
			break
		}
		if t, ok := ed.repl[i]; ok {
			put(t)
		}
		if !ed.deleted[i] {
			out = append(out, data[ed.sts[i].start:ed.sts[i].end]...)
		}
	}
	return out
}

// entries finds the [[group]] and [[user]] entries of a file's statements.
func entries(sts []statement) (groups, users []entry, err error) {
	open := "" // the kind of the entry whose table is open, if any
	for i, st := range sts {
		// The TOML reader matches a field in any case, so that name and
		// Name in one table read as either: the editor edits only files
		// that spell their keys as allot does, which read one way.
		if slices.ContainsFunc(st.key, func(k string) bool { return k != strings.ToLower(k) }) {
			return nil, nil, layoutErrorf("a key is spelt %q, not in lower case", strings.Join(st.key, "."))
		}
		switch st.kind {
		case stKeyValue:
			if open == "group" {
				groups[len(groups)-1].last = i
			} else if open == "user" {
				users[len(users)-1].last = i
			}
		case stHeader:
			kind := st.key[0]
			if kind != "group" && kind != "user" {
				open = ""
				continue
			}
			list := &groups
			if kind == "user" {
				list = &users
			}
			switch {
			case len(st.key) == 1 && st.array:
				e := entry{lead: i, header: i, last: i}
				for e.lead > 0 && sts[e.lead-1].kind == stComment {
					e.lead--
				}
				*list = append(*list, e)
				open = kind
			case len(st.key) > 1 && open == kind:
				(*list)[len(*list)-1].last = i
			default:
				return nil, nil, layoutErrorf("a [%s] table stands apart from its [[%s]] entry", strings.Join(st.key, "."), kind)
			}
		}
	}
	// Comment lines right below an entry's last line are its own, unless
	// they are right above the next header.
	for _, list := range [][]entry{groups, users} {
		for i := range list {
			e := &list[i]
			j := e.last + 1
			for j < len(sts) && sts[j].kind == stComment {
				j++
			}
			if j == len(sts) || sts[j].kind != stHeader {
				e.last = j - 1
			}
		}
	}
	return groups, users, nil
}

// scan splits data into statements. It fails on what it does not
// understand: data has been read by the TOML parser, so that is a layout
// the editor does not handle, not a broken file.
func scan(data []byte) ([]statement, error) {
	var sts []statement
	for i := 0; i < len(data); {
		st := statement{start: i}
		j := skipSpace(data, i)
		var err error
		switch {
		case j == len(data) || data[j] == '\n' || data[j] == '\r':
			st.kind = stBlank
		case data[j] == '#':
			st.kind = stComment
		case data[j] == '[':
			st.kind = stHeader
			j, err = scanHeader(data, j, &st)
		default:
			st.kind = stKeyValue
			j, st.key, err = scanKeyValue(data, j)
		}
		if err != nil {
			return nil, err
		}
		j = skipComment(data, skipSpace(data, j))
		switch {
		case j == len(data):
		case data[j] == '\n':
			j++
		case data[j] == '\r' && j+1 < len(data) && data[j+1] == '\n':
			j += 2
		default:
			return nil, unread(data, j)
		}
		st.end = j
		sts = append(sts, st)
		i = j
	}
	return sts, nil
}

// unread is the error of a scanner that does not understand data at i.
func unread(data []byte, i int) error {
	return layoutErrorf("line %d is not one the editor reads", bytes.Count(data[:i], []byte("\n"))+1)
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t') {
		i++
	}
	return i
}

// skipComment passes over a comment at i, if there is one, to the end of
// its line.
func skipComment(data []byte, i int) int {
	if i < len(data) && data[i] == '#' {
		for i < len(data) && data[i] != '\n' && data[i] != '\r' {
			i++
		}
	}
	return i
}

// scanHeader reads the table header at i into st.
func scanHeader(data []byte, i int, st *statement) (int, error) {
	i++
	if i < len(data) && data[i] == '[' {
		st.array = true
		i++
	}
	i, key, err := scanKey(data, i)
	if err != nil {
		return 0, err
	}
	st.key = key
	close := "]"
	if st.array {
		close = "]]"
	}
	if !bytes.HasPrefix(data[i:], []byte(close)) {
		return 0, unread(data, i)
	}
	return i + len(close), nil
}

// scanKeyValue reads the key and value at i.
func scanKeyValue(data []byte, i int) (int, []string, error) {
	i, key, err := scanKey(data, i)
	if err != nil {
		return 0, nil, err
	}
	if i == len(data) || data[i] != '=' {
		return 0, nil, unread(data, i)
	}
	i, err = scanValue(data, skipSpace(data, i+1))
	return i, key, err
}

// scanKey reads a dotted key, and the white space around it. A quoted
// part with an escape in it is refused rather than unescaped.
func scanKey(data []byte, i int) (int, []string, error) {
	var key []string
	for {
		i = skipSpace(data, i)
		j := i
		switch {
		case i < len(data) && (data[i] == '"' || data[i] == '\''):
			q := data[i]
			j = i + 1
			for j < len(data) && data[j] != q && data[j] != '\n' && data[j] != '\\' {
				j++
			}
			if j == len(data) || data[j] != q {
				return 0, nil, unread(data, j)
			}
			key = append(key, string(data[i+1:j]))
			j++
		default:
			for j < len(data) && payload.KeyByte(data[j]) {
				j++
			}
			if j == i {
				return 0, nil, unread(data, i)
			}
			key = append(key, string(data[i:j]))
		}
		i = skipSpace(data, j)
		if i == len(data) || data[i] != '.' {
			return i, key, nil
		}
		i++
	}
}

// scanValue passes over the value at i: strings of the four kinds, arrays
// and inline tables (an array may span lines, with comments), anything
// else to the end of its line or a comment.
func scanValue(data []byte, i int) (int, error) {
	depth := 0
	for i < len(data) {
		switch c := data[i]; c {
		case '"', '\'':
			j, err := skipString(data, i)
			if err != nil {
				return 0, err
			}
			i = j
			continue
		case '[', '{':
			depth++
		case ']', '}':
			if depth--; depth < 0 {
				return 0, unread(data, i)
			}
		case '#':
			if depth == 0 {
				return i, nil
			}
			i = skipComment(data, i)
			continue
		case '\n', '\r':
			if depth == 0 {
				return i, nil
			}
		}
		i++
	}
	if depth > 0 {
		return 0, unread(data, i)
	}
	return i, nil
}

// skipString passes over the string that starts at i: basic or literal,
// on one line or several.
func skipString(data []byte, i int) (int, error) {
	q := data[i]
	delim := []byte{q, q, q}
	if bytes.HasPrefix(data[i:], delim) {
		for j := i + 3; j < len(data); {
			switch {
			case q == '"' && data[j] == '\\':
				j += 2
			case bytes.HasPrefix(data[j:], delim):
				// Up to two quotes before the closing ones belong to
				// the string.
				n := 3
				for j+n < len(data) && data[j+n] == q && n < 5 {
					n++
				}
				return j + n, nil
			default:
				j++
			}
		}
		return 0, unread(data, i)
	}
	for j := i + 1; j < len(data) && data[j] != '\n' && data[j] != '\r'; {
		switch {
		case q == '"' && data[j] == '\\':
			j += 2
		case data[j] == q:
			return j + 1, nil
		default:
			j++
		}
	}
	return 0, unread(data, i)
}
