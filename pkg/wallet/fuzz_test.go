package wallet_test

// Fuzz targets for the wallet file reader. Each record names the SHA-256
// of the record before it, so a mutation anywhere but in the last record
// only reaches the hash-chain check. FuzzOpen reads files as they are;
// FuzzOpenChained first writes the hash of the record before into every
// "prev":"PREV", so mutations of any record reach the reader behind the
// chain. Seeds are real wallets made with pkg/allottest, at each step of
// their life: created, keys redeemed, a bundle allocated, a second one.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/wallet"
)

// realWallets returns a wallet file after each step of its life.
func realWallets(t testing.TB) [][]byte {
	w, err := allottest.NewWorld(2)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fuzz.wallet")
	var files [][]byte
	snap := func() {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
	}
	key := allottest.Key("wallet")
	wl, err := w.Wallet(path, key)
	if err != nil {
		t.Fatal(err)
	}
	snap()
	keys, err := w.Keys(3, 10, 12, wl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Redeem(path, keys); err != nil {
		t.Fatal(err)
	}
	snap()
	for _, sys := range []string{"site-1", "site-2"} {
		if _, err := w.Allocate(path, key, allottest.System(sys, 5), 1); err != nil {
			t.Fatal(err)
		}
		snap()
	}
	return files
}

var prevHash = regexp.MustCompile(`"prev":"[0-9a-f]{64}"`)

// rechain writes the hash of the record before into each header line's
// "prev":"PREV". A header line starts with '{'; a record runs to the next.
func rechain(data []byte) []byte {
	out := make([]byte, 0, len(data)+64)
	start := 0
	for i, line := range bytes.SplitAfter(data, []byte("\n")) {
		if len(line) == 0 || line[0] != '{' {
			out = append(out, line...)
			continue
		}
		var head [32]byte
		if i > 0 {
			head = sha256.Sum256(out[start:])
		}
		start = len(out)
		out = append(out, bytes.Replace(line, []byte(`"prev":"PREV"`), []byte(`"prev":"`+hex.EncodeToString(head[:])+`"`), 1)...)
	}
	return out
}

// heapAllocs returns the bytes allocated so far.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// open writes data to path and opens it. Errors are one line and of class
// ErrCorrupt; a wallet that opens answers balances that add up; and the
// reader allocates in proportion to the file, not to what a record claims.
func open(t *testing.T, path string, data []byte) {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	before := heapAllocs()
	w, err := wallet.Open(path)
	if n := heapAllocs() - before; n > 64<<20+uint64(len(data))*512 {
		t.Fatalf("opening %d bytes allocated %d MiB", len(data), n>>20)
	}
	if err != nil {
		if !errors.Is(err, wallet.ErrCorrupt) {
			t.Fatalf("error without ErrCorrupt: %v", err)
		}
		if strings.ContainsAny(err.Error(), "\n\r") {
			t.Fatalf("error is not one line: %q", err)
		}
		return
	}
	if len(w.History) == 0 || w.History[0].Op != "init" {
		t.Fatalf("a wallet without its init record: %+v", w.History)
	}
	for _, b := range w.Balances(allottest.Now, 5) {
		if b.Available+b.Expired+b.Allocated != b.Total || b.Allocated < 0 {
			t.Fatalf("balance does not add up: %+v", b)
		}
	}
	for _, e := range w.Keys {
		if got, ok := w.Key(e.Key.ID()); !ok || got != e {
			t.Fatalf("key %s not found by its id", e.Key.ID())
		}
		for _, l := range e.Key.Licenses {
			if e.Available(l.Type) < 0 {
				t.Fatalf("key %s: %d %s left", e.Key.ID(), e.Available(l.Type), l.Type)
			}
		}
	}
	for _, a := range w.Allocations {
		if w.LastAllocation(a.System) == nil {
			t.Fatalf("no last allocation for %q", a.System)
		}
	}
	if _, err := w.Certificates(); err != nil && !errors.Is(err, wallet.ErrCorrupt) {
		t.Fatalf("certificates: error without ErrCorrupt: %v", err)
	}
}

// FuzzOpen reads wallet files as they are on disk.
func FuzzOpen(f *testing.F) {
	for _, data := range realWallets(f) {
		f.Add(data)
	}
	f.Add([]byte("\n"))
	path := filepath.Join(f.TempDir(), "fuzz.wallet")
	f.Fuzz(func(t *testing.T, data []byte) { open(t, path, data) })
}

// FuzzOpenChained reads wallet files whose hash chain is made whole after
// the mutation.
func FuzzOpenChained(f *testing.F) {
	for _, data := range realWallets(f) {
		f.Add(prevHash.ReplaceAll(data, []byte(`"prev":"PREV"`)))
	}
	path := filepath.Join(f.TempDir(), "fuzz.wallet")
	f.Fuzz(func(t *testing.T, data []byte) { open(t, path, rechain(data)) })
}

// TestRechain checks that rechain rebuilds the chain of a real wallet.
func TestRechain(t *testing.T) {
	for _, data := range realWallets(t) {
		if got := rechain(prevHash.ReplaceAll(data, []byte(`"prev":"PREV"`))); !bytes.Equal(got, data) {
			t.Fatalf("rechain does not rebuild the wallet:\n%s\n%s", got, data)
		}
	}
}

// TestOpenClaimedKeyLines is the regression test of an allocation found by
// review: a redeem record claiming ten million key lines made the reader
// allocate for all of them before it read the first, 240 MB for a file of
// a few hundred bytes.
func TestOpenClaimedKeyLines(t *testing.T) {
	init := realWallets(t)[0]
	data := rechain(append(init, `{"seq":1,"prev":"PREV","time":"2026-11-22T10:00:00Z","who":"x","op":"redeem","note":"","key_lines":10000000}`+"\nkey AAAA\n"...))
	path := filepath.Join(t.TempDir(), "claim.wallet")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	before := heapAllocs()
	_, err := wallet.Open(path)
	if n := heapAllocs() - before; n > 16<<20 {
		t.Errorf("opening %d bytes allocated %d MiB", len(data), n>>20)
	}
	if !errors.Is(err, wallet.ErrCorrupt) {
		t.Errorf("Open = %v, want ErrCorrupt", err)
	}
}

// A record dated outside 1970 to 9999 is damage, reported with its record
// and field; and no change is stamped with such a time, which would make
// a wallet nobody can open.
func TestDateRange(t *testing.T) {
	files := realWallets(t)
	data := prevHash.ReplaceAll(files[len(files)-1], []byte(`"prev":"PREV"`))
	path := filepath.Join(t.TempDir(), "dates.wallet")
	for _, tc := range []struct{ old, new, want string }{
		{`"seq":1,"prev":"PREV","time":"2026-11-22T10:00:00Z"`, `"seq":1,"prev":"PREV","time":"0001-01-01T00:00:00Z"`,
			"record 2: wallet is damaged: time: date 0001-01-01T00:00:00Z: want a year from 1970 to 9999"},
		{`"periods":[{"from":"2026-11-22T00:00:00Z"`, `"periods":[{"from":"1969-11-22T00:00:00Z"`,
			"record 3: wallet is damaged: allocation.periods[1].from: date 1969-11-22T00:00:00Z: want a year from 1970 to 9999"},
	} {
		if !bytes.Contains(data, []byte(tc.old)) {
			t.Fatalf("%s is not in the wallet", tc.old)
		}
		if err := os.WriteFile(path, rechain(bytes.Replace(data, []byte(tc.old), []byte(tc.new), 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := wallet.Open(path)
		if !errors.Is(err, wallet.ErrCorrupt) || err.Error() != path+": "+tc.want {
			t.Errorf("%v, want %q", err, tc.want)
		}
	}
	if err := os.WriteFile(path, files[0], 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := wallet.Update(path, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "x", func(w *wallet.Wallet) (*wallet.Change, error) {
		t.Fatal("a change at year 1 was made")
		return nil, nil
	})
	if err == nil || !strings.Contains(err.Error(), "want a year from 1970 to 9999") {
		t.Errorf("Update at year 1: %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, files[0]) {
		t.Error("the wallet changed")
	}
}
