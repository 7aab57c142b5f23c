package allottest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"allot.dev/allot/pkg/tree"
	"allot.dev/allot/pkg/verify"
)

// TreeBundle builds, in dir, the budget's bundle of a large site: 1000
// cameras for a year, and a quota tree of nodes nodes, half groups and half
// users (50 buildings of 20 cameras each, their apartments without
// restriction, a user in each apartment), and the usage of every node. It
// returns the bundle, the usage, and the world.
func TreeBundle(dir string, nodes int) ([]byte, *verify.Usage, *World, error) {
	w, err := NewWorld(2)
	if err != nil {
		return nil, nil, nil, err
	}
	wk := Key("wallet")
	path := filepath.Join(dir, "tree.wallet")
	os.Remove(path)
	wl, err := w.Wallet(path, wk)
	if err != nil {
		return nil, nil, nil, err
	}
	keys, err := w.Keys(1, 1000, 12, wl.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := w.Redeem(path, keys); err != nil {
		return nil, nil, nil, err
	}
	sys := System("site-1", 0)
	sys.Need = map[string]int{"camera": 1000}
	sys.Tree = *BigTree(nodes/2, nodes-nodes/2)
	doc, err := w.Allocate(path, wk, sys, 1)
	if err != nil {
		return nil, nil, nil, err
	}
	u, err := verify.ParseUsage("tree.usage.toml", TreeUsageFile(&sys.Tree))
	if err != nil {
		return nil, nil, nil, err
	}
	return doc, u, w, nil
}

// TreeUsageFile returns a usage file of TreeBundle's tree in which every
// node reports: a camera in each of the first 15 apartments of a
// building, nothing elsewhere.
func TreeUsageFile(t *tree.Tree) []byte {
	var b strings.Builder
	b.WriteString("version = 1\nsystem = \"site-1\"\nnodes = \"\"\"\n")
	for i, g := range t.Groups {
		n := 0
		if apt := i - 50; apt >= 0 && apt < 15*50 {
			n = 1
		}
		fmt.Fprintf(&b, "%s camera=%d\n", g.Path, n)
	}
	for _, u := range t.Users {
		fmt.Fprintf(&b, "user:%s camera=0\n", u.Name)
	}
	b.WriteString("\"\"\"\n")
	return []byte(b.String())
}

// BigTree returns a tree of 50 restricted buildings of 20 cameras, groups
// groups in all (the rest apartments, without restriction), and users
// users, each in an apartment.
func BigTree(groups, users int) *tree.Tree {
	t := &tree.Tree{}
	const buildings = 50
	for b := 0; b < buildings && b < groups; b++ {
		t.Groups = append(t.Groups, tree.Group{Path: fmt.Sprintf("b%02d", b), Restrict: true,
			Limits: tree.Limits{Quota: map[string]int{"camera": 20}}})
	}
	var apts []string
	for i := 0; len(t.Groups) < groups; i++ {
		p := fmt.Sprintf("b%02d/apt-%05d", i%buildings, i)
		t.Groups = append(t.Groups, tree.Group{Path: p})
		apts = append(apts, p)
	}
	for i := 0; i < users; i++ {
		u := tree.User{Name: fmt.Sprintf("user-%06d", i)}
		if len(apts) > 0 {
			u.Groups = []string{apts[i%len(apts)]}
		}
		t.Users = append(t.Users, u)
	}
	return t
}

// TreeSystemFile returns a system file of a site with a tree of groups
// groups and users users, as people and allot write it.
func TreeSystemFile(groups, users int) []byte {
	s := System("site-1", 0)
	s.Need = map[string]int{"camera": 1000}
	s.Tree = *BigTree(groups, users)
	return s.Marshal(Now)
}
