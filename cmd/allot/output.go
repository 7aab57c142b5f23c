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

// readInput reads an input file of at most limit bytes, refusing a larger
// one by its size before reading it, so a wrong file given by mistake (or
// /dev/zero) costs nothing.
func readInput(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > limit {
		return nil, inputErrorf("%s: larger than %d bytes: not the file allot expects here", path, limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, inputErrorf("%s: larger than %d bytes: not the file allot expects here", path, limit)
	}
	return data, nil
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
