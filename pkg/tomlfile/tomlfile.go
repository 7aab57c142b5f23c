// Package tomlfile reads the TOML files people edit by hand (system
// descriptions, usage files, trust files, catalogs) strictly, and reports
// every problem as one line naming the file, the line and the field:
//
//	site.system.toml:14: server[2].name: "nvr 1" has a space
//
// Unknown fields are errors, not silently ignored, so a misspelt field is
// caught where it was typed.
package tomlfile

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/payload"
)

// Error is a problem in a TOML file. Line is 0 when it is not known.
type Error struct {
	File  string
	Line  int
	Field string
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Err.Error())
	// Messages quote the file, line breaks included; an error is one line.
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(b.String())
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes every error of a human-edited file an input error
// (errclass.Input).
func (e *Error) Is(target error) bool { return target == errclass.Input }

// ErrBOM reports a file that starts with a UTF-8 byte order mark.
var ErrBOM = errclass.Sentinel(errclass.Input, "starts with a byte order mark; save the file as UTF-8 without BOM")

// Decode parses data into v, within DefaultLimits. Unknown fields, syntax
// errors and type errors are returned as *Error.
func Decode(file string, data []byte, v any) error {
	return DecodeLimits(file, data, v, DefaultLimits)
}

// DecodeLimits parses data into v, as Decode does, but within lim.
func DecodeLimits(file string, data []byte, v any, lim Limits) error {
	if err := Check(file, data, lim); err != nil {
		return err
	}
	_, err := decode(file, data, v)
	return err
}

// DecodeHead decodes data, the head of a file whose whole the caller has
// checked (Check) and whose rest it reads itself, into v as DecodeLimits
// does. It reports whether the head gives a key under one of the
// top-level names, in any case: the library would have read it together
// with the rest, so the caller reads the whole file with DecodeLimits.
func DecodeHead(file string, data []byte, v any, names ...string) (bool, error) {
	md, err := decode(file, data, v)
	if err != nil {
		return false, err
	}
	for _, k := range md.Keys() {
		for _, name := range names {
			if strings.EqualFold(k[0], name) {
				return true, nil
			}
		}
	}
	return false, nil
}

// decode decodes data into v with the library, and refuses unknown fields
// and fields that differ only in case.
func decode(file string, data []byte, v any) (toml.MetaData, error) {
	text := string(data)
	md, err := toml.Decode(text, v)
	if err != nil {
		// Of several fields it cannot decode, the library names one at
		// random: name the file's first (a file that parses). What the
		// library read is let go first: a device reads the file again.
		md = toml.MetaData{}
		first, at := firstTypeError(text, reflect.TypeOf(v))
		if first != nil {
			err = first
		}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			// The library counts the newline that ends a bad line as the
			// start of the next; the error's byte offset places it right.
			line := pe.Position.Line
			if s := pe.Position.Start; s > 0 && s <= len(data) {
				line = bytes.Count(data[:s], []byte("\n")) + 1
			}
			return md, &Error{File: file, Line: line, Field: pe.LastKey, Err: errors.New(cleanMessage(pe.Message))}
		}
		// Type errors come as "toml: line N (last key "k"): message". In
		// an array of tables the key is named without its table, at the
		// line of the last table that has it: firstTypeError's at names
		// the table.
		if line, field, msg, ok := typeError(err.Error()); ok {
			if first != nil && strings.Contains(at, "[") {
				if l := Line(data, at); l > 0 {
					line, field = l, at
				}
			}
			return md, &Error{File: file, Line: line, Field: field, Err: errors.New(msg)}
		}
		return md, &Error{File: file, Err: errors.New(cleanMessage(err.Error()))}
	}
	if u := md.Undecoded(); len(u) > 0 {
		field := u[0].String()
		return md, &Error{File: file, Line: Line(data, field), Field: field, Err: errors.New("unknown field")}
	}
	// The library matches a key to a field in any case, so "name" and
	// "nAme" in one table would both fill the field, one at random.
	folded := map[string]string{}
	for _, k := range md.Keys() {
		key := k.String()
		low := strings.ToLower(key)
		if other, ok := folded[low]; ok && other != key {
			return md, &Error{File: file, Line: Line(data, key), Field: key, Err: fmt.Errorf("given also as %q: field names differ in more than case", other)}
		}
		folded[low] = key
	}
	return md, nil
}

