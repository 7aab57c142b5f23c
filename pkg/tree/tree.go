// Package tree is the quota tree of a system: groups, subgroups and
// apartments (any depth, a path like tower-a/floor-3/apt-12), and users
// attached to one or more groups or created by another user. The system is
// the root; a node with restriction enabled carries its own limits (quotas
// per license type, features, a validity window), and a node without uses
// its parent's limits and pool.
//
// The same model serves the system file (package system), the allocation
// (package allocate) and the device (package verify): a Model is built from
// a Tree and the root's limits (the system's need on the command line, the
// bundle's period in force on a device), Check applies the rules,
// CheckUsage compares what each node uses with its limits, and Ask answers
// a device's question for one node and user. The package depends on the
// standard library and package licensekey only, so a device links it.
package tree

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"allot.dev/allot/pkg/licensekey"
)

// Limits of the tree, enforced by every reader.
const (
	MaxDepth    = 16  // segments of a group path
	MaxPathLen  = 255 // bytes of a group path
	MaxNameLen  = 64  // bytes of a user name and of a path segment
	MaxGroupsOf = 64  // groups one user is attached to
	// MaxQuantity bounds a node's quota of one type: what a system
	// file's need may ask for.
	MaxQuantity = licensekey.MaxQuantity * 100
	// MaxRemindDays bounds how many days ahead a reminder starts.
	MaxRemindDays = 3650
)

// Reminder frequencies of a group's validity window.
var RemindEvery = []string{"once", "daily", "weekly", "30d"}

// Limits are what a restricted node carries of its own. A restricted node
// has exactly the quotas it lists (a type it does not list is 0 for it);
// its features are those it lists, or its parent's if it lists none (nil,
// not an empty list); its validity window is its own From and Until where
// set, else its parent's.
type Limits struct {
	Quota    map[string]int
	Features []string  // nil: the parent's
	From     time.Time // zero: from when the parent is valid
	Until    time.Time // zero: until the parent ends; exclusive
}

// empty reports whether l sets nothing.
func (l *Limits) empty() bool {
	return len(l.Quota) == 0 && l.Features == nil && l.From.IsZero() && l.Until.IsZero()
}

// Group is a group, subgroup or apartment.
type Group struct {
	Path     string
	Restrict bool
	Limits
	// RemindDays and RemindEvery say when `allot remind` warns that the
	// group's validity ends: that many days ahead, at that frequency.
	RemindDays  int
	RemindEvery string
}

// User is a user attached to groups (none: the system itself), or a
// sub-user hanging under the user that created it.
type User struct {
	Name      string
	Groups    []string
	CreatedBy string
	// Paused keeps the user's place and reservation; it may use nothing.
	Paused   bool
	Restrict bool
	Limits
}

// Tree is a system's groups and users, in file order.
type Tree struct {
	Groups []Group
	Users  []User
}

// Len returns the number of nodes, groups and users.
func (t *Tree) Len() int {
	if t == nil {
		return 0
	}
	return len(t.Groups) + len(t.Users)
}

// Root is what the root of the tree, the system, has.
type Root struct {
	Name  string         // for messages: "system site-42"
	Quota map[string]int // every license type; one not listed is 0
	// Features are the root's features; AnyFeature lifts the bound (a
	// system file, whose features are the catalog's).
	Features   []string
	AnyFeature bool
	From       time.Time // zero: unbounded
	Until      time.Time // zero: unbounded; exclusive
}

// Kind is the kind of a rule a tree breaks.
type Kind int

// Kinds of errors.
const (
	// Structure: the tree is malformed (a missing parent, a name twice).
	Structure Kind = iota + 1
	// Quota: a quota, a feature or a pause is exceeded.
	Quota
	// Validity: a validity window lies outside its parent's, or a node is
	// used outside its window.
	Validity
)

// Error is a tree that breaks a rule: one line naming the node, and for a
// quota the license type and both numbers.
type Error struct {
	Kind    Kind
	Field   string // where in a system file: "group[3].quota.sip-number"
	Node    string // "group tower-a/floor-2", "user alice", "system site-42"
	License string // the license type, if the rule is about one
	Msg     string
	// NotYet marks a Validity error of a window that has not begun.
	NotYet bool
}

