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
	"slices"
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
	// Bool sits by Kind, in its padding: a bundle's tree has tens of
	// thousands of fields, each parsed into, cleared and scanned.
	Bool bool
	Str  string
	Int  int64
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

// Limits of a payload. Parse counts a payload's lines before it allocates
// anything for them, so that what it allocates is bounded by the payload's
// size and by these numbers, whoever signed it: a bundle of 4 MiB of
// "[[x]]" lines would otherwise have cost hundreds of megabytes. They are
// sized for the largest bundle (bundle.MaxFunding funding sections of four
// fields, bundle.MaxServers servers of 32 identifiers); formats/signer.md
// lists them.
const (
	// MaxLineLen bounds a line, and so a string; base64 certificate
	// documents are the longest.
	MaxLineLen = 64 << 10
	// MaxSections bounds the tables and array-of-tables elements.
	MaxSections = 16_384
	// MaxFields bounds the key = value lines of all sections.
	MaxFields = 49_152
	// MaxSectionFields bounds the fields of one section.
	MaxSectionFields = 1_024
	// MaxArrayLen bounds the strings of one array.
	MaxArrayLen = 1_024
	// MaxArrayValues bounds the strings of all arrays.
	MaxArrayValues = 65_536
)

// Parse splits a payload into sections. The first section is the top level.
func Parse(data []byte) ([]Section, error) {
	// Every key, name and string is a piece of one copy of the payload,
	// made once: the ten thousand strings of a bundle's tree cost nothing
	// more.
	text := Text(data)
	nsecs, nfields, _, err := count(text, nil, hole{})
	if err != nil {
		return nil, err
	}
	// One array of sections and one of fields, each exactly as long as the
	// payload needs: no slice grows, and nothing is left over.
	return parse(text, make([]Section, 0, 1+nsecs), make([]Field, 0, nfields), nil, hole{})
}

// hole is a run of whole lines, text[from:to], that count and parse leave
// out but for their number.
type hole struct{ from, to int }

// skip reports whether the line at pos starts the hole, and if so the
// number of lines the hole has.
func (h hole) skip(pos int, text string) (int, bool) {
	if pos != h.from || h.to <= h.from {
		return 0, false
	}
	return strings.Count(text[:h.to-h.from], "\n"), true
}

