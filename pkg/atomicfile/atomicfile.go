// Package atomicfile writes files so that a reader, or a process that
// restarts after a crash, sees either the old content or the new, never a
// mix, and never a partial file under the final name.
//
// The write order is: create a temporary file in the target's directory,
// write, fsync, close, then rename (Replace) or link (Create) it into place,
// and fsync the directory. A failure at any step removes the temporary file.
//
// Where the system allows it (Linux, on most file systems), the temporary
// file has no name until it is complete: a process killed while writing
// leaves nothing behind. Create links the finished file straight to its
// final name; Replace gives it a temporary name for the instant before the
// rename. Elsewhere the temporary file is named from the start, and a
// writer that holds the target's lock (Lock) removes what a killed one left
// (RemoveStale).
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"allot.dev/allot/pkg/crashpoint"
)

// tempPrefix starts the names of temporary files, so they can be recognised
// and cleaned up.
const tempPrefix = ".allot-tmp-"

// Replace atomically replaces path's content with data, creating the file
// with perm if it does not exist.
func Replace(path string, data []byte, perm fs.FileMode) error {
	t, err := writeTemp(path, perm, writeData(data))
	if err != nil {
		return err
	}
	name, err := t.name(path)
	if err != nil {
		t.discard()
		return pathError("write", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return pathError("replace", path, err)
	}
	crashpoint.Here(crashpoint.Published)
	if err := syncDir(filepath.Dir(path)); err != nil {
		return err
	}
	crashpoint.Here(crashpoint.DirSynced)
	return nil
}

// Create writes data to a new file at path and fails with fs.ErrExist if
// path exists: an existing file is never overwritten. Secret files are
// created this way with perm 0600.
func Create(path string, data []byte, perm fs.FileMode) error {
	return CreateFunc(path, perm, writeData(data))
}

// CreateFunc is Create for content too large to hold in memory at once:
// write streams it to the temporary file. If write fails, nothing is
// created and its error is returned.
func CreateFunc(path string, perm fs.FileMode, write func(w io.Writer) error) error {
	if _, err := os.Lstat(path); err == nil {
		return &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
	}
	t, err := writeTemp(path, perm, write)
	if err != nil {
		return err
	}
	// link(2) fails if path exists, which makes the no-overwrite check and
	// the publication one atomic step.
	if err := t.link(path); err != nil {
		t.discard()
		if errors.Is(err, fs.ErrExist) {
			return &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
		}
		return pathError("create", path, err)
	}
	crashpoint.Here(crashpoint.Published)
	if err := syncDir(filepath.Dir(path)); err != nil {
		return err
	}
	crashpoint.Here(crashpoint.DirSynced)
	return nil
}

// temp is a complete, synced temporary file: unnamed (f set, path empty),
// or named (path set).
type temp struct {
	f    *os.File
	path string
}

func writeData(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}

// fileWriter writes to the temporary file and keeps its first error, so
// that a failing file is reported as the target's write error and an error
// of the content's own is passed on as it is.
type fileWriter struct {
	f   *os.File
	err error
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// writeTemp writes a temporary file beside target with write and syncs it.
func writeTemp(target string, perm fs.FileMode, write func(io.Writer) error) (*temp, error) {
	dir := filepath.Dir(target)
	t := &temp{}
	f, err := openUnnamed(dir, perm)
	if err != nil {
		if f, err = os.CreateTemp(dir, tempPrefix+filepath.Base(target)+"-*"); err != nil {
			return nil, pathError("create", target, err)
		}
		t.path = f.Name()
		if err := f.Chmod(perm); err != nil {
			f.Close()
			os.Remove(t.path)
			return nil, pathError("write", target, err)
		}
	}
	t.f = f
	crashpoint.Here(crashpoint.TempCreated)
	fw := &fileWriter{f: f}
	if err := write(fw); err != nil {
		t.discard()
		if fw.err != nil {
			return nil, pathError("write", target, fw.err)
		}
		return nil, err
	}
	crashpoint.Here(crashpoint.TempWritten)
	if err := f.Sync(); err != nil {
		t.discard()
		return nil, pathError("write", target, err)
	}
	crashpoint.Here(crashpoint.TempSynced)
	if t.path != "" {
		// A named file is closed now; an unnamed one stays open until it
		// is linked, since the descriptor is all that holds it.
		err := f.Close()
		t.f = nil
		if err != nil {
			os.Remove(t.path)
			return nil, pathError("write", target, err)
		}
	}
	return t, nil
}

// link gives the temporary file the name path, failing if path exists.
func (t *temp) link(path string) error {
	if t.f != nil {
		err := linkUnnamed(t.f, path)
		t.f.Close()
		t.f = nil
		return err
	}
	err := os.Link(t.path, path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		os.Remove(t.path)
		return err
	}
	// Some file systems (FAT on a USB stick) have no hard links: check,
	// then rename. A file created by someone else between the two steps
	// would be replaced; a crash still leaves no partial file.
	if _, err := os.Lstat(path); err == nil {
		os.Remove(t.path)
		return fs.ErrExist
	}
	if err := os.Rename(t.path, path); err != nil {
		os.Remove(t.path)
		return err
	}
	return nil
}

// name returns a path that holds the temporary file, linking an unnamed
// one to a fresh temporary name.
func (t *temp) name(target string) (string, error) {
	if t.f == nil {
		return t.path, nil
	}
	var r [8]byte
	rand.Read(r[:])
	name := filepath.Join(filepath.Dir(target), tempPrefix+filepath.Base(target)+"-"+hex.EncodeToString(r[:]))
	err := t.link(name)
	return name, err
}

// discard removes the temporary file.
func (t *temp) discard() {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
	if t.path != "" {
		os.Remove(t.path)
	}
}

// RemoveStale removes the temporary files that writers of path killed
// before they finished left beside it. Only a caller that holds an
// exclusive lock on path may call it: another writer's temporary file
// would look the same.
func RemoveStale(path string) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	prefix := tempPrefix + base + "-"
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// pathError reports err against path, the file the caller asked for: the
// temporary file's name means nothing to a user, and it is gone.
func pathError(op, path string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}

// IsTemp reports whether name is one of this package's temporary files.
func IsTemp(name string) bool {
	base := filepath.Base(name)
	return len(base) > len(tempPrefix) && strings.HasPrefix(base, tempPrefix)
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		// Windows cannot fsync a directory; the rename is still atomic
		// there, only its durability after a power loss is weaker.
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
