package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/audit"
)

// initTime runs cmd 20 times with GODEBUG=inittrace=1 and returns the
// least total package initialisation seen, and go-git's part of it (its
// packages and the modules only it brings: billy, gcfg, sha1cd, gods).
func initTime(cmd []string) (all, git float64, err error) {
	all, git = -1, -1
	for range 20 {
		c := exec.Command(cmd[0], cmd[1:]...)
		c.Env = append(os.Environ(), "GODEBUG=inittrace=1", "ALLOT_NOW=2026-11-22T10:00:00Z")
		var errb bytes.Buffer
		c.Stderr = &errb
		c.Run() // the exit code is not what is measured
		var a, g float64
		sc := bufio.NewScanner(&errb)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 6 || f[0] != "init" {
				continue
			}
			ms, err := strconv.ParseFloat(f[4], 64)
			if err != nil {
				continue
			}
			a += ms
			if strings.Contains(f[1], "go-git") || strings.Contains(f[1], "sha1cd") || strings.Contains(f[1], "gcfg") ||
				strings.Contains(f[1], "emirpasic") || strings.Contains(f[1], "ProtonMail") || strings.Contains(f[1], "cloudflare/circl") {
				g += ms
			}
		}
		if all < 0 || a < all {
			all, git = a, g
		}
	}
	if all < 0 {
		return 0, 0, fmt.Errorf("%s: no inittrace", cmd[0])
	}
	return all, git, nil
}

// commitCost measures one redemption of one key into a wallet with a
// history, as a single-file wallet and as a git wallet (migrated from the
// same file), each run on a fresh copy; the difference is the commit.
func (s *site) commitCost(rows *[]row, allot string) error {
	if _, err := s.allotRun("key", "issue", "--signer", s.p("reseller.key"), "--cert", s.p("reseller.cert"),
		"--identity", s.p("id.txt"), "--product", "vms", "--license", "camera=1", "--term", "1y",
		"--wallet-id", s.walletID, "--out", s.p("one.txt")); err != nil {
		return err
	}
	if _, err := s.allotRun("wallet", "migrate", "--wallet", s.p("site.wallet"), "--out", s.p("site-git"), "--identity", s.p("id.txt")); err != nil {
		return err
	}
	const runs = 15
	file, err := s.timeCmd(runs, func() error { return copyFile(s.p("site.wallet"), s.p("change.wallet")) },
		allot, "wallet", "redeem", "--file", s.p("one.txt"), "--wallet", s.p("change.wallet"), "--identity", s.p("id.txt"))
	if err != nil {
		return err
	}
	git, err := s.timeCmd(runs, func() error {
		os.RemoveAll(s.p("change-git"))
		return copyDir(s.p("site-git"), s.p("change-git"))
	}, allot, "wallet", "redeem", "--file", s.p("one.txt"), "--wallet", s.p("change-git"), "--identity", s.p("id.txt"))
	if err != nil {
		return err
	}
	*rows = append(*rows, row{"one wallet change as a signed git commit (allot wallet redeem of 1 key, whole process)",
		fmt.Sprintf("%s beyond the change (%s, against %s)", fmtDur(git-file), fmtDur(git), fmtDur(file)), "≤ 50 ms beyond the change itself",
		"the same change to the single-file wallet: " + fmtDur(file), git-file <= 50*time.Millisecond})
	return nil
}

// auditBundles audits n bundles of one wallet, each funded by 3 keys of
// its own under a chain of 2 certificates, as `allot audit --trust` does
// (package audit), and returns the time and the signatures it checked.
func auditBundles(n int) (time.Duration, int64, error) {
	docs, w2, err := allottest.AuditBundles(os.TempDir(), n)
	if err != nil {
		return 0, 0, err
	}
	bundles := make([]audit.Bundle, n)
	for i, d := range docs {
		bundles[i] = audit.Bundle{Source: fmt.Sprintf("site-%d.lic", i), Doc: d}
	}
	var rep *audit.Report
	t := perOp(func(b *testing.B) {
		for b.Loop() {
			rep = audit.Run(bundles, nil, audit.Options{Trust: w2.Trust})
		}
	})
	if !rep.Clean() {
		return 0, 0, fmt.Errorf("audit of the bench bundles: %s", rep.Findings[0].Message)
	}
	// The chain's 2 certificates are checked once for all.
	return t, rep.Signatures + 2, nil
}

// copyDir copies a folder tree (a git wallet).
func copyDir(from, to string) error {
	return filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, info.Mode().Perm())
	})
}

// auditRow measures the audit of n bundles beside its floor: their
// signatures' Ed25519 verifications spread over the cores, timed just
// before and after the audit so that both see the machine alike.
func auditRow(n, cores int) (row, error) {
	verifyT := func() time.Duration {
		return perOp(func(b *testing.B) {
			pub, priv, _ := ed25519.GenerateKey(rand.Reader)
			msg := make([]byte, 128)
			sig := ed25519.Sign(priv, msg)
			for b.Loop() {
				ed25519.Verify(pub, msg, sig)
			}
		})
	}
	before := verifyT()
	t, sigs, err := auditBundles(n)
	if err != nil {
		return row{}, err
	}
	v := (before + verifyT()) / 2
	floor := time.Duration(float64(sigs) * float64(v) / float64(cores))
	return row{fmt.Sprintf("allot audit of %d bundles (in process, with --trust)", n), fmt.Sprintf("%s (%.2f ×)", fmtDur(t), float64(t)/float64(floor)),
		"≤ 1.5 × their signature floor", fmt.Sprintf("%d signatures × %s ÷ %d cores: %s", sigs, fmtDur(v), cores, fmtDur(floor)),
		float64(t) <= 1.5*float64(floor)}, nil
}