// parse parses text into secs and fields, empty arrays with room for
// what count counted. ends, if not nil, are the ends of text's lines that
// count found, so that parse need not look for them again.
func parse(text string, secs []Section, fields []Field, ends []int32, h hole) ([]Section, error) {
	secs = secs[:1]
	secs[0].Line = 1
	// A payload that is UTF-8 as a whole needs no check of each line.
	checkUTF8 := !utf8.ValidString(text)
	p := &parser{}
	cur, start := &secs[0], 0
	// Past a few fields, a section's keys are looked up in a map: scanning
	// them for every key would be quadratic. One map serves every section.
	var seen map[string]bool
	n, off, pos := 0, 0, 0
	for len(text) > 0 {
		if k, ok := h.skip(pos, text); ok {
			n += k
			text, pos, off = text[h.to-h.from:], h.to, h.to
			continue
		}
		n++
		var i int
		if n <= len(ends) {
			i = int(ends[n-1]) - off
			off += i + 1
		} else {
			i = strings.IndexByte(text, '\n')
		}
		if i < 0 {
			return nil, fmt.Errorf("%w: line %d: does not end with a newline", ErrSyntax, n)
		}
		line := text[:i]
		text = text[i+1:]
		pos += i + 1
		if len(line) > MaxLineLen {
			return nil, fmt.Errorf("%w: line %d: longer than %d bytes", ErrSyntax, n, MaxLineLen)
		}
		if checkUTF8 && !utf8.ValidString(line) {
			what := ""
			if k, _, ok := strings.Cut(line, " = "); ok && BareKey(k) {
				what = k + ": "
			}
			return nil, fmt.Errorf("%w: line %d: %snot UTF-8", ErrSyntax, n, what)
		}
		switch {
		case len(line) == 0 || line[0] == '#':
			continue
		case line[0] == '[':
			// Most headers are the one before again ([[group]] ten
			// thousand times): read it once.
			name, array := p.lastName, p.lastArray
			if line != p.lastHeader {
				var err error
				if name, array, err = p.header(line); err != nil {
					return nil, fmt.Errorf("%w: line %d: %v", ErrSyntax, n, err)
				}
				p.lastHeader, p.lastName, p.lastArray = line, name, array
			}
			cur.Fields = own(fields, start)
			// The arrays are as long as count said, and zero: fill in
			// place rather than copy a whole Section or Field in.
			secs = slices.Grow(secs, 1)[:len(secs)+1]
			cur, start = &secs[len(secs)-1], len(fields)
			cur.Name, cur.Array, cur.Line = name, array, n
			if len(seen) > 0 {
				clear(seen)
			}
		default:
			fields = slices.Grow(fields, 1)[:len(fields)+1]
			f := &fields[len(fields)-1]
			f.Line = n
			if err := p.field(f, line); err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrSyntax, n, err)
			}
			mine := fields[start : len(fields)-1]
			dup := false
			switch {
			case len(mine) < scanFields:
				for i := range mine {
					dup = dup || mine[i].Key == f.Key
				}
			default:
				if seen == nil {
					seen = make(map[string]bool, MaxSectionFields)
				}
				if len(seen) == 0 {
					for _, g := range mine {
						seen[g.Key] = true
					}
				}
				dup = seen[f.Key]
				seen[f.Key] = true
			}
			if dup {
				return nil, fmt.Errorf("%w: line %d: %s is defined twice", ErrSyntax, n, f.Key)
			}
		}
	}
	cur.Fields = own(fields, start)
	return secs, nil
}

// scanFields is how many fields of a section Parse compares a new key with
// one by one; past them, it looks keys up in a map.
const scanFields = 64

// own returns the fields of the section that starts at fields[start], with
// no room to grow into the next section's; nil if it has none.
func own(fields []Field, start int) []Field {
	if start == len(fields) {
		return nil
	}
	return fields[start:len(fields):len(fields)]
}

// count counts a payload's sections and fields, and refuses one that has
// more than the limits allow, naming the line where the limit is passed.
// If ends is not nil, it appends to it where each of the first maxEnds
// lines that end with a newline ends, for parse; else it allocates nothing.
func count(data string, ends []int32, h hole) (secs, fields int, _ []int32, err error) {
	own := 0 // fields of the current section
	// The offsets are int32s: a payload of 2 GiB records none.
	record := ends != nil && int64(len(data)) < 1<<31
	for n, off := 1, 0; len(data) > 0; n++ {
		if k, ok := h.skip(off, data); ok {
			// The hole's lines are numbered, and not recorded: parse
			// finds the ends of the lines past it itself.
			n += k - 1
			data, off, record = data[h.to-h.from:], h.to, false
			continue
		}
		i := strings.IndexByte(data, '\n')
		if i < 0 {
			i = len(data) - 1
		} else if record && len(ends) < maxEnds {
			ends = append(ends, int32(off+i))
		}
		off += i + 1
		line := data[:i]
		data = data[i+1:]
		switch {
		case len(line) == 0 || line[0] == '#':
		case line[0] == '[':
			if secs++; secs > MaxSections {
				return 0, 0, nil, fmt.Errorf("%w: line %d: more than %d tables", ErrSyntax, n, MaxSections)
			}
			own = 0
		default:
			if fields++; fields > MaxFields {
				return 0, 0, nil, fmt.Errorf("%w: line %d: more than %d fields", ErrSyntax, n, MaxFields)
			}
			if own++; own > MaxSectionFields {
				return 0, 0, nil, fmt.Errorf("%w: line %d: more than %d fields in one table", ErrSyntax, n, MaxSectionFields)
			}
		}
	}
	return secs, fields, ends, nil
}