func (e *Error) Error() string {
	if e.Node == "" {
		return e.Msg
	}
	return e.Node + ": " + e.Msg
}

// IsKind reports whether err is a tree *Error of kind k.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

// ValidPath checks a group path: 1 to MaxDepth segments joined by '/', each
// 1 to 64 letters, digits, '.', '_' and '-' (not "." or "..").
func ValidPath(p string) error {
	if pathDepth(p) != 0 {
		return nil
	}
	return validPath(p)
}

// validPath is ValidPath segment by segment, saying what is wrong.
func validPath(p string) error {
	if p == "" {
		return errors.New("missing")
	}
	if len(p) > MaxPathLen {
		return fmt.Errorf("%q is longer than %d characters", p, MaxPathLen)
	}
	n := 0
	for seg := range strings.SplitSeq(p, "/") {
		n++
		if seg == "" {
			return fmt.Errorf("%q has an empty segment: write a/b/c", p)
		}
		if seg == "." || seg == ".." {
			return fmt.Errorf("%q: %q is not a group name", p, seg)
		}
		if err := validName(seg); err != nil {
			return fmt.Errorf("%q: %v", p, err)
		}
	}
	if n > MaxDepth {
		return fmt.Errorf("%q is %d groups deep, at most %d", p, n, MaxDepth)
	}
	return nil
}

// ValidUser checks a user name: 1 to 64 letters, digits, '.', '_', '-'
// and '@' (an e-mail address is a name).
func ValidUser(s string) error {
	if plainUser(s) {
		return nil
	}
	return validUser(s)
}

// validUser is ValidUser saying what is wrong.
func validUser(s string) error {
	if s == "" {
		return errors.New("missing")
	}
	return validName(strings.ReplaceAll(s, "@", "_"))
}

func validName(s string) error {
	if len(s) > MaxNameLen {
		return fmt.Errorf("%q is longer than %d characters", s, MaxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !nameByte(c) {
			if c >= 0x21 && c < 0x7f {
				return fmt.Errorf("%q: character %q is not allowed (letters, digits, '.', '_', '-')", s, c)
			}
			return fmt.Errorf("%q: byte %#02x is not allowed (letters, digits, '.', '_', '-')", s, c)
		}
	}
	return nil
}

// Parent returns the path of a group's parent: "" for a top-level group.
func Parent(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i]
	}
	return ""
}

// Within reports whether path is node or lies below it ("" is the root,
// above everything).
func Within(path, node string) bool {
	return node == "" || path == node || strings.HasPrefix(path, node+"/")
}

// GroupName and UserName name nodes in messages.
func GroupName(path string) string { return "group " + path }

// UserName names a user in messages.
func UserName(name string) string { return "user " + name }

// node ids: 0 is the root, 1..len(Groups) the groups, then the users.
type nodeID = int32

// node is a node's place in the tree: what New found of its structure,
// shared by every Model of the same tree (WithRoot).
// It holds no pointer: the lists are spans of Model.links.
type node struct {
	restricted bool
	depth      int32 // groups: segments; users: 0
	parents    span
	pools      span // the nodes whose limits and pool this one uses
}

// span is a list of nodes: links[off : off+n].
type span struct{ off, n int32 }

func (m *Model) list(s span) []nodeID { return m.links[s.off : s.off+s.n : s.off+s.n] }

func (m *Model) parents(id nodeID) []nodeID { return m.list(m.nodes[id].parents) }
func (m *Model) pools(id nodeID) []nodeID   { return m.list(m.nodes[id].pools) }

// children returns the groups and users directly below node id (display,
// removal), listed when first asked for: a device verifying a bundle
// never asks.
func (m *Model) children(id nodeID) []nodeID {
	k := m.kids
	k.once.Do(func() { k.off, k.list = m.linkChildren() })
	return k.list[k.off[id]:k.off[id+1]:k.off[id+1]]
}

// childLists are the children of every node of a tree, shared by every
// Model of it (WithRoot), which may be used by several goroutines.
type childLists struct {
	once sync.Once
	off  []int32 // node id's children are list[off[id]:off[id+1]]
	list []nodeID
}

