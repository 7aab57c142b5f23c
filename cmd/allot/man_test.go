package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/pkg/errclass"
)

const man1 = "../../completions/man/man1"

// The checked-in man pages must be exactly those the command tree
// generates, no more and no fewer: `make generate` refreshes them.
func TestManPagesUpToDate(t *testing.T) {
	pages := manPages(newEnv().newApp())
	var want []string
	for _, p := range pages {
		want = append(want, p.name+".1")
		got, err := os.ReadFile(filepath.Join(man1, p.name+".1"))
		if err != nil {
			t.Errorf("man page %s: %v (run make generate)", p.name, err)
			continue
		}
		if string(got) != p.roff {
			t.Errorf("completions/man/man1/%s.1 is stale: run make generate", p.name)
		}
	}
	entries, err := os.ReadDir(man1)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(want, e.Name()) {
			t.Errorf("completions/man/man1/%s belongs to no command: run make generate", e.Name())
		}
	}
	for _, name := range []string{"allot", "allot-signer-new", "allot-wallet-redeem", "allot-verify"} {
		if !slices.Contains(want, name+".1") {
			t.Errorf("no page %s(1)", name)
		}
	}
}

// allot-verify(1) is written from verifycli's usage, and the urfave
// command `allot verify` lists the same flags for help and completion: a
// flag added to one and not the other fails here.
func TestVerifyFlagsMatchVerifycli(t *testing.T) {
	var fromUsage []string
	for _, o := range parseVerifyUsage().options {
		fromUsage = append(fromUsage, o.name)
	}
	var fromCommand []string
	for _, c := range newEnv().newApp().Commands {
		if c.Name == "verify" {
			for _, f := range c.Flags {
				fromCommand = append(fromCommand, "--"+f.Names()[0])
			}
		}
	}
	if len(fromUsage) == 0 || !slices.Equal(fromUsage, fromCommand) {
		t.Errorf("verifycli.Usage lists %v, the verify command %v", fromUsage, fromCommand)
	}
	page := string(pageByName(t, "allot-verify"))
	for _, f := range fromUsage {
		if !strings.Contains(page, `\fB`+roffEscape(f)+`\fR`) {
			t.Errorf("allot-verify(1) lacks %s", f)
		}
	}
}

// The pages' exit status table is the README's.
func TestExitStatusesMatchREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "### Exit codes\n")
	if !ok {
		t.Fatal("README has no Exit codes section")
	}
	row := regexp.MustCompile(`(?m)^\| (\d+) \| (.+) \|$`)
	var got []string
	for _, m := range row.FindAllStringSubmatch(strings.Split(strings.TrimSpace(table), "\n\n")[0], -1) {
		got = append(got, m[1]+" "+m[2])
	}
	var want []string
	for _, s := range errclass.Table {
		want = append(want, strconv.Itoa(s.Code)+" "+s.Meaning)
	}
	if !slices.Equal(got, want) {
		t.Errorf("README's exit codes:\n%s\nthe man pages':\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRoffEscape(t *testing.T) {
	for in, want := range map[string]string{
		`--trust`:  `\-\-trust`,
		`a\b`:      `a\eb`,
		"a → b":    `a \[u2192] b`,
		`'quoted'`: `'quoted'`,
	} {
		if got := roffEscape(in); got != want {
			t.Errorf("roffEscape(%q) = %q, want %q", in, got, want)
		}
	}
	var r roff
	r.text(".starts with a dot\n'and a quote")
	if got := r.String(); got != "\\&.starts with a dot\n\\&'and a quote\n" {
		t.Errorf("text guards control characters badly: %q", got)
	}
}

// The pages render without a warning from groff, and man shows a page
// with its flags. Outside CI, a machine without groff skips; .ci/run
// installs it.
func TestManPagesRender(t *testing.T) {
	groff, err := exec.LookPath("groff")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("groff is not installed; .ci/run installs groff-base")
		}
		t.Skip("groff is not installed (Debian: groff-base)")
	}
	paths, err := filepath.Glob(filepath.Join(man1, "*.1"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no pages in %s: %v", man1, err)
	}
	// -ww: every warning; -z: no output, only the warnings.
	out, err := exec.Command(groff, append([]string{"-man", "-Tutf8", "-ww", "-z"}, paths...)...).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("groff: %v\n%s", err, out)
	}
	for page, want := range map[string][]string{
		"allot-verify":        {"allot-verify - verify license bundles", "--trust FILE", "--state-init", "ALLOT_TRUST", "EXIT STATUS", "13     quota exceeded"},
		"allot-wallet-redeem": {"allot wallet redeem KEY...", "--skip-invalid", "--wallet WALLET", "allot-wallet(1)"},
	} {
		text := renderMan(t, groff, filepath.Join(man1, page+".1"))
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s(1) as rendered lacks %q:\n%s", page, w, text)
			}
		}
	}
}

// renderMan formats a page as a person reads it: with man -l where man-db
// is installed, else with groff alone.
func renderMan(t *testing.T, groff, path string) string {
	t.Helper()
	var cmd *exec.Cmd
	if man, err := exec.LookPath("man"); err == nil {
		cmd = exec.Command(man, "-l", "-P", "cat", path)
	} else {
		cmd = exec.Command(groff, "-man", "-Tutf8", path)
	}
	cmd.Env = append(os.Environ(), "MANWIDTH=100", "LC_ALL=C.UTF-8", "MAN_KEEP_FORMATTING=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	// Bold and underline are overstrikes on a terminal: keep the letters.
	return regexp.MustCompile(".\b").ReplaceAllString(string(out), "")
}

func pageByName(t *testing.T, name string) []byte {
	t.Helper()
	for _, p := range manPages(newEnv().newApp()) {
		if p.name == name {
			return []byte(p.roff)
		}
	}
	t.Fatalf("no page %s", name)
	return nil
}

// A flag's placeholder and default come out as urfave/cli's help shows
// them.
func TestManFlag(t *testing.T) {
	for _, c := range []struct {
		flag cli.Flag
		want string
	}{
		{&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "the `FILE`"}, ".TP\n\\fB\\-\\-out\\fR, \\fB\\-o\\fR \\fIFILE\\fR\nthe FILE\n"},
		{&cli.IntFlag{Name: "count", Value: 1, Usage: "how many"}, ".TP\n\\fB\\-\\-count\\fR \\fICOUNT\\fR\nhow many (default: 1)\n"},
		{&cli.BoolFlag{Name: "json", Usage: "print JSON"}, ".TP\n\\fB\\-\\-json\\fR\nprint JSON\n"},
		{&cli.StringFlag{Name: "x", Hidden: true}, ""},
	} {
		var r roff
		r.flag(c.flag)
		if r.String() != c.want {
			t.Errorf("flag %v:\n%q\nwant\n%q", c.flag.Names(), r.String(), c.want)
		}
	}
}
