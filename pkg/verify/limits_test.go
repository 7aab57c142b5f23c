package verify_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"allot.dev/allot/pkg/tomlfile"
	"allot.dev/allot/pkg/verify"
)

const usageHead = "version = 1\nsystem = \"site-1\"\n"

// wantFileErr checks that err is a *tomlfile.Error whose one line is want.
func wantFileErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	var e *tomlfile.Error
	if !errors.As(err, &e) || err.Error() != want {
		t.Errorf("%s: %v, want %q", what, err, want)
	}
}

// A date outside 1970 to 9999 in a usage or trust file is malformed,
// reported at its line and field, wherever it is.
func TestDateRange(t *testing.T) {
	_, err := verify.ParseUsage("u.toml", []byte(usageHead+"\n[[server]]\nname = \"nvr-1\"\ncameras = 1969-12-31\n"))
	wantFileErr(t, "usage", err, "u.toml:6: server[1].cameras: date 1969-12-31: want a year from 1970 to 9999")
	_, err = verify.ParseTrust("t.toml", []byte("version = 1\nroots = []\nclock_tolerance = 0001-01-01T00:00:00Z\n"))
	wantFileErr(t, "trust", err, "t.toml:3: clock_tolerance: date 0001-01-01T00:00:00Z: want a year from 1970 to 9999")
}

// Usage and trust files are bounded by entries as well as bytes: within
// their byte caps, a file of the smallest tables, keys or array values is
// refused at its line before the TOML library spends on it (256 KiB of
// "a = 1" cost it 27 MiB), and a file at the entry caps is read.
func TestUsageLimits(t *testing.T) {
	servers := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "[[server]]\nname = \"nvr-%d\"\ncameras = 1\nintercoms = 0\n", i)
		}
		return b.String()
	}
	if _, err := verify.ParseUsage("u.toml", []byte(usageHead+servers(verify.MaxUsageServers))); err != nil {
		t.Errorf("%d servers: %v", verify.MaxUsageServers, err)
	}
	_, err := verify.ParseUsage("u.toml", []byte(usageHead+servers(verify.MaxUsageServers+1)))
	wantFileErr(t, "servers", err, "u.toml:4099: server[1025]: more than 1024 servers")
	_, err = verify.ParseUsage("u.toml", []byte(usageHead+"features = ["+strings.Repeat(`"a", `, verify.MaxUsageFeatures)+"\"a\"]\n"))
	wantFileErr(t, "features", err, "u.toml:3: features: more than 1024 features")
	for name, tc := range map[string]struct{ data, want string }{
		"tables": {usageHead + strings.Repeat("[[server]]\n", verify.MaxUsageFileSize/11),
			"u.toml:2059: server: more than 2056 tables in the file"},
		"keys": {usageHead + "[x]\n" + strings.Repeat("a = 1\n", verify.MaxUsageFileSize/7),
			"u.toml:5130: x.a: more than 5128 keys in the file"},
		"values": {usageHead + "features = [" + strings.Repeat(`"a", `, verify.MaxUsageFileSize/6) + "]\n",
			"u.toml:3: features: more than 7176 array values in the file"},
		"string": {usageHead + "[[server]]\nname = \"" + strings.Repeat("x", 2000) + "\"\n",
			"u.toml:4: server[1].name: a string of more than 1024 bytes"},
	} {
		data := []byte(tc.data)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := verify.ParseUsage("u.toml", data)
		runtime.ReadMemStats(&after)
		wantFileErr(t, name, err, tc.want)
		if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10 {
			t.Errorf("%s: refusing %d KiB allocated %d bytes", name, len(data)>>10, got)
		}
	}
}

func TestTrustLimits(t *testing.T) {
	line := fmt.Sprintf("%q", pubLine("vendor"))
	keys := strings.Repeat(pubLine("vendor")+"\n", verify.MaxTrustRoots+1)
	_, err := verify.ParseTrust("t.pub", []byte(keys))
	wantFileErr(t, "key file", err, fmt.Sprintf("t.pub:%d: more than %d root keys", verify.MaxTrustRoots+1, verify.MaxTrustRoots))
	_, err = verify.ParseTrust("t.toml", []byte("version = 1\nroots = ["+strings.Repeat(line+", ", verify.MaxTrustRoots)+line+"]\n"))
	wantFileErr(t, "roots", err, "t.toml:2: roots: more than 256 root keys")
	var revoked []string
	for i := range verify.MaxRevoked + 1 {
		revoked = append(revoked, fmt.Sprintf("%q", fmt.Sprintf("%016x", i)))
	}
	_, err = verify.ParseTrust("t.toml", []byte("version = 1\nroots = ["+line+"]\nrevoked = ["+strings.Join(revoked, ", ")+"]\n"))
	wantFileErr(t, "revoked", err, "t.toml:3: revoked: more than 8192 entries")
	_, err = verify.ParseTrust("t.toml", []byte("version = 1\n"+strings.Repeat("[[x]]\n", 100)))
	wantFileErr(t, "tables", err, "t.toml:10: x: more than 8 tables in the file")
}
