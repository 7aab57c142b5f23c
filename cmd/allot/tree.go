package main

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/input"
	"allot.dev/allot/cmd/internal/ui"
	"allot.dev/allot/cmd/internal/verifycli"
	"allot.dev/allot/pkg/atomicfile"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/tree"
)

// The quota tree of a system file: `allot group` and `allot user` edit its
// [[group]] and [[user]] tables in place, atomically, and only if the tree
// keeps every rule (package tree).

func systemFileFlag() cli.Flag {
	return &cli.StringFlag{Name: "system", Usage: "the system description `FILE` to edit", EnvVars: []string{"ALLOT_SYSTEM"}}
}

func limitFlags(what string) []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "restrict", Usage: "give the " + what + " limits of its own (implied by --quota, --feature, --from, --until); --restrict=false takes them away"},
		&cli.StringSliceFlag{Name: "quota", Usage: "a quota of the " + what + ", `TYPE=N` (repeat; N=0 removes the type)"},
		&cli.StringSliceFlag{Name: "feature", Usage: "a feature of the " + what + ", `F` (repeat; the list replaces the " + what + "'s)"},
		&cli.BoolFlag{Name: "no-features", Usage: "the " + what + " has no feature"},
		&cli.StringFlag{Name: "from", Usage: "valid from `DATE` ('' : from when its parent is)"},
		&cli.StringFlag{Name: "until", Usage: "valid until `DATE`, the first day no longer valid ('' : until its parent ends)"},
	}
}

func (e *env) groupCommand() *cli.Command {
	common := []cli.Flag{systemFileFlag(), nowFlag(), catalogFlag(), jsonFlag()}
	remind := []cli.Flag{
		&cli.IntFlag{Name: "remind-days", Usage: "remind `N` days before the group's validity ends (allot remind)"},
		&cli.StringFlag{Name: "remind-every", Usage: "remind at this frequency: " + strings.Join(tree.RemindEvery, ", ")},
	}
	return &cli.Command{
		Name:  "group",
		Usage: "edit the quota tree of a system: groups, subgroups, apartments",
		Description: "A group's path names it and its parents: tower-a/floor-3/apt-12. A group with\n" +
			"restriction has exactly the quotas and features it is given, inside what its\n" +
			"parent has left; one without uses its parent's. The system file is changed in\n" +
			"place, atomically, and only if the whole tree keeps its rules: only the entries\n" +
			"that change are rewritten, every comment and line around them kept.",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "add a group to the tree",
				UsageText: "allot group add PATH --system F [--restrict] [--quota TYPE=N]... [--feature F]... [--from D] [--until D] [--remind-days N --remind-every E]",
				Flags:     slices.Concat(common, limitFlags("group"), remind),
				Action:    e.groupAdd,
			},
			{
				Name:      "set",
				Usage:     "change a group's restriction, limits or reminders",
				UsageText: "allot group set PATH --system F [--restrict[=false]] [--quota TYPE=N]... [--feature F]... [--no-features] [--from D] [--until D] [--remind-days N] [--remind-every E]",
				Flags:     slices.Concat(common, limitFlags("group"), remind),
				Action:    e.groupSet,
			},
			{
				Name:      "remove",
				Usage:     "remove a group; with --recursive, everything below it too",
				UsageText: "allot group remove PATH --system F [--recursive]",
				Flags:     append(common, &cli.BoolFlag{Name: "recursive", Aliases: []string{"r"}, Usage: "remove the groups and users below it too"}),
				Action:    e.groupRemove,
			},
			{
				Name:      "list",
				Usage:     "show the tree: Used / Available / Total / Shared per node and license type",
				UsageText: "allot group list [PATH] --system F [--usage F]",
				Flags: []cli.Flag{systemFileFlag(), catalogFlag(), jsonFlag(),
					&cli.StringFlag{Name: "usage", Usage: "what the nodes use now (`FILE`.usage.toml)"}},
				Action: e.groupList,
			},
		},
	}
}

