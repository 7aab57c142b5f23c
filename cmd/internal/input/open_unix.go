//go:build unix

package input

import (
	"os"
	"syscall"
)

// open opens a file for reading without blocking: a named pipe (FIFO) put
// where a bundle or a usage file should be would otherwise hang the
// verifier until something wrote to it. Regular files read as ever; a
// pipe with no writer reads as empty.
func open(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
