package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
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

// The scripts must also work, each in its own shell: bash and fish
// complete a subcommand and a flag from the sourced script; zsh and
// PowerShell are tested below. A shell missing outside CI skips its test;
// in CI (.ci/run installs them) it fails.
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
	}
	for _, c := range cases {
		t.Run(c.shell, func(t *testing.T) {
			path := lookShell(t, c.shell)
			out, err := exec.Command(path, "-c", c.script).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", c.shell, err, out)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("%s completion: output %q lacks %q", c.shell, out, w)
				}
			}
		})
	}
}

// lookShell finds a shell the tests run, skipping outside CI where it is
// not installed.
func lookShell(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed; .ci/run installs it", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return path
}

// zshSetup runs in an interactive zsh: it loads the completion system,
// installs _allot as a person would, and wraps compadd, which every
// completion function ends in, to print each match that survives zsh's
// own matching against the word being completed. Calls that only ask
// for matches (-O, -A, -D: _path_files at work) pass through. When
// completion is done the shell exits.
const zshSetup = `PS1= RPS1= PS2=
%s
compadd() {
    local -a matches
    local -i end=${@[(i)--]}
    if (( ${${@[1,end-1]}[(I)-[OAD]*]} )); then builtin compadd "$@"; return; fi
    builtin compadd -O matches "$@"
    local m
    for m in $matches; do print -r -- "MATCH:$m"; done
    builtin compadd "$@"
}
allot_test_done() { print -r -- '<<DONE>>'; exit }
comppostfuncs=(allot_test_done)
print -r -- '<<READY>>'
`

// zshDriver runs an interactive zsh on a pseudo-terminal (zsh/zpty), so
// that a real line editor reads the typed line and the Tab key runs the
// completion widget.
const zshDriver = `zmodload zsh/zpty || exit 3
zpty allot zsh -f -i
zpty -w allot "source ${(q)1}"
zpty -r -m allot out '*<<READY>>*' || { print -r -- "setup failed: $out"; exit 4 }
zpty -w -n allot "$2"$'\t'
zpty -r -m allot out '*<<DONE>>*' || { print -r -- "no completion: $out"; exit 5 }
print -r -- "$out"
zpty -d allot
`

// The zsh script completes in zsh's real completion system, on a line
// typed into a terminal, installed both ways the README shows: in $fpath
// (autoloaded by compinit) and sourced.
func TestCompletionsZsh(t *testing.T) {
	zsh := lookShell(t, "zsh")
	script, err := filepath.Abs("../../completions/_allot")
	if err != nil {
		t.Fatal(err)
	}
	fpath := "fpath=(" + filepath.Dir(script) + " $fpath)\nautoload -Uz compinit && compinit -u -D"
	sourced := "autoload -Uz compinit && compinit -u -D\nsource " + script
	cases := []struct {
		name, install, line string
		want, not           []string
	}{
		{"fpath/command", fpath, "allot wal", []string{"wallet"}, []string{"verify"}},
		{"fpath/subcommand", fpath, "allot wallet re", []string{"redeem"}, []string{"init", "new"}},
		{"fpath/flag", fpath, "allot wallet redeem --sk", []string{"--skip-invalid"}, []string{"--file"}},
		{"fpath/flag-value", fpath, "allot wallet redeem --file k", []string{"keys.txt"}, []string{"--skip-invalid"}},
		{"sourced/subcommand", sourced, "allot signer ", []string{"new", "certify"}, []string{"redeem"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, text := range map[string]string{
				"setup.zsh": fmt.Sprintf(zshSetup, c.install), "driver.zsh": zshDriver, "keys.txt": "",
			} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, zsh, "-f", "driver.zsh", filepath.Join(dir, "setup.zsh"), c.line)
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "ZDOTDIR=" + dir, "TERM=dumb", "LC_ALL=C"}
			cmd.WaitDelay = time.Second
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("zsh: %v\n%s", err, out)
			}
			var got []string
			for _, m := range regexp.MustCompile(`MATCH:([^\r\n<]*)`).FindAllStringSubmatch(string(out), -1) {
				got = append(got, m[1])
			}
			for _, w := range c.want {
				if !slices.Contains(got, w) {
					t.Errorf("%q<Tab> offers %q, not %q", c.line, got, w)
				}
			}
			for _, w := range c.not {
				if slices.Contains(got, w) {
					t.Errorf("%q<Tab> offers %q, which holds %q", c.line, got, w)
				}
			}
		})
	}
}

// noPwsh is why PowerShell's completion is not exercised where pwsh is
// missing, CI included: no registry this project's machines reach ships
// PowerShell.
const noPwsh = "pwsh is not installed, and CI cannot install it: Debian has no PowerShell package, " +
	"and npm's pwsh downloads it from GitHub at install time"

// The PowerShell script completes through PowerShell's own TabExpansion2,
// as a Tab typed at the prompt does.
func TestCompletionsPowerShell(t *testing.T) {
	pwsh, err := exec.LookPath("pwsh")
	if err != nil {
		t.Skip(noPwsh)
	}
	script, err := filepath.Abs("../../completions/allot.ps1")
	if err != nil {
		t.Fatal(err)
	}
	// A native completer is for a command PowerShell finds: a stub allot.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "allot"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := `$ErrorActionPreference = 'Stop'
. '` + script + `'
foreach ($line in @('allot wal', 'allot wallet re', 'allot wallet redeem --sk')) {
    (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches |
        ForEach-Object { "MATCH:$($line):$($_.CompletionText)" }
}
`
	cmd := exec.Command(pwsh, "-NoProfile", "-NonInteractive", "-Command", run)
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pwsh: %v\n%s", err, out)
	}
	for _, w := range []string{
		"MATCH:allot wal:wallet", "MATCH:allot wallet re:redeem", "MATCH:allot wallet redeem --sk:--skip-invalid",
	} {
		if !strings.Contains(string(out), w) {
			t.Errorf("pwsh output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(string(out), "MATCH:allot wallet re:init") {
		t.Errorf("pwsh offers init for re:\n%s", out)
	}
}
