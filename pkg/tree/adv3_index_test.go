package tree_test

import (
	"strconv"
	"testing"
	"time"

	"allot.dev/allot/pkg/tree"
)

// TestAdv3IndexSizes: with the index's 32-bit slots (b1979fe), the node
// id in as many low bits as the largest id needs and hash bits above it,
// every group and every user is found by its name, in its own index
// only, and nothing else is, whatever the number of nodes: at and around
// each power of two where the id takes one more bit, up to past 65,536;
// groups only, users only, and both (the users' ids come after the
// groups').
func TestAdv3IndexSizes(t *testing.T) {
	sizes := []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 255, 256, 257, 1023, 1024, 1025, 32767, 32768, 32769, 65535, 65536, 65537}
	if testing.Short() {
		sizes = sizes[:len(sizes)-6]
	}
	for _, n := range sizes {
		for _, split := range [][2]int{{n, 0}, {0, n}, {n / 2, n - n/2}, {1, n - 1}, {n - 1, 1}} {
			g, u := split[0], split[1]
			tr := &tree.Tree{}
			for i := 0; i < g; i++ {
				tr.Groups = append(tr.Groups, tree.Group{Path: "g" + strconv.Itoa(i)})
			}
			for i := 0; i < u; i++ {
				us := tree.User{Name: "u" + strconv.Itoa(i)}
				if g > 0 {
					us.Groups = []string{"g" + strconv.Itoa(i%g)}
				}
				tr.Users = append(tr.Users, us)
			}
			m, err := tree.New(tr, tree.Root{})
			if err != nil {
				t.Fatalf("%d groups, %d users: %v", g, u, err)
			}
			for i := range tr.Groups {
				p := tr.Groups[i].Path
				if x, ok := m.Group(p); !ok || x != &tr.Groups[i] {
					t.Fatalf("%d groups, %d users: group %s not found", g, u, p)
				}
				if _, ok := m.User(p); ok {
					t.Fatalf("%d groups, %d users: group %s found as a user", g, u, p)
				}
			}
			for i := range tr.Users {
				name := tr.Users[i].Name
				if x, ok := m.User(name); !ok || x != &tr.Users[i] {
					t.Fatalf("%d groups, %d users: user %s not found", g, u, name)
				}
				if _, ok := m.Group(name); ok {
					t.Fatalf("%d groups, %d users: user %s found as a group", g, u, name)
				}
			}
			for _, s := range []string{"g" + strconv.Itoa(g), "u" + strconv.Itoa(u), "", "g-1", "x"} {
				if _, ok := m.Group(s); ok {
					t.Fatalf("%d groups, %d users: %q found as a group", g, u, s)
				}
				if _, ok := m.User(s); ok {
					t.Fatalf("%d groups, %d users: %q found as a user", g, u, s)
				}
			}
			// A usage of every other node is looked up in the index
			// (matchUses: the usage is the smaller side): each entry is
			// found, and one more name is not.
			use := &tree.Usage{Groups: map[string]*tree.Use{}, Users: map[string]*tree.Use{}}
			for i := 0; i < g; i += 2 {
				use.Groups[tr.Groups[i].Path] = &tree.Use{}
			}
			for i := 0; i < u; i += 2 {
				use.Users[tr.Users[i].Name] = &tree.Use{}
			}
			if err := m.CheckUsage(use, time.Time{}); err != nil {
				t.Fatalf("%d groups, %d users: %v", g, u, err)
			}
			more := &tree.Usage{Groups: use.Groups, Users: map[string]*tree.Use{"u" + strconv.Itoa(u): {}}}
			for k, v := range use.Users {
				more.Users[k] = v
			}
			if err := m.CheckUsage(more, time.Time{}); err == nil {
				t.Fatalf("%d groups, %d users: a usage of a user not in the tree passes", g, u)
			}
			if r := m.Report(nil, ""); len(r) != 1+g+u {
				t.Fatalf("%d groups, %d users: a report of %d nodes", g, u, len(r))
			}
		}
	}
}
