package bundle

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"allot.dev/allot/pkg/payload"
	"allot.dev/allot/pkg/tree"
)

// A bundle's tree is most of it: ten thousand [[group]] and [[user]]
// sections of two or three lines each. Read through the payload's sections
// and tables, they cost more than the rest of the verify. So parse first
// tries parseSpan, which reads the one run of tree sections that
// writeTree writes straight into the tree, with the payload's own field
// reader, and the rest of the bundle as usual. It takes only what it is
// sure of: any line, section, field or total it does not expect, and the
// whole bundle is read again by the general path, whose result and errors
// are the bundle's. FuzzSpan holds the two paths to the same result.
//
// Both paths read pieces of one copy of the payload, and what the span
// reader does before it gives up is small: a first pass over the run's
// lines counts its sections and fields against the payload's limits and
// refuses comments; the rest of the payload is read around the run
// (payload.ParseHoleFunc), its lines numbered as in the whole; then the
// run. Once all of it is read, the bundle is the general path's, field
// for field, and so is any error of its sections or its validation:
// the general path is not run again to find the same error.

// bigRun is the size of a run, in groups and users, whose tree parseSpan
// lets go of before the general path reads a payload it left.
const bigRun = 1000

// spanOn switches parseSpan on; tests switch it off to compare.
var spanOn = true

// errSpan is any reason for parseSpan to leave the bundle to the general
// path; it never reaches a caller.
var errSpan = errors.New("not a plain tree span")

// parseSpan reads a bundle whose tree is one run of sections as writeTree
// writes them. ok is false if it leaves the bundle to the general path.
func parseSpan(text string) (b *Bundle, err error, ok bool) {
	from := spanStart(text)
	if from < 0 {
		return nil, nil, false
	}
	var r spanReader
	defer r.release()
	n, ok := r.lines(text[from:])
	if !ok {
		return nil, nil, false
	}
	to := from + n
	perr := payload.ParseHoleFunc(text, from, to, func(secs []payload.Section) error {
		// The limits count the whole payload, the tree's part too; and
		// the tree is read in one piece only if no part of it is
		// elsewhere.
		fields, values := 0, 0
		for i := range secs {
			if i > 0 && isTreeSection(secs[i].Name) {
				return errSpan
			}
			fields += len(secs[i].Fields)
			for j := range secs[i].Fields {
				if v := &secs[i].Fields[j].Val; v.Kind == payload.Strings {
					values += len(v.List)
				}
			}
		}
		// The run, read in full: if the span reader takes all of it,
		// every section of it passes the general path too, and nothing
		// of it bears on the others. So from here the bundle, or its
		// error, is the general path's, line numbers and all.
		tr, ok := r.read(text[from:to])
		if !ok || len(secs)-1+r.secs > payload.MaxSections || fields+r.fields > payload.MaxFields ||
			values+r.fr.ArrayValues()+r.values > payload.MaxArrayValues {
			// A run read this far, up to its last line, and left: the
			// general path reads it all again, and a device has 20 MiB
			// for both. What the span reader made is let go first.
			if r.groups+r.users > bigRun {
				tr = nil
				runtime.GC()
			}
			return errSpan
		}
		b, err = parseSectionsOf(secs, tr)
		return nil
	})
	if perr != nil {
		return nil, nil, false
	}
	return b, err, true
}

func isTreeSection(name string) bool {
	return name == "group" || name == "user" || name == "group.quota" || name == "user.quota"
}

// spanStart returns where the first line "[[group]]" or "[[user]]" of
// text starts, or -1. It looks at each array header in turn: a bundle has
// a few before its tree.
func spanStart(text string) int {
	for off := 0; ; {
		i := strings.Index(text[off:], "\n[[")
		if i < 0 {
			return -1
		}
		at := off + i + 1
		if h := text[at:]; strings.HasPrefix(h, "[[group]]\n") || strings.HasPrefix(h, "[[user]]\n") {
			return at
		}
		off = at
	}
}

// spanReader reads a run of tree sections.
type spanReader struct {
	ends          *[]int32 // where the run's lines end, from spanEnds
	secs, fields  int      // what the run holds, for the payload's limits
	groups, users int
	fr            payload.FieldReader
	lists         []string // the arrays plain reads
	values        int      // and how many strings they hold
	f             payload.Field
	state         spanState
	have          uint16 // the keys of the current section read so far
	quotas        int    // the types of the current quota table
}

type spanState int

const (
	inNone spanState = iota
	inGroup
	inGroupQuota
	inUser
	inUserQuota
)

