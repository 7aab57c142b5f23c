package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/crashpoint"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/remind"
)

// remindItems are n subscriptions that end at ends.
func remindItems(n int, ends time.Time) []remind.Item {
	var items []remind.Item
	for i := range n {
		items = append(items, remind.Item{Kind: remind.Subscription, Ends: ends, System: fmt.Sprintf("site-%d", i), WalletID: "W"})
	}
	return items
}

var weekly = func(remind.Kind) catalog.Reminder { return catalog.Reminder{Days: 30, Every: "weekly"} }

func TestRemindStateUpdate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "remind.state")
	ends := time.Date(2027, 11, 22, 0, 0, 0, 0, time.UTC)
	items := remindItems(1, ends)
	now := ends.AddDate(0, 0, -30)
	run := func() (n int, err error) {
		err = updateRemindState(path, func(st *remind.State) error {
			n = len(remind.Due(items, st, now, weekly))
			return nil
		})
		return n, err
	}

	// The first run creates the file; the second says nothing and does
	// not write it again.
	if n, err := run(); n != 1 || err != nil {
		t.Fatalf("first run: %d, %v", n, err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st0, _ := os.Stat(path)
	if n, err := run(); n != 0 || err != nil {
		t.Fatalf("second run: %d, %v", n, err)
	}
	if st1, _ := os.Stat(path); !st1.ModTime().Equal(st0.ModTime()) || st1.Mode().Perm() != remindStateMode {
		t.Errorf("a run with nothing to say rewrote the file, or its mode is %v", st1.Mode())
	}

	// fn fails: nothing is written.
	now = ends.AddDate(0, 0, -23)
	boom := errors.New("boom")
	err = updateRemindState(path, func(st *remind.State) error {
		remind.Due(items, st, now, weekly)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("fn's error: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("a failed run changed the state")
	}

	// A damaged file is refused before fn runs, and left as it is.
	damaged := bytes.Replace(before, []byte("count = 1"), []byte("count = 0"), 1)
	if err := os.WriteFile(path, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	called := false
	err = updateRemindState(path, func(*remind.State) error { called = true; return nil })
	if !errors.Is(err, remind.ErrState) || called || errclass.ExitCode(err) != errclass.ExitInput ||
		!strings.HasPrefix(err.Error(), path+": damaged remind state: line 11: count: 0") {
		t.Fatalf("damaged: %v (fn called: %v)", err, called)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, damaged) {
		t.Fatal("a damaged state was changed")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 { // the state and its lock
		t.Errorf("files left: %v", ents)
	}

	// A folder where the state should be: exit 3.
	if err := updateRemindState(dir, func(*remind.State) error { return nil }); errclass.ExitCode(err) != errclass.ExitInput {
		t.Errorf("a folder as the state: %v", err)
	}

	// More than a reader accepts: nothing written.
	big := filepath.Join(dir, "big.state")
	err = updateRemindState(big, func(st *remind.State) error {
		remind.Due(remindItems(remind.MaxEntries+1, ends), st, now, weekly)
		return nil
	})
	if !errors.Is(err, remind.ErrTooMany) {
		t.Fatalf("too many: %v", err)
	}
	if _, err := os.Stat(big); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a state too large was written: %v", err)
	}
}

// TestRemindStateUpdateGoroutines runs many updates at once in one
// process: the lock belongs to the open file, so they are serialised, and
// each reminder is said once among them.
func TestRemindStateUpdateGoroutines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "remind.state")
	ends := time.Date(2027, 11, 22, 0, 0, 0, 0, time.UTC)
	items := remindItems(20, ends)
	var mu sync.Mutex
	count := map[string]int{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			err := updateRemindState(path, func(st *remind.State) error {
				for _, r := range remind.Due(items, st, ends.AddDate(0, 0, -30), weekly) {
					mu.Lock()
					count[r.ID]++
					mu.Unlock()
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(count) != len(items) {
		t.Fatalf("%d of %d said", len(count), len(items))
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("%s said %d times", id, n)
		}
	}
}

// remindSite is a site with three systems of a year each, allocated on
// 2026-11-22: their subscriptions end on 2027-11-22.
func remindSite(t *testing.T) *site {
	s := newSite(t, 3)
	s.must("wallet", "redeem", "--file", "keys.txt", "--cert", "reseller.cert")
	for i := 1; i <= 3; i++ {
		sys := fmt.Sprintf("site-%d", i)
		s.must("system", "create", "--id", sys, "--org", "Crash Test", "--server", "nvr-1", "--need", "camera=2")
		s.must("allocate", "--system", sys+".system.toml", "--years", "1", "--identity", "id.txt")
	}
	if err := os.Mkdir(s.p("mail"), 0o755); err != nil {
		t.Fatal(err)
	}
	return s
}

var remindArgs = []string{"remind", "site-1.lic", "site-2.lic", "site-3.lic", "allot.wallet",
	"--state", "remind.state", "--now", "2027-10-25T09:00:00Z"}

// TestConcurrentRemind runs eight allot remind processes at once, as
// overlapping crons: each reminder is printed by exactly one of them.
func TestConcurrentRemind(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a built binary")
	}
	s := remindSite(t)
	const runs = 8
	outs := make([]string, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() {
			var out, errb bytes.Buffer
			c := s.cmd(remindArgs...)
			c.Stdout, c.Stderr = &out, &errb
			if err := c.Run(); err != nil {
				t.Errorf("run %d: %v\n%s", i, err, errb.String())
			}
			outs[i] = out.String()
		})
	}
	wg.Wait()
	all := strings.Join(outs, "")
	for i := 1; i <= 3; i++ {
		line := fmt.Sprintf("system site-%d (Crash Test): the subscription ends on 2027-11-22, in 28 days\n", i)
		if n := strings.Count(all, line); n != 1 {
			t.Errorf("site-%d said %d times:\n%s", i, n, all)
		}
	}
	if n := strings.Count(all, "\n"); n != 3 {
		t.Errorf("%d lines in all:\n%s", n, all)
	}
}

// TestCrashRemind kills allot remind --eml at every step of its writes:
// first of each message, then of the state. Whatever the step, the state
// file is whole (or absent), and the next run completes the work: one
// message per reminder in all, each said once in the state, and a third run
// says nothing.
func TestCrashRemind(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a built binary")
	}
	base := remindSite(t)
	eml := append(append([]string{}, remindArgs...), "--eml", "mail", "--from", "allot@crash.test", "--to", "ops@crash.test")
	var points []string
	for _, p := range []string{crashpoint.TempCreated, crashpoint.TempWritten, crashpoint.TempSynced, crashpoint.Published, crashpoint.DirSynced} {
		// Passes 1 to 3 write the three messages; pass 4 writes the
		// state (TempCreated and friends are passed once per file).
		for pass := 1; pass <= 4; pass++ {
			points = append(points, fmt.Sprintf("%s#%d", p, pass))
		}
	}
	for _, at := range points {
		t.Run(at, func(t *testing.T) {
			s := *base
			s.t = t
			s.dir = t.TempDir()
			if err := copyTree(base.dir, s.dir); err != nil {
				t.Fatal(err)
			}
			ok, killed, stderr := s.run(at, 0, eml...)
			if ok || !killed {
				t.Fatalf("not killed at %s: ok %v, stderr %s", at, ok, stderr)
			}
			if data, err := os.ReadFile(s.p("remind.state")); err == nil {
				if _, err := remind.ParseState(data); err != nil {
					t.Fatalf("a torn state after a kill at %s: %v", at, err)
				}
			}
			s.must(eml...)
			msgs, _ := filepath.Glob(s.p("mail/*.eml"))
			if len(msgs) != 3 {
				t.Errorf("%d messages, want 3: %v", len(msgs), msgs)
			}
			for _, m := range msgs {
				if data, _ := os.ReadFile(m); !bytes.HasSuffix(data, []byte("allot remind\r\n")) {
					t.Errorf("%s is not whole", m)
				}
			}
			data, _ := os.ReadFile(s.p("remind.state"))
			if n := bytes.Count(data, []byte("\ncount = 1\n")); n != 3 {
				t.Errorf("the state after the rerun:\n%s", data)
			}
			if out := s.must(eml[:len(remindArgs)]...); out != "" {
				t.Errorf("a third run said: %s", out)
			}
		})
	}
}
