package tree_test

import (
	"fmt"
	"strconv"
	"testing"

	"allot.dev/allot/pkg/tree"
)

// The third adversarial review, of 9ab5e90 (New links a group to its
// parent, and a user to its groups, in the first pass when it can) and of
// b1979fe (the index's 32-bit slots). New must report the same first
// error as before for every tree: these trees put a failure of the
// second pass (a parent, a group, a creator missing) before a failure of
// the first (a name twice, limits off) or of resolve (a cycle), or the
// other way round, and pin the error the old New reported (checked
// against 57a456b's New).

func groups(paths ...string) []tree.Group {
	var gs []tree.Group
	for _, p := range paths {
		gs = append(gs, tree.Group{Path: p})
	}
	return gs
}

func sixtyFive(p string) []string {
	var l []string
	for i := 0; i < 65; i++ {
		l = append(l, p)
	}
	return l
}

func manyGroups(n int) ([]tree.Group, []string) {
	var gs []tree.Group
	var ps []string
	for i := 0; i < n; i++ {
		p := "g" + strconv.Itoa(i)
		gs = append(gs, tree.Group{Path: p})
		ps = append(ps, p)
	}
	return gs, ps
}

var adv3OrderCases = func() []struct {
	name string
	tr   tree.Tree
} {
	g64, p64 := manyGroups(64)
	g65, p65 := manyGroups(65)
	limited := tree.Limits{Quota: map[string]int{"camera": 1}}
	return []struct {
		name string
		tr   tree.Tree
	}{
		{"a child before its parent", tree.Tree{Groups: groups("a/b", "a")}},
		{"a missing parent, then a path twice", tree.Tree{Groups: groups("x/y", "a", "a")}},
		{"a path twice, then a missing parent", tree.Tree{Groups: groups("a", "a", "x/y")}},
		{"a missing parent, then limits without restrict", tree.Tree{Groups: append(groups("x/y"), tree.Group{Path: "z", Limits: limited})}},
		{"two missing parents", tree.Tree{Groups: groups("a", "b/c", "a/d", "e/f")}},
		{"a parent found in the first pass, then a missing one", tree.Tree{Groups: groups("a", "a/b", "a/b/c", "q/r")}},
		{"a missing group, then a name twice", tree.Tree{Groups: groups("a"), Users: []tree.User{{Name: "u", Groups: []string{"b"}}, {Name: "v"}, {Name: "u"}}}},
		{"a missing group, then limits without restrict", tree.Tree{Groups: groups("a"), Users: []tree.User{{Name: "u", Groups: []string{"b"}}, {Name: "v", Limits: limited}}}},
		{"a missing creator, then a missing group", tree.Tree{Groups: groups("a"), Users: []tree.User{{Name: "s", CreatedBy: "nobody"}, {Name: "u", Groups: []string{"b"}}}}},
		{"a missing group, then a missing creator", tree.Tree{Groups: groups("a"), Users: []tree.User{{Name: "u", Groups: []string{"b"}}, {Name: "s", CreatedBy: "nobody"}}}},
		{"linked users, then a group twice", tree.Tree{Groups: groups("a", "b"), Users: []tree.User{{Name: "u", Groups: []string{"a", "b"}}, {Name: "v"}, {Name: "w", Groups: []string{"b", "a", "b"}}}}},
		{"a group twice, then a missing group", tree.Tree{Groups: groups("a", "b"), Users: []tree.User{{Name: "w", Groups: []string{"a", "a", "zz"}}, {Name: "u", Groups: []string{"zz"}}}}},
		{"a missing group after a group twice in one list", tree.Tree{Groups: groups("a"), Users: []tree.User{{Name: "w", Groups: []string{"zz", "a", "a"}}}}},
		{"65 groups, all there", tree.Tree{Groups: g65, Users: []tree.User{{Name: "u", Groups: p65}}}},
		{"65 times one group", tree.Tree{Groups: groups("a"), Users: []tree.User{{Name: "u", Groups: sixtyFive("a")}}}},
		{"65 missing groups after a missing one", tree.Tree{Groups: groups("a"), Users: []tree.User{{Name: "u", Groups: []string{"zz"}}, {Name: "v", Groups: sixtyFive("b")}}}},
		{"64 groups, all there", tree.Tree{Groups: g64, Users: []tree.User{{Name: "u", Groups: p64}}}},
		{"64 groups, the last missing", tree.Tree{Groups: g64, Users: []tree.User{{Name: "u", Groups: append(append([]string(nil), p64[:63]...), "zz")}}}},
		{"a sub-user in a group, then a missing group", tree.Tree{Groups: groups("a"), Users: []tree.User{{Name: "p"}, {Name: "s", CreatedBy: "p", Groups: []string{"a"}}, {Name: "u", Groups: []string{"zz"}}}}},
		{"a sub-user in a missing group", tree.Tree{Groups: groups("a"), Users: []tree.User{{Name: "s", CreatedBy: "nobody", Groups: []string{"zz"}}}}},
		{"a user its own creator, then a missing group", tree.Tree{Users: []tree.User{{Name: "s", CreatedBy: "s"}, {Name: "u", Groups: []string{"zz"}}}}},
		{"a cycle of creators, then a missing group", tree.Tree{Users: []tree.User{{Name: "s", CreatedBy: "t"}, {Name: "t", CreatedBy: "s"}, {Name: "u", Groups: []string{"zz"}}}}},
		{"a cycle of creators, and linked users", tree.Tree{Groups: groups("a"), Users: []tree.User{{Name: "u", Groups: []string{"a"}}, {Name: "s", CreatedBy: "t"}, {Name: "t", CreatedBy: "s"}}}},
		{"a sub-user of a user created later", tree.Tree{Groups: groups("a"), Users: []tree.User{{Name: "s", CreatedBy: "u"}, {Name: "u", Groups: []string{"a"}}}}},
		{"an empty group list", tree.Tree{Groups: groups("a"), Users: []tree.User{{Name: "u", Groups: []string{}}, {Name: "v", Groups: []string{""}}}}},
		{"a group named as a user", tree.Tree{Groups: groups("a"), Users: []tree.User{{Name: "a"}, {Name: "b", Groups: []string{"a"}}, {Name: "c", Groups: []string{"b"}}}}},
	}
}()

