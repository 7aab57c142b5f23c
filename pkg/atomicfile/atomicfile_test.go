package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// noTemps fails if dir holds a temporary file of this package.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if IsTemp(e.Name()) || strings.Contains(e.Name(), "allot-tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func checkFile(t *testing.T, path string, data []byte, perm fs.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("%s holds %q, want %q", path, got, data)
	}
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm() != perm {
		t.Errorf("%s has mode %v, want a regular file with %v", path, st.Mode(), perm)
	}
}

// checkNamesTarget checks that an error names the file asked for and not
// a temporary file.
func checkNamesTarget(t *testing.T, err error, path string) {
	t.Helper()
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != path {
		t.Errorf("error %v (%T) is not a *fs.PathError for %s", err, err, path)
	}
	if strings.Contains(err.Error(), tempPrefix) {
		t.Errorf("error names a temporary file: %v", err)
	}
}

func TestReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.wallet")
	// Modes are exact, not subject to the umask.
	for i, tc := range []struct {
		data []byte
		perm fs.FileMode
	}{
		{[]byte("first\n"), 0o644},
		{[]byte("second, longer than the first\n"), 0o600},
		{nil, 0o640},
		{bytes.Repeat([]byte("x"), 1<<20), 0o666},
	} {
		if err := Replace(path, tc.data, tc.perm); err != nil {
			t.Fatalf("Replace %d: %v", i, err)
		}
		checkFile(t, path, tc.data, tc.perm)
		noTemps(t, dir)
	}
}

func TestReplaceLeavesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Replace(filepath.Join(dir, "f"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkFile(t, other, []byte("keep"), 0o644)
}

func TestReplaceFailure(t *testing.T) {
	dir := t.TempDir()
	// A directory cannot be replaced by a file: the rename fails, the
	// directory and its content stay, and no temporary file is left.
	target := filepath.Join(dir, "occupied")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "inside"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Replace(target, []byte("data"), 0o644)
	if err == nil {
		t.Fatal("Replace of a directory succeeded")
	}
	checkNamesTarget(t, err, target)
	if st, err := os.Stat(target); err != nil || !st.IsDir() {
		t.Fatalf("the directory was changed: %v", err)
	}
	noTemps(t, dir)

	// A folder that does not exist.
	missing := filepath.Join(dir, "no", "such", "dir", "f")
	err = Replace(missing, []byte("data"), 0o644)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Replace in a missing folder: %v, want ErrNotExist", err)
	}
	checkNamesTarget(t, err, missing)
	if _, err := os.Stat(filepath.Join(dir, "no")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("Replace created folders")
	}
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "signer.key")
	if err := Create(path, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, []byte("secret\n"), 0o600)
	noTemps(t, dir)

	// Never an overwrite: the file keeps its content and mode.
	err := Create(path, []byte("other\n"), 0o644)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Create over an existing file: %v, want ErrExist", err)
	}
	checkNamesTarget(t, err, path)
	checkFile(t, path, []byte("secret\n"), 0o600)
	noTemps(t, dir)

	// Not through a symbolic link either, even a dangling one.
	link := filepath.Join(dir, "link")
	target := filepath.Join(dir, "target")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := Create(link, []byte("x"), 0o600); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Create over a dangling symlink: %v, want ErrExist", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("Create wrote through a symbolic link")
	}

	// Nor over a directory.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Create(sub, []byte("x"), 0o600); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Create over a directory: %v, want ErrExist", err)
	}
	noTemps(t, dir)
}

