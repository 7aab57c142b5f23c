package tree

import (
	"fmt"
	"slices"
)

// The edits `allot group` and `allot user` make. Each changes the tree in
// place, checking only what it needs to find its nodes; New and Check
// decide whether the result is a valid tree.

// GroupIndex returns the index of the group at path, or -1.
func (t *Tree) GroupIndex(path string) int {
	return slices.IndexFunc(t.Groups, func(g Group) bool { return g.Path == path })
}

// UserIndex returns the index of the user named name, or -1.
func (t *Tree) UserIndex(name string) int {
	return slices.IndexFunc(t.Users, func(u User) bool { return u.Name == name })
}

// AddGroup adds g after the last group, refusing a path already there.
func (t *Tree) AddGroup(g Group) error {
	if t.GroupIndex(g.Path) >= 0 {
		return &Error{Kind: Structure, Node: GroupName(g.Path), Msg: "is already a group of the tree"}
	}
	t.Groups = append(t.Groups, g)
	return nil
}

// AddUser adds u after the last user, refusing a name already there.
func (t *Tree) AddUser(u User) error {
	if t.UserIndex(u.Name) >= 0 {
		return &Error{Kind: Structure, Node: UserName(u.Name), Msg: "is already a user of the tree"}
	}
	t.Users = append(t.Users, u)
	return nil
}

// RemoveGroup removes the group at path. A group with groups or users
// below it is removed only with recursive, and then so is everything below
// it: the groups within it, the users whose every group is within it, and
// their sub-users; a user also in other groups only leaves the removed
// ones. It returns the paths of the groups and the names of the users
// removed, the group at path first.
func (t *Tree) RemoveGroup(path string, recursive bool) (groups, users []string, err error) {
	if t.GroupIndex(path) < 0 {
		return nil, nil, &Error{Kind: Structure, Node: GroupName(path), Msg: "is not a group of the tree"}
	}
	gone := map[string]bool{}
	for _, g := range t.Groups {
		if Within(g.Path, path) {
			gone[g.Path] = true
			groups = append(groups, g.Path)
		}
	}
	// The group itself first, then the ones below it in tree order.
	slices.SortStableFunc(groups, func(a, b string) int {
		switch {
		case a == path:
			return -1
		case b == path:
			return 1
		}
		return 0
	})
	var leaving []string
	for _, u := range t.Users {
		if len(u.Groups) == 0 {
			continue
		}
		if !slices.ContainsFunc(u.Groups, func(g string) bool { return !gone[g] }) {
			leaving = append(leaving, u.Name)
		} else if slices.ContainsFunc(u.Groups, func(g string) bool { return gone[g] }) {
			leaving = append(leaving, "") // only leaves some groups
		}
	}
	if !recursive && (len(groups) > 1 || len(leaving) > 0) {
		return nil, nil, &Error{Kind: Structure, Node: GroupName(path),
			Msg: fmt.Sprintf("has %d group%s and %d user%s below it: remove them first, or remove it with everything below it",
				len(groups)-1, plural(len(groups)-1), len(leaving), plural(len(leaving)))}
	}
	t.Groups = slices.DeleteFunc(t.Groups, func(g Group) bool { return gone[g.Path] })
	for i := range t.Users {
		u := &t.Users[i]
		if len(u.Groups) > 0 && slices.ContainsFunc(u.Groups, func(g string) bool { return !gone[g] }) {
			u.Groups = slices.DeleteFunc(slices.Clone(u.Groups), func(g string) bool { return gone[g] })
		}
	}
	for _, name := range leaving {
		if name == "" || t.UserIndex(name) < 0 {
			continue
		}
		removed, _ := t.RemoveUser(name)
		users = append(users, removed...)
	}
	return groups, users, nil
}

// RemoveUser removes the user named name and every user it created, and
// every user they created, and returns their names, name first.
func (t *Tree) RemoveUser(name string) ([]string, error) {
	if t.UserIndex(name) < 0 {
		return nil, &Error{Kind: Structure, Node: UserName(name), Msg: "is not a user of the tree"}
	}
	created := map[string][]string{}
	for _, u := range t.Users {
		if u.CreatedBy != "" {
			created[u.CreatedBy] = append(created[u.CreatedBy], u.Name)
		}
	}
	gone := map[string]bool{}
	var order []string
	var walk func(n string)
	walk = func(n string) {
		if gone[n] {
			return
		}
		gone[n] = true
		order = append(order, n)
		for _, c := range created[n] {
			walk(c)
		}
	}
	walk(name)
	t.Users = slices.DeleteFunc(t.Users, func(u User) bool { return gone[u.Name] })
	return order, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
