package system

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/tomlfile"
	"allot.dev/allot/pkg/tree"
)

// Limits of the tree in a system file.
const (
	MaxGroups = 100_000
	MaxUsers  = 100_000
)

// What the tree may hold of the TOML reader's limits (fileLimits): a table
// and a quota table a node, its fields and on average eight quota types,
// and on average eight features or groups.
const (
	treeTables = 2 * (MaxGroups + MaxUsers)
	treeKeys   = 16 * (MaxGroups + MaxUsers)
	treeValues = 8 * (MaxGroups + MaxUsers)
)

// groupTOML and userTOML are the [[group]] and [[user]] tables of a system
// file.
type groupTOML struct {
	Path        string         `toml:"path"`
	Restrict    bool           `toml:"restrict"`
	Quota       map[string]int `toml:"quota"`
	Features    []string       `toml:"features"`
	From        time.Time      `toml:"from"`
	Until       time.Time      `toml:"until"`
	RemindDays  int            `toml:"remind_days"`
	RemindEvery string         `toml:"remind_every"`
}

type userTOML struct {
	Name      string         `toml:"name"`
	Groups    []string       `toml:"groups"`
	CreatedBy string         `toml:"created_by"`
	Paused    bool           `toml:"paused"`
	Restrict  bool           `toml:"restrict"`
	Quota     map[string]int `toml:"quota"`
	Features  []string       `toml:"features"`
	From      time.Time      `toml:"from"`
	Until     time.Time      `toml:"until"`
}

// day reads a TOML date or date-time as allot does: a local date or
// date-time is UTC, an offset date-time is converted to UTC.
func day(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	if name := t.Location().String(); strings.HasSuffix(name, "-local") {
		y, m, d := t.Date()
		h, mi, s := t.Clock()
		return time.Date(y, m, d, h, mi, s, 0, time.UTC)
	}
	return t.UTC().Truncate(time.Second)
}

// orNil returns nil for an empty map or slice, so that a tree read from
// `quota = {}` or `groups = []` is the tree written back without them.
func orNil[M ~map[string]int](m M) M {
	if len(m) == 0 {
		return nil
	}
	return m
}

func treeOf(groups []groupTOML, users []userTOML) tree.Tree {
	var t tree.Tree
	if len(groups) > 0 {
		t.Groups = make([]tree.Group, len(groups))
	}
	for i, g := range groups {
		t.Groups[i] = tree.Group{Path: g.Path, Restrict: g.Restrict, RemindDays: g.RemindDays, RemindEvery: g.RemindEvery,
			Limits: tree.Limits{Quota: orNil(g.Quota), Features: g.Features, From: day(g.From), Until: day(g.Until)}}
	}
	if len(users) > 0 {
		t.Users = make([]tree.User, len(users))
	}
	for i, u := range users {
		if len(u.Groups) == 0 {
			u.Groups = nil
		}
		t.Users[i] = tree.User{Name: u.Name, Groups: u.Groups, CreatedBy: u.CreatedBy, Paused: u.Paused, Restrict: u.Restrict,
			Limits: tree.Limits{Quota: orNil(u.Quota), Features: u.Features, From: day(u.From), Until: day(u.Until)}}
	}
	return t
}

// TreeError is a system file's tree that breaks a rule of package tree.
type TreeError struct {
	Field string
	Err   *tree.Error
}

func (e *TreeError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *TreeError) Unwrap() error { return e.Err }

// Root returns the root of the system's tree as the system file states
// it: the need as its quotas, any feature of the catalog, no window.
func (s *System) Root() tree.Root {
	return tree.Root{Name: "system " + s.ID, Quota: s.Need, AnyFeature: true}
}

// Model returns the system's tree, checked against its root.
func (s *System) Model() (*tree.Model, error) {
	m, err := tree.New(&s.Tree, s.Root())
	if err != nil {
		return nil, err
	}
	return m, nil
}