// adv3OrderWant is what 57a456b's New reported for each case.
var adv3OrderWant = map[string]string{
	"a child before its parent":                            "<nil>",
	"a missing parent, then a path twice":                  "group[3].path: group a: listed twice",
	"a path twice, then a missing parent":                  "group[2].path: group a: listed twice",
	"a missing parent, then limits without restrict":       "group[2].restrict: group z: carries limits but restrict is off: set restrict = true, or remove its quota, features and dates",
	"two missing parents":                                  "group[2].path: group b/c: its parent b is not a group of the tree: add it first",
	"a parent found in the first pass, then a missing one": "group[4].path: group q/r: its parent q is not a group of the tree: add it first",
	"a missing group, then a name twice":                   "user[3].name: user u: listed twice",
	"a missing group, then limits without restrict":        "user[2].restrict: user v: carries limits but restrict is off: set restrict = true, or remove its quota, features and dates",
	"a missing creator, then a missing group":              "user[1].created_by: user s: its creator nobody is not a user of the tree",
	"a missing group, then a missing creator":              "user[1].groups: user u: \"b\" is not a group of the tree",
	"linked users, then a group twice":                     "user[3].groups: user w: group b is listed twice",
	"a group twice, then a missing group":                  "user[1].groups: user w: group a is listed twice",
	"a missing group after a group twice in one list":      "user[1].groups: user w: \"zz\" is not a group of the tree",
	"65 groups, all there":                                 "user[1].groups: user u: 65 groups, at most 64",
	"65 times one group":                                   "user[1].groups: user u: 65 groups, at most 64",
	"65 missing groups after a missing one":                "user[1].groups: user u: \"zz\" is not a group of the tree",
	"64 groups, all there":                                 "<nil>",
	"64 groups, the last missing":                          "user[1].groups: user u: \"zz\" is not a group of the tree",
	"a sub-user in a group, then a missing group":          "user[2].groups: user s: a sub-user hangs under its creator p and has no groups of its own",
	"a sub-user in a missing group":                        "user[1].groups: user s: a sub-user hangs under its creator nobody and has no groups of its own",
	"a user its own creator, then a missing group":         "user[1].created_by: user s: a user cannot be its own creator",
	"a cycle of creators, then a missing group":            "user[3].groups: user u: \"zz\" is not a group of the tree",
	"a cycle of creators, and linked users":                "user[2].created_by: user s: its creators make a cycle",
	"a sub-user of a user created later":                   "<nil>",
	"an empty group list":                                  "user[2].groups: user v: \"\" is not a group of the tree",
	"a group named as a user":                              "user[3].groups: user c: \"b\" is not a group of the tree",
}

func TestAdv3NewFirstError(t *testing.T) {
	for _, c := range adv3OrderCases {
		tr := c.tr
		_, err := tree.New(&tr, tree.Root{})
		got := fmt.Sprint(err)
		if e, ok := err.(*tree.Error); ok {
			got = e.Field + ": " + got
		}
		if want, ok := adv3OrderWant[c.name]; !ok {
			t.Errorf("%q: %q,", c.name, got)
		} else if got != want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, want)
		}
	}
}
