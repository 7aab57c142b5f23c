package verifycli

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Files in the folder where the hostile lists below run: names a shell
// pattern (*.lic, *) can pass to verify as arguments.
var hostileFiles = []string{
	"site.lic", "vendor.pub",
	"--trust=evil.pub.lic", "-now=2020-01-01.lic", "-now=2020-01-01", "--now=2020-01-01.lic",
	"--system=other.system.toml", "--usage=low.usage.toml", "--state=evil.lic", "--catalog=evil.lic",
	"--trust", "--state", "--state-init", "--json", "-h", "--help", "--generate-bash-completion",
	"---trust=evil.pub.lic",
}

func inFolder(name string) bool { return slices.Contains(hostileFiles, name) }

// What the caller typed, and what it must mean whatever the folder holds.
var (
	typed = []string{"--trust", "vendor.pub", "--now", "2026-11-22"}
	want  = options{bundles: []string{"site.lic"}, trust: "vendor.pub", now: "2026-11-22"}
)

func noEnv(string) string { return "" }

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want options
	}{
		{[]string{"site.lic", "--trust", "vendor.pub"}, options{bundles: []string{"site.lic"}, trust: "vendor.pub"}},
		{[]string{"--trust=vendor.pub", "a.lic", "--json", "b.lic", "--now", "2026-11-22"},
			options{bundles: []string{"a.lic", "b.lic"}, trust: "vendor.pub", json: true, now: "2026-11-22"}},
		{[]string{"--state", "/var/lib/allot", "--state-init=true", "--json=false", "x.lic"},
			options{bundles: []string{"x.lic"}, state: "/var/lib/allot", stateInit: true}},
		{[]string{"--trust", "vendor.pub", "--", "--trust=evil.pub.lic", "-now=2020-01-01.lic", "--", "-h"},
			options{bundles: []string{"--trust=evil.pub.lic", "-now=2020-01-01.lic", "--", "-h"}, trust: "vendor.pub"}},
		{[]string{"-", "./--trust=evil.pub.lic", "--trust", "v"}, options{bundles: []string{"-", "./--trust=evil.pub.lic"}, trust: "v"}},
		{[]string{"-h"}, options{help: true}},
		{[]string{"--help"}, options{help: true}},
	} {
		o, err := parseArgs(tc.args, noEnv, func(string) bool { return false })
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if !reflect.DeepEqual(*o, tc.want) {
			t.Errorf("%q: got %+v, want %+v", tc.args, *o, tc.want)
		}
	}
}

// A name from the folder never becomes a flag: each list is refused as a
// usage error, or means exactly what the caller typed.
func TestParseArgsHostileNames(t *testing.T) {
	lists := [][]string{
		{"site.lic", "--trust=evil.pub.lic"},
		{"--trust=evil.pub.lic", "site.lic"},
		{"site.lic", "-now=2020-01-01.lic"},
		{"site.lic", "-now=2020-01-01"},
		{"site.lic", "--now=2020-01-01.lic"},
		{"site.lic", "--system=other.system.toml"},
		{"site.lic", "--usage=low.usage.toml"},
		{"site.lic", "--state=evil.lic"},
		{"site.lic", "--catalog=evil.lic"},
		{"--state", "site.lic"},
		{"--state-init", "site.lic"},
		{"site.lic", "--json"},
		{"-h", "site.lic"},
		{"--help", "site.lic"},
		{"site.lic", "--generate-bash-completion"},
		{"---trust=evil.pub.lic", "site.lic"},
		{"--trust", "site.lic"},
	}
	for _, l := range lists {
		for _, args := range [][]string{append(slices.Clone(typed), l...), append(slices.Clone(l), typed...)} {
			o, err := parseArgs(args, noEnv, inFolder)
			var ue *usageError
			if errors.As(err, &ue) {
				if !strings.Contains(ue.msg, "is the name of a file") || !strings.Contains(ue.hint, "./") {
					t.Errorf("%q: %v (hint %q): want the file named and a hint", args, err, ue.hint)
				}
				continue
			}
			if err != nil || !reflect.DeepEqual(*o, want) {
				t.Errorf("%q: got %+v, %v; want a usage error or %+v", args, o, err, want)
			}
		}
	}
}

// Names that look like flags, of no file here: refused, never a flag and
// never a bundle.
func TestParseArgsRefused(t *testing.T) {
	none := func(string) bool { return false }
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"site.lic", "-now=2020-01-01"}, "unknown flag -now=2020-01-01"},
		{[]string{"site.lic", "-trust", "evil.pub"}, "unknown flag -trust"},
		{[]string{"site.lic", "---trust=evil.pub"}, "unknown flag ---trust=evil.pub"},
		{[]string{"site.lic", "--tru=evil.pub"}, "unknown flag --tru=evil.pub"},
		{[]string{"site.lic", "-j"}, "unknown flag -j"},
		{[]string{"site.lic", "--trust", "--now=2020-01-01"}, "flag --trust needs a value"},
		{[]string{"site.lic", "--usage", "-x.usage.toml"}, "flag --usage needs a value"},
		{[]string{"--trust", "vendor.pub", "site.lic", "--trust=evil.pub"}, "flag --trust given twice"},
		{[]string{"--now", "2026-11-22", "site.lic", "--now=2020-01-01"}, "flag --now given twice"},
		{[]string{"site.lic", "--json=yes"}, "flag --json takes no value"},
	} {
		_, err := parseArgs(tc.args, noEnv, none)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.HasPrefix(ue.msg, tc.msg) {
			t.Errorf("%q: %v, want a usage error %q", tc.args, err, tc.msg)
		}
	}
}
