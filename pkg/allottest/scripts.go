package allottest

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// ScriptFiles returns the files of the testscript archives in
// testdata/script whose names end in suffix: artifacts the CLI really
// wrote, to seed fuzz tests with. It fails t if there are no archives.
func ScriptFiles(t testing.TB, suffix string) [][]byte {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(self), "..", "..", "testdata", "script")
	paths, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testscript archives in %s", dir)
	}
	var out [][]byte
	for _, p := range paths {
		a, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range a.Files {
			if strings.HasSuffix(f.Name, suffix) {
				out = append(out, f.Data)
			}
		}
	}
	return out
}
