package payload

import (
	"bytes"
	"strings"
	"sync"
	"unicode/utf8"
)

// Has reports whether the section has a field key, of any type: an
// optional field is read with the getter of its type only if it is there.
func (t *Table) Has(key string) bool {
	for i := range t.sec.Fields {
		if t.sec.Fields[i].Key == key {
			return true
		}
	}
	return false
}

// Unread returns how many of the section's fields no getter has read
// yet. At 0, Has is false for every key not read: a reader of many
// sections skips asking for its optional fields one by one.
func (t *Table) Unread() int { return t.unread }

// Reset makes t read sec, as NewTable(sec) does, with t's memory: a
// reader of ten thousand sections needs one Table, not ten thousand.
func (t *Table) Reset(sec *Section) {
	t.sec, t.err, t.unread = sec, nil, len(sec.Fields)
	if cap(t.used) < len(sec.Fields) {
		t.used = make([]bool, len(sec.Fields))
		return
	}
	t.used = t.used[:len(sec.Fields)]
	clear(t.used)
}

// ParseFunc parses data as Parse does and calls fn with the sections. They
// are fn's only until it returns: their arrays are used again by the next
// call, so that a reader of large payloads (a bundle's tree) does not
// allocate, and the collector scan, megabytes of fields each time. The
// strings and arrays of strings of the fields stay valid.
func ParseFunc(data []byte, fn func([]Section) error) error {
	return ParseHoleFunc(Text(data), 0, 0, fn)
}

// ParseHoleFunc is ParseFunc over text, the payload as a string, without
// the lines text[from:to], which its caller reads itself: they keep their
// numbers, and no section or field is made of them, nor counted towards
// the limits, which the caller counts for them. from and to are 0, or
// the start of a line, or the end of text. The strings of the fields are
// pieces of text.
func ParseHoleFunc(text string, from, to int, fn func([]Section) error) error {
	h := hole{from, to}
	b, _ := arrays.Get().(*parseArrays)
	if b == nil {
		b = &parseArrays{}
	}
	if b.ends == nil {
		b.ends = []int32{} // not nil: count records the lines' ends
	}
	nsecs, nfields, ends, err := count(text, b.ends[:0], h)
	if ends != nil {
		b.ends = ends
	}
	if err != nil {
		arrays.Put(b)
		return err
	}
	if cap(b.secs) < 1+nsecs {
		b.secs = make([]Section, 0, 1+nsecs)
	}
	if cap(b.fields) < nfields {
		b.fields = make([]Field, 0, nfields)
	}
	secs, err := parse(text, b.secs[:0], b.fields[:0], ends, h)
	if err == nil {
		err = fn(secs)
	}
	// Nothing of this payload stays reachable through the arrays.
	clear(b.secs[:1+nsecs])
	clear(b.fields[:nfields])
	arrays.Put(b)
	return err
}

// parseArrays are the arrays ParseFunc parses into.
type parseArrays struct {
	secs   []Section
	fields []Field
	ends   []int32 // where each line ends: no pointer, nothing to clear
}

var arrays sync.Pool

// A FieldReader reads "key = value" lines one at a time with Parse's own
// rules for keys and values, for a reader that walks a run of sections it
// knows the shape of (a bundle's tree) without building them. Its arrays'
// strings share one growing array, as Parse's do, and it counts them
// against MaxArrayLen and MaxArrayValues.
type FieldReader struct{ p parser }

// Field reads line into f's key and value, as Parse reads a field line;
// f.Line is left alone.
func (r *FieldReader) Field(f *Field, line string) error { return r.p.field(f, line) }

// ArrayValues returns how many strings the arrays read so far hold.
func (r *FieldReader) ArrayValues() int { return r.p.values }

// Text returns the copy of a payload that its readers take the strings of
// the fields from: the payload, with every comment line that passes the
// checks of a line (UTF-8, MaxLineLen) left empty. Such a line is
// skipped by the reader and counts for nothing but its number, which an
// empty line keeps; and a bundle of megabytes of comments costs a device
// no copy of them.
func Text(data []byte) string {
	// Two passes over the comment lines, one to size the copy, one to
	// make it: a list of them would cost as much as a copy of tiny ones.
	drop := 0
	comments(data, func(start, end int) { drop += end - start })
	if drop == 0 {
		return string(data)
	}
	var b strings.Builder
	b.Grow(len(data) - drop)
	last := 0
	comments(data, func(start, end int) {
		b.Write(data[last:start])
		last = end
	})
	b.Write(data[last:])
	return b.String()
}

// comments calls fn with the text of each comment line of data that ends
// with a newline, is UTF-8 and no longer than MaxLineLen, in order, as
// data[start:end], end the newline.
func comments(data []byte, fn func(start, end int)) {
	for at := 0; at < len(data); {
		// A '#' is rare but in comments: look for it, not for the
		// newlines before it.
		k := bytes.IndexByte(data[at:], '#')
		if k < 0 {
			return
		}
		start := at + k
		if start > 0 && data[start-1] != '\n' {
			at = start + 1
			continue
		}
		end := bytes.IndexByte(data[start:], '\n')
		if end < 0 {
			return // a last line without a newline: the reader refuses it
		}
		end += start
		if line := data[start:end]; len(line) <= MaxLineLen && utf8.Valid(line) {
			fn(start, end)
		}
		at = end
	}
}