// spanFrom returns the span of links from off to the end.
func (m *Model) spanFrom(off int) span { return span{int32(off), int32(len(m.links) - off)} }

// eff is a node's effective limits: its own if restricted, else its
// parent's (several parents: the strictest of them).
type eff struct {
	quota    map[string]int
	features map[string]bool // nil: any feature
	from     time.Time
	until    time.Time
}

func (e *eff) hasFeature(f string) bool { return e.features == nil || e.features[f] }

// Model is a tree with its root, indexed for the rules and questions.
type Model struct {
	Tree   *Tree
	Root   Root
	groups index
	users  index
	nodes  []node // read-only once New returns: WithRoot shares it
	links  []nodeID
	kids   *childLists // shared by WithRoot too
	// order is the order in which the nodes' limits are resolved: parents
	// before children (groups by depth, a sub-user after its creator).
	order []nodeID
	owned int    // nodes with limits of their own: restricted, or in several groups
	effs  []*eff // per node, under Root

	// What sums computed, for the usage usedFor. A Model is not safe for
	// use by several goroutines at once.
	taken, used []map[string]int64
	uses        []*Use
	known       int    // entries of usedFor that name a node
	active      []bool // nodes that use anything
	usedFor     *Usage
}

// New checks the tree's structure and indexes it under root: every group's
// parent is a group (or the root), names and paths are unique and valid,
// users' groups and creators exist, no user is its own creator, and only
// restricted nodes carry limits. It does not apply the quota rules: Check
// does.
func New(t *Tree, root Root) (*Model, error) {
	if t == nil {
		t = &Tree{}
	}
	m := &Model{Tree: t, Root: root,
		groups: newIndex(len(t.Groups), nodeID(len(t.Groups))),
		users:  newIndex(len(t.Users), nodeID(len(t.Groups)+len(t.Users))),
		nodes:  make([]node, 1+len(t.Groups)+len(t.Users)),
		kids:   &childLists{},
	}
	// The parents and pools of every node share one array.
	m.links = make([]nodeID, 0, 2*len(m.nodes)+1)
	m.links = append(m.links, 0)
	m.nodes[0] = node{restricted: true, pools: span{0, 1}}
	for i := range t.Groups {
		g := &t.Groups[i]
		field := fieldName{"group", i}
		depth := pathDepth(g.Path)
		if depth == 0 {
			if err := ValidPath(g.Path); err != nil {
				return nil, structErr(field.at(".path"), "", "path: %v", err)
			}
			depth = strings.Count(g.Path, "/") + 1
		}
		id := nodeID(1 + i)
		// One probe finds a path listed twice, or where a new one goes.
		dup, slot := m.find(&m.groups, g.Path)
		if dup != 0 {
			return nil, structErr(field.at(".path"), GroupName(g.Path), "listed twice")
		}
		m.groups.insert(slot, id)
		m.nodes[id] = node{restricted: g.Restrict, depth: int32(depth)}
		if err := checkLimits(field, "group", g.Path, g.Restrict, &g.Limits); err != nil {
			return nil, err
		}
		if g.RemindDays < 0 || g.RemindDays > MaxRemindDays {
			return nil, structErr(field.at(".remind_days"), GroupName(g.Path), "remind_days %d: want 0 to %d", g.RemindDays, MaxRemindDays)
		}
		if g.RemindEvery != "" && !slices.Contains(RemindEvery, g.RemindEvery) {
			return nil, structErr(field.at(".remind_every"), GroupName(g.Path), "remind_every %q: want %s", g.RemindEvery, strings.Join(RemindEvery, ", "))
		}
		// A group whose parent comes before it, as most do, is linked
		// while its path is at hand; the others once every group is in
		// the index, and only they can fail for their parent: the errors
		// come in the same order either way.
		if pid, _, ok := m.parentOf(g); ok {
			m.link(id, pid)
		}
	}
	for i := range t.Groups {
		id := nodeID(1 + i)
		if m.nodes[id].parents.n > 0 {
			continue // linked above
		}
		g := &t.Groups[i]
		pid, parent, ok := m.parentOf(g)
		if !ok {
			return nil, structErr(fmt.Sprintf("group[%d].path", i+1), GroupName(g.Path), "its parent %s is not a group of the tree: add it first", parent)
		}
		m.link(id, pid)
	}
	base := nodeID(1 + len(t.Groups))
	for i := range t.Users {
		u := &t.Users[i]
		field := fieldName{"user", i}
		if err := ValidUser(u.Name); err != nil {
			return nil, structErr(field.at(".name"), "", "name: %v", err)
		}
		dup, slot := m.find(&m.users, u.Name)
		if dup != 0 {
			return nil, structErr(field.at(".name"), UserName(u.Name), "listed twice")
		}
		m.users.insert(slot, base+nodeID(i))
		m.nodes[base+nodeID(i)] = node{restricted: u.Restrict}
		if err := checkLimits(field, "user", u.Name, u.Restrict, &u.Limits); err != nil {
			return nil, err
		}
		// A user in groups is linked to them now if all is well with them;
		// the others, and sub-users, whose creators may come later, below,
		// where the first of them says what is wrong.
		if u.CreatedBy == "" {
			_ = m.linkGroups(base+nodeID(i), field, u)
		}
	}
	for i := range t.Users {
		u := &t.Users[i]
		id := base + nodeID(i)
		if m.nodes[id].parents.n > 0 {
			continue // linked above
		}
		field := fieldName{"user", i}
		if u.CreatedBy == "" {
			if err := m.linkGroups(id, field, u); err != nil {
				return nil, err
			}
			continue
		}
		if len(u.Groups) > 0 {
			return nil, structErr(field.at(".groups"), UserName(u.Name), "a sub-user hangs under its creator %s and has no groups of its own", u.CreatedBy)
		}
		cid, ok := m.userID(u.CreatedBy)
		if !ok {
			return nil, structErr(field.at(".created_by"), UserName(u.Name), "its creator %s is not a user of the tree", u.CreatedBy)
		}
		if cid == id {
			return nil, structErr(field.at(".created_by"), UserName(u.Name), "a user cannot be its own creator")
		}
		m.link(id, cid)
	}
	if err := m.resolve(); err != nil {
		return nil, err
	}
	return m, nil
}