func (e *env) userCommand() *cli.Command {
	common := []cli.Flag{systemFileFlag(), nowFlag(), catalogFlag(), jsonFlag()}
	return &cli.Command{
		Name:  "user",
		Usage: "edit the users of a system's quota tree, as a billing system does",
		Description: "A user is attached to groups of the tree (none: the system itself), or created\n" +
			"by another user, under whom it hangs and whose limits it never exceeds.\n" +
			"Each command prints one JSON object with --json.",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "add a user",
				UsageText: "allot user add NAME --system F [--group PATH]... [--created-by USER] [--quota TYPE=N]... [--feature F]... [--from D] [--until D]",
				Flags: slices.Concat(common, []cli.Flag{
					&cli.StringSliceFlag{Name: "group", Usage: "a group `PATH` the user is in (repeat)"},
					&cli.StringFlag{Name: "created-by", Usage: "the `USER` that creates it: a sub-user"},
				}, limitFlags("user")),
				Action: e.userAdd,
			},
			{
				Name:      "pause",
				Usage:     "pause a user: it keeps its place and uses nothing",
				UsageText: "allot user pause NAME --system F",
				Flags:     common,
				Action:    func(c *cli.Context) error { return e.userPause(c, true) },
			},
			{
				Name:      "resume",
				Usage:     "resume a paused user",
				UsageText: "allot user resume NAME --system F",
				Flags:     common,
				Action:    func(c *cli.Context) error { return e.userPause(c, false) },
			},
			{
				Name:      "remove",
				Usage:     "remove a user and the sub-users it created",
				UsageText: "allot user remove NAME --system F",
				Flags:     common,
				Action:    e.userRemove,
			},
			{
				Name:      "list",
				Usage:     "list the users, or one user's Total / Used / Free per license type",
				UsageText: "allot user list [NAME] --system F [--usage F]",
				Flags: []cli.Flag{systemFileFlag(), catalogFlag(), jsonFlag(),
					&cli.StringFlag{Name: "usage", Usage: "what the nodes use now (`FILE`.usage.toml)"}},
				Action: e.userList,
			},
		},
	}
}

// editSystem loads the system file, applies edit to it, checks the result
// and replaces the file atomically, changed only where the tree changed
// (system.EditTree), or in allot's layout, with a warning, where it cannot
// be edited in place. Nothing is written if edit or the check fails; a
// tree that breaks a rule is a usage error naming the node.
func (e *env) editSystem(c *cli.Context, edit func(s *system.System, cat *catalog.Catalog) error) (*system.System, string, error) {
	path := c.String("system")
	if path == "" {
		return nil, "", usageErrorf("%s: --system FILE is required", c.Command.FullName())
	}
	now, err := now(c)
	if err != nil {
		return nil, "", err
	}
	cat, err := loadCatalog(c)
	if err != nil {
		return nil, "", err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", err
	}
	// Two changes at once (a billing system scripting user add) would
	// each write the file as it read it, and one would be lost: the
	// change is made under an exclusive lock beside the file.
	unlock, err := atomicfile.Lock(path+".lock", 0o644)
	if err != nil {
		return nil, "", err
	}
	defer unlock()
	orig, err := input.ReadFile(path, system.MaxFileSize)
	if err != nil {
		return nil, "", err
	}
	sys, err := system.Parse(path, orig, cat)
	if err != nil {
		return nil, "", err
	}
	if err := edit(sys, cat); err != nil {
		return nil, "", err
	}
	if err := sys.Check(cat); err != nil {
		var te *system.TreeError
		if errors.As(err, &te) {
			if te.Err.Kind == tree.Structure {
				return nil, "", usageErrorf("%v", te.Err)
			}
			return nil, "", withHint(usageErrorf("%v", te.Err), ruleHint)
		}
		return nil, "", usageErrorf("%v", err)
	}
	// The file is a person's: only the entries that change are
	// rewritten, unless its layout is one allot cannot edit safely.
	data, err := system.EditTree(path, orig, sys, cat)
	var layout *system.LayoutError
	if errors.As(err, &layout) {
		data = sys.Marshal(now)
		if _, err := system.Parse(path, data, cat); err != nil {
			return nil, "", fmt.Errorf("the system file allot would write does not read back: %v", err)
		}
	} else if err != nil {
		return nil, "", err
	}
	if err := atomicfile.Replace(path, data, st.Mode().Perm()); err != nil {
		return nil, "", err
	}
	if layout != nil {
		e.out().Eprintf("allot: warning: rewrote %s in allot's layout, without its comments: %s\n", path, layout.Reason)
	}
	return sys, path, nil
}

