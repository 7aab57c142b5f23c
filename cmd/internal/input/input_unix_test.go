//go:build unix

package input

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A named pipe where a file should be does not hang the reader: with no
// writer it reads as empty, and the parser refuses it.
func TestFIFODoesNotBlock(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "evil.lic")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Usage(fifo)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("an empty pipe read as a usage file")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading a named pipe with no writer blocks")
	}
}