// link makes pid the one parent of node id.
func (m *Model) link(id, pid nodeID) {
	m.links = append(m.links, pid)
	m.nodes[id].parents = m.spanFrom(len(m.links) - 1)
}

// parentOf returns the parent of group g, by id, and by path ("" for the
// root); ok is false if that path is not a group of the tree (yet).
func (m *Model) parentOf(g *Group) (pid nodeID, parent string, ok bool) {
	if parent = Parent(g.Path); parent == "" {
		return 0, "", true
	}
	pid, ok = m.groupID(parent)
	return pid, parent, ok
}

// linkGroups makes the groups of user u, a user that is not a sub-user,
// the parents of node id (none: the root); or links nothing, and says
// what is wrong: too many groups, one that is not a group of the tree, or
// one listed twice. field is where u is in a system file.
func (m *Model) linkGroups(id nodeID, field fieldName, u *User) error {
	if len(u.Groups) > MaxGroupsOf {
		return structErr(field.at(".groups"), UserName(u.Name), "%d groups, at most %d", len(u.Groups), MaxGroupsOf)
	}
	start := len(m.links)
	if len(u.Groups) == 0 {
		m.links = append(m.links, 0)
	}
	for _, p := range u.Groups {
		gid, ok := m.groupID(p)
		if !ok {
			m.links = m.links[:start]
			return structErr(field.at(".groups"), UserName(u.Name), "%q is not a group of the tree", p)
		}
		if slices.Contains(m.links[start:], gid) {
			m.links = m.links[:start]
			return structErr(field.at(".groups"), UserName(u.Name), "group %s is listed twice", p)
		}
		m.links = append(m.links, gid)
	}
	m.nodes[id].parents = m.spanFrom(start)
	return nil
}