// oneArg returns the command's single argument, what it names.
func oneArg(c *cli.Context, what string) (string, error) {
	if c.NArg() != 1 {
		return "", usageErrorf("%s: give one %s", c.Command.FullName(), what)
	}
	return c.Args().First(), nil
}

// limitsFromFlags applies the limit flags to l and restrict; set tells
// whether they change a node (set) or make a new one (add).
func limitsFromFlags(c *cli.Context, cat *catalog.Catalog, l *tree.Limits, restrict *bool) error {
	limited := c.IsSet("quota") || c.IsSet("feature") || c.IsSet("no-features") || c.IsSet("from") || c.IsSet("until")
	if c.IsSet("restrict") && !c.Bool("restrict") {
		if limited {
			return usageErrorf("--restrict=false takes the limits away: give no --quota, --feature, --from or --until with it")
		}
		*restrict, *l = false, tree.Limits{}
		return nil
	}
	if c.Bool("restrict") || limited {
		*restrict = true
	}
	for _, s := range c.StringSlice("quota") {
		typ, qs, ok := strings.Cut(s, "=")
		q, err := strconv.Atoi(qs)
		if !ok || err != nil || q < 0 || q > tree.MaxQuantity {
			return usageErrorf("--quota %q: want TYPE=N, N from 0 to %d", s, tree.MaxQuantity)
		}
		if _, _, err := cat.LicenseType(typ); err != nil {
			return usageErrorf("--quota: %v", err)
		}
		if l.Quota == nil {
			l.Quota = map[string]int{}
		}
		if q == 0 {
			delete(l.Quota, typ)
		} else {
			l.Quota[typ] = q
		}
	}
	if c.IsSet("feature") || c.IsSet("no-features") {
		if c.IsSet("feature") && c.Bool("no-features") {
			return usageErrorf("give --feature or --no-features, not both")
		}
		l.Features = []string{}
		for _, f := range c.StringSlice("feature") {
			if !catalogHasFeature(cat, f) {
				return usageErrorf("--feature: unknown feature %q (the catalog has %s)", f, strings.Join(catalogFeatures(cat), ", "))
			}
			if !slices.Contains(l.Features, f) {
				l.Features = append(l.Features, f)
			}
		}
	}
	for _, d := range []struct {
		flag string
		t    *time.Time
	}{{"from", &l.From}, {"until", &l.Until}} {
		if !c.IsSet(d.flag) {
			continue
		}
		if s := c.String(d.flag); s == "" {
			*d.t = time.Time{}
		} else {
			t, err := verifycli.ParseTime(s)
			if err != nil {
				return usageErrorf("--%s: %v", d.flag, err)
			}
			*d.t = t
		}
	}
	return nil
}

