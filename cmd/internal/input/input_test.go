package input

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/tomlfile"
	"allot.dev/allot/pkg/verify"
)

// ReadFile reads a file into one buffer of its size, not a buffer doubled
// as it fills: a 64 MiB system file cost 128 MiB.
func TestReadFileAllocations(t *testing.T) {
	path := t.TempDir() + "/f.toml"
	if err := os.WriteFile(path, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	data, err := ReadFile(path, 4<<20)
	runtime.ReadMemStats(&after)
	if err != nil || len(data) != 4<<20 {
		t.Fatalf("ReadFile: %d bytes, %v", len(data), err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20+64<<10 {
		t.Errorf("reading 4 MiB allocated %d bytes", got)
	}
	if _, err := ReadFile(path, 4<<20-1); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a file over the limit: %v", err)
	}
}

// Every reader names a missing file as the file system does, refuses a
// file over its limit by its size as input (exit 3) naming the file, and
// reports a bad file at its line.
func TestReaders(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	readers := map[string]func(string) error{
		"trust":   func(p string) error { _, err := Trust(p); return err },
		"usage":   func(p string) error { _, err := Usage(p); return err },
		"catalog": func(p string) error { _, err := Catalog(p); return err },
		"system":  func(p string) error { _, err := System(p, catalog.Default()); return err },
		"servers": func(p string) error { _, err := Servers(p, catalog.Default()); return err },
	}
	for name, read := range readers {
		if err := read(missing); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s of a missing file: %v", name, err)
		}
		bad := filepath.Join(dir, name+".toml")
		if err := os.WriteFile(bad, []byte("version = 99\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := read(bad)
		var te *tomlfile.Error
		if !errors.As(err, &te) || te.File != bad || errclass.ExitCode(err) != errclass.ExitInput {
			t.Errorf("%s of a bad file: %v, want an input error naming %s", name, err, bad)
		}
	}
	huge := filepath.Join(dir, "huge")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(system.MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for name, read := range readers {
		if err := read(huge); err == nil || !strings.HasPrefix(err.Error(), huge+": larger than") || errclass.ExitCode(err) != errclass.ExitInput {
			t.Errorf("%s of a file over its limit: %v", name, err)
		}
	}
}

// A device state: none is a rollback (the device must not lose it
// unnoticed) unless the device is new; what is saved is the device's own,
// mode 0600, and reads back; a state of another machine is a rollback.
func TestState(t *testing.T) {
	key := verify.DeviceKey([]hwid.Identifier{{Kind: hwid.MachineID, Value: "0123456789abcdef0123456789abcdef"}})
	dir := filepath.Join(t.TempDir(), "state")
	if _, err := OpenState(dir, key, false); !errors.Is(err, verify.ErrRollback) || !errors.Is(err, verify.ErrStateMissing) {
		t.Fatalf("no state: %v", err)
	}
	st, err := OpenState(dir, key, true)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	if err := st.Check(&bundle.Bundle{System: "site-1", Sequence: 3, Issued: now}, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, verify.StateFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v", err, fi.Mode())
	}
	back, err := OpenState(dir, key, false)
	if err != nil || !back.LastSeen.Equal(now) || back.Changed() {
		t.Fatalf("read back: %v, last seen %v, changed %v", err, back.LastSeen, back.Changed())
	}
	other := verify.DeviceKey([]hwid.Identifier{{Kind: hwid.MachineID, Value: "ffffffffffffffffffffffffffffffff"}})
	if _, err := OpenState(dir, other, true); !errors.Is(err, verify.ErrRollback) {
		t.Errorf("another machine's state: %v, want a rollback even with create", err)
	}
}