// linkChildren lists each node's children, in node order, in one array:
// node id's are list[off[id]:off[id+1]].
func (m *Model) linkChildren() (off []int32, list []nodeID) {
	off = make([]int32, len(m.nodes)+1)
	for id := range m.nodes {
		for _, p := range m.parents(nodeID(id)) {
			off[p+1]++
		}
	}
	for i := 1; i < len(off); i++ {
		off[i] += off[i-1]
	}
	list = make([]nodeID, off[len(m.nodes)])
	next := slices.Clone(off[:len(m.nodes)])
	for id := range m.nodes {
		for _, p := range m.parents(nodeID(id)) {
			list[next[p]] = nodeID(id)
			next[p]++
		}
	}
	return off, list
}

// pathDepth returns the number of segments of p if it is a valid path
// (ValidPath), in one pass; 0 if it is not, and ValidPath says why.
func pathDepth(p string) int {
	if len(p) == 0 || len(p) > MaxPathLen {
		return 0
	}
	depth, start := 1, 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if nameBytes[c] {
			continue
		}
		if c != '/' || !plainSegment(p[start:i]) {
			return 0
		}
		depth++
		start = i + 1
	}
	if !plainSegment(p[start:]) || depth > MaxDepth {
		return 0
	}
	return depth
}

// plainSegment reports whether seg, of name bytes, is a valid segment of
// a path: not empty, "." or "..", and not too long.
func plainSegment(seg string) bool {
	return seg != "" && seg != "." && seg != ".." && len(seg) <= MaxNameLen
}

// plainUser reports whether name is a valid user name (ValidUser), in one
// pass; if not, ValidUser says why.
func plainUser(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) && name[i] != '@' {
			return false
		}
	}
	return true
}

// nameByte reports whether c may stand in a name: a letter, a digit, '.',
// '_' or '-'.
func nameByte(c byte) bool { return nameBytes[c] }

// nameBytes is nameByte as a table: every name of a tree is checked on
// every verification.
var nameBytes = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	return t
}()

func rootEff(root Root) *eff {
	e := &eff{quota: root.Quota, from: root.From, until: root.Until}
	if e.quota == nil {
		e.quota = map[string]int{}
	}
	if !root.AnyFeature {
		e.features = setOf(root.Features)
	}
	return e
}

// WithRoot returns the model of the same tree under another root: the
// structure New checked is kept (and shared), and every node's limits are
// computed again when first needed. A reader that checks a tree's structure once (package bundle)
// gives each verification its own root this way.
func (m *Model) WithRoot(root Root) *Model {
	return &Model{Tree: m.Tree, Root: root, groups: m.groups, users: m.users, nodes: m.nodes, links: m.links, kids: m.kids, order: m.order, owned: m.owned}
}

func structErr(field, node, format string, args ...any) *Error {
	return &Error{Kind: Structure, Field: field, Node: node, Msg: fmt.Sprintf(format, args...)}
}

// fieldName is where a node is in a system file, "group[3]", made into
// text only for an error: a tree of 10,000 nodes is read on every
// verification.
type fieldName struct {
	kind string
	i    int // 0-based
}

func (f fieldName) at(sub string) string { return fmt.Sprintf("%s[%d]%s", f.kind, f.i+1, sub) }

func checkLimits(field fieldName, kind, node string, restrict bool, l *Limits) error {
	if !restrict && l.empty() || restrict && l.Quota == nil && l.Features == nil && l.From.IsZero() && l.Until.IsZero() {
		return nil
	}
	name := kind + " " + node
	if !restrict {
		if !l.empty() {
			return structErr(field.at(".restrict"), name, "carries limits but restrict is off: set restrict = true, or remove its quota, features and dates")
		}
		return nil
	}
	for t, q := range l.Quota {
		if licensekey.ValidName(t) != nil || q < 0 || q > MaxQuantity {
			// Report the first bad type in order, whatever the map's.
			for _, t := range slices.Sorted(maps.Keys(l.Quota)) {
				if err := licensekey.ValidName(t); err != nil {
					return structErr(field.at(".quota"), name, "quota: %v", err)
				}
				if q := l.Quota[t]; q < 0 || q > MaxQuantity {
					return structErr(field.at(".quota."+t), name, "quota %s = %d: want 0 to %d", t, q, MaxQuantity)
				}
			}
		}
	}
	for i, f := range l.Features {
		if err := licensekey.ValidName(f); err != nil {
			return structErr(field.at(".features"), name, "features: %v", err)
		}
		if slices.Contains(l.Features[:i], f) {
			return structErr(field.at(".features"), name, "feature %s is listed twice", f)
		}
	}
	if !l.From.IsZero() && !l.Until.IsZero() && !l.Until.After(l.From) {
		return structErr(field.at(".until"), name, "until %s is not after from %s", date(l.Until), date(l.From))
	}
	return nil
}

