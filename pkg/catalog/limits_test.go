package catalog

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"allot.dev/allot/pkg/tomlfile"
)

func wantErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	var e *tomlfile.Error
	if !errors.As(err, &e) || err.Error() != want {
		t.Errorf("%s: %v, want %q", what, err, want)
	}
}

// A date outside 1970 to 9999 is malformed, at its line and field.
func TestDateRange(t *testing.T) {
	data := strings.Replace(string(defaultTOML), "grace_days = 30", "grace_days = 1969-12-31T00:00:00Z", 1)
	_, err := Parse("c.toml", []byte(data))
	line := strings.Count(data[:strings.Index(data, "grace_days")], "\n") + 1
	wantErr(t, "date", err, fmt.Sprintf("c.toml:%d: policy.grace_days: date 1969-12-31T00:00:00Z: want a year from 1970 to 9999", line))
}

// A catalog is bounded by entries as well as bytes: every license type,
// analytics type and feature a file names is looked up in it.
func TestLimits(t *testing.T) {
	base := string(defaultTOML)
	types := func(n int) string {
		var q []string
		for i := range n {
			q = append(q, fmt.Sprintf("\"t%d\"", i))
		}
		return "\n[[analytics]]\nlevel = 3\ntypes = [" + strings.Join(q, ", ") + "]\n"
	}
	products := strings.Repeat("[[product]]\ncode = \"p\"\n", MaxProducts)
	lineOf := func(data, s string) int { return strings.Count(data[:strings.Index(data, s)], "\n") + 1 }
	lastLine := func(data string) int { return strings.Count(data, "\n") }
	tables := base + strings.Repeat("[[product]]\n", fileLimits.Tables)
	// The default catalog has 20 tables, 13 of them inline: the limit is
	// passed at the extra header number Tables-19.
	for name, tc := range map[string]struct{ data, want string }{
		"analytics types": {base + types(MaxAnalyticsTypes),
			fmt.Sprintf("c.toml:%d: analytics[4].types: more than 1024 analytics types in the catalog", lineOf(base+types(1), "types = [\"t0\""))},
		"products": {base + products, fmt.Sprintf("c.toml:%d: product: 258 products, at most 256", lastLine(base+products)-1)},
		"tables":   {tables, fmt.Sprintf("c.toml:%d: product: more than %d tables in the file", lastLine(base)+fileLimits.Tables-19, fileLimits.Tables)},
	} {
		data := []byte(tc.data)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Parse("c.toml", data)
		runtime.ReadMemStats(&after)
		wantErr(t, name, err, tc.want)
		if got := after.TotalAlloc - before.TotalAlloc; name == "tables" && got > 64<<10 {
			t.Errorf("%s: refusing %d KiB allocated %d bytes", name, len(data)>>10, got)
		}
	}
}
