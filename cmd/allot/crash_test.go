package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"allot.dev/allot/pkg/atomicfile"
	"allot.dev/allot/pkg/crashpoint"
	"allot.dev/allot/pkg/gitwallet"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/wallet"
)

// The crash and concurrency tests drive the real allot binary, built with
// the allot_crashtest tag so that it can kill itself at each step of a
// write ($ALLOT_CRASH_AT, package crashpoint).

// site is a working folder with a vendor, a reseller, a wallet and keys,
// made with the binary under test. Keys are encrypted to an age identity,
// so no run pays for scrypt.
type site struct {
	t     *testing.T
	dir   string
	bin   string
	batch int
	// wallet is $ALLOT_WALLET: "" for the single-file wallet, or the
	// folder of a git wallet.
	wallet string
}

func buildCrashBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "allot")
	out, err := exec.Command("go", "build", "-tags", "allot_crashtest", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func newSite(t *testing.T, keys int) *site { return newSiteWallet(t, keys, "") }

// newSiteWallet is newSite with a git wallet in the folder gitWallet, if
// it is not "".
func newSiteWallet(t *testing.T, keys int, gitWallet string) *site {
	t.Helper()
	s := &site{t: t, dir: t.TempDir(), bin: buildCrashBinary(t), wallet: gitWallet}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.p("id.txt"), []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.must("signer", "new", "--name", "vendor", "--identity", "id.txt")
	s.must("signer", "new", "--name", "reseller", "--identity", "id.txt")
	s.must("signer", "certify", "--signer", "vendor.key", "--pub", "reseller.pub", "--role", "reseller",
		"--product", "vms", "--license", "camera=100", "--kind", "subscription", "--identity", "id.txt", "--out", "reseller.cert")
	init := []string{"wallet", "init", "--org", "Crash Test", "--trust", "vendor.pub", "--identity", "id.txt"}
	if gitWallet != "" {
		init = append(init, "--git")
	}
	out := s.must(init...)
	_, wid, _ := strings.Cut(out, "wallet id: ")
	s.must("key", "issue", "--signer", "reseller.key", "--cert", "reseller.cert", "--identity", "id.txt",
		"--product", "vms", "--license", "camera=10", "--term", "1y", "--count", strconv.Itoa(keys),
		"--wallet-id", strings.TrimSpace(wid), "--out", "keys.txt")
	return s
}

func (s *site) p(name string) string { return filepath.Join(s.dir, name) }

func (s *site) cmd(args ...string) *exec.Cmd {
	c := exec.Command(s.bin, args...)
	c.Dir = s.dir
	c.Env = append(os.Environ(), "ALLOT_NOW=2026-11-22T10:00:00Z", "ALLOT_USER=crash@test",
		"ALLOT_SYSROOT="+s.p("no-sysroot"), "ALLOT_WALLET="+s.wallet, "ALLOT_PASSPHRASE=", "ALLOT_CRASH_AT=",
		"ALLOT_IDENTITY="+s.p("id.txt"), "HOME="+s.dir)
	return c
}

func (s *site) must(args ...string) string {
	s.t.Helper()
	var out, errb bytes.Buffer
	c := s.cmd(args...)
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		s.t.Fatalf("allot %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// keyBatch writes the next n keys of keys.txt to a file of their own and
// returns its name and the keys' ids.
func (s *site) keyBatch(n int) (string, []string) {
	s.t.Helper()
	all := strings.Fields(string(must1(os.ReadFile(s.p("keys.txt")))))
	from := s.batch * n
	if from+n > len(all) {
		s.t.Fatalf("out of keys: %d batches of %d", s.batch, n)
	}
	s.batch++
	keys := all[from : from+n]
	name := fmt.Sprintf("batch-%d.txt", s.batch)
	if err := os.WriteFile(s.p(name), []byte(strings.Join(keys, "\n")+"\n"), 0o644); err != nil {
		s.t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		key, err := licensekey.Parse(k)
		if err != nil {
			s.t.Fatal(err)
		}
		ids = append(ids, key.ID())
	}
	return name, ids
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// run runs allot and kills it: at the crash point at (ALLOT_CRASH_AT), or
// after delay if at is empty and delay > 0. It reports whether the command
// said it succeeded, and whether it was killed.
func (s *site) run(at string, delay time.Duration, args ...string) (ok, killed bool, stderr string) {
	c := s.cmd(args...)
	if at != "" {
		c.Env = append(c.Env, "ALLOT_CRASH_AT="+at)
	}
	var errb bytes.Buffer
	c.Stderr = &errb
	if err := c.Start(); err != nil {
		s.t.Fatal(err)
	}
	if at == "" && delay > 0 {
		timer := time.AfterFunc(delay, func() { c.Process.Signal(syscall.SIGKILL) })
		defer timer.Stop()
	}
	err := c.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() && st.Signal() == syscall.SIGKILL {
			return false, true, errb.String()
		}
	}
	return err == nil, false, errb.String()
}

// walletFile is the wallet file's path.
func (s *site) walletFile() string {
	if s.wallet != "" {
		return s.p(filepath.Join(s.wallet, defaultWallet))
	}
	return s.p(defaultWallet)
}

func (s *site) temps() []string {
	var names []string
	ents, _ := os.ReadDir(filepath.Dir(s.walletFile()))
	for _, e := range ents {
		if atomicfile.IsTemp(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestCrash kills `allot wallet redeem` and `allot allocate` with SIGKILL at
// every crash point and at random moments, many times over, and checks
// after each kill that the wallet opens, that every operation that
// reported success is in it, that a killed operation is all there or not
// at all, that no bundle is partial, and that no temporary file is left
// (Linux: none at all; elsewhere the next write clears them).
// ALLOT_CRASH_RUNS sets the number of runs (scripts/crash runs many).
func TestCrash(t *testing.T) { testCrash(t, "") }

// TestCrashGit is TestCrash on a git wallet, at the crash points of the
// commit as well; after each kill the branch's last commit is intact and
// signed, and the file is that commit plus at most the killed change,
// which the next change commits.
func TestCrashGit(t *testing.T) { testCrash(t, "gitwallet") }

func testCrash(t *testing.T, gitWallet string) {
	if testing.Short() {
		t.Skip("drives a built binary hundreds of times")
	}
	runs := 80
	if v, err := strconv.Atoi(os.Getenv("ALLOT_CRASH_RUNS")); err == nil && v > 0 {
		runs = v
	}
	const batchSize = 25
	s := newSiteWallet(t, (runs+3)*batchSize, gitWallet)
	rng := rand.New(rand.NewPCG(1, uint64(runs)))
	points := crashpoint.All
	if gitWallet != "" {
		points = append(slices.Clone(points), crashpoint.Git...)
	}
	redeemed := map[string]bool{} // keys whose redemption reported success
	allocated := map[string]bool{}
	// A stock of licenses, so that allocations have something to take.
	stock, ids := s.keyBatch(batchSize)
	s.must("wallet", "redeem", "--file", stock, "--cert", "reseller.cert")
	for _, id := range ids {
		redeemed[id] = true
	}
	var stats struct{ runs, killed, succeeded, atPoint, litter int }
	// A typical run's duration, for random kill times.
	typical := 60 * time.Millisecond
	for i := 0; i < runs; i++ {
		at := ""
		var delay time.Duration
		if i%2 == 0 {
			at = points[(i/2)%len(points)]
			stats.atPoint++
		} else {
			delay = time.Duration(rng.Int64N(int64(typical)))
		}
		var ok, killed bool
		var stderr string
		var batch []string
		system := ""
		if i%3 == 2 {
			system = fmt.Sprintf("site-%d", i)
			s.must("system", "create", "--id", system, "--org", "Crash Test", "--server", "nvr-1", "--need", "camera=2")
			if at == crashpoint.TempCreated || at == crashpoint.Published {
				at += "#2" // the bundle file's write, after the wallet's
			}
			start := time.Now()
			ok, killed, stderr = s.run(at, delay, "allocate", "--system", system+".system.toml", "--years", "1", "--identity", "id.txt")
			if ok {
				typical = max(typical, time.Since(start))
			}
		} else {
			var file string
			file, batch = s.keyBatch(batchSize)
			ok, killed, stderr = s.run(at, delay, "wallet", "redeem", "--file", file, "--cert", "reseller.cert")
		}
		stats.runs++
		if killed {
			stats.killed++
		} else if ok {
			stats.succeeded++
		} else {
			t.Fatalf("run %d (%s %s): failed without being killed: %s", i, at, delay, stderr)
		}
		if t := s.temps(); len(t) > 0 {
			stats.litter++
		}

		w, err := wallet.Open(s.walletFile())
		if err != nil {
			t.Fatalf("run %d, killed at %q after %s: the wallet does not open: %v", i, at, delay, err)
		}
		if gitWallet != "" {
			if err := checkGitWallet(s.walletFile(), w, false); err != nil {
				t.Fatalf("run %d, killed at %q after %s: %v", i, at, delay, err)
			}
		}
		// Redemption is all or nothing.
		present := 0
		for _, id := range batch {
			if _, ok := w.Key(id); ok {
				present++
			}
		}
		if present != 0 && present != len(batch) {
			t.Fatalf("run %d: %d of %d keys of a batch redeemed", i, present, len(batch))
		}
		if ok {
			for _, id := range batch {
				redeemed[id] = true
			}
			if system != "" {
				allocated[system] = true
			}
		}
		for id := range redeemed {
			if _, ok := w.Key(id); !ok {
				t.Fatalf("run %d: key %s, redeemed with success before, is gone", i, id)
			}
		}
		for sys := range allocated {
			if w.LastAllocation(sys) == nil {
				t.Fatalf("run %d: the allocation of %s, reported as done, is gone", i, sys)
			}
		}
		// A bundle on disk is whole: the one the wallet recorded.
		if system != "" {
			if doc, err := os.ReadFile(s.p(system + ".lic")); err == nil {
				a := w.LastAllocation(system)
				if a == nil || !bytes.Equal(doc, a.Bundle) {
					t.Fatalf("run %d: %s.lic is not the bundle the wallet recorded", i, system)
				}
			} else if ok {
				t.Fatalf("run %d: allocate succeeded but wrote no bundle", i)
			}
		}
		if runtime.GOOS == "linux" && at != "" && len(s.temps()) > 0 {
			// With unnamed temporary files, only the instant between linking
			// the wallet's temporary file and renaming it leaves a name, and
			// no crash point sits there.
			t.Fatalf("run %d: killed at %q left %v", i, at, s.temps())
		}
	}
	// One more write clears whatever a killed writer left.
	file, _ := s.keyBatch(batchSize)
	if ok, _, stderr := s.run("", 0, "wallet", "redeem", "--file", file, "--cert", "reseller.cert"); !ok {
		t.Fatalf("the last redeem failed: %s", stderr)
	}
	if left := s.temps(); len(left) > 0 {
		t.Fatalf("temporary files left after a successful write: %v", left)
	}
	if gitWallet != "" {
		w, err := wallet.Open(s.walletFile())
		if err != nil {
			t.Fatal(err)
		}
		if err := checkGitWallet(s.walletFile(), w, true); err != nil {
			t.Fatalf("after the last redeem: %v", err)
		}
	}
	t.Logf("%d runs: %d killed (%d at named crash points, the rest at random times), %d succeeded; %d left a temporary file until the next write",
		stats.runs, stats.killed, stats.atPoint, stats.succeeded, stats.litter)
}

// checkGitWallet checks a git wallet after a kill: every commit signed,
// the file its last commit plus at most one killed change (none once a
// change has succeeded since).
func checkGitWallet(path string, w *wallet.Wallet, caughtUp bool) error {
	st, err := gitwallet.Check(path, w)
	if err != nil {
		return err
	}
	if st.Commits == 0 {
		return fmt.Errorf("the git wallet has no commit")
	}
	if st.Pending > 1 || caughtUp && st.Pending > 0 {
		return fmt.Errorf("%d records are not committed", st.Pending)
	}
	return nil
}
