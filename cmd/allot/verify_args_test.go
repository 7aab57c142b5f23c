package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"allot.dev/allot/cmd/internal/verifycli"
	"allot.dev/allot/pkg/allottest"
)

// hostileFolder makes a folder as a wallet holder could fill it for a
// device that runs verify on a shell pattern: a valid bundle site.lic and
// vendor.pub, beside files whose names are flags, and the hidden files
// (which *.lic does not match) their values name. Each would change the
// answer if it were taken as a flag: another root (exit 10), a clock of
// 2020 (11), another system (12), an unreadable usage file (3), a state
// folder without state (14), help or completions (0). The names that are
// not flags with a value hold a copy of site.lic, so that read as a bundle
// they are licensed. It changes into the folder.
func hostileFolder(t *testing.T) {
	dir := t.TempDir()
	doc, world, err := allottest.TypicalBundle(dir, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	evil, err := allottest.NewNamedWorld("evil", 1)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"site.lic", "-now=2020-01-01", "-now=2020-01-01.lic", "--now=2020-01-01.lic",
		"--trust", "--state", "--state-init", "--json", "-h", "--help", "--generate-bash-completion"} {
		write(name, doc)
	}
	for _, name := range []string{"--system=.other.lic", ".other.lic"} {
		write(name, allottest.System("other", 1).Marshal(allottest.Now))
	}
	for _, name := range []string{"--usage=.low.lic", ".low.lic"} {
		write(name, []byte("not a usage file\n"))
	}
	if err := world.WriteTrust(filepath.Join(dir, "vendor.pub")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"--trust=.evil.pub.lic", ".evil.pub.lic"} {
		if err := evil.WriteTrust(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"--state=.state.lic", ".state.lic", "sysroot"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
}

type verifyRun struct {
	code           int
	stdout, stderr string
}

// runBoth runs args through allot verify (Main's path, urfave/cli and
// all) and through allot-verify's entry point, in the folder.
func runBoth(t *testing.T, args []string) (allot, device verifyRun) {
	t.Helper()
	getenv := func(k string) string {
		if k == "ALLOT_SYSROOT" {
			return "sysroot"
		}
		return ""
	}
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: getenv, rand: &allottest.Rand{}}
	allot.code = e.run(append([]string{"allot", "verify"}, args...))
	allot.stdout, allot.stderr = out.String(), strings.ReplaceAll(errb.String(), "allot verify", "PROG")
	out.Reset()
	errb.Reset()
	device.code = verifycli.Run(args, verifycli.Env{Prog: "allot-verify", Stdout: &out, Stderr: &errb, Getenv: getenv})
	device.stdout, device.stderr = out.String(), strings.ReplaceAll(errb.String(), "allot-verify", "PROG")
	if allot != device {
		t.Errorf("%q: allot verify and allot-verify differ:\nallot verify: %+v\nallot-verify: %+v", args, allot, device)
	}
	return allot, device
}

// The same hostile argument lists through both binaries: every list that
// holds a name of the folder that looks like a flag is refused with exit
// 2 and a hint, before anything is verified, whatever the name says.
func TestVerifyHostileArgs(t *testing.T) {
	hostileFolder(t)
	// The folder holds a file named --trust, so the caller spells the
	// flags --name=VALUE: spelt --trust, the flag would be refused too.
	typed := []string{"--trust=vendor.pub", "--now=2026-11-22"}
	if r, _ := runBoth(t, append([]string{"site.lic"}, typed...)); r.code != 0 || !strings.Contains(r.stdout, "site.lic: licensed") {
		t.Fatalf("the folder's own bundle: %+v, want licensed", r)
	}
	for _, names := range [][]string{
		{"site.lic", "--trust=.evil.pub.lic"},
		{"--trust=.evil.pub.lic", "site.lic"},
		{"-now=2020-01-01.lic", "site.lic"},
		{"site.lic", "-now=2020-01-01"},
		{"site.lic", "--now=2020-01-01.lic"},
		{"--system=.other.lic", "site.lic"},
		{"site.lic", "--usage=.low.lic"},
		{"--state=.state.lic", "site.lic"},
		{"--state", "site.lic"},
		{"--state-init", "site.lic"},
		{"site.lic", "--json"},
		{"-h", "site.lic"},
		{"--help", "site.lic"},
		{"site.lic", "--generate-bash-completion"},
		{"--trust", "site.lic"},
	} {
		for _, args := range [][]string{slices.Concat(typed, names), slices.Concat(names, typed)} {
			r, _ := runBoth(t, args)
			if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "is the name of a file, not a flag") ||
				!strings.Contains(r.stderr, "allot: hint: to verify it, write ./") {
				t.Errorf("%q: %+v, want exit 2, the file named and a hint", args, r)
			}
		}
	}

	// After --, or written ./NAME, the same names are bundles, verified
	// with the trust and the clock the caller gave: the copies of site.lic
	// are licensed, the key is not a bundle (exit 3).
	names := []string{"-now=2020-01-01", "--json", "-h", "--trust=.evil.pub.lic", "site.lic"}
	for _, args := range [][]string{
		slices.Concat(typed, []string{"--"}, names),
		slices.Concat(typed, []string{"./-now=2020-01-01", "./--json", "./-h", "./--trust=.evil.pub.lic", "site.lic"}),
	} {
		r, _ := runBoth(t, args)
		if r.code != 3 || !strings.Contains(r.stderr, "--trust=.evil.pub.lic: ") {
			t.Errorf("%q: %+v, want exit 3 for the key read as a bundle", args, r)
		}
		for _, n := range []string{"-now=2020-01-01", "--json", "-h", "site.lic"} {
			if !strings.Contains(r.stdout, n+": licensed (until 2027-11-22") {
				t.Errorf("%q: %s is not reported licensed:\n%s", args, n, r.stdout)
			}
		}
	}
}

// reorderArgs, which moves flags in front of arguments for urfave/cli,
// leaves verify's arguments as they are.
func TestReorderArgsLeavesVerify(t *testing.T) {
	app := newEnv().newApp()
	args := []string{"allot", "verify", "site.lic", "--trust=.evil.pub.lic", "-now=2020-01-01", "--", "--json", "--trust", "vendor.pub"}
	if got := reorderArgs(app, args); !slices.Equal(got, args) {
		t.Errorf("reorderArgs(%q) = %q", args, got)
	}
}