func catalogFeatures(cat *catalog.Catalog) []string {
	set := map[string]bool{}
	for _, p := range cat.Products {
		for _, f := range p.Features {
			set[f] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func catalogHasFeature(cat *catalog.Catalog, f string) bool {
	return slices.Contains(catalogFeatures(cat), f)
}

func remindFromFlags(c *cli.Context, g *tree.Group) error {
	if c.IsSet("remind-days") {
		g.RemindDays = c.Int("remind-days")
	}
	if c.IsSet("remind-every") {
		g.RemindEvery = c.String("remind-every")
	}
	if g.RemindDays < 0 || g.RemindDays > tree.MaxRemindDays {
		return usageErrorf("--remind-days %d: want 0 to %d", g.RemindDays, tree.MaxRemindDays)
	}
	if g.RemindEvery != "" && !slices.Contains(tree.RemindEvery, g.RemindEvery) {
		return usageErrorf("--remind-every %q: want %s", g.RemindEvery, strings.Join(tree.RemindEvery, ", "))
	}
	return nil
}

func treeUsageError(err error) error {
	var te *tree.Error
	if errors.As(err, &te) {
		return usageErrorf("%v", te)
	}
	return err
}

// ruleHint is the next step after a change that breaks a rule of the tree.
const ruleHint = "a child's quotas fit in what its parent has left, its features and dates inside its parent's, and sip-number ≥ mobile-app: allot group list shows what each node has"

func (e *env) groupAdd(c *cli.Context) error {
	path, err := oneArg(c, "group path")
	if err != nil {
		return err
	}
	if err := tree.ValidPath(path); err != nil {
		return usageErrorf("group path: %v", err)
	}
	var g tree.Group
	sys, file, err := e.editSystem(c, func(s *system.System, cat *catalog.Catalog) error {
		g = tree.Group{Path: path}
		if err := limitsFromFlags(c, cat, &g.Limits, &g.Restrict); err != nil {
			return err
		}
		if err := remindFromFlags(c, &g); err != nil {
			return err
		}
		if p := tree.Parent(path); p != "" && s.Tree.GroupIndex(p) < 0 {
			return withHint(usageErrorf("group %s: its parent %s is not a group of the tree", path, p), "add it first: allot group add %s", p)
		}
		return treeUsageError(s.Tree.AddGroup(g))
	})
	if err != nil {
		return err
	}
	return e.groupDone(c, "added", file, sys, &g, nil, nil)
}

func (e *env) groupSet(c *cli.Context) error {
	path, err := oneArg(c, "group path")
	if err != nil {
		return err
	}
	var g tree.Group
	sys, file, err := e.editSystem(c, func(s *system.System, cat *catalog.Catalog) error {
		i := s.Tree.GroupIndex(path)
		if i < 0 {
			return usageErrorf("group %s is not a group of %s", path, c.String("system"))
		}
		g = s.Tree.Groups[i]
		if err := limitsFromFlags(c, cat, &g.Limits, &g.Restrict); err != nil {
			return err
		}
		if err := remindFromFlags(c, &g); err != nil {
			return err
		}
		s.Tree.Groups[i] = g
		return nil
	})
	if err != nil {
		return err
	}
	return e.groupDone(c, "changed", file, sys, &g, nil, nil)
}

func (e *env) groupRemove(c *cli.Context) error {
	path, err := oneArg(c, "group path")
	if err != nil {
		return err
	}
	var g tree.Group
	var groups, users []string
	sys, file, err := e.editSystem(c, func(s *system.System, _ *catalog.Catalog) error {
		i := s.Tree.GroupIndex(path)
		if i < 0 {
			return usageErrorf("group %s is not a group of %s", path, c.String("system"))
		}
		g = s.Tree.Groups[i]
		groups, users, err = s.Tree.RemoveGroup(path, c.Bool("recursive"))
		if err != nil {
			return withHint(treeUsageError(err), "allot group remove %s --recursive removes it with everything below it", path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return e.groupDone(c, "removed", file, sys, &g, groups[1:], users)
}

// groupResult is the JSON of `allot group add`, `set` and `remove`.
type groupResult struct {
	ui.Head
	File   string    `json:"file"`
	System string    `json:"system"`
	Group  groupJSON `json:"group"`
	// RemovedGroups and RemovedUsers went with a group removed with
	// --recursive.
	RemovedGroups []string `json:"removed_groups"`
	RemovedUsers  []string `json:"removed_users"`
}

type groupJSON struct {
	Path string `json:"path"`
	LimitsJSON
	RemindDays  int    `json:"remind_days"`
	RemindEvery string `json:"remind_every,omitempty"`
}

// LimitsJSON are a node's own limits, in the JSON of a group, a user or a
// grant.
type LimitsJSON struct {
	Restrict bool           `json:"restrict"`
	Quota    map[string]int `json:"quota"`
	Features []string       `json:"features"`
	// InheritsFeatures says the node lists none of its own: it has its
	// parent's.
	InheritsFeatures bool   `json:"inherits_features"`
	From             string `json:"from,omitempty"`
	Until            string `json:"until,omitempty"`
}

func limitsJSON(restrict bool, l *tree.Limits) LimitsJSON {
	return LimitsJSON{Restrict: restrict, Quota: l.Quota, Features: l.Features, InheritsFeatures: l.Features == nil,
		From: dateOrEmpty(l.From), Until: dateOrEmpty(l.Until)}
}

func dateOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

func (e *env) groupDone(c *cli.Context, verb, file string, sys *system.System, g *tree.Group, groups, users []string) error {
	if c.Bool("json") {
		typ := map[string]string{"added": "group.add", "changed": "group.set", "removed": "group.remove"}[verb]
		return e.out().JSON(typ, &groupResult{File: file, System: sys.ID, RemovedGroups: groups, RemovedUsers: users,
			Group: groupJSON{Path: g.Path, LimitsJSON: limitsJSON(g.Restrict, &g.Limits), RemindDays: g.RemindDays, RemindEvery: g.RemindEvery}})
	}
	e.out().Printf("%s group %s in %s: %s\n", verb, g.Path, file, describeLimits(g.Restrict, &g.Limits))
	for _, p := range groups {
		e.out().Printf("removed group %s with it\n", p)
	}
	for _, u := range users {
		e.out().Printf("removed user %s with it\n", u)
	}
	return nil
}

func describeLimits(restrict bool, l *tree.Limits) string {
	if !restrict {
		return "no restriction (it uses its parent's limits)"
	}
	var parts []string
	q := "no quota"
	if len(l.Quota) > 0 {
		q = formatNeed(l.Quota)
	}
	parts = append(parts, "restricted to "+q)
	switch {
	case l.Features == nil:
		parts = append(parts, "its parent's features")
	case len(l.Features) > 0:
		parts = append(parts, "features "+strings.Join(l.Features, " "))
	default:
		parts = append(parts, "no features")
	}
	if !l.From.IsZero() {
		parts = append(parts, "from "+dateOrEmpty(l.From))
	}
	if !l.Until.IsZero() {
		parts = append(parts, "until "+dateOrEmpty(l.Until))
	}
	return strings.Join(parts, ", ")
}

// loadTree loads the system file and the usage of its nodes for a list.
func (e *env) loadTree(c *cli.Context) (*system.System, *tree.Model, *tree.Usage, error) {
	path := c.String("system")
	if path == "" {
		return nil, nil, nil, usageErrorf("%s: --system FILE is required", c.Command.FullName())
	}
	cat, err := loadCatalog(c)
	if err != nil {
		return nil, nil, nil, err
	}
	sys, err := input.System(path, cat)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := sys.Model()
	if err != nil {
		return nil, nil, nil, err
	}
	var use *tree.Usage
	if p := c.String("usage"); p != "" {
		u, err := input.Usage(p)
		if err != nil {
			return nil, nil, nil, err
		}
		if u.System != sys.ID {
			return nil, nil, nil, inputErrorf("%s is for system %q, %s describes %q", p, u.System, path, sys.ID)
		}
		use = u.Tree
	}
	return sys, m, use, nil
}

// treeListResult is the JSON of `allot group list`.
type treeListResult struct {
	ui.Head
	File   string            `json:"file"`
	System string            `json:"system"`
	Nodes  []tree.NodeReport `json:"nodes"`
}

func (e *env) groupList(c *cli.Context) error {
	if c.NArg() > 1 {
		return usageErrorf("group list: give at most one group path")
	}
	sys, m, use, err := e.loadTree(c)
	if err != nil {
		return err
	}
	under := c.Args().First()
	if under != "" {
		if _, ok := m.Group(under); !ok {
			return usageErrorf("group %s is not a group of %s", under, c.String("system"))
		}
	}
	nodes := m.Report(use, under)
	if c.Bool("json") {
		return e.out().JSON("group.list", &treeListResult{File: c.String("system"), System: sys.ID, Nodes: nodes})
	}
	return e.out().Table([]string{"node", "license", "used", "available", "total", "shared", "pool"}, treeRows(nodes))
}

// treeRows lays out nodes as a table: a row per node and license type,
// the node indented by its depth.
func treeRows(nodes []tree.NodeReport) [][]string {
	var rows [][]string
	// A window is shown where a node's ends before the system's.
	var rootUntil *time.Time
	if len(nodes) > 0 && nodes[0].Kind == tree.KindSystem {
		rootUntil = nodes[0].Until
	}
	for _, n := range nodes {
		name := n.Path
		switch {
		case n.Kind == tree.KindSystem:
			name = n.Pools[0]
		case n.Kind == tree.KindUser:
			name = "user " + n.Path
		}
		name = strings.Repeat("  ", n.Depth) + name
		var marks []string
		if n.Paused {
			marks = append(marks, "paused")
		}
		if n.Until != nil && (rootUntil == nil || n.Until.Before(*rootUntil)) && n.Kind != tree.KindSystem {
			marks = append(marks, "until "+n.Until.Format(time.DateOnly))
		}
		if len(marks) > 0 {
			name += " (" + strings.Join(marks, ", ") + ")"
		}
		pool := "-"
		if !n.Restricted {
			pool = strings.Join(n.Pools, ", ")
		}
		if len(n.Licenses) == 0 {
			rows = append(rows, []string{name, "-", "-", "-", "-", "-", pool})
			continue
		}
		for i, l := range n.Licenses {
			cell := name
			if i > 0 {
				cell = ""
			}
			rows = append(rows, []string{cell, l.License, strconv.FormatInt(l.Used, 10), strconv.FormatInt(l.Available, 10),
				strconv.FormatInt(l.Total, 10), strconv.FormatInt(l.Shared, 10), pool})
		}
	}
	return rows
}

func (e *env) userAdd(c *cli.Context) error {
	name, err := oneArg(c, "user name")
	if err != nil {
		return err
	}
	if err := tree.ValidUser(name); err != nil {
		return usageErrorf("user name: %v", err)
	}
	var u tree.User
	sys, file, err := e.editSystem(c, func(s *system.System, cat *catalog.Catalog) error {
		u = tree.User{Name: name, Groups: c.StringSlice("group"), CreatedBy: c.String("created-by")}
		if err := limitsFromFlags(c, cat, &u.Limits, &u.Restrict); err != nil {
			return err
		}
		if u.CreatedBy != "" && len(u.Groups) > 0 {
			return usageErrorf("user add: a sub-user hangs under its creator: give --created-by or --group, not both")
		}
		for _, g := range u.Groups {
			if s.Tree.GroupIndex(g) < 0 {
				return withHint(usageErrorf("--group %s is not a group of %s", g, c.String("system")), "add it first: allot group add %s", g)
			}
		}
		if u.CreatedBy != "" && s.Tree.UserIndex(u.CreatedBy) < 0 {
			return usageErrorf("--created-by %s is not a user of %s", u.CreatedBy, c.String("system"))
		}
		return treeUsageError(s.Tree.AddUser(u))
	})
	if err != nil {
		return err
	}
	return e.userDone(c, "added", file, sys, &u, nil, "")
}

func (e *env) userPause(c *cli.Context, pause bool) error {
	name, err := oneArg(c, "user name")
	if err != nil {
		return err
	}
	var u tree.User
	sys, file, err := e.editSystem(c, func(s *system.System, _ *catalog.Catalog) error {
		i := s.Tree.UserIndex(name)
		if i < 0 {
			return usageErrorf("user %s is not a user of %s", name, c.String("system"))
		}
		s.Tree.Users[i].Paused = pause
		u = s.Tree.Users[i]
		return nil
	})
	if err != nil {
		return err
	}
	verb := "resumed"
	if pause {
		verb = "paused"
	}
	return e.userDone(c, verb, file, sys, &u, nil, "")
}

func (e *env) userRemove(c *cli.Context) error {
	name, err := oneArg(c, "user name")
	if err != nil {
		return err
	}
	now, err := now(c)
	if err != nil {
		return err
	}
	var u tree.User
	var removed []string
	var deleted string
	sys, file, err := e.editSystem(c, func(s *system.System, cat *catalog.Catalog) error {
		i := s.Tree.UserIndex(name)
		if i < 0 {
			return usageErrorf("user %s is not a user of %s", name, c.String("system"))
		}
		u = s.Tree.Users[i]
		removed, err = s.Tree.RemoveUser(name)
		deleted = now.AddDate(0, 0, cat.UserDataRetentionDays()).Format(time.DateOnly)
		return err
	})
	if err != nil {
		return err
	}
	return e.userDone(c, "removed", file, sys, &u, removed[1:], deleted)
}

// userResult is the JSON of `allot user add`, `pause`, `resume` and
// `remove`.
type userResult struct {
	ui.Head
	File   string   `json:"file"`
	System string   `json:"system"`
	User   userJSON `json:"user"`
	// RemovedSubUsers went with a removed user; DataDeleted is the day the
	// removed users' data is deleted.
	RemovedSubUsers []string `json:"removed_sub_users"`
	DataDeleted     string   `json:"data_deleted,omitempty"`
}

type userJSON struct {
	Name      string   `json:"name"`
	Groups    []string `json:"groups"`
	CreatedBy string   `json:"created_by,omitempty"`
	Paused    bool     `json:"paused"`
	LimitsJSON
}

func userOf(u *tree.User) userJSON {
	return userJSON{Name: u.Name, Groups: u.Groups, CreatedBy: u.CreatedBy, Paused: u.Paused, LimitsJSON: limitsJSON(u.Restrict, &u.Limits)}
}

func (e *env) userDone(c *cli.Context, verb, file string, sys *system.System, u *tree.User, removed []string, deleted string) error {
	if c.Bool("json") {
		typ := map[string]string{"added": "user.add", "paused": "user.pause", "resumed": "user.resume", "removed": "user.remove"}[verb]
		return e.out().JSON(typ, &userResult{File: file, System: sys.ID, User: userOf(u), RemovedSubUsers: removed, DataDeleted: deleted})
	}
	where := "the system"
	switch {
	case u.CreatedBy != "":
		where = "created by " + u.CreatedBy
	case len(u.Groups) > 0:
		where = "in " + strings.Join(u.Groups, ", ")
	}
	e.out().Printf("%s user %s (%s) in %s: %s\n", verb, u.Name, where, file, describeLimits(u.Restrict, &u.Limits))
	for _, s := range removed {
		e.out().Printf("removed sub-user %s with it\n", s)
	}
	if deleted != "" {
		e.out().Printf("the data of the removed users is deleted on %s\n", deleted)
	}
	return nil
}

// userListResult is the JSON of `allot user list`.
type userListResult struct {
	ui.Head
	File   string     `json:"file"`
	System string     `json:"system"`
	Users  []userJSON `json:"users"`
	// Licenses are one user's Total / Used / Free (available) per license
	// type; empty when every user is listed.
	Licenses []tree.LicenseUse `json:"licenses"`
}

func (e *env) userList(c *cli.Context) error {
	if c.NArg() > 1 {
		return usageErrorf("user list: give at most one user name")
	}
	sys, m, use, err := e.loadTree(c)
	if err != nil {
		return err
	}
	res := &userListResult{File: c.String("system"), System: sys.ID}
	if name := c.Args().First(); name != "" {
		u, ok := m.User(name)
		if !ok {
			return usageErrorf("user %s is not a user of %s", name, c.String("system"))
		}
		res.Users = []userJSON{userOf(u)}
		for _, n := range m.Report(use, "") {
			if n.Kind == tree.KindUser && n.Path == name {
				res.Licenses = analyticsLevels(n.Licenses)
			}
		}
	} else {
		for i := range sys.Tree.Users {
			res.Users = append(res.Users, userOf(&sys.Tree.Users[i]))
		}
	}
	if c.Bool("json") {
		return e.out().JSON("user.list", res)
	}
	if len(res.Licenses) > 0 || c.NArg() == 1 {
		u := res.Users[0]
		status := "active"
		if u.Paused {
			status = "paused"
		}
		e.out().Printf("user %s (%s)\n", u.Name, status)
		var rows [][]string
		for _, l := range res.Licenses {
			rows = append(rows, []string{l.License, strconv.FormatInt(l.Total, 10), strconv.FormatInt(l.Used, 10), strconv.FormatInt(l.Available, 10)})
		}
		return e.out().Table([]string{"license", "total", "used", "free"}, rows)
	}
	var rows [][]string
	for _, u := range res.Users {
		where := strings.Join(u.Groups, " ")
		if u.CreatedBy != "" {
			where = "created by " + u.CreatedBy
		} else if where == "" {
			where = "the system"
		}
		status := "active"
		if u.Paused {
			status = "paused"
		}
		quota := "-"
		if u.Restrict {
			quota = formatNeed(u.Quota)
		}
		rows = append(rows, []string{u.Name, where, status, quota})
	}
	return e.out().Table([]string{"user", "in", "status", "quota"}, rows)
}

// analyticsLevels returns a user's numbers with a row for each analytics
// level, 1 to 4, whether or not it has any, as the seed's Analytics tab
// shows them.
func analyticsLevels(ls []tree.LicenseUse) []tree.LicenseUse {
	out := slices.Clone(ls)
	for lvl := 1; lvl <= 4; lvl++ {
		t := fmt.Sprintf("analytics-l%d", lvl)
		if !slices.ContainsFunc(out, func(l tree.LicenseUse) bool { return l.License == t }) {
			out = append(out, tree.LicenseUse{License: t})
		}
	}
	slices.SortFunc(out, func(a, b tree.LicenseUse) int { return strings.Compare(a.License, b.License) })
	return out
}
