package atomicfile_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"allot.dev/allot/pkg/atomicfile"
)

// TestLockExcludes checks that a second Lock of the same file, in the same
// process, waits until the first is released: the lock belongs to the open
// file, so goroutines are serialised as processes are.
func TestLockExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := atomicfile.Lock(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	released := false
	done := make(chan bool)
	go func() {
		unlock2, err := atomicfile.Lock(path, 0o600)
		if err != nil {
			t.Error(err)
			done <- false
			return
		}
		mu.Lock()
		ok := released
		mu.Unlock()
		unlock2()
		done <- ok
	}()
	// The second Lock cannot return before the first is released; the
	// pause only gives it the chance to, and asserts no timing.
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	released = true
	mu.Unlock()
	unlock()
	if !<-done {
		t.Error("a second Lock returned while the first was held")
	}
}

func TestLockMissingFolder(t *testing.T) {
	if _, err := atomicfile.Lock(filepath.Join(t.TempDir(), "no", "x.lock"), 0o600); err == nil {
		t.Error("Lock in a folder that does not exist: no error")
	}
}
