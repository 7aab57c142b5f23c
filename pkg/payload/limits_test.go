package payload

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// repeat returns head, then unit(i) for i = 0, 1, … while the whole stays
// within size bytes.
func repeat(head string, size int, unit func(i int) string) []byte {
	b := []byte(head)
	for i := 0; ; i++ {
		u := unit(i)
		if len(b)+len(u) > size {
			return b
		}
		b = append(b, u...)
	}
}

// times returns head, then unit(i) for i = 0 to n-1.
func times(head string, n int, unit func(i int) string) []byte {
	b := []byte(head)
	for i := 0; i < n; i++ {
		b = append(b, unit(i)...)
	}
	return b
}

// every returns s when i is a multiple of n.
func every(i, n int, s string) string {
	if i%n == 0 {
		return s
	}
	return ""
}

// key returns a short key of its own for i.
func key(i int) string { return fmt.Sprintf("k%x", i) }

// Each limit is refused at the line that passes it, as a syntax error.
func TestParseLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"tables", times("", MaxSections+1, func(int) string { return "[[x]]\n" }),
			fmt.Sprintf("line %d: more than %d tables", MaxSections+1, MaxSections)},
		{"fields", times("", MaxFields+1, func(i int) string {
			if i%1000 == 0 {
				return "[[x]]\n" + key(i) + " = 1\n"
			}
			return key(i) + " = 1\n"
		}), fmt.Sprintf("line %d: more than %d fields", MaxFields+1+MaxFields/1000+1, MaxFields)},
		{"fields of one table", times("[t]\n", MaxSectionFields+1, func(i int) string { return key(i) + " = 1\n" }),
			fmt.Sprintf("line %d: more than %d fields in one table", MaxSectionFields+2, MaxSectionFields)},
		{"strings of one array", []byte("a = [" + strings.Repeat(`"", `, MaxArrayLen) + "\"\"]\n"),
			fmt.Sprintf("line 1: a: more than %d strings in one array", MaxArrayLen)},
		{"strings of all arrays", times("", MaxArrayValues/MaxArrayLen+1, func(i int) string {
			return key(i) + " = [" + strings.Repeat(`"", `, MaxArrayLen-1) + "\"\"]\n"
		}), fmt.Sprintf("line %d: %s: more than %d strings in all arrays", MaxArrayValues/MaxArrayLen+1, key(MaxArrayValues/MaxArrayLen), MaxArrayValues)},
	} {
		_, err := Parse(tc.data)
		if err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// Parse allocates at most a constant times its input, and never more than
// the limits allow: a payload of a bundle's 4 MiB, signed by anyone, of
// the smallest tables, fields or array values, costs a device a few MiB.
// (The 4 MiB payloads below took 70 to 230 MiB before the limits.)
func TestParseAllocations(t *testing.T) {
	const perByte = 24    // Field is 112 bytes; "a = 1\n" is 6
	const most = 12 << 20 // the limits' worth of sections, fields and values
	shapes := []struct {
		name string
		head string
		unit func(i int) string
	}{
		{"tiny tables", "", func(int) string { return "[[x]]\n" }},
		{"tiny fields", "", func(i int) string {
			if i%26 == 0 {
				return "[[f]]\n" + string(rune('a'+i%26)) + " = 1\n"
			}
			return string(rune('a'+i%26)) + " = 1\n"
		}},
		{"tables of 1000 keys", "", func(i int) string { return every(i, 1000, "[[t]]\n") + key(i) + " = 1\n" }},
		{"arrays", "", func(i int) string { return key(i) + " = [" + strings.Repeat(`"", `, 1000) + "\"\"]\n" }},
		{"long strings", "", func(i int) string { return key(i) + " = \"" + strings.Repeat("x", 60000) + "\"\n" }},
		{"date-times", "", func(i int) string { return every(i, 1000, "[[t]]\n") + key(i) + " = 2026-11-22T10:00:00Z\n" }},
		{"funding", "version = 1\n", func(i int) string {
			return "\n[[funding]]\nkey = \"AAAAAA-BBBBBB-CCCCCC-DDDDDD-EEEEEE-FFFFFF-GGGGGG-HHHHHH\"\nlicense = \"camera\"\nmonths = 12\n"
		}},
	}
	for _, sh := range shapes {
		// 256 KiB of the smallest fields is nearly MaxFields of them.
		for _, size := range []int{64 << 10, 256 << 10, 1 << 20, 4 << 20} {
			data := repeat(sh.head, size, sh.unit)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Parse(data)
			runtime.ReadMemStats(&after)
			got := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s, %d KiB: %.0f KiB allocated (%.1f per byte), err %v", sh.name, len(data)>>10, float64(got)/1024, float64(got)/float64(len(data)), err)
			if got > perByte*uint64(len(data))+64<<10 || got > most {
				t.Errorf("%s, %d bytes: Parse allocated %d bytes, more than %d per byte or %d MiB", sh.name, len(data), got, perByte, most>>20)
			}
		}
	}
}

// ParseFunc, the device's reader of bundles, allocates within the bounds
// of Parse on its first call too, when its pool is empty: the ends of the
// lines it records for parse are bounded by the limits, not by the
// payload's lines. A payload of blank or comment lines, which no limit
// counts, took 100 MiB (4 bytes a line, and the growth of the array) and
// left 16 MiB in the pool.
func TestParseFuncAllocations(t *testing.T) {
	const perByte = 24
	const most = 12 << 20
	for _, sh := range []struct {
		name string
		head string
		unit func(i int) string
	}{
		{"blank lines", "version = 1\n", func(int) string { return "\n" }},
		{"comments", "version = 1\n", func(int) string { return "#\n" }},
		{"tiny fields", "", func(i int) string { return every(i, 26, "[[f]]\n") + string(rune('a'+i%26)) + " = 1\n" }},
		{"funding", "version = 1\n", func(i int) string {
			return "\n[[funding]]\nkey = \"AAAAAA-BBBBBB-CCCCCC-DDDDDD-EEEEEE-FFFFFF-GGGGGG-HHHHHH\"\nlicense = \"camera\"\nmonths = 12\n"
		}},
	} {
		for _, size := range []int{256 << 10, 4 << 20} {
			data := repeat(sh.head, size, sh.unit)
			arrays = sync.Pool{} // the first call of a process
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := ParseFunc(data, func([]Section) error { return nil })
			runtime.ReadMemStats(&after)
			got := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s, %d KiB: %.0f KiB allocated, err %v", sh.name, len(data)>>10, float64(got)/1024, err)
			if got > perByte*uint64(len(data))+64<<10 || got > most {
				t.Errorf("%s, %d bytes: ParseFunc allocated %d bytes, more than %d per byte or %d MiB", sh.name, len(data), got, perByte, most>>20)
			}
		}
	}
	// Past the lines whose ends it records, parse finds them itself.
	data := []byte("version = 1\n" + strings.Repeat("\n#\n", 2*MaxSections+MaxFields) + "[t]\na = \"x\"\n\n[[u]]\nb = [\"y\"]\n")
	want, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := ParseFunc(data, func(got []Section) error {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ParseFunc read\n%+v\nParse\n%+v", got, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Time is linear: twice the input costs about twice the time. Not timed
// here (tests never assert timing); BenchmarkParse reports it per byte.
func BenchmarkParse(b *testing.B) {
	data := repeat("[t]\n", 1<<20, func(i int) string {
		if i%MaxSectionFields == MaxSectionFields-1 {
			return "[[t]]\n"
		}
		return key(i) + " = \"" + key(i) + "\"\n"
	})
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(bytes.Clone(data)); err != nil {
			b.Fatal(err)
		}
	}
}
