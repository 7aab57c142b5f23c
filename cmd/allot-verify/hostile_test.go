package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
)

// TestHostileInputs runs the device binary on the hostile inputs of
// package allottest: for each kind of file a device reads, the largest it
// accepts, made of what costs a reader most (the smallest tables, keys or
// array values, the longest strings), and the largest valid files. Each
// must end with its exit code; a refused one with one line of error that
// names the file, a line and the field. Their peak memory, against the 20
// MiB of DESIGN.md, is measured by `make bench` (scripts/benchtool), not
// asserted here; the bytes a reader allocates are bounded by each reader's
// tests.
func TestHostileInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 300 MB of hostile files")
	}
	dir := t.TempDir()
	bin := filepath.Join(t.TempDir(), "allot-verify")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ins, err := allottest.Hostile(dir)
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile(`:[0-9]+: |line [0-9]+`)
	for _, in := range ins {
		t.Run(in.Name, func(t *testing.T) {
			cmd := exec.Command(bin, in.Args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "ALLOT_NOW=2026-11-23T10:00:00Z", "ALLOT_SYSROOT="+filepath.Join(dir, allottest.HostileSysroot))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: exit %d in %v", in.Damage, code, time.Since(start).Round(time.Millisecond))
			msg := stderr.String()
			if code != in.Exit {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, in.Exit, msg)
			}
			if code != 3 && code != 14 {
				return
			}
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "allot: ") || !strings.Contains(msg, in.Name) ||
				!named.MatchString(msg) || !strings.Contains(msg, in.Field) {
				t.Errorf("want one line \"allot: …\" naming %s, a line and %q; stderr:\n%s", in.Name, in.Field, msg)
			}
		})
	}
}