// The keys of a group or user section, as bits of spanReader.have.
const (
	keyPath = 1 << iota
	keyName
	keyGroups
	keyCreatedBy
	keyPaused
	keyRestrict
	keyFeatures
	keyFrom
	keyUntil
)

// lines finds the run of tree sections data starts with, up to the first
// other header or the end, and returns its length. It records where each
// of its lines ends, counts its sections, groups, users and fields, and
// refuses a run past the payload's limits or the tree's, a comment, and a
// line too long.
func (r *spanReader) lines(data string) (n int, ok bool) {
	if int64(len(data)) >= 1<<31 {
		return 0, false
	}
	r.ends, _ = spanEnds.Get().(*[]int32)
	if r.ends == nil {
		r.ends = new([]int32)
	}
	// The counts and the ends are kept in locals while the loop runs: a
	// bundle's tree is tens of thousands of lines.
	ends := (*r.ends)[:0]
	var secs, fields, groups, users int
	n, ok = -1, true
scan:
	for off := 0; off < len(data); {
		i := strings.IndexByte(data[off:], '\n')
		if i < 0 || i > payload.MaxLineLen {
			ok = false
			break
		}
		switch line := data[off : off+i]; {
		case len(line) == 0:
		case line[0] == '#':
			ok = false
			break scan
		case line[0] == '[':
			switch line {
			case "[[group]]":
				groups++
			case "[[user]]":
				users++
			case "[group.quota]", "[user.quota]":
			default: // the run ends
				n = off
				break scan
			}
			secs++
		default:
			fields++
		}
		// Blank lines cost the general path nothing: the ends recorded
		// are as many as a payload within its limits has lines.
		if groups > MaxGroups || users > MaxUsers || secs > payload.MaxSections ||
			fields > payload.MaxFields || len(ends) == maxSpanLines {
			ok = false
			break
		}
		ends = append(ends, int32(off+i))
		off += i + 1
	}
	*r.ends = ends
	r.secs, r.fields, r.groups, r.users = secs, fields, groups, users
	if !ok {
		return 0, false
	}
	if n < 0 {
		n = len(data)
	}
	return n, secs > 0
}

// release gives back what lines took.
func (r *spanReader) release() {
	if r.ends != nil {
		spanEnds.Put(r.ends)
		r.ends = nil
	}
}

// read reads the run lines found, text, into a tree whose strings are
// pieces of it.
func (r *spanReader) read(text string) (_ *tree.Tree, ok bool) {
	tr := &tree.Tree{Groups: make([]tree.Group, 0, r.groups), Users: make([]tree.User, 0, r.users)}
	if !utf8.ValidString(text) {
		return nil, false
	}
	start := 0
	for _, end := range *r.ends {
		line := text[start:end]
		start = int(end) + 1
		switch {
		case line == "":
		case line[0] == '[':
			if !r.done(tr) {
				return nil, false
			}
			switch {
			case line == "[[group]]":
				// The arrays are as long as the headers counted, and zero.
				tr.Groups = tr.Groups[:len(tr.Groups)+1]
				r.state = inGroup
			case line == "[[user]]":
				tr.Users = tr.Users[:len(tr.Users)+1]
				r.state = inUser
			case line == "[group.quota]" && r.state == inGroup && tr.Groups[len(tr.Groups)-1].Quota == nil:
				tr.Groups[len(tr.Groups)-1].Quota = map[string]int{}
				r.state = inGroupQuota
			case line == "[user.quota]" && r.state == inUser && tr.Users[len(tr.Users)-1].Quota == nil:
				tr.Users[len(tr.Users)-1].Quota = map[string]int{}
				r.state = inUserQuota
			default:
				return nil, false
			}
			r.have, r.quotas = 0, 0
		case r.state == inNone:
			return nil, false
		case r.plain(tr, line):
		default:
			if r.fr.Field(&r.f, line) != nil || !r.field(tr) {
				return nil, false
			}
		}
	}
	return tr, r.done(tr) && r.state != inNone
}

// maxSpanLines bounds the lines read records: a header and a blank line
// for each section, and a line for each field, of a payload within the
// payload's limits.
const maxSpanLines = 2*payload.MaxSections + payload.MaxFields

// spanEnds are the arrays read records the ends of lines in.
var spanEnds sync.Pool

// done checks the section just read: a group has its path, a user its
// name, a quota table at least one type.
func (r *spanReader) done(tr *tree.Tree) bool {
	switch r.state {
	case inGroup:
		return r.have&keyPath != 0
	case inUser:
		return r.have&keyName != 0
	case inGroupQuota, inUserQuota:
		return r.quotas > 0
	}
	return true
}

