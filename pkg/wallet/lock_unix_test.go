//go:build unix

package wallet_test

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"allot.dev/allot/pkg/wallet"
)

// TestUpdateLockExcludesOtherDescriptors checks what the concurrent tests
// rely on: the writers' lock is a flock(2) lock, which belongs to an open
// file description, so a second descriptor of the lock file, opened by the
// same process, cannot take it while Update holds it. Goroutines are
// serialised because each Update opens its own descriptor.
func TestUpdateLockExcludesOtherDescriptors(t *testing.T) {
	f := newFixture(t)
	probe := func() error {
		fd, err := os.OpenFile(wallet.LockPath(f.path), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer fd.Close()
		return syscall.Flock(int(fd.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	held := false
	_, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		held = true
		if err := probe(); !errors.Is(err, syscall.EWOULDBLOCK) {
			t.Errorf("while Update runs, another descriptor's flock: got %v, want EWOULDBLOCK", err)
		}
		return nil, nil
	})
	if err != nil || !held {
		t.Fatalf("Update: %v (fn called: %v)", err, held)
	}
	if err := probe(); err != nil {
		t.Errorf("after Update returned, the lock is still held: %v", err)
	}

	// A failing fn releases the lock too.
	_, _ = wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		return nil, errors.New("boom")
	})
	if err := probe(); err != nil {
		t.Errorf("after a failed Update, the lock is still held: %v", err)
	}
}
