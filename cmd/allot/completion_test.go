package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The checked-in completion scripts must match what the command tree
// generates: `make generate` refreshes them.
func TestCompletionsUpToDate(t *testing.T) {
	files := map[string]string{
		"bash": "allot.bash", "zsh": "_allot", "fish": "allot.fish", "powershell": "allot.ps1",
	}
	app := newEnv().newApp()
	for _, shell := range shells {
		want := completionScript(app, shell)
		got, err := os.ReadFile("../../completions/" + files[shell])
		if err != nil {
			t.Fatalf("%s completion: %v (run make generate)", shell, err)
		}
		if string(got) != want {
			t.Errorf("completions/%s is stale: run make generate", files[shell])
		}
	}
}

// The scripts must also work: bash and fish complete a subcommand and a
// flag; zsh at least parses. Each shell is skipped only where it is not
// installed (.ci/run installs them).
func TestCompletionsWork(t *testing.T) {
	cases := []struct {
		shell, script string
		want          []string
	}{
		{"bash", `source ../../completions/allot.bash
COMP_WORDS=(allot wallet re); COMP_CWORD=2; _allot; echo "${COMPREPLY[@]}"
COMP_WORDS=(allot wallet redeem --sk); COMP_CWORD=3; _allot; echo "${COMPREPLY[@]}"`,
			[]string{"redeem", "--skip-invalid"}},
		{"fish", `source ../../completions/allot.fish
complete -C "allot wallet re"
complete -C "allot wallet redeem --sk"`,
			[]string{"redeem\t", "--skip-invalid\t"}},
		{"zsh", `source ../../completions/_allot 2>/dev/null; echo parsed`, []string{"parsed"}},
	}
	for _, c := range cases {
		t.Run(c.shell, func(t *testing.T) {
			path, err := exec.LookPath(c.shell)
			if err != nil {
				t.Skipf("%s is not installed", c.shell)
			}
			args := []string{"-c", c.script}
			if c.shell == "zsh" {
				args = []string{"-n", "../../completions/_allot"}
			}
			out, err := exec.Command(path, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", c.shell, err, out)
			}
			if c.shell == "zsh" {
				return
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("%s completion: output %q lacks %q", c.shell, out, w)
				}
			}
		})
	}
}