// maxEnds bounds the line ends count records: the lines of a payload
// that allot writes within the limits (a blank line and a header for each
// section, a line for each field). Blank and comment lines, which no limit
// counts, would cost 4 bytes each, 16 MiB for a bundle of newlines; parse
// finds the ends of the lines past them itself.
const maxEnds = 2*MaxSections + MaxFields + 64

// parser holds what Parse shares between lines: the count of array
// values, and the array their strings are kept in.
type parser struct {
	values int
	lists  []string
	// The last header line read, and its name.
	lastHeader, lastName string
	lastArray            bool
}

func (p *parser) header(line string) (string, bool, error) {
	array := strings.HasPrefix(line, "[[")
	var name string
	if array {
		if !strings.HasSuffix(line, "]]") || len(line) < 5 {
			return "", false, errors.New("bad array-of-tables header")
		}
		name = line[2 : len(line)-2]
	} else {
		if !strings.HasSuffix(line, "]") || len(line) < 3 {
			return "", false, errors.New("bad table header")
		}
		name = line[1 : len(line)-1]
	}
	for rest := name; ; {
		part, more, dotted := strings.Cut(rest, ".")
		if !BareKey(part) {
			return "", false, fmt.Errorf("bad table name %q", name)
		}
		if !dotted {
			break
		}
		rest = more
	}
	return name, array, nil
}

// BareKey reports whether k is a key of the subset, [A-Za-z0-9_-]+: a
// bare key of TOML.
func BareKey(k string) bool {
	if len(k) == 0 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !KeyByte(k[i]) {
			return false
		}
	}
	return true
}

// KeyByte reports whether c may stand in a bare key of the subset, and of
// TOML.
func KeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// field reads line into f's key and value.
func (p *parser) field(f *Field, line string) error {
	// Most lines are a bare key and " = ": one pass over the key finds
	// its end and checks it.
	i := 0
	for i < len(line) && KeyByte(line[i]) {
		i++
	}
	if i == 0 || !strings.HasPrefix(line[i:], " = ") {
		// A key has no blank: " = " is most often at the first one.
		i = strings.IndexByte(line, ' ')
		if i < 0 || !strings.HasPrefix(line[i:], " = ") {
			i = strings.Index(line, " = ")
		}
		if i <= 0 {
			return errors.New(`want "key = value"`)
		}
		if !BareKey(line[:i]) {
			return fmt.Errorf("bad key %q", line[:i])
		}
	}
	f.Key = line[:i]
	if err := p.value(&f.Val, line[i+3:]); err != nil {
		return fmt.Errorf("%s: %v", f.Key, err)
	}
	return nil
}

