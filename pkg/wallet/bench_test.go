package wallet_test

import (
	"path/filepath"
	"testing"

	fx "allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/wallet"
)

const benchKeys = 100_000

func benchSetup(b *testing.B) (*fx.World, []string) {
	w, err := fx.NewWorld(2)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := w.Keys(benchKeys, 10, 12, benchWalletID(b, w))
	if err != nil {
		b.Fatal(err)
	}
	return w, keys
}

func benchWalletID(b *testing.B, w *fx.World) licensekey.WalletID {
	wl, err := w.Wallet(filepath.Join(b.TempDir(), "probe.wallet"), fx.Key("wallet"))
	if err != nil {
		b.Fatal(err)
	}
	return wl.ID
}

// BenchmarkRedeem100k is DESIGN.md's "redeem 100 000 keys" in process: parse,
// chain and signature checks of every key, and the wallet write.
func BenchmarkRedeem100k(b *testing.B) {
	w, keys := benchSetup(b)
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "bench.wallet")
		if _, err := w.Wallet(path, fx.Key("wallet")); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := w.Redeem(path, keys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen100k is "a wallet with 100 000 keys opens".
func BenchmarkOpen100k(b *testing.B) {
	w, keys := benchSetup(b)
	path := filepath.Join(b.TempDir(), "bench.wallet")
	if _, err := w.Wallet(path, fx.Key("wallet")); err != nil {
		b.Fatal(err)
	}
	if _, err := w.Redeem(path, keys); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		wl, err := wallet.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if len(wl.Keys) != benchKeys {
			b.Fatalf("%d keys", len(wl.Keys))
		}
	}
}
