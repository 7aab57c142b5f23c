package system

import (
	"bytes"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/payload"
	"allot.dev/allot/pkg/tomlfile"
)

// decode reads a system file into f within lim. A tree of 100,000 users
// costs the TOML library most of a second, so the tree at the end of a
// file, in the plain form allot writes it, is read by plainTree and only
// what comes before it by the library. Whatever plainTree does not take,
// and whatever the library finds wrong with the rest, is read again by the
// library as a whole: the errors, and the result, are the library's.
func decode(name string, data []byte, f *file, lim tomlfile.Limits) error {
	if err := tomlfile.Check(name, data, lim); err != nil {
		return err
	}
	if at, groups, users, ok := plainTree(data); ok {
		var head file
		// The head must not touch the tree's tables: the library would
		// have read them together.
		touches, err := tomlfile.DecodeHead(name, data[:at], &head, "group", "user")
		if err == nil && !touches {
			head.Groups, head.Users = groups, users
			*f = head
			return nil
		}
	}
	return tomlfile.DecodeLimits(name, data, f, lim)
}

// plainTree reads the [[group]] and [[user]] tables that end a system file,
// from the first line that is exactly "[[group]]" or "[[user]]" to the
// end. Each line must be empty, a comment of printable ASCII, a header
// "[[group]]", "[[user]]", or "[group.quota]" or "[user.quota]" right
// after its table's fields, or "key = value" with a known key of the
// table, once, and a plain value: a string of printable ASCII without
// quotes or backslashes, a whole number of at most 18 digits, true or
// false, a date (2026-01-02 or 2026-01-02T10:00:00Z) or an array of such
// strings on one line (["a", "b"]); a quota's key has no capital letter.
// It returns where the tree starts, and ok false for any other line: the
// TOML library reads the file then. If
// the line it starts at lies inside a multi-line string or array of what
// comes before, that part does not parse alone, and the library reads the
// whole.
func plainTree(data []byte) (at int, groups []groupTOML, users []userTOML, ok bool) {
	at = -1
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		if end < 0 {
			end = len(data) - i
		}
		if line := data[i : i+end]; string(line) == "[[group]]" || string(line) == "[[user]]" {
			at = i
			break
		}
		i += end + 1
	}
	if at < 0 {
		return 0, nil, nil, false
	}
	r := treeReader{}
	text := string(data[at:]) // every string read is a piece of it
	for len(text) > 0 {
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		if !r.line(line) {
			return 0, nil, nil, false
		}
	}
	return at, r.groups, r.users, true
}

// treeReader is the state of plainTree: the table the lines are in.
type treeReader struct {
	groups []groupTOML
	users  []userTOML
	cur    byte           // the table being read: 'g' a group, 'u' a user
	quota  map[string]int // the [group.quota] or [user.quota] being read
	seen   uint16         // the keys of the current table read, by bit
	lists  []string       // the strings of the arrays, in one array
}

// The keys of the tree's tables, by bit.
var groupKeys = [...]string{"path", "restrict", "features", "from", "until", "remind_days", "remind_every"}
var userKeys = [...]string{"name", "groups", "created_by", "paused", "restrict", "features", "from", "until"}

func (r *treeReader) line(line string) bool {
	switch {
	case line == "":
		return true
	case line[0] == '#':
		return printable(line[1:], true)
	case line == "[[group]]":
		r.groups = append(r.groups, groupTOML{})
		r.cur, r.quota, r.seen = 'g', nil, 0
		return true
	case line == "[[user]]":
		r.users = append(r.users, userTOML{})
		r.cur, r.quota, r.seen = 'u', nil, 0
		return true
	case line == "[group.quota]" || line == "[user.quota]":
		// Once, right after the fields of a table of its kind.
		group := line == "[group.quota]"
		if r.quota != nil || group && r.cur != 'g' || !group && r.cur != 'u' {
			return false
		}
		r.quota = map[string]int{}
		if group {
			r.groups[len(r.groups)-1].Quota = r.quota
		} else {
			r.users[len(r.users)-1].Quota = r.quota
		}
		return true
	}
	key, value, found := strings.Cut(line, " = ")
	if !found || !payload.BareKey(key) {
		return false
	}
	if r.quota != nil {
		// No capital: the library refuses two keys of the tree's quotas
		// that differ only in case.
		if strings.ContainsFunc(key, func(c rune) bool { return c >= 'A' && c <= 'Z' }) {
			return false
		}
		n, ok := number(value)
		if _, dup := r.quota[key]; dup || !ok {
			return false
		}
		r.quota[key] = n
		return true
	}
	switch r.cur {
	case 'g':
		return r.groupField(&r.groups[len(r.groups)-1], key, value)
	case 'u':
		return r.userField(&r.users[len(r.users)-1], key, value)
	}
	return false
}