// field puts r.f into the section being read, as the general path's
// getters would: a known key, once, of its kind.
func (r *spanReader) field(tr *tree.Tree) bool {
	f := &r.f
	switch r.state {
	case inGroupQuota, inUserQuota:
		var q map[string]int
		if r.state == inGroupQuota {
			q = tr.Groups[len(tr.Groups)-1].Quota
		} else {
			q = tr.Users[len(tr.Users)-1].Quota
		}
		if _, dup := q[f.Key]; dup || f.Val.Kind != payload.Int || f.Val.Int < 0 || f.Val.Int > 1<<31-1 ||
			r.quotas == payload.MaxSectionFields {
			return false
		}
		q[f.Key] = int(f.Val.Int)
		r.quotas++
		return true
	case inGroup:
		g := &tr.Groups[len(tr.Groups)-1]
		if f.Key == "path" {
			return r.take(keyPath, payload.String) && set(&g.Path, f.Val.Str)
		}
		return r.limit(&g.Restrict, &g.Limits)
	case inUser:
		u := &tr.Users[len(tr.Users)-1]
		switch f.Key {
		case "name":
			return r.take(keyName, payload.String) && set(&u.Name, f.Val.Str)
		case "groups":
			return r.take(keyGroups, payload.Strings) && set(&u.Groups, f.Val.List)
		case "created_by":
			return r.take(keyCreatedBy, payload.String) && set(&u.CreatedBy, f.Val.Str)
		case "paused":
			return r.take(keyPaused, payload.Bool) && set(&u.Paused, f.Val.Bool)
		}
		return r.limit(&u.Restrict, &u.Limits)
	}
	return false
}

// limit reads the fields a group and a user share: restrict, features,
// from and until.
func (r *spanReader) limit(restrict *bool, l *tree.Limits) bool {
	f := &r.f
	switch f.Key {
	case "restrict":
		return r.take(keyRestrict, payload.Bool) && set(restrict, f.Val.Bool)
	case "features":
		return r.take(keyFeatures, payload.Strings) && set(&l.Features, f.Val.List)
	case "from":
		return r.take(keyFrom, payload.Time) && set(&l.From, f.Val.Time)
	case "until":
		return r.take(keyUntil, payload.Time) && set(&l.Until, f.Val.Time)
	}
	return false
}

// plain reads, faster than the field reader, the lines most of a tree is
// made of: a group's path, a user's name and a user's one group, quoted
// strings that read as themselves (payload.Plain; the run is UTF-8), the
// first of their key in their section. It reads them as the field reader
// and field would; any other line it leaves to them and reports false.
func (r *spanReader) plain(tr *tree.Tree, line string) bool {
	switch r.state {
	case inGroup:
		if s, ok := between(line, `path = "`, `"`); ok && payload.Plain(s) && r.first(keyPath) {
			tr.Groups[len(tr.Groups)-1].Path = s
			return true
		}
	case inUser:
		u := &tr.Users[len(tr.Users)-1]
		if s, ok := between(line, `name = "`, `"`); ok && payload.Plain(s) && r.first(keyName) {
			u.Name = s
			return true
		}
		if s, ok := between(line, `groups = ["`, `"]`); ok && payload.Plain(s) && r.first(keyGroups) {
			// As the field reader's arrays, a piece of one growing array
			// that cannot grow into the next, and a value of the
			// payload's limit (parseSpan counts them).
			if len(r.lists) == cap(r.lists) {
				r.lists = make([]string, 0, 256)
			}
			r.lists = append(r.lists, s)
			r.values++
			u.Groups = r.lists[len(r.lists)-1 : len(r.lists) : len(r.lists)]
			return true
		}
	}
	return false
}

// between returns what lies in line between prefix and suffix, if line
// starts with the one and ends with the other.
func between(line, prefix, suffix string) (string, bool) {
	if len(line) < len(prefix)+len(suffix) || line[:len(prefix)] != prefix || line[len(line)-len(suffix):] != suffix {
		return "", false
	}
	return line[len(prefix) : len(line)-len(suffix)], true
}

// take reports whether r.f is the first field of its key in the section,
// of kind k, and marks it read.
func (r *spanReader) take(key uint16, k payload.Kind) bool {
	return r.f.Val.Kind == k && r.first(key)
}

// first reports whether the section has no field of key yet, and marks
// it read.
func (r *spanReader) first(key uint16) bool {
	if r.have&key != 0 {
		return false
	}
	r.have |= key
	return true
}

func set[T any](p *T, v T) bool {
	*p = v
	return true
}
