package wallet_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/wallet"
)

// Two copies of one wallet, changed apart, merge to the same wallet in
// either order; a key both spend beyond its quantity is a double-spend.
func TestMerge(t *testing.T) {
	w, err := allottest.NewWorld(1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wk := allottest.Key("wallet")
	base := filepath.Join(dir, "base.wallet")
	wl, err := w.Wallet(base, wk)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := w.Keys(5, 10, 12, wl.ID)
	if err != nil {
		t.Fatal(err)
	}
	copyFrom := func(from, name string) string {
		p := filepath.Join(dir, name)
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := copyFrom(base, "a.wallet"), copyFrom(base, "b.wallet")
	// A redeems keys 1 and 2, B keys 2 and 3: key 2 is kept once; what
	// the two allocations take fits in the three keys.
	if _, err := w.Redeem(a, keys[1:3]); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Allocate(a, wk, allottest.System("site-a", 12), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Redeem(b, keys[2:4]); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Allocate(b, wk, allottest.System("site-b", 8), 1); err != nil {
		t.Fatal(err)
	}
	read := func(p string) []byte {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	ab, res, err := wallet.Merge("ab", read(base), read(a), read(b))
	if err != nil {
		t.Fatal(err)
	}
	ba, _, err := wallet.Merge("ba", read(base), read(b), read(a))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ab, ba) {
		t.Fatal("the merge depends on which side is ours")
	}
	if res.KeysUnited != 1 {
		t.Errorf("keys united: %d, want 1", res.KeysUnited)
	}
	m, err := wallet.Parse("merged", ab)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Keys) != 3 || len(m.Allocations) != 2 {
		t.Fatalf("merged: %d keys, %d allocations; want 3 and 2", len(m.Keys), len(m.Allocations))
	}
	// Merging the merge again with either side adds nothing.
	if again, _, err := wallet.Merge("again", read(base), ab, read(a)); err != nil || !bytes.Equal(again, ab) {
		t.Fatalf("merging a side into the merge changed it: %v", err)
	}

	// Both spend key 0 (120 license-months) for 10 cameras a year.
	base2 := copyFrom(base, "base2.wallet")
	if _, err := w.Redeem(base2, keys[:1]); err != nil {
		t.Fatal(err)
	}
	c, d := copyFrom(base2, "c.wallet"), copyFrom(base2, "d.wallet")
	if _, err := w.Allocate(c, wk, allottest.System("site-c", 10), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Allocate(d, wk, allottest.System("site-d", 10), 1); err != nil {
		t.Fatal(err)
	}
	_, _, err = wallet.Merge("cd", read(base2), read(c), read(d))
	var ds *wallet.DoubleSpendError
	if !errors.As(err, &ds) || !errors.Is(err, errclass.Quota) {
		t.Fatalf("a key spent twice: %v, want a DoubleSpendError of class Quota", err)
	}
	if len(ds.Spends) != 2 || ds.Spends[0].System == ds.Spends[1].System || ds.Capacity != 120 {
		t.Fatalf("double-spend: %+v", ds)
	}
}