// first reports whether key, the i-th of its table's keys, is read for
// the first time.
func (r *treeReader) first(i int) bool {
	if i < 0 || r.seen&(1<<i) != 0 {
		return false
	}
	r.seen |= 1 << i
	return true
}

func (r *treeReader) groupField(g *groupTOML, key, value string) (ok bool) {
	if !r.first(slices.Index(groupKeys[:], key)) {
		return false
	}
	switch key {
	case "path":
		g.Path, ok = plainString(value)
	case "restrict":
		g.Restrict, ok = boolean(value)
	case "features":
		g.Features, ok = r.list(value)
	case "from":
		g.From, ok = date(value)
	case "until":
		g.Until, ok = date(value)
	case "remind_days":
		g.RemindDays, ok = number(value)
	case "remind_every":
		g.RemindEvery, ok = plainString(value)
	}
	return ok
}

func (r *treeReader) userField(u *userTOML, key, value string) (ok bool) {
	if !r.first(slices.Index(userKeys[:], key)) {
		return false
	}
	switch key {
	case "name":
		u.Name, ok = plainString(value)
	case "groups":
		u.Groups, ok = r.list(value)
	case "created_by":
		u.CreatedBy, ok = plainString(value)
	case "paused":
		u.Paused, ok = boolean(value)
	case "restrict":
		u.Restrict, ok = boolean(value)
	case "features":
		u.Features, ok = r.list(value)
	case "from":
		u.From, ok = date(value)
	case "until":
		u.Until, ok = date(value)
	}
	return ok
}

// printable reports whether s is printable ASCII, and tabs if tab.
func printable(s string, tab bool) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 || c > 0x7e) && !(tab && c == '\t') {
			return false
		}
	}
	return true
}

// plainString reads "…" of printable ASCII without quotes or backslashes.
func plainString(v string) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	s := v[1 : len(v)-1]
	if !printable(s, false) || strings.ContainsAny(s, `"\`) {
		return "", false
	}
	return s, true
}

// number reads a whole number: 0, or 1 to 18 digits without a leading 0.
func number(v string) (int, bool) {
	if v == "" || len(v) > 18 || len(v) > 1 && v[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
		n = n*10 + int(v[i]-'0')
	}
	return n, true
}

func boolean(v string) (bool, bool) {
	switch v {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// date reads a date, 2026-01-02, or a date-time in UTC,
// 2026-01-02T10:00:00Z, of the years 1970 to 9999.
func date(v string) (time.Time, bool) {
	layout := time.DateOnly
	if len(v) == len("2006-01-02T15:04:05Z") {
		layout = "2006-01-02T15:04:05Z"
	} else if len(v) != len(time.DateOnly) {
		return time.Time{}, false
	}
	if v[0] < '1' || v[0] > '9' {
		return time.Time{}, false
	}
	t, err := time.Parse(layout, v)
	if err != nil || t.Year() < 1970 {
		return time.Time{}, false
	}
	return t, true
}

// list reads ["a", "b"] or [] into a piece of one array of all the lists.
func (r *treeReader) list(v string) ([]string, bool) {
	if v == "[]" {
		return []string{}, true
	}
	if len(v) < 4 || v[0] != '[' || v[len(v)-1] != ']' {
		return nil, false
	}
	start := len(r.lists)
	for item := range strings.SplitSeq(v[1:len(v)-1], ", ") {
		s, ok := plainString(item)
		if !ok {
			return nil, false
		}
		if len(r.lists) == cap(r.lists) {
			more := make([]string, 0, max(1024, 2*(len(r.lists)-start)))
			r.lists = append(more, r.lists[start:]...)
			start = 0
		}
		r.lists = append(r.lists, s)
	}
	return r.lists[start:len(r.lists):len(r.lists)], true
}