// Check checks what DecodeLimits checks before the TOML library reads
// data: no byte order mark, the limits lim, nesting and dates. A reader
// that reads part of a file itself checks the whole file with it first.
func Check(file string, data []byte, lim Limits) error {
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return &Error{File: file, Line: 1, Err: ErrBOM}
	}
	if line, field, err := scan(data, lim); err != nil {
		return &Error{File: file, Line: line, Field: field, Err: err}
	}
	return nil
}

// Limits bound what a file may hold. They are counted by a pass over the
// file that allocates next to nothing, before the TOML library reads it:
// the library spends about half a kilobyte on a table, a kilobyte on a key
// and 150 bytes on an array value, so that 256 KiB of "a = 1" lines cost
// 27 MiB, and 64 MiB of "[[server]]" lines 2 GB. Each reader sets them to
// what its files need (formats/README.md, "Limits").
type Limits struct {
	Tables int // table headers, array-of-tables elements and inline tables
	Keys   int // keys, in all tables
	Values int // array values, in all arrays
	String int // bytes of one string
}

// DefaultLimits are the limits of Decode.
var DefaultLimits = Limits{Tables: 4096, Keys: 16384, Values: 65536, String: 64 << 10}

// Limits of how deeply a file nests, the same for every file: the library
// recurses once per level of arrays and inline tables, so a file of a
// million '[' overflowed the stack and killed the process, and it spends
// time and memory on every key in proportion to the depth of its table,
// so 4 MiB of keys under a 1 KB table header took 40 s and 26 GB. allot's
// files nest two deep and have no dotted keys.
const (
	maxNesting  = 4 // arrays, inline tables and header brackets open at once
	maxLineDots = 3 // dots outside strings and comments on one line
)

// scanner is the state of scan.
type scanner struct {
	data                 []byte
	lim                  Limits
	line                 int
	stack                [maxNesting]byte // the brackets open: '[' array, '{' inline table, 'h' header
	depth                int
	prev                 byte           // the last byte outside white space, strings and comments
	start                bool           // nothing but white space yet on this line, outside brackets
	header               int            // where the open header's name starts, or -1
	nameEnd              int            // where the name of an array-of-tables header ends
	table                []byte         // the current table's name: errors name fields by it
	index                int            // the current table's element of its array, or 0
	key                  []byte         // the last key read
	arrays               map[string]int // elements seen of each array of tables
	tables, keys, values int
}

// scan checks data against lim, the nesting limits and the date range, as
// the TOML library reads it, skipping strings and comments; it returns the
// line and field of the first problem. It takes time linear in data.
func scan(data []byte, lim Limits) (int, string, error) {
	s := &scanner{data: data, lim: lim, line: 1, start: true, header: -1}
	err := s.run()
	return s.line, s.field(), err
}

// field names the key being read, as errors do: "server[2].name". The
// scan keeps names as slices of the file, and makes strings only here.
func (s *scanner) field() string {
	table := string(s.table)
	if s.index > 0 {
		table += "[" + strconv.Itoa(s.index) + "]"
	}
	switch {
	case table == "":
		return string(s.key)
	case len(s.key) == 0:
		return table
	}
	return table + "." + string(s.key)
}

// inArray reports whether the innermost open bracket is an array's.
func (s *scanner) inArray() bool { return s.depth > 0 && s.stack[s.depth-1] == '[' }

// valueStarts is called at the first byte of a token: it counts an array's
// values, and checks dates.
func (s *scanner) valueStarts(i int) error {
	if s.inArray() && (s.prev == '[' || s.prev == ',') {
		if s.values++; s.values > s.lim.Values {
			return fmt.Errorf("more than %d array values in the file", s.lim.Values)
		}
	} else if s.prev != '=' {
		return nil
	}
	return checkDate(s.data[i:])
}

