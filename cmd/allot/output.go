package main

import (
	"errors"
	"io"
	"io/fs"
	"os"

	"allot.dev/allot/cmd/internal/ui"
	"allot.dev/allot/pkg/atomicfile"
)

// writeOut writes data to a new file at path, or to standard output for
// "-". It never overwrites a file.
func (e *env) writeOut(path string, data []byte, perm fs.FileMode) error {
	return e.writeOutFunc(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeOutFunc is writeOut for content that write streams, such as many
// thousand keys; a file is created only if write succeeds.
func (e *env) writeOutFunc(path string, perm fs.FileMode, write func(w io.Writer) error) error {
	if path == "-" {
		return write(e.stdout)
	}
	if err := atomicfile.CreateFunc(path, perm, write); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return outExists(path)
		}
		return err
	}
	return nil
}

// Size limits of the small input files.
const (
	maxPubFile        = 8 << 10
	maxPassphraseFile = 8 << 10
)

// checkOut fails early if an output file exists, before any work is done
// or any wallet is changed.
func checkOut(path string) error {
	if path == "-" {
		return nil
	}
	if _, err := os.Lstat(path); err == nil {
		return outExists(path)
	}
	return nil
}

func outExists(path string) error {
	return withHint(inputErrorf("%s already exists", path), "allot never overwrites an output file: remove it or choose another --out")
}

// out is the command's printer: the one output layer (package ui).
func (e *env) out() *ui.Printer { return ui.New(e.stdout, e.stderr) }
