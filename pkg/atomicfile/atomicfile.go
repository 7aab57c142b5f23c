// Package atomicfile writes files so that a reader, or a process that
// restarts after a crash, sees either the old content or the new, never a
// mix, and never a partial file under the final name.
//
// The write order is: create a temporary file in the target's directory,
// write, fsync, close, then rename (Replace) or link (Create) it into place,
// and fsync the directory. A failure at any step removes the temporary file.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// tempPrefix starts the names of temporary files, so they can be recognised
// and cleaned up.
const tempPrefix = ".allot-tmp-"

// Replace atomically replaces path's content with data, creating the file
// with perm if it does not exist.
func Replace(path string, data []byte, perm fs.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return pathError("replace", path, err)
	}
	return syncDir(filepath.Dir(path))
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

// Create writes data to a new file at path and fails with fs.ErrExist if
// path exists: an existing file is never overwritten. Secret files are
// created this way with perm 0600.
func Create(path string, data []byte, perm fs.FileMode) error {
	if _, err := os.Lstat(path); err == nil {
		return &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
	}
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	// link(2) fails if path exists, which makes the no-overwrite check and
	// the publication one atomic step.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
		}
		// Some file systems (FAT on a USB stick) have no hard links: fall
		// back to an exclusive create, which is still never an overwrite.
		return createExclusive(path, data, perm)
	}
	return syncDir(filepath.Dir(path))
}

func createExclusive(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return err
	}
	return syncDir(filepath.Dir(path))
}

func writeTemp(path string, data []byte, perm fs.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), tempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return "", pathError("create", path, err)
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(name)
		return "", pathError("write", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", pathError("write", path, err)
	}
	return name, nil
}

// IsTemp reports whether name is one of this package's temporary files.
func IsTemp(name string) bool {
	base := filepath.Base(name)
	return len(base) > len(tempPrefix) && base[:len(tempPrefix)] == tempPrefix
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
