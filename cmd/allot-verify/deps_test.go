package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The device binary links the standard library, allot's format packages
// and the few modules they need — no command-line framework, tables, age
// or git — so that it starts as fast as DESIGN.md's budget asks.
func TestImportGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := []string{"allot.dev/allot/", "github.com/BurntSushi/toml", "golang.org/x/sys/", "golang.org/x/crypto/"}
	for _, pkg := range strings.Fields(string(out)) {
		ok := false
		for _, prefix := range allowed {
			if strings.HasPrefix(pkg, prefix) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("allot-verify imports %s", pkg)
		}
	}
}