// resolve orders the nodes parents before children, refusing a cycle of
// creators, and finds each node's pools.
func (m *Model) resolve() error {
	t := m.Tree
	m.order = make([]nodeID, 0, len(t.Groups)+len(t.Users))
	// Groups: a parent is shallower than its child. New checked every
	// depth, so they are sorted, stably, by counting.
	var at [MaxDepth + 2]int
	for id := 1; id <= len(t.Groups); id++ {
		at[m.nodes[id].depth+1]++
	}
	for d := 1; d < len(at); d++ {
		at[d] += at[d-1]
	}
	m.order = m.order[:len(t.Groups)]
	for id := 1; id <= len(t.Groups); id++ {
		d := m.nodes[id].depth
		m.order[at[d]] = nodeID(id)
		at[d]++
	}
	// Users: a sub-user after its creator; a cycle of creators never
	// reaches a user attached to groups.
	base := nodeID(1 + len(t.Groups))
	const (
		todo = iota
		busy
		done
	)
	state := make([]byte, len(t.Users))
	var stack []nodeID
	for i := range t.Users {
		if state[i] == done {
			continue
		}
		// Walk up the creators to one that is resolved or attached to
		// groups, then resolve back down.
		stack = stack[:0]
		id := base + nodeID(i)
		for {
			k := id - base
			if state[k] == done {
				break
			}
			if state[k] == busy {
				u := &t.Users[k]
				return structErr(fmt.Sprintf("user[%d].created_by", k+1), UserName(u.Name), "its creators make a cycle")
			}
			state[k] = busy
			stack = append(stack, id)
			if t.Users[k].CreatedBy == "" {
				break
			}
			id = m.parents(id)[0]
		}
		for j := len(stack) - 1; j >= 0; j-- {
			m.order = append(m.order, stack[j])
			state[stack[j]-base] = done
		}
	}
	for _, id := range m.order {
		m.resolvePools(id)
	}
	return nil
}

// resolvePools finds the pools of node id, whose parents' are found: its
// own if it is restricted, else its parents'.
func (m *Model) resolvePools(id nodeID) {
	n := &m.nodes[id]
	switch {
	case n.restricted:
		m.links = append(m.links, id)
		n.pools = m.spanFrom(len(m.links) - 1)
		m.owned++
	case n.parents.n == 1:
		n.pools = m.nodes[m.parents(id)[0]].pools
	default:
		start := len(m.links)
		for _, p := range m.parents(id) {
			for _, pool := range m.pools(p) {
				if !slices.Contains(m.links[start:], pool) {
					m.links = append(m.links, pool)
				}
			}
		}
		n.pools = m.spanFrom(start)
		m.owned++
	}
}

// ready computes the nodes' effective limits under m.Root, once. New and
// WithRoot leave them to the first rule or question: a bundle's reader
// checks only the structure, under no root.
func (m *Model) ready() {
	if m.effs == nil {
		m.resolveEffs()
	}
}

// resolveEffs computes every node's effective limits under m.Root.
func (m *Model) resolveEffs() {
	m.effs = make([]*eff, len(m.nodes))
	m.effs[0] = rootEff(m.Root)
	own := make([]eff, m.owned)
	for _, id := range m.order {
		n := &m.nodes[id]
		if !n.restricted && n.parents.n == 1 {
			m.effs[id] = m.effs[m.parents(id)[0]]
			continue
		}
		e := &own[0]
		own = own[1:]
		m.resolveEff(id, e)
		m.effs[id] = e
	}
}

