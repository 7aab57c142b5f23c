// Package payload writes and reads the payloads of allot's signed documents
// (certificates and bundles): TOML restricted to the one layout allot
// writes, so that a payload has one reading, a reader is small and fast
// enough for a device's start-up, and any TOML parser can still read it.
//
// The subset, line by line (LF only, UTF-8):
//
//	# comment                       a comment line
//	                                an empty line
//	[name] or [name.sub]            a table header
//	[[name]] or [[name.sub]]        an array-of-tables header
//	key = value                     one space either side of '='
//
// Keys are [A-Za-z0-9_-]+. A value is a basic string ("…" with the escapes
// \" \\ \n \t \uXXXX), an integer (-?[0-9]+, no leading zeros), true or
// false, a UTC date-time (2026-11-22T10:00:00Z), or an array of basic
// strings on one line (["a", "b"], [] when empty). Anything else is an
// error naming the line.
package payload

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"allot.dev/allot/pkg/errclass"
)

// ErrSyntax reports a payload outside the subset.
var ErrSyntax = errclass.Sentinel(errclass.Input, "payload syntax")

// Kind is the type of a value.
type Kind byte

// Value kinds.
const (
	String Kind = iota + 1
	Int
	Bool
	Time
	Strings
)

// kindNames is an array, not a map, so that package initialisation does no
// work: a device binary pays for every init on every start.
var kindNames = [...]string{String: "a string", Int: "an integer", Bool: "true or false", Time: "a date-time", Strings: "an array of strings"}

// Value is a parsed value.
type Value struct {
	Kind Kind
	Str  string
	Int  int64
	Bool bool
	Time time.Time
	List []string
}

// Field is a key and its value.
type Field struct {
	Key  string
	Val  Value
	Line int
}

// Section is the top level (Name "") or a table or array-of-tables element,
// with its fields in order.
type Section struct {
	Name   string
	Array  bool
	Line   int
	Fields []Field
}

// MaxLineLen bounds a line; base64 certificate documents are the longest.
const MaxLineLen = 64 << 10

// Parse splits a payload into sections. The first section is the top level.
func Parse(data []byte) ([]Section, error) {
	// One allocation for every section: a bundle may carry a quota tree
	// of thousands, and growing the slice copied them over and again.
	secs := make([]Section, 1, 1+bytes.Count(data, []byte("\n[")))
	secs[0] = Section{Line: 1}
	cur := &secs[0]
	var seen map[string]bool // cur's keys, once it has too many to scan
	n := 0
	for len(data) > 0 {
		n++
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return nil, fmt.Errorf("%w: line %d: does not end with a newline", ErrSyntax, n)
		}
		line := data[:i]
		data = data[i+1:]
		if len(line) > MaxLineLen {
			return nil, fmt.Errorf("%w: line %d: longer than %d bytes", ErrSyntax, n, MaxLineLen)
		}
		if !utf8.Valid(line) {
			what := ""
			if k, _, ok := bytes.Cut(line, []byte(" = ")); ok && validKey(string(k)) {
				what = string(k) + ": "
			}
			return nil, fmt.Errorf("%w: line %d: %snot UTF-8", ErrSyntax, n, what)
		}
		switch {
		case len(line) == 0 || line[0] == '#':
			continue
		case line[0] == '[':
			name, array, err := header(line)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrSyntax, n, err)
			}
			secs = append(secs, Section{Name: name, Array: array, Line: n})
			cur = &secs[len(secs)-1]
			seen = nil
		default:
			f, err := field(line)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrSyntax, n, err)
			}
			f.Line = n
			// Past a few fields, a section's keys are looked up in a map:
			// scanning them for every key would be quadratic.
			if seen == nil && len(cur.Fields) >= 16 {
				seen = make(map[string]bool, 2*len(cur.Fields))
				for _, g := range cur.Fields {
					seen[g.Key] = true
				}
			}
			dup := seen[f.Key]
			if seen == nil {
				for _, g := range cur.Fields {
					dup = dup || g.Key == f.Key
				}
			} else {
				seen[f.Key] = true
			}
			if dup {
				return nil, fmt.Errorf("%w: line %d: %s is defined twice", ErrSyntax, n, f.Key)
			}
			cur.Fields = append(cur.Fields, f)
		}
	}
	return secs, nil
}

