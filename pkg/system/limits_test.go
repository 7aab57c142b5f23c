package system

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"allot.dev/allot/pkg/tomlfile"
)

// Parse refuses the costly files before the TOML library reads them.
func TestParseLimits(t *testing.T) {
	head := "version = 1\nid = \"site-1\"\norganization = \"o\"\n"
	for _, tc := range []struct {
		name, data, want string
	}{
		{"tiny tables", head + strings.Repeat("[[server]]\n", MaxFileSize/12), fmt.Sprintf("s.toml:%d: server: more than %d tables in the file", fileLimits.Tables+4, fileLimits.Tables)},
		{"keys", head + "[need]\n" + strings.Repeat("a = 1\n", MaxFileSize/7), fmt.Sprintf("s.toml:%d: need.a: more than %d keys in the file", fileLimits.Keys-3+5, fileLimits.Keys)},
	} {
		data := []byte(tc.data)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Parse("s.toml", data, cat())
		runtime.ReadMemStats(&after)
		var e *tomlfile.Error
		if !errors.As(err, &e) || err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
			t.Errorf("%s: refusing %d MiB allocated %d bytes", tc.name, len(data)>>20, got)
		}
	}
}

// A date outside 1970 to 9999 is malformed, at its line and field.
func TestDateRange(t *testing.T) {
	data := strings.Replace(site, "camera = 2", "camera = 1969-12-31", 1)
	want := fmt.Sprintf("s.toml:%d: need.camera: date 1969-12-31: want a year from 1970 to 9999", lineOf(t, data, "camera = 1969"))
	if _, err := Parse("s.toml", []byte(data), cat()); err == nil || err.Error() != want {
		t.Errorf("Parse: %v, want %q", err, want)
	}
}
