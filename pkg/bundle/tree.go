package bundle

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"allot.dev/allot/pkg/payload"
	"allot.dev/allot/pkg/tree"
)

// Limits of the quota tree a bundle carries. They keep a bundle with its
// tree inside the device's memory budget; a system file may hold more,
// and `allot allocate` refuses a tree beyond them.
const (
	MaxGroups = 10_000
	MaxUsers  = 10_000
)

// sizeTree makes room for the tree's groups and users at once.
func (b *Bundle) sizeTree(secs []payload.Section) {
	groups, users := 0, 0
	for i := range secs {
		switch {
		case secs[i].Name == "group" && secs[i].Array:
			groups++
		case secs[i].Name == "user" && secs[i].Array:
			users++
		}
	}
	if groups+users > 0 {
		b.Tree = &tree.Tree{Groups: make([]tree.Group, 0, min(groups, MaxGroups)), Users: make([]tree.User, 0, min(users, MaxUsers))}
	}
}

// parseTree reads the sections of the quota tree: [[group]], [group.quota],
// [[user]] and [user.quota]. It reports whether sec is one of them.
func (b *Bundle) parseTree(sec *payload.Section, t *payload.Table) (bool, error) {
	if b.Tree == nil {
		b.Tree = &tree.Tree{}
	}
	tr := b.Tree
	switch {
	case sec.Name == "group" && sec.Array:
		if len(tr.Groups) == MaxGroups {
			return true, fmt.Errorf("line %d: more than %d groups", sec.Line, MaxGroups)
		}
		// Filled in place: sizeTree made room.
		tr.Groups = slices.Grow(tr.Groups, 1)[:len(tr.Groups)+1]
		g := &tr.Groups[len(tr.Groups)-1]
		g.Path = t.String("path")
		g.Restrict = readLimits(t, &g.Limits)
	case sec.Name == "group.quota" && !sec.Array && len(tr.Groups) > 0 && tr.Groups[len(tr.Groups)-1].Quota == nil:
		tr.Groups[len(tr.Groups)-1].Quota = t.IntMap()
	case sec.Name == "user" && sec.Array:
		if len(tr.Users) == MaxUsers {
			return true, fmt.Errorf("line %d: more than %d users", sec.Line, MaxUsers)
		}
		tr.Users = slices.Grow(tr.Users, 1)[:len(tr.Users)+1]
		u := &tr.Users[len(tr.Users)-1]
		u.Name = t.String("name")
		if t.Has("groups") {
			u.Groups = t.Strings("groups")
		}
		if t.Unread() == 0 { // the rest are optional, and absent
			break
		}
		if t.Has("created_by") {
			u.CreatedBy = t.String("created_by")
		}
		if t.Has("paused") {
			u.Paused = t.Bool("paused")
		}
		u.Restrict = readLimits(t, &u.Limits)
	case sec.Name == "user.quota" && !sec.Array && len(tr.Users) > 0 && tr.Users[len(tr.Users)-1].Quota == nil:
		tr.Users[len(tr.Users)-1].Quota = t.IntMap()
	default:
		if tr.Len() == 0 {
			b.Tree = nil
		}
		return false, nil
	}
	return true, nil
}

// readLimits reads restrict and, for a restricted node, its features and
// window; it returns restrict.
func readLimits(t *payload.Table, l *tree.Limits) bool {
	if t.Unread() == 0 { // none of them is there
		return false
	}
	restrict := t.Has("restrict") && t.Bool("restrict")
	if t.Has("features") {
		l.Features = t.Strings("features")
	}
	if t.Has("from") {
		l.From = t.Time("from")
	}
	if t.Has("until") {
		l.Until = t.Time("until")
	}
	return restrict
}

// validateTree checks the structure of the tree (package tree): the rules
// that bound its quotas by the bundle's are the verifier's.
func (b *Bundle) validateTree() error {
	if b.Tree == nil {
		return nil
	}
	if len(b.Tree.Groups) > MaxGroups || len(b.Tree.Users) > MaxUsers {
		return fmt.Errorf("tree: %d groups and %d users, at most %d and %d", len(b.Tree.Groups), len(b.Tree.Users), MaxGroups, MaxUsers)
	}
	m, err := tree.New(b.Tree, tree.Root{})
	if err != nil {
		var te *tree.Error
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("%s: %v", te.Field, te)
		}
		return err
	}
	b.model = m
	return nil
}

// TreeModel returns the bundle's tree under root, its structure checked
// when the bundle was read; nil if the bundle has no tree.
func (b *Bundle) TreeModel(root tree.Root) (*tree.Model, error) {
	if b.Tree == nil {
		return nil, nil
	}
	if b.model == nil || b.model.Tree != b.Tree {
		return tree.New(b.Tree, root)
	}
	return b.model.WithRoot(root), nil
}

// writeTree writes the quota tree: each group, then each user, with only
// the fields that differ from their defaults.
func (b *Bundle) writeTree(w *payload.Writer) {
	if b.Tree == nil {
		return
	}
	for _, g := range b.Tree.Groups {
		w.ArrayTable("group")
		w.String("path", g.Path)
		writeLimits(w, "group.quota", g.Restrict, &g.Limits)
	}
	for _, u := range b.Tree.Users {
		w.ArrayTable("user")
		w.String("name", u.Name)
		if len(u.Groups) > 0 {
			w.Strings("groups", u.Groups)
		}
		if u.CreatedBy != "" {
			w.String("created_by", u.CreatedBy)
		}
		if u.Paused {
			w.Bool("paused", true)
		}
		writeLimits(w, "user.quota", u.Restrict, &u.Limits)
	}
}

func writeLimits(w *payload.Writer, quota string, restrict bool, l *tree.Limits) {
	if !restrict {
		return
	}
	w.Bool("restrict", true)
	if l.Features != nil {
		w.Strings("features", l.Features)
	}
	if !l.From.IsZero() {
		w.Time("from", l.From)
	}
	if !l.Until.IsZero() {
		w.Time("until", l.Until)
	}
	if len(l.Quota) > 0 {
		w.SubTable(quota)
		for _, t := range slices.Sorted(maps.Keys(l.Quota)) {
			w.Int(t, l.Quota[t])
		}
	}
}