func header(line []byte) (string, bool, error) {
	s := string(line)
	array := strings.HasPrefix(s, "[[")
	var name string
	if array {
		if !strings.HasSuffix(s, "]]") || len(s) < 5 {
			return "", false, errors.New("bad array-of-tables header")
		}
		name = s[2 : len(s)-2]
	} else {
		if !strings.HasSuffix(s, "]") || len(s) < 3 {
			return "", false, errors.New("bad table header")
		}
		name = s[1 : len(s)-1]
	}
	for _, part := range strings.Split(name, ".") {
		if !validKey(part) {
			return "", false, fmt.Errorf("bad table name %q", name)
		}
	}
	return name, array, nil
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func field(line []byte) (Field, error) {
	i := bytes.Index(line, []byte(" = "))
	if i <= 0 {
		return Field{}, errors.New(`want "key = value"`)
	}
	key := string(line[:i])
	if !validKey(key) {
		return Field{}, fmt.Errorf("bad key %q", key)
	}
	v, err := value(line[i+3:])
	if err != nil {
		return Field{}, fmt.Errorf("%s: %v", key, err)
	}
	return Field{Key: key, Val: v}, nil
}

func value(b []byte) (Value, error) {
	if len(b) == 0 {
		return Value{}, errors.New("no value")
	}
	switch c := b[0]; {
	case c == '"':
		s, rest, err := basicString(b)
		if err != nil {
			return Value{}, err
		}
		if len(rest) != 0 {
			return Value{}, errors.New("text after the string")
		}
		return Value{Kind: String, Str: s}, nil
	case c == '[':
		return stringArray(b)
	case string(b) == "true" || string(b) == "false":
		return Value{Kind: Bool, Bool: string(b) == "true"}, nil
	case len(b) == len("2006-01-02T15:04:05Z") && b[4] == '-':
		t, err := time.Parse(time.RFC3339, string(b))
		if err != nil || !bytes.HasSuffix(b, []byte("Z")) {
			return Value{}, errors.New("bad date-time: want 2006-01-02T15:04:05Z")
		}
		if !ValidTime(t) {
			return Value{}, fmt.Errorf("date-time %s: want a year from %d to %d", b, MinYear, MaxYear)
		}
		return Value{Kind: Time, Time: t}, nil
	default:
		s := string(b)
		digits := strings.TrimPrefix(s, "-")
		if digits == "" || len(digits) > 1 && digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
			return Value{}, fmt.Errorf("bad value %q", s)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("bad integer %q", s)
		}
		return Value{Kind: Int, Int: n}, nil
	}
}

// basicString reads a quoted string at the start of b.
func basicString(b []byte) (string, []byte, error) {
	// Most strings have no escapes: take them in one piece.
	for i := 1; i < len(b); i++ {
		c := b[i]
		if c == '"' {
			return string(b[1:i]), b[i+1:], nil
		}
		if c == '\\' || c < 0x20 || c == 0x7f {
			break
		}
	}
	var sb strings.Builder
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			return sb.String(), b[i+1:], nil
		case c == '\\':
			if i+1 >= len(b) {
				return "", nil, errors.New("unterminated escape")
			}
			i++
			switch b[i] {
			case '"':
				sb.WriteByte('"')
			case '\\':
				sb.WriteByte('\\')
			case 'n':
				sb.WriteByte('\n')
			case 't':
				sb.WriteByte('\t')
			case 'u':
				if i+4 >= len(b) {
					return "", nil, errors.New("short \\u escape")
				}
				r, err := strconv.ParseUint(string(b[i+1:i+5]), 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return "", nil, errors.New("bad \\u escape")
				}
				sb.WriteRune(rune(r))
				i += 4
			default:
				return "", nil, fmt.Errorf("unknown escape \\%c", b[i])
			}
		case c < 0x20 || c == 0x7f:
			return "", nil, errors.New("control character in a string")
		default:
			sb.WriteByte(c)
		}
	}
	return "", nil, errors.New("unterminated string")
}

func stringArray(b []byte) (Value, error) {
	v := Value{Kind: Strings, List: []string{}}
	if string(b) == "[]" {
		return v, nil
	}
	rest := b[1:]
	for {
		if len(rest) == 0 || rest[0] != '"' {
			return Value{}, errors.New("bad array: want strings, [\"a\", \"b\"]")
		}
		s, r, err := basicString(rest)
		if err != nil {
			return Value{}, err
		}
		v.List = append(v.List, s)
		switch {
		case string(r) == "]":
			return v, nil
		case bytes.HasPrefix(r, []byte(", ")):
			rest = r[2:]
		default:
			return Value{}, errors.New(`bad array: want ", " between strings and "]" at the end`)
		}
	}
}

// Version returns the top level's integer "version" field, if there is one.
func Version(secs []Section) (int64, bool) {
	for _, f := range secs[0].Fields {
		if f.Key == "version" && f.Val.Kind == Int {
			return f.Val.Int, true
		}
	}
	return 0, false
}

// Table reads the fields of one section by key, and reports unknown,
// missing and mistyped fields with their lines.
type Table struct {
	sec  *Section
	used []bool
	err  error
}

// NewTable starts reading sec.
func NewTable(sec *Section) *Table { return &Table{sec: sec, used: make([]bool, len(sec.Fields))} }

func (t *Table) name(key string) string {
	if t.sec.Name == "" {
		return key
	}
	return t.sec.Name + "." + key
}

func (t *Table) fail(line int, format string, args ...any) {
	if t.err == nil {
		t.err = fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
	}
}