func (s *scanner) run() error {
	data := s.data
	dots := 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch c {
		case ' ', '\t', '\r':
			continue
		case '\n':
			s.line, dots = s.line+1, 0
			s.start = s.depth == 0
			continue
		case '#':
			for i+1 < len(data) && data[i+1] != '\n' {
				i++
			}
			continue
		}
		atStart := s.start
		if s.start {
			s.start = false
			if c != '[' {
				s.key = nil
			}
		}
		switch c {
		case '"', '\'':
			if err := s.valueStarts(i); err != nil {
				return err
			}
			end, err := s.skipString(i)
			if err != nil {
				return err
			}
			if s.prev != '=' && !s.inArray() && s.header < 0 {
				s.key = data[i+1 : max(i+1, end-len(delimOf(data, i))+1)] // a quoted key
			}
			i = end
		case '[', '{':
			if err := s.valueStarts(i); err != nil {
				return err
			}
			if s.depth == maxNesting {
				return fmt.Errorf("arrays and tables nested more than %d deep", maxNesting)
			}
			kind := c
			switch {
			case c == '[' && s.depth == 0 && atStart:
				kind, s.header, s.nameEnd = 'h', i+1, -1
			case c == '[' && s.header == i && s.depth == 1:
				kind, s.header = 'h', i+1 // "[[": an array of tables
			case c == '{':
				if s.tables++; s.tables > s.lim.Tables {
					return fmt.Errorf("more than %d tables in the file", s.lim.Tables)
				}
			}
			s.stack[s.depth] = kind
			s.depth++
		case ']', '}':
			if s.depth > 0 {
				s.depth--
				if s.stack[s.depth] == 'h' && s.header >= 0 {
					if err := s.endHeader(i); err != nil {
						return err
					}
				}
			}
			s.start = false
		case '.':
			if dots++; dots > maxLineDots {
				return fmt.Errorf("more than %d dots outside strings: keys nested too deeply", maxLineDots)
			}
		case '=':
			if k := s.bareKey(i); len(k) > 0 {
				s.key = k
			}
			if s.keys++; s.keys > s.lim.Keys {
				return fmt.Errorf("more than %d keys in the file", s.lim.Keys)
			}
		case ',':
		default:
			// The rest of a token follows a 'v', not a value's start.
			if err := s.valueStarts(i); err != nil {
				return err
			}
			c = 'v'
		}
		s.prev = c
	}
	return nil
}

// endHeader is called at a ']' that closes a table header's bracket.
func (s *scanner) endHeader(i int) error {
	if s.depth == 1 {
		s.nameEnd = i // the inner bracket of "[[name]]"
		return nil
	}
	end, array := i, s.nameEnd >= 0
	if array {
		end = s.nameEnd
	}
	name := bytes.TrimSpace(s.data[s.header:end])
	s.header = -1
	s.table, s.index, s.key = name, 0, nil
	if array {
		if s.arrays == nil {
			s.arrays = map[string]int{}
		}
		s.arrays[string(name)]++
		s.index = s.arrays[string(name)]
	}
	if s.tables++; s.tables > s.lim.Tables {
		s.index = 0
		return fmt.Errorf("more than %d tables in the file", s.lim.Tables)
	}
	return nil
}

