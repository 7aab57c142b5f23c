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
	"io"
	"os"
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

// ReadFile reads a file of at most limit bytes. A larger one is refused,
// by its size before it is read where the file system tells the size, so a
// wrong file given by mistake (or /dev/zero) costs nothing.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := fmt.Sprintf("%d bytes", limit)
	if limit >= 1<<20 && limit%(1<<20) == 0 {
		size = fmt.Sprintf("%d MiB", limit>>20)
	}
	tooBig := &Error{File: path, Err: fmt.Errorf("larger than %s", size)}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > limit {
		return nil, tooBig
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooBig
	}
	return data, nil
}

// ErrBOM reports a file that starts with a UTF-8 byte order mark.
var ErrBOM = errclass.Sentinel(errclass.Input, "starts with a byte order mark; save the file as UTF-8 without BOM")

// Decode parses data into v. Unknown fields, syntax errors and type errors
// are returned as *Error.
func Decode(file string, data []byte, v any) error {
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return &Error{File: file, Line: 1, Err: ErrBOM}
	}
	if line, err := checkDepth(data); err != nil {
		return &Error{File: file, Line: line, Err: err}
	}
	md, err := toml.Decode(string(data), v)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			// The library counts the newline that ends a bad line as the
			// start of the next; the error's byte offset places it right.
			line := pe.Position.Line
			if s := pe.Position.Start; s > 0 && s <= len(data) {
				line = bytes.Count(data[:s], []byte("\n")) + 1
			}
			return &Error{File: file, Line: line, Field: pe.LastKey, Err: errors.New(cleanMessage(pe.Message))}
		}
		// Type errors come as "toml: line N (last key "k"): message".
		if line, field, msg, ok := typeError(err.Error()); ok {
			return &Error{File: file, Line: line, Field: field, Err: errors.New(msg)}
		}
		return &Error{File: file, Err: errors.New(cleanMessage(err.Error()))}
	}
	if u := md.Undecoded(); len(u) > 0 {
		field := u[0].String()
		return &Error{File: file, Line: Line(data, field), Field: field, Err: errors.New("unknown field")}
	}
	return nil
}

// Limits of how deeply a file nests, checked before the TOML library reads
// it: the library recurses once per level of arrays and inline tables, so
// a file of a million '[' overflowed the stack and killed the process, and
// it spends time and memory on every key in proportion to the depth of its
// table, so 4 MiB of keys under a 1 KB table header took 40 s and 26 GB.
// allot's files nest two deep and have no dotted keys.
const (
	maxNesting  = 4 // arrays, inline tables and header brackets open at once
	maxLineDots = 3 // dots outside strings and comments on one line
)

// checkDepth returns the first line of data that nests deeper than the
// limits. It skips strings and comments as the TOML library reads them.
func checkDepth(data []byte) (int, error) {
	line, depth, dots := 1, 0, 0
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '\n':
			line, dots = line+1, 0
		case '#':
			for i+1 < len(data) && data[i+1] != '\n' {
				i++
			}
		case '"', '\'':
			delim := []byte{c}
			if bytes.HasPrefix(data[i:], []byte{c, c, c}) {
				delim = []byte{c, c, c}
			}
			// A multi-line string ends at the last """ of a run of quotes;
			// a one-line string ends at the end of the line at the latest.
			j := i + len(delim)
			for ; j < len(data); j++ {
				if bytes.HasPrefix(data[j:], delim) && (len(delim) == 1 || j+3 == len(data) || data[j+3] != c) ||
					len(delim) == 1 && data[j] == '\n' {
					break
				}
				if data[j] == '\n' {
					line++
				}
				if c == '"' && data[j] == '\\' && j+1 < len(data) && data[j+1] != '\n' {
					j++
				}
			}
			if i = j + len(delim) - 1; j < len(data) && data[j] == '\n' {
				i = j - 1
			}
		case '[', '{':
			if depth++; depth > maxNesting {
				return line, fmt.Errorf("arrays and tables nested more than %d deep", maxNesting)
			}
		case ']', '}':
			depth = max(depth-1, 0)
		case '.':
			if dots++; dots > maxLineDots {
				return line, fmt.Errorf("more than %d dots outside strings: keys nested too deeply", maxLineDots)
			}
		}
	}
	return 0, nil
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