func (p *parser) value(v *Value, b string) error {
	if len(b) == 0 {
		return errors.New("no value")
	}
	switch c := b[0]; {
	case c == '"':
		s, rest, err := basicString(b)
		if err != nil {
			return err
		}
		if len(rest) != 0 {
			return errors.New("text after the string")
		}
		v.Kind, v.Str = String, s
	case c == '[':
		return p.stringArray(v, b)
	case b == "true" || b == "false":
		v.Kind, v.Bool = Bool, b == "true"
	case len(b) == len("2006-01-02T15:04:05Z") && b[4] == '-':
		t, err := time.Parse(time.RFC3339, b)
		if err != nil || !strings.HasSuffix(b, "Z") {
			return errors.New("bad date-time: want 2006-01-02T15:04:05Z")
		}
		if !ValidTime(t) {
			return fmt.Errorf("date-time %s: want a year from %d to %d", b, MinYear, MaxYear)
		}
		v.Kind, v.Time = Time, t
	default:
		digits := strings.TrimPrefix(b, "-")
		if digits == "" || len(digits) > 1 && digits[0] == '0' || !allDigits(digits) {
			return fmt.Errorf("bad value %q", b)
		}
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil {
			return fmt.Errorf("bad integer %q", b)
		}
		v.Kind, v.Int = Int, n
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// basicString reads a quoted string at the start of b.
func basicString(b string) (string, string, error) {
	// Most strings have no escapes: take them in one piece, skipping eight
	// bytes at a time up to the first that may end the string or need
	// care (certificates and keys make strings of thousands of bytes).
	i := 1
	for i+8 <= len(b) && !mayBeSpecial(load64(b, i)) {
		i += 8
	}
	for ; i < len(b); i++ {
		c := b[i]
		if c == '"' {
			return b[1:i], b[i+1:], nil
		}
		if needsCare(c) {
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
				return "", "", errors.New("unterminated escape")
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
					return "", "", errors.New("short \\u escape")
				}
				r, err := strconv.ParseUint(b[i+1:i+5], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return "", "", errors.New("bad \\u escape")
				}
				sb.WriteRune(rune(r))
				i += 4
			default:
				return "", "", fmt.Errorf("unknown escape \\%c", b[i])
			}
		case c < 0x20 || c == 0x7f:
			return "", "", errors.New("control character in a string")
		default:
			sb.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated string")
}

// needsCare reports whether c, in a basic string, is not simply itself: a
// backslash that starts an escape, or a control character or DEL, which
// the string may not hold.
func needsCare(c byte) bool { return c == '\\' || c < 0x20 || c == 0x7f }

// Plain reports whether a basic string of text s, "s", reads as s itself:
// s holds no quote and nothing that needs care. A reader that knows where
// such a string ends may take it without the parser.
func Plain(s string) bool {
	i := 0
	for i+8 <= len(s) && !mayBeSpecial(load64(s, i)) {
		i += 8
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || needsCare(c) {
			return false
		}
	}
	return true
}

// load64 returns the eight bytes of s from i as a little-endian number.
func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// mayBeSpecial reports whether any byte of x may be a quote, a backslash,
// a control character or DEL. It never misses one: the bit tricks below
// can only flag a byte above one that is flagged rightly.
func mayBeSpecial(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) & ^v & highs } // a byte of v is 0
	return (zero(x^(ones*'"')) | zero(x^(ones*'\\')) | zero(x^(ones*0x7f)) | (x-ones*0x20)&^x&highs) != 0
}

// stringArray reads an array of strings into v. The strings of all arrays
// share one growing array; each list is a piece of it that cannot grow
// into the next.
func (p *parser) stringArray(v *Value, b string) error {
	v.Kind, v.List = Strings, []string{}
	if b == "[]" {
		return nil
	}
	start := len(p.lists)
	rest := b[1:]
	for {
		if len(rest) == 0 || rest[0] != '"' {
			return errors.New("bad array: want strings, [\"a\", \"b\"]")
		}
		if len(p.lists)-start == MaxArrayLen {
			return fmt.Errorf("more than %d strings in one array", MaxArrayLen)
		}
		if p.values++; p.values > MaxArrayValues {
			return fmt.Errorf("more than %d strings in all arrays", MaxArrayValues)
		}
		s, r, err := basicString(rest)
		if err != nil {
			return err
		}
		if len(p.lists) == cap(p.lists) {
			// A new piece, with this list so far.
			more := make([]string, 0, max(256, 2*(len(p.lists)-start)))
			p.lists = append(more, p.lists[start:]...)
			start = 0
		}
		p.lists = append(p.lists, s)
		switch {
		case r == "]":
			v.List = p.lists[start:len(p.lists):len(p.lists)]
			return nil
		case strings.HasPrefix(r, ", "):
			rest = r[2:]
		default:
			return errors.New(`bad array: want ", " between strings and "]" at the end`)
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
	sec    *Section
	used   []bool
	unread int // fields no getter has read
	err    error
}

// NewTable starts reading sec.
func NewTable(sec *Section) *Table {
	return &Table{sec: sec, used: make([]bool, len(sec.Fields)), unread: len(sec.Fields)}
}

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
		if !t.used[i] {
			t.used[i] = true
			t.unread--
		}
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
	t.unread = 0
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
