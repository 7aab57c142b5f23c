package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"allot.dev/allot/pkg/wallet"
)

// TestConcurrentRedeem runs several allot processes against one wallet at
// once: processes redeeming distinct keys lose none; two redeeming the same
// keys, exactly one succeeds; a reader never sees a torn wallet.
func TestConcurrentRedeem(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a built binary")
	}
	const writers, batchSize = 8, 40
	s := newSite(t, (writers+2)*batchSize)

	// Readers open the wallet over and over while the writers run.
	ctx, stop := context.WithCancel(context.Background())
	var reads atomic.Int64
	var readErr atomic.Value
	var rwg sync.WaitGroup
	for range 2 {
		rwg.Go(func() {
			for ctx.Err() == nil {
				if _, err := wallet.Open(s.p(defaultWallet)); err != nil {
					readErr.Store(err)
					return
				}
				reads.Add(1)
			}
		})
	}

	// Distinct keys: every process succeeds and every key is there.
	files := make([]string, writers)
	var want []string
	for i := range files {
		var ids []string
		files[i], ids = s.keyBatch(batchSize)
		want = append(want, ids...)
	}
	var wg sync.WaitGroup
	errs := make([]string, writers)
	for i := range writers {
		wg.Go(func() {
			if ok, _, stderr := s.run("", 0, "wallet", "redeem", "--file", files[i], "--cert", "reseller.cert"); !ok {
				errs[i] = stderr
			}
		})
	}
	wg.Wait()
	for i, e := range errs {
		if e != "" {
			t.Errorf("writer %d failed: %s", i, e)
		}
	}
	w, err := wallet.Open(s.p(defaultWallet))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range want {
		if _, ok := w.Key(id); !ok {
			t.Errorf("key %s was lost", id)
		}
	}
	if len(w.Keys) != len(want) {
		t.Errorf("%d keys in the wallet, want %d", len(w.Keys), len(want))
	}

	// The same keys twice at once: exactly one succeeds, the other says
	// they are already redeemed.
	same, _ := s.keyBatch(batchSize)
	results := make([]bool, 2)
	stderrs := make([]string, 2)
	for i := range 2 {
		wg.Go(func() {
			results[i], _, stderrs[i] = s.run("", 0, "wallet", "redeem", "--file", same, "--cert", "reseller.cert")
		})
	}
	wg.Wait()
	if results[0] == results[1] {
		t.Fatalf("two processes redeeming the same keys: successes %v, want exactly one\n%s\n%s", results, stderrs[0], stderrs[1])
	}
	loser := stderrs[0]
	if results[0] {
		loser = stderrs[1]
	}
	if !strings.Contains(loser, "already redeemed") {
		t.Errorf("the second redemption failed for another reason: %s", loser)
	}

	stop()
	rwg.Wait()
	if err := readErr.Load(); err != nil {
		t.Fatalf("a reader saw a torn wallet: %v", err)
	}
	if reads.Load() == 0 {
		t.Fatal("the readers never read")
	}
	w, _ = wallet.Open(s.p(defaultWallet))
	var history bytes.Buffer
	for _, ev := range w.History {
		fmt.Fprintln(&history, ev.Seq, ev.Op, ev.Note)
	}
	if len(w.History) != 1+writers+1 {
		t.Errorf("%d records, want init, %d redemptions and one more:\n%s", len(w.History), writers, history.String())
	}
	t.Logf("%d writers and 2 racing on the same keys; readers opened the wallet %d times meanwhile", writers, reads.Load())
}

// TestConcurrentGroupAdd runs several allot group add processes on one
// system file at once: each change is made under the file's lock, so none
// is lost.
func TestConcurrentGroupAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a built binary")
	}
	s := newSite(t, 1)
	s.must("system", "create", "--id", "tower", "--org", "Acme", "--server", "nvr-1", "--need", "sip-number=100", "--need", "mobile-app=10")
	const writers = 8
	var wg sync.WaitGroup
	errs := make([]string, writers)
	for i := range writers {
		wg.Go(func() {
			var out, errb bytes.Buffer
			c := s.cmd("group", "add", fmt.Sprintf("floor-%d", i), "--system", "tower.system.toml")
			c.Stdout, c.Stderr = &out, &errb
			if err := c.Run(); err != nil {
				errs[i] = fmt.Sprintf("%v: %s", err, errb.String())
			}
		})
	}
	wg.Wait()
	for i, e := range errs {
		if e != "" {
			t.Errorf("group add floor-%d: %s", i, e)
		}
	}
	list := s.must("group", "list", "--system", "tower.system.toml")
	for i := range writers {
		if !strings.Contains(list, fmt.Sprintf("floor-%d", i)) {
			t.Errorf("floor-%d was lost:\n%s", i, list)
		}
	}
}
