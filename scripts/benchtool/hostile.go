package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"allot.dev/allot/pkg/allottest"
)

// hostileRows runs allot-verify on every hostile input of package
// allottest (the largest file of each kind a device reads, made to cost
// the most) and reports each one's peak memory beside DESIGN.md's 20 MiB,
// and its time. Peak memory is GNU time's: see peakRSS.
func hostileRows(work, allotVerify string) ([]row, error) {
	dir := filepath.Join(work, "hostile")
	ins, err := allottest.Hostile(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		return []row{{"peak memory of allot-verify on hostile inputs", "not measured", "≤ 20 MiB",
			"needs /usr/bin/time (Debian: time)", false}}, nil
	}
	var rows []row
	for _, in := range ins {
		var peak float64
		var took time.Duration
		code := -1
		var stderr string
		for range 3 {
			cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", allotVerify}, in.Args...)...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "ALLOT_NOW=2026-11-23T10:00:00Z", "ALLOT_SYSROOT="+filepath.Join(dir, allottest.HostileSysroot))
			var errb bytes.Buffer
			cmd.Stderr = &errb
			start := time.Now()
			err := cmd.Run()
			d := time.Since(start)
			code = 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				return nil, err
			}
			lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
			kb, err := strconv.Atoi(lines[len(lines)-1])
			if err != nil {
				return nil, fmt.Errorf("time %s: %q", in.Name, errb.String())
			}
			stderr = strings.Join(lines[:len(lines)-1], " | ")
			peak = max(peak, float64(kb)/1024)
			if took == 0 || d < took {
				took = d
			}
		}
		fi, _ := os.Stat(filepath.Join(dir, in.Name))
		ref := fmt.Sprintf("%s (%.1f MiB); exit %d in %s", in.Damage, float64(fi.Size())/(1<<20), code, fmtDur(took))
		if code != in.Exit {
			ref += fmt.Sprintf(", want exit %d: %s", in.Exit, stderr)
		}
		rows = append(rows, row{"allot-verify, hostile " + in.Name, fmt.Sprintf("%.1f MiB", peak), "≤ 20 MiB", ref,
			peak <= 20 && code == in.Exit})
	}
	return rows, nil
}
