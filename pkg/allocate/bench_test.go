package allocate_test

import (
	"path/filepath"
	"testing"

	"allot.dev/allot/pkg/allocate"
	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/catalog"
)

// BenchmarkAllocate100k plans a year for a system of 100 000 cameras from a
// wallet of 100 keys of 1000 cameras: the in-process part of DESIGN.md's
// "allocate for a system of 100 000 devices".
func BenchmarkAllocate100k(b *testing.B) {
	w, err := allottest.NewWorld(2)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "bench.wallet")
	wl, err := w.Wallet(path, allottest.Key("wallet"))
	if err != nil {
		b.Fatal(err)
	}
	keys, err := w.Keys(100, 1000, 12, wl.ID)
	if err != nil {
		b.Fatal(err)
	}
	if wl, err = w.Redeem(path, keys); err != nil {
		b.Fatal(err)
	}
	sys := allottest.System("big", 100_000)
	for b.Loop() {
		if _, err := allocate.Make(wl, allocate.Request{System: sys, Years: 1, Now: allottest.Now,
			Policy: catalog.Default().Policy, Rand: w.Rand}); err != nil {
			b.Fatal(err)
		}
	}
}