// get returns the field with key, or nil; required fields that are missing
// are an error.
func (t *Table) get(key string, kind Kind, required bool) *Value {
	for i := range t.sec.Fields {
		f := &t.sec.Fields[i]
		if f.Key != key {
			continue
		}
		t.used[i] = true
		if f.Val.Kind != kind {
			t.fail(f.Line, "%s: want %s", t.name(key), kindNames[kind])
			return nil
		}
		return &f.Val
	}
	if required {
		t.fail(t.sec.Line, "%s: missing", t.name(key))
	}
	return nil
}

// String returns a required string field.
func (t *Table) String(key string) string {
	if v := t.get(key, String, true); v != nil {
		return v.Str
	}
	return ""
}

// Int returns a required integer field.
func (t *Table) Int(key string) int {
	if v := t.get(key, Int, true); v != nil {
		if v.Int < -1<<31 || v.Int > 1<<31-1 {
			t.fail(t.sec.Line, "%s: %d out of range", t.name(key), v.Int)
			return 0
		}
		return int(v.Int)
	}
	return 0
}

// Bool returns a required boolean field.
func (t *Table) Bool(key string) bool {
	if v := t.get(key, Bool, true); v != nil {
		return v.Bool
	}
	return false
}

// Time returns a required date-time field.
func (t *Table) Time(key string) time.Time {
	if v := t.get(key, Time, true); v != nil {
		return v.Time
	}
	return time.Time{}
}

// Strings returns a required array-of-strings field.
func (t *Table) Strings(key string) []string {
	if v := t.get(key, Strings, true); v != nil {
		return v.List
	}
	return nil
}

// IntMap returns every field of the section as an integer map, for tables
// keyed by license type.
func (t *Table) IntMap() map[string]int {
	m := make(map[string]int, len(t.sec.Fields))
	for i, f := range t.sec.Fields {
		t.used[i] = true
		if f.Val.Kind != Int || f.Val.Int < 0 || f.Val.Int > 1<<31-1 {
			t.fail(f.Line, "%s: want a non-negative integer", t.name(f.Key))
			continue
		}
		m[f.Key] = int(f.Val.Int)
	}
	return m
}

// Done reports the first error, or the first field nobody asked for.
func (t *Table) Done() error {
	if t.err != nil {
		return t.err
	}
	for i, u := range t.used {
		if !u {
			f := t.sec.Fields[i]
			return fmt.Errorf("line %d: %s: unknown field", f.Line, t.name(f.Key))
		}
	}
	return nil
}

// Writer writes a payload in the subset.
type Writer struct {
	b bytes.Buffer
}

// Bytes returns what was written.
func (w *Writer) Bytes() []byte { return w.b.Bytes() }

// Comment writes a comment line.
func (w *Writer) Comment(s string) {
	s = strings.ToValidUTF8(strings.NewReplacer("\n", " ", "\r", " ").Replace(s), "\uFFFD")
	w.b.WriteString("# " + s + "\n")
}

// Table writes an empty line and a table header.
func (w *Writer) Table(name string) { w.b.WriteString("\n[" + name + "]\n") }

// ArrayTable writes an empty line and an array-of-tables header.
func (w *Writer) ArrayTable(name string) { w.b.WriteString("\n[[" + name + "]]\n") }

// SubTable writes a table header without an empty line before it.
func (w *Writer) SubTable(name string) { w.b.WriteString("[" + name + "]\n") }

// String writes a string field.
func (w *Writer) String(key, v string) { w.b.WriteString(key + " = " + Quote(v) + "\n") }

// Int writes an integer field.
func (w *Writer) Int(key string, v int) { w.b.WriteString(key + " = " + strconv.Itoa(v) + "\n") }

// Bool writes a boolean field.
func (w *Writer) Bool(key string, v bool) {
	w.b.WriteString(key + " = " + strconv.FormatBool(v) + "\n")
}

// The years a date-time may have. Every date allot reads or writes lies in
// them, so date arithmetic (days left, a grace end, a period's months) can
// neither overflow nor saturate.
const (
	MinYear = 1970
	MaxYear = 9999
)

// ValidTime reports whether t lies in the years MinYear to MaxYear.
func ValidTime(t time.Time) bool {
	y := t.UTC().Year()
	return y >= MinYear && y <= MaxYear
}

// Time writes a date-time field, in UTC to the second.
func (w *Writer) Time(key string, t time.Time) {
	w.b.WriteString(key + " = " + t.UTC().Format("2006-01-02T15:04:05Z") + "\n")
}

// Strings writes an array of strings.
func (w *Writer) Strings(key string, v []string) {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = Quote(s)
	}
	w.b.WriteString(key + " = [" + strings.Join(q, ", ") + "]\n")
}

// Quote returns s as a basic string of the subset.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		case r == utf8.RuneError:
			b.WriteString(`\uFFFD`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