// TestCreateFunc: streamed content lands whole; a content error is passed
// on as it is and leaves nothing; an existing file is never written to.
func TestCreateFunc(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.txt")
	var want bytes.Buffer
	for i := range 10000 {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	err := CreateFunc(path, 0o644, func(w io.Writer) error {
		for line := range bytes.Lines(want.Bytes()) {
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, want.Bytes(), 0o644)

	called := false
	err = CreateFunc(path, 0o644, func(w io.Writer) error { called = true; return nil })
	if !errors.Is(err, fs.ErrExist) || called {
		t.Fatalf("CreateFunc over an existing file: %v (write called: %v), want ErrExist and no call", err, called)
	}
	checkFile(t, path, want.Bytes(), 0o644)

	failed := filepath.Join(dir, "failed.txt")
	errContent := errors.New("key 7: signing failed")
	err = CreateFunc(failed, 0o644, func(w io.Writer) error {
		w.Write([]byte("half of it\n"))
		return errContent
	})
	if err != errContent {
		t.Fatalf("CreateFunc = %v, want the content's error as it is", err)
	}
	if _, err := os.Lstat(failed); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a failed CreateFunc left the file: %v", err)
	}
	noTemps(t, dir)
}

// TestCreateMissingFolder: the error names the file asked for, not the
// temporary file, and nothing is created.
func TestCreateMissingFolder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "no", "such", "dir", "nowhere.key")
	err := Create(path, []byte("x"), 0o600)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Create = %v, want ErrNotExist", err)
	}
	checkNamesTarget(t, err, path)
	if !strings.Contains(err.Error(), "no/such/dir/nowhere.key") {
		t.Fatalf("error %q does not name the file asked for", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("Create created folders")
	}
}

// TestCreateRace: of many concurrent Creates of one path, exactly one
// wins, the file holds the winner's data whole, and the rest get ErrExist.
func TestCreateRace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "once")
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = Create(path, bytes.Repeat([]byte{byte('a' + i)}, 4096), 0o600)
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("Create succeeded twice: %d and %d", winner, i)
			}
			winner = i
		case !errors.Is(err, fs.ErrExist):
			t.Fatalf("Create %d: %v, want ErrExist", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no Create succeeded")
	}
	checkFile(t, path, bytes.Repeat([]byte{byte('a' + winner)}, 4096), 0o600)
	noTemps(t, dir)
}

// A writer killed before it publishes leaves nothing, where the system has
// unnamed temporary files; RemoveStale clears what named ones leave.
func TestUnnamedAndStale(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "site.wallet")
	tf, err := writeTemp(target, 0o600, writeData([]byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if runtime.GOOS == "linux" && len(ents) != 0 {
		t.Errorf("a complete but unpublished temporary file has a name: %v", ents)
	}
	tf.discard()
	for _, n := range []string{".allot-tmp-site.wallet-1", ".allot-tmp-site.wallet-2", ".allot-tmp-other.lic-3", "site.wallet"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	if err := RemoveStale(target); err != nil {
		t.Fatal(err)
	}
	var left []string
	ents, _ = os.ReadDir(dir)
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if want := []string{".allot-tmp-other.lic-3", "site.wallet"}; !slices.Equal(left, want) {
		t.Errorf("after RemoveStale: %v, want %v", left, want)
	}
}

func TestIsTemp(t *testing.T) {
	tests := map[string]bool{
		".allot-tmp-site.wallet-123456":            true,
		"/some/dir/.allot-tmp-x-1":                 true,
		filepath.Join("dir", ".allot-tmp-k.key-9"): true,
		".allot-tmp-":                              false,
		"site.wallet":                              false,
		"allot-tmp-x":                              false,
		".allot-tmp":                               false,
		"/.allot-tmp-dir/file":                     false,
		"":                                         false,
	}
	for name, want := range tests {
		if got := IsTemp(name); got != want {
			t.Errorf("IsTemp(%q) = %v, want %v", name, got, want)
		}
	}
	// The temporary files Replace and Create make are recognised, and sit
	// beside the target, so the rename never crosses file systems.
	dir := t.TempDir()
	target := filepath.Join(dir, "site.wallet")
	tf, err := writeTemp(target, 0o600, writeData([]byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := tf.name(target)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(tmp)
	if !IsTemp(tmp) || filepath.Dir(tmp) != dir {
		t.Fatalf("writeTemp made %q: not recognised by IsTemp, or not beside %s", tmp, target)
	}
}
