package tomlfile

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// Each limit is refused, before the TOML library reads the file, with the
// line and the field where it is passed.
func TestDecodeLimits(t *testing.T) {
	lim := Limits{Tables: 3, Keys: 4, Values: 5, String: 8}
	for _, tc := range []struct {
		name, data string
		want       string
	}{
		{"tables", "[[server]]\n[[server]]\n[need]\n[[server]]\n", "f.toml:4: server: more than 3 tables in the file"},
		{"inline tables", "server = [\n{}, {},\n{}, {}]\n", "f.toml:3: server: more than 3 tables in the file"},
		{"keys", "version = 1\n[need]\ncamera = 1\nintercom = 2\nsip = 3\nx = 4\n", "f.toml:6: need.x: more than 4 keys in the file"},
		{"keys in inline tables", "[[server]]\nname = 'a'\nlimits = {cameras = 1, intercoms = 2, x = 3}\n", "f.toml:3: server[1].x: more than 4 keys in the file"},
		{"values", "[[server]]\nidentifiers = [\"a\", \"b\",\n\"c\", \"d\", \"e\", \"f\"]\n", "f.toml:3: server[1].identifiers: more than 5 array values in the file"},
		{"values of nested arrays", "id = [[1, 2], [3, 4]]\n", "f.toml:1: id: more than 5 array values in the file"},
		{"string", "version = 1\nid = \"123456789\"\n", "f.toml:2: id: a string of more than 8 bytes"},
		{"multi-line string", "id = '''\n12345\n6789'''\n", "f.toml:3: id: a string of more than 8 bytes"},
		{"quoted key", "\"123456789\" = 1\n", "f.toml:1: a string of more than 8 bytes"},
	} {
		var d doc
		err := DecodeLimits("f.toml", []byte(tc.data), &d, lim)
		var e *Error
		if !errors.As(err, &e) || err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// At the limits, the file is read.
	ok := "version = 1\n[[server]]\nidentifiers = [\"a\", \"b\", \"c\", \"d\", \"12345678\"]\n[need]\ncamera = 1\n"
	var d doc
	if err := DecodeLimits("f.toml", []byte(ok), &d, Limits{Tables: 2, Keys: 3, Values: 5, String: 8}); err != nil {
		t.Errorf("a file at the limits: %v", err)
	}
}

// A date before 1970 is refused wherever it is, with its line and field;
// years from 1970 to 9999 pass to the reader, which decides whether a date
// belongs there.
func TestDecodeDateRange(t *testing.T) {
	for _, tc := range []struct {
		data string
		want string // "" for accepted by the scan
	}{
		{"when = 1969-12-31T23:59:59Z\n", "f.toml:1: when: date 1969-12-31T23:59:59Z: want a year from 1970 to 9999"},
		{"version = 1\n[t]\nwhen = 0001-01-01\n", "f.toml:3: t.when: date 0001-01-01: want a year from 1970 to 9999"},
		{"[[s]]\n[[s]]\nat = [1970-01-01, 0000-01-01T00:00:00]\n", "f.toml:3: s[2].at: date 0000-01-01T00:00:00: want a year from 1970 to 9999"},
		{"t = {from = 1000-01-01 10:00:00Z}\n", "f.toml:1: from: date 1000-01-01: want a year from 1970 to 9999"},
		{"when = 1970-01-01T00:00:00Z\n", ""},
		{"when = 9999-12-31T23:59:59Z\n", ""},
		{"name = \"1969-12-31\"\n", ""},  // a string, not a date
		{"1969-12-31 = \"x\"\n", ""},     // a key, not a date
		{"# 1969-12-31\nn = 1969\n", ""}, // a comment, and a number
	} {
		var v map[string]any
		err := DecodeLimits("f.toml", []byte(tc.data), &v, DefaultLimits)
		switch {
		case tc.want == "" && err != nil && strings.Contains(err.Error(), "want a year"):
			t.Errorf("%q: %v", tc.data, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%q: %v, want %q", tc.data, err, tc.want)
		}
	}
}

// A file over the limits costs next to nothing: 16 MiB of the smallest
// tables, keys or array values, which the TOML library turns into hundreds
// of megabytes, are refused by the scan, which allocates a few kilobytes.
func TestDecodeLimitsAllocations(t *testing.T) {
	for name, data := range map[string][]byte{
		"tables": []byte(strings.Repeat("[[server]]\n", (16<<20)/11)),
		"keys":   []byte("[need]\n" + strings.Repeat("a = 1\n", (16<<20)/6)),
		"values": []byte("list = [" + strings.Repeat("1,", (16<<20)/2) + "]\n"),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var d doc
		err := Decode("f.toml", data, &d)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), "more than") {
			t.Errorf("%s: %v", name, err)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
			t.Errorf("%s: refusing %d MiB allocated %d bytes", name, len(data)>>20, got)
		}
	}
}
