package tomlfile_test

// Fuzz targets for the strict TOML reader behind system, usage and trust
// files: Decode into a struct of the shapes those files use, and Line.

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/tomlfile"
)

type fuzzDoc struct {
	Version int            `toml:"version"`
	Name    string         `toml:"name"`
	List    []string       `toml:"list"`
	When    time.Time      `toml:"when"`
	Need    map[string]int `toml:"need"`
	Server  []struct {
		Name        string   `toml:"name"`
		Identifiers []string `toml:"identifiers"`
		Cameras     int      `toml:"cameras"`
	} `toml:"server"`
}

const fuzzSeed = `# a file people edit
version = 1
name = "site \"42\"\t\u00e9"
list = ["a", 'b', """c"""]
when = 2026-11-22T10:00:00Z

[need]
camera = 40
"analytics-l1" = 2

[[server]]
name = "nvr-1"
identifiers = ["mac:00", "disk:01"]
cameras = 12

[[server]]
name = "nvr-2"
`

func checkErr(t *testing.T, err error, file string, data []byte) {
	t.Helper()
	var e *tomlfile.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not a *tomlfile.Error: %v", err, err)
	}
	if e.File != file || e.Err == nil {
		t.Fatalf("error %+v", e)
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\n\r") || !strings.HasPrefix(msg, file) {
		t.Fatalf("error is not one line naming the file: %q", msg)
	}
	if n := bytes.Count(data, []byte("\n")) + 1; e.Line < 0 || e.Line > n {
		t.Fatalf("error names line %d of %d: %v", e.Line, n, err)
	}
}

// FuzzDecode decodes fuzzed files; every error is a one-line *Error.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(fuzzSeed), "server[2].name")
	f.Add([]byte(fuzzSeed), "need.camera")
	f.Add([]byte("version = \"1\"\n"), "version")
	f.Add([]byte("\xef\xbb\xbfversion = 1\n"), "")
	f.Add([]byte("[[server]]\nname = 1\nunknown = 2\n"), "server[1].unknown")
	f.Add([]byte("a = [[[[]]]]\n\"x\\ny\" = 1\n"), "x\ny")
	f.Add([]byte("version = \"1\"\nname = 2\n[need]\na = \"x\"\nb = []\n[[server]]\ncameras = \"x\"\nname = 1\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, field string) {
		var d fuzzDoc
		err := tomlfile.Decode("fuzz.toml", data, &d)
		if err != nil {
			checkErr(t, err, "fuzz.toml", data)
		}
		// The same file, the same error: the first in the file.
		for range 3 {
			var d2 fuzzDoc
			if again := tomlfile.Decode("fuzz.toml", data, &d2); fmt.Sprint(again) != fmt.Sprint(err) {
				t.Fatalf("one file, two errors: %v, then %v", err, again)
			}
		}
		n := bytes.Count(data, []byte("\n")) + 1
		if l := tomlfile.Line(data, field); l < 0 || l > n {
			t.Fatalf("Line(%q) = %d of %d lines", field, l, n)
		}
		e := tomlfile.Errorf("fuzz.toml", data, field, "%s", field)
		checkErr(t, e, "fuzz.toml", data)
		if q := tomlfile.Quote(field); strings.ContainsAny(q, "\n\r") {
			t.Fatalf("Quote(%q) = %q spans lines", field, q)
		}
	})
}

// TestDecodeDeep is the regression test of a crash and two hangs found by
// review: the TOML library recursed once per nested array, so a usage file
// of a million '[' overflowed the stack and killed the process; and it
// spent time in proportion to the square of a key's depth, so one key of
// 10,000 parts took seconds and gigabytes, and keys under a deep table
// header as much each.
func TestDecodeDeep(t *testing.T) {
	for _, tt := range []struct {
		name, data string
		line       int
	}{
		{"arrays", "version = 1\nlist = " + strings.Repeat("[", 1<<20) + "\n", 2},
		{"inline tables", "need = " + strings.Repeat("{a = ", 1<<20) + "\n", 1},
		{"arrays across lines", "list = [\n[\n[\n[\n[\n", 5},
		{"dotted key", strings.Repeat("a.", 10000) + "a = 1\n", 1},
		{"table header", "[" + strings.Repeat("a.", 10000) + "a]\nname = \"x\"\n", 1},
	} {
		var d fuzzDoc
		err := tomlfile.Decode("deep.toml", []byte(tt.data), &d)
		var e *tomlfile.Error
		if !errors.As(err, &e) || e.Line != tt.line || !strings.Contains(err.Error(), "deep") {
			t.Errorf("%s: %v, want an error on line %d", tt.name, err, tt.line)
		}
	}
	// Strings and comments hold anything; nesting to the limit parses.
	ok := "# [[[[[.....\nname = \"[[[[[.....\"\nlist = ['[[[[[.....', \"\"\"\n[[[[[....\"\"\"\"]\n" +
		"[need]\n\"a.b.c.d.e\" = 1\n[[server]]\nidentifiers = [[[\"x\"]]]\n"
	var d fuzzDoc
	if err := tomlfile.Decode("ok.toml", []byte(ok), &d); err != nil && strings.Contains(err.Error(), "deep") {
		t.Errorf("strings and comments count as nesting: %v", err)
	}
}
