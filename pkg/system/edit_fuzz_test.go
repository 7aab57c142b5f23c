package system_test

// The fuzz target of EditTree, the in-place editor of the quota tree.

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/tree"
)

// FuzzEditTree edits the tree of fuzzed system files as allot group and
// allot user do: whatever the file, EditTree either refuses with a
// *LayoutError or returns a file that reads as exactly the system meant,
// and a file whose tree does not change comes back byte for byte.
func FuzzEditTree(f *testing.F) {
	for _, s := range []string{handWritten, usersOnly, crlf(handWritten), strings.TrimSuffix(handWritten, "\n")} {
		f.Add([]byte(s), uint8(0), uint8(0))
	}
	f.Add(append(seedSystem(), treeSeed...), uint8(5), uint8(1))
	for _, data := range allottest.ScriptFiles(f, ".system.toml") {
		f.Add(data, uint8(2), uint8(0))
	}
	cat := catalog.Default()
	f.Fuzz(func(t *testing.T, data []byte, op, at uint8) {
		s, err := system.Parse("fuzz.system.toml", data, cat)
		if err != nil {
			return
		}
		same, err := system.EditTree("fuzz.system.toml", data, s, cat)
		var le *system.LayoutError
		switch {
		case errors.As(err, &le):
		case err != nil:
			t.Fatalf("EditTree of an unchanged tree: %v", err)
		case !bytes.Equal(same, data):
			t.Fatalf("an unchanged tree changed the file:\n%q\n%q", data, same)
		}
		fuzzEdit(&s.Tree, op, int(at))
		if s.Check(cat) != nil {
			return
		}
		out, err := system.EditTree("fuzz.system.toml", data, s, cat)
		if errors.As(err, &le) {
			return
		}
		if err != nil {
			t.Fatalf("EditTree: %v", err)
		}
		got, err := system.Parse("edited.system.toml", out, cat)
		if err != nil {
			t.Fatalf("the edited file does not read: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(normalTree(got), normalTree(s)) {
			t.Fatalf("the edited file reads as another system:\n%+v\n%+v\n%s", got, s, out)
		}
	})
}

// fuzzEdit makes one of the edits of allot group and allot user, chosen
// by op, on the group or user at (modulo their number).
func fuzzEdit(t *tree.Tree, op uint8, at int) {
	group := func() (int, bool) {
		if len(t.Groups) == 0 {
			return 0, false
		}
		return at % len(t.Groups), true
	}
	user := func() (int, bool) {
		if len(t.Users) == 0 {
			return 0, false
		}
		return at % len(t.Users), true
	}
	switch op % 7 {
	case 0:
		p := "fuzz"
		if i, ok := group(); ok && at%2 == 0 {
			p = t.Groups[i].Path + "/fuzz"
		}
		_ = t.AddGroup(tree.Group{Path: p})
	case 1:
		if i, ok := group(); ok {
			t.Groups[i].Restrict, t.Groups[i].Limits, t.Groups[i].RemindDays = false, tree.Limits{}, 7
		}
	case 2:
		if i, ok := group(); ok {
			_, _, _ = t.RemoveGroup(t.Groups[i].Path, true)
		}
	case 3:
		u := tree.User{Name: "fuzz"}
		if i, ok := group(); ok {
			u.Groups = []string{t.Groups[i].Path}
		}
		_ = t.AddUser(u)
	case 4:
		if i, ok := user(); ok {
			t.Users[i].Paused = !t.Users[i].Paused
		}
	case 5:
		if i, ok := user(); ok {
			_, _ = t.RemoveUser(t.Users[i].Name)
		}
	case 6:
		if i, ok := user(); ok {
			_ = t.AddUser(tree.User{Name: "fuzz", CreatedBy: t.Users[i].Name})
		}
	}
}

// normalTree is normal, with an empty list of groups or users nil too.
func normalTree(s *system.System) *system.System {
	c := normal(s)
	if len(c.Tree.Groups) == 0 {
		c.Tree.Groups = nil
	}
	if len(c.Tree.Users) == 0 {
		c.Tree.Users = nil
	}
	return c
}
