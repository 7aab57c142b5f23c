// Package input opens the files a command is given by path: the one place
// where paths, size limits and the device state's folder are handled. The
// packages under pkg/ parse bytes or readers and know no paths; allot's
// commands and the device binary read through here.
//
// It links only the standard library and allot's format packages, so that
// the device binary can use it.
package input

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"allot.dev/allot/pkg/atomicfile"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/tomlfile"
	"allot.dev/allot/pkg/verify"
)

// ReadFile reads a file of at most limit bytes. A larger one is refused as
// input (exit 3), by its size before it is read where the file system
// tells the size, so a wrong file given by mistake (or /dev/zero) costs
// nothing; the error names the file.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := fmt.Sprintf("%d bytes", limit)
	if limit >= 1<<20 && limit%(1<<20) == 0 {
		size = fmt.Sprintf("%d MiB", limit>>20)
	}
	tooBig := &tomlfile.Error{File: path, Err: fmt.Errorf("larger than %s", size)}
	// One buffer of the file's size where the file system tells it:
	// io.ReadAll doubles its buffer as it reads, which cost a 64 MiB
	// system file 128 MiB.
	want := int64(512)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		if st.Size() > limit {
			return nil, tooBig
		}
		want = st.Size() + 1 // room to see the end of the file
	}
	data := make([]byte, 0, want)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := f.Read(data[len(data):min(int64(cap(data)), limit+1)])
		data = data[:len(data)+n]
		if int64(len(data)) > limit {
			return nil, tooBig
		}
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Trust reads a trust file (verify.ParseTrust).
func Trust(path string) (*verify.Trust, error) {
	data, err := ReadFile(path, verify.MaxTrustFileSize)
	if err != nil {
		return nil, err
	}
	return verify.ParseTrust(path, data)
}

// Usage reads a usage file (verify.ParseUsage).
func Usage(path string) (*verify.Usage, error) {
	data, err := ReadFile(path, verify.MaxUsageFileSize)
	if err != nil {
		return nil, err
	}
	return verify.ParseUsage(path, data)
}

// Catalog reads a catalog file (catalog.Parse).
func Catalog(path string) (*catalog.Catalog, error) {
	data, err := ReadFile(path, catalog.MaxFileSize)
	if err != nil {
		return nil, err
	}
	return catalog.Parse(path, data)
}

// System reads a whole system file (system.Parse).
func System(path string, cat *catalog.Catalog) (*system.System, error) {
	data, err := ReadFile(path, system.MaxFileSize)
	if err != nil {
		return nil, err
	}
	return system.Parse(path, data, cat)
}

// Servers reads the servers of a system file as a stream
// (system.ReadServers): what a device needs, in a few MiB whatever the
// file's devices.
func Servers(path string, cat *catalog.Catalog) (*system.System, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > system.MaxFileSize {
		return nil, &tomlfile.Error{File: path, Err: fmt.Errorf("larger than %d MiB", system.MaxFileSize>>20)}
	}
	return system.ReadServers(path, io.LimitReader(f, system.MaxFileSize+1), cat)
}

// State is a device state and the file it is kept in.
type State struct {
	*verify.State
	Path string
}

// OpenState reads the device state kept in dir. If there is none, it fails
// with verify.ErrStateMissing (a rollback: a device that has a state must
// not lose it unnoticed) unless create is set, in which case it starts an
// empty state that Save writes.
func OpenState(dir string, key []byte, create bool) (*State, error) {
	path := filepath.Join(dir, verify.StateFile)
	data, err := ReadFile(path, verify.MaxStateFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, fmt.Errorf("%w: %w at %s", verify.ErrRollback, verify.ErrStateMissing, path)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		return &State{State: verify.NewState(key), Path: path}, nil
	}
	if err != nil {
		// Whatever stops the state from being read stops trusting the clock.
		return nil, errclass.Wrap(verify.ErrRollback, err)
	}
	st, err := verify.ParseState(path, data, key)
	if err != nil {
		return nil, err
	}
	return &State{State: st, Path: path}, nil
}

// Save writes the state, if it changed, atomically.
func (s *State) Save() error {
	if !s.Changed() {
		return nil
	}
	if err := atomicfile.Replace(s.Path, s.Marshal(), 0o600); err != nil {
		return err
	}
	s.Saved()
	return nil
}