// checkTree checks the tree: its size, its license types and features
// against the catalog, its structure and its rules against the need.
func (s *System) checkTree(cat *catalog.Catalog) error {
	t := &s.Tree
	if len(t.Groups) > MaxGroups {
		return fieldErr("group", "%d groups, at most %d", len(t.Groups), MaxGroups)
	}
	if len(t.Users) > MaxUsers {
		return fieldErr("user", "%d users, at most %d", len(t.Users), MaxUsers)
	}
	features := map[string]bool{}
	for _, p := range cat.Products {
		for _, f := range p.Features {
			features[f] = true
		}
	}
	known := func(field string, l *tree.Limits) error {
		for _, typ := range slices.Sorted(maps.Keys(l.Quota)) {
			if _, _, err := cat.LicenseType(typ); err != nil {
				return fieldErr(field+".quota."+typ, "%v", err)
			}
		}
		for _, f := range l.Features {
			if !features[f] {
				return fieldErr(field+".features", "unknown feature %q (the catalog has %s)", f, strings.Join(slices.Sorted(maps.Keys(features)), ", "))
			}
		}
		return nil
	}
	for i := range t.Groups {
		if err := known(fmt.Sprintf("group[%d]", i+1), &t.Groups[i].Limits); err != nil {
			return err
		}
	}
	for i := range t.Users {
		if err := known(fmt.Sprintf("user[%d]", i+1), &t.Users[i].Limits); err != nil {
			return err
		}
	}
	m, err := s.Model()
	if err == nil {
		err = m.Check()
	}
	var te *tree.Error
	if errors.As(err, &te) {
		return &TreeError{Field: te.Field, Err: te}
	}
	return err
}

// marshalTree appends the [[group]] and [[user]] tables of s to b.
func (s *System) marshalTree(b *bytes.Buffer) {
	t := &s.Tree
	if len(t.Groups) > 0 {
		b.WriteString("\n# The quota tree: groups, subgroups and apartments. A group with restrict = true\n")
		b.WriteString("# has exactly the quotas and features it lists, inside its parent's; one without\n")
		b.WriteString("# uses its parent's. Dates are UTC; until is the first day no longer valid.\n")
	}
	for i := range t.Groups {
		b.WriteString("\n")
		writeGroup(b, &t.Groups[i])
	}
	if len(t.Users) > 0 {
		b.WriteString("\n# Users: in groups (none: the system itself), or created by another user.\n")
	}
	for i := range t.Users {
		b.WriteString("\n")
		writeUser(b, &t.Users[i])
	}
}

// writeGroup appends one [[group]] table, its header first.
func writeGroup(b *bytes.Buffer, g *tree.Group) {
	q := tomlfile.Quote
	b.WriteString("[[group]]\n")
	fmt.Fprintf(b, "path = %s\n", q(g.Path))
	if g.Restrict {
		b.WriteString("restrict = true\n")
	}
	writeLimits(b, "group", &g.Limits, g.Restrict)
	if g.RemindDays > 0 {
		fmt.Fprintf(b, "remind_days = %d\n", g.RemindDays)
	}
	if g.RemindEvery != "" {
		fmt.Fprintf(b, "remind_every = %s\n", q(g.RemindEvery))
	}
	writeQuota(b, "group", &g.Limits, g.Restrict)
}

// writeUser appends one [[user]] table, its header first.
func writeUser(b *bytes.Buffer, u *tree.User) {
	q := tomlfile.Quote
	b.WriteString("[[user]]\n")
	fmt.Fprintf(b, "name = %s\n", q(u.Name))
	if len(u.Groups) > 0 {
		fmt.Fprintf(b, "groups = %s\n", tomlfile.QuoteList(u.Groups))
	}
	if u.CreatedBy != "" {
		fmt.Fprintf(b, "created_by = %s\n", q(u.CreatedBy))
	}
	if u.Paused {
		b.WriteString("paused = true\n")
	}
	if u.Restrict {
		b.WriteString("restrict = true\n")
	}
	writeLimits(b, "user", &u.Limits, u.Restrict)
	writeQuota(b, "user", &u.Limits, u.Restrict)
}

func writeLimits(b *bytes.Buffer, _ string, l *tree.Limits, restrict bool) {
	if !restrict {
		return
	}
	if l.Features != nil {
		fmt.Fprintf(b, "features = %s\n", tomlfile.QuoteList(l.Features))
	}
	if !l.From.IsZero() {
		fmt.Fprintf(b, "from = %s\n", tomlDate(l.From))
	}
	if !l.Until.IsZero() {
		fmt.Fprintf(b, "until = %s\n", tomlDate(l.Until))
	}
}

func writeQuota(b *bytes.Buffer, table string, l *tree.Limits, restrict bool) {
	if !restrict || len(l.Quota) == 0 {
		return
	}
	fmt.Fprintf(b, "[%s.quota]\n", table)
	for _, t := range slices.Sorted(maps.Keys(l.Quota)) {
		fmt.Fprintf(b, "%s = %d\n", t, l.Quota[t])
	}
}

// tomlDate writes a date at midnight UTC as a TOML local date, any other
// time as a UTC date-time.
func tomlDate(t time.Time) string {
	t = t.UTC()
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339)
}