// bareKey returns the bare key that ends before the '=' at i, if any.
func (s *scanner) bareKey(i int) []byte {
	j := i
	for j > 0 && (s.data[j-1] == ' ' || s.data[j-1] == '\t') {
		j--
	}
	k := j
	for k > 0 && isBare(s.data[k-1]) {
		k--
	}
	return s.data[k:j]
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// skipString returns the index of the last byte of the string that starts
// at i, and checks its length. A multi-line string ends at the last """ of
// a run of quotes; a one-line string ends at the end of the line at the
// latest, where the TOML library will report it.
func (s *scanner) skipString(i int) (int, error) {
	data := s.data
	c := data[i]
	delim := delimOf(data, i)
	j := i + len(delim)
	for ; j < len(data); j++ {
		if bytes.HasPrefix(data[j:], delim) && (len(delim) == 1 || j+3 == len(data) || data[j+3] != c) ||
			len(delim) == 1 && data[j] == '\n' {
			break
		}
		if data[j] == '\n' {
			s.line++
		}
		if c == '"' && data[j] == '\\' && j+1 < len(data) && data[j+1] != '\n' {
			j++
		}
	}
	if n := j - i - len(delim); n > s.lim.String {
		return 0, fmt.Errorf("a string of more than %d bytes", s.lim.String)
	}
	if j < len(data) && data[j] == '\n' {
		return j - 1, nil
	}
	return j + len(delim) - 1, nil
}

// delimOf returns the delimiter of the string that starts at i: one quote,
// or three.
func delimOf(data []byte, i int) []byte {
	if i+2 < len(data) && data[i+1] == data[i] && data[i+2] == data[i] {
		return data[i : i+3]
	}
	return data[i : i+1]
}

// checkDate refuses a date whose year lies outside payload.MinYear to
// payload.MaxYear, as every date allot reads must (TOML dates have four
// digits: only years before 1970 can occur).
func checkDate(b []byte) error {
	if len(b) < 10 || b[4] != '-' || b[7] != '-' {
		return nil
	}
	year := 0
	for _, c := range b[:4] {
		if c < '0' || c > '9' {
			return nil
		}
		year = 10*year + int(c-'0')
	}
	if year >= payload.MinYear && year <= payload.MaxYear {
		return nil
	}
	end := 0
	for end < len(b) && bytes.IndexByte([]byte(" \t\r\n,]}#"), b[end]) < 0 {
		end++
	}
	return fmt.Errorf("date %s: want a year from %d to %d", b[:end], payload.MinYear, payload.MaxYear)
}

// typeError takes apart the library's type errors, "toml: line N (last key
// "k"): message". (By hand rather than with regexp, which would add its
// package initialisation to every start of a device binary.)
func typeError(s string) (line int, field, msg string, ok bool) {
	rest, ok := strings.CutPrefix(s, "toml: line ")
	if !ok {
		return 0, "", "", false
	}
	num, rest, ok := strings.Cut(rest, ` (last key "`)
	if !ok {
		return 0, "", "", false
	}
	field, msg, ok = strings.Cut(rest, `"): `)
	if !ok {
		return 0, "", "", false
	}
	line, err := strconv.Atoi(num)
	if err != nil || line < 0 {
		return 0, "", "", false
	}
	return line, field, msg, true
}

// cleanMessage trims the library's prefix from a message.
func cleanMessage(m string) string {
	m = strings.TrimPrefix(m, "toml: ")
	return m
}

// Errorf returns an *Error for field, with the line where field is defined
// in data, as Line finds it.
func Errorf(file string, data []byte, field, format string, args ...any) *Error {
	return &Error{File: file, Line: Line(data, field), Field: field, Err: fmt.Errorf(format, args...)}
}

type segment struct {
	name  string
	index int // 1-based element of an array of tables; 0 if not one
}

func parsePath(field string) []segment {
	var segs []segment
	for _, part := range strings.Split(field, ".") {
		s := segment{name: part}
		if i := strings.IndexByte(part, '['); i > 0 && strings.HasSuffix(part, "]") {
			if n, err := strconv.Atoi(part[i+1 : len(part)-1]); err == nil {
				s = segment{name: part[:i], index: n}
			}
		}
		segs = append(segs, s)
	}
	return segs
}

// Line returns the line of data where field is defined, or 0. A field is a
// dotted path whose array-of-tables elements carry a 1-based index:
// "need.camera", "server[2].name". Line understands the layout people and
// allot write: [table] and [[array]] headers and key = value lines; for a
// field it cannot place it returns the line of its nearest table, or 0.
func Line(data []byte, field string) int {
	want := parsePath(field)
	counts := map[string]int{} // header path → elements seen
	var cur []segment          // the table the following keys belong to
	best := 0
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimSpace(string(raw))
		if line == "" || line[0] == '#' {
			continue
		}
		switch {
		case strings.HasPrefix(line, "[["):
			name := strings.TrimSpace(strings.Trim(strings.SplitN(line, "]]", 2)[0], "[ "))
			counts[name]++
			cur = headerPath(name, counts)
			if prefixMatch(cur, want) {
				best = i + 1
			}
			continue
		case strings.HasPrefix(line, "["):
			name := strings.TrimSpace(strings.Trim(strings.SplitN(line, "]", 2)[0], "[ "))
			cur = headerPath(name, counts)
			if prefixMatch(cur, want) {
				best = i + 1
			}
			continue
		}
		key, _, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key = strings.Trim(strings.TrimSpace(key), `"'`)
		full := append(append([]segment{}, cur...), parsePath(key)...)
		if prefixMatch(full, want) {
			if len(full) >= len(want) {
				return i + 1
			}
			best = i + 1
		}
	}
	return best
}

// headerPath turns a header name into a path, indexing the array-of-tables
// elements by how many of them were seen so far.
func headerPath(name string, counts map[string]int) []segment {
	var path []segment
	parts := strings.Split(name, ".")
	for i, p := range parts {
		prefix := strings.Join(parts[:i+1], ".")
		path = append(path, segment{name: strings.Trim(strings.TrimSpace(p), `"'`), index: counts[prefix]})
	}
	return path
}

// prefixMatch reports whether have is a prefix of want (or want of have),
// comparing indexes only where want gives one.
func prefixMatch(have, want []segment) bool {
	n := min(len(have), len(want))
	for i := 0; i < n; i++ {
		if have[i].name != want[i].name {
			return false
		}
		if want[i].index != 0 && have[i].index != want[i].index {
			return false
		}
	}
	return len(have) <= len(want)
}

// Quote returns s as a TOML basic string.
func Quote(s string) string { return payload.Quote(s) }

// QuoteList returns a TOML array of basic strings.
func QuoteList(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