// resolveEff computes into e the limits of node id, restricted or with
// several parents, whose parents' are computed.
func (m *Model) resolveEff(id nodeID, e *eff) {
	n := &m.nodes[id]
	if n.restricted {
		l := m.limits(id)
		*e = eff{quota: l.Quota, from: l.From, until: l.Until}
		if e.quota == nil {
			e.quota = map[string]int{}
		}
		if l.Features != nil {
			e.features = setOf(l.Features)
		}
		for i, p := range m.parents(id) {
			pe := m.effs[p]
			e.from = later(e.from, pe.from)
			e.until = earlier(e.until, pe.until)
			if l.Features == nil {
				e.features = intersect(e.features, pe.features, i == 0)
			}
		}
		return
	}
	// Several groups: the strictest of them.
	*e = eff{quota: map[string]int{}}
	for i, p := range m.parents(id) {
		pe := m.effs[p]
		if i == 0 {
			maps.Copy(e.quota, pe.quota)
			e.from, e.until = pe.from, pe.until
		} else {
			for t, q := range e.quota {
				e.quota[t] = min(q, pe.quota[t])
			}
			e.from = later(e.from, pe.from)
			e.until = earlier(e.until, pe.until)
		}
		e.features = intersect(e.features, pe.features, i == 0)
	}
}

// limits returns a node's own limits.
func (m *Model) limits(id nodeID) *Limits {
	if g := m.group(id); g != nil {
		return &g.Limits
	}
	if u := m.user(id); u != nil {
		return &u.Limits
	}
	return &Limits{}
}

func (m *Model) group(id nodeID) *Group {
	if id >= 1 && int(id) <= len(m.Tree.Groups) {
		return &m.Tree.Groups[id-1]
	}
	return nil
}

func (m *Model) user(id nodeID) *User {
	if k := int(id) - 1 - len(m.Tree.Groups); k >= 0 && k < len(m.Tree.Users) {
		return &m.Tree.Users[k]
	}
	return nil
}

// name names a node in messages.
func (m *Model) name(id nodeID) string {
	if g := m.group(id); g != nil {
		return GroupName(g.Path)
	}
	if u := m.user(id); u != nil {
		return UserName(u.Name)
	}
	if m.Root.Name != "" {
		return m.Root.Name
	}
	return "the system"
}

// field names a node's entry in a system file.
func (m *Model) field(id nodeID) string {
	if id == 0 {
		return "need"
	}
	if int(id) <= len(m.Tree.Groups) {
		return fmt.Sprintf("group[%d]", id)
	}
	return fmt.Sprintf("user[%d]", int(id)-len(m.Tree.Groups))
}

// intersect returns the features in both a and b, nil meaning any; first
// says a is not yet set.
func intersect(a, b map[string]bool, first bool) map[string]bool {
	switch {
	case b == nil:
		return a
	case first || a == nil:
		return b // never changed: shared
	}
	out := maps.Clone(a)
	maps.DeleteFunc(out, func(f string, _ bool) bool { return !b[f] })
	return out
}

func setOf(v []string) map[string]bool {
	s := make(map[string]bool, len(v))
	for _, x := range v {
		s[x] = true
	}
	return s
}

// later and earlier combine window bounds, the zero time meaning none.
func later(a, b time.Time) time.Time {
	if a.IsZero() || b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

func date(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Group returns the group at path.
func (m *Model) Group(path string) (*Group, bool) {
	id, ok := m.groupID(path)
	if !ok {
		return nil, false
	}
	return m.group(id), true
}

// User returns the user named name.
func (m *Model) User(name string) (*User, bool) {
	id, ok := m.userID(name)
	if !ok {
		return nil, false
	}
	return m.user(id), true
}

// SubUsers returns the users created by name, and by them, and so on, in
// tree order.
func (m *Model) SubUsers(name string) []string {
	id, ok := m.userID(name)
	if !ok {
		return nil
	}
	var out []string
	var walk func(id nodeID)
	walk = func(id nodeID) {
		for _, c := range m.children(id) {
			if u := m.user(c); u != nil && u.CreatedBy != "" {
				out = append(out, u.Name)
				walk(c)
			}
		}
	}
	walk(id)
	return out
}
