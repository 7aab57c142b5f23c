package tree

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Use is what one node reports it uses: counts per license type and the
// features in use.
type Use struct {
	Used     Counts
	Features []string
}

// Counts are a node's counts, one for each license type it reports: a
// list, not a map, since a node reports one or two types and a usage file
// ten thousand nodes.
type Counts []Count

// Count is a node's count of one license type.
type Count struct {
	License string
	N       int64
}

// Get returns the count of license type t, and whether there is one.
func (c Counts) Get(t string) (int64, bool) {
	for i := range c {
		if c[i].License == t {
			return c[i].N, true
		}
	}
	return 0, false
}

// Of returns the count of license type t, 0 if there is none.
func (c Counts) Of(t string) int64 {
	n, _ := c.Get(t)
	return n
}

// Usage is what the nodes of a tree use, by group path and user name.
type Usage struct {
	Groups map[string]*Use
	Users  map[string]*Use
}

// byNode returns what each node reports, by node id, and how many of u's
// entries name a node of the tree: one map lookup an entry.
func (m *Model) byNode(u *Usage) ([]*Use, int) {
	uses := make([]*Use, len(m.nodes))
	if u == nil {
		return uses, 0
	}
	known := m.matchUses(uses, u.Groups, &m.groups, 1, len(m.Tree.Groups)) +
		m.matchUses(uses, u.Users, &m.users, nodeID(1+len(m.Tree.Groups)), len(m.Tree.Users))
	return uses, known
}

// matchUses sets uses[id] for each entry of byName that names one of the n
// nodes from first on, indexed by x, and returns how many do. It looks the
// smaller side up in the larger: the same pairs either way, and a walk of
// the tree's nodes is cheaper than one of a map.
func (m *Model) matchUses(uses []*Use, byName map[string]*Use, x *index, first nodeID, n int) int {
	known := 0
	if len(byName) < n {
		for name, use := range byName {
			if id, _ := m.find(x, name); id != 0 {
				uses[id] = use
				known++
			}
		}
		return known
	}
	for id := first; id < first+nodeID(n); id++ {
		if use, ok := byName[m.key(id)]; ok {
			uses[id] = use
			known++
		}
	}
	return known
}

// LicenseUse is one license type at one node: Total is the node's limit,
// Shared what the restricted nodes below it took, Used what it and the
// nodes that share its pool use, Available = Total − Shared − Used. A node
// without restriction shows its pool's Total, Shared and Available, and
// what it uses itself.
type LicenseUse struct {
	License   string `json:"license"`
	Total     int64  `json:"total"`
	Shared    int64  `json:"shared"`
	Used      int64  `json:"used"`
	Available int64  `json:"available"`
}

// NodeReport is one node of the tree, with its numbers.
type NodeReport struct {
	Kind       string `json:"kind"` // system, group or user
	Path       string `json:"path"` // a group's path, a user's name; "" for the system
	Depth      int    `json:"depth"`
	Restricted bool   `json:"restricted"`
	Paused     bool   `json:"paused"`
	CreatedBy  string `json:"created_by,omitempty"`
	// Pools are the nodes whose limits it uses: itself if restricted; a
	// user in several groups, each of theirs, and its numbers are the
	// strictest of them.
	Pools []string   `json:"pools"`
	From  *time.Time `json:"from,omitempty"`
	Until *time.Time `json:"until,omitempty"`
	// Features are the node's features; AnyFeature says it is not bound
	// (the system of a system file: any feature the keys will carry).
	Features   []string     `json:"features"`
	AnyFeature bool         `json:"any_feature"`
	Licenses   []LicenseUse `json:"licenses"`
}

// Node kinds of a report.
const (
	KindSystem = "system"
	KindGroup  = "group"
	KindUser   = "user"
)

// sums returns what the restricted nodes take from each pool, what each
// node reports, and what each pool's members use, computing them once per
// model and usage: a device checks the usage and then asks its question.
func (m *Model) sums(u *Usage) (taken []map[string]int64, uses []*Use, used []map[string]int64) {
	if m.taken == nil {
		m.taken, _ = m.shared(false)
	}
	uses, _ = m.usesOf(u)
	if m.used == nil {
		m.used, m.active = m.account(uses)
	}
	return m.taken, uses, m.used
}

// usesOf returns byNode(u), computed once per usage.
func (m *Model) usesOf(u *Usage) ([]*Use, int) {
	if m.usedFor != u || m.uses == nil {
		m.uses, m.known = m.byNode(u)
		m.used, m.active = nil, nil
		m.usedFor = u
	}
	return m.uses, m.known
}

// account sums what each pool's members use, and says which nodes use
// anything (a count above 0 or a feature).
func (m *Model) account(uses []*Use) (used []map[string]int64, active []bool) {
	used = make([]map[string]int64, len(m.nodes))
	active = make([]bool, len(m.nodes))
	// Each pool sums first in a short list searched by name, cheaper than
	// a map for the few types a tree has; past shortTally types, in its
	// map. Only pools have lists: at[pool] is 1 + the index of its list,
	// 0 before the pool's first count.
	at := make([]int32, len(m.nodes))
	tallies := make([][]tally, 0, m.owned+1)
	owners := make([]nodeID, 0, m.owned+1)
	add := func(pools []nodeID, t string, n int64) {
		for _, pool := range pools {
			k := at[pool]
			if k == 0 {
				used[pool] = map[string]int64{}
				tallies = append(tallies, nil)
				owners = append(owners, pool)
				k = int32(len(tallies))
				at[pool] = k
			}
			l := tallies[k-1]
			i := 0
			for i < len(l) && l[i].license != t {
				i++
			}
			switch {
			case i < len(l):
				l[i].n += n
			case len(l) < shortTally:
				tallies[k-1] = append(l, tally{t, n})
			default:
				used[pool][t] += n
			}
		}
	}
	for id := nodeID(1); int(id) < len(m.nodes); id++ {
		nu := uses[id]
		if nu == nil {
			continue
		}
		act := len(nu.Features) > 0
		pools := m.pools(id)
		for _, c := range nu.Used {
			act = act || c.N > 0
			add(pools, c.License, c.N)
		}
		active[id] = act
	}
	for k, l := range tallies {
		for _, x := range l {
			used[owners[k]][x.license] += x.n
		}
	}
	return used, active
}

// tally is what a pool's members use of one license type.
type tally struct {
	license string
	n       int64
}

// shortTally is how many license types a pool sums in its list.
const shortTally = 16

// Report returns every node below the group at path ("" is the system)
// and that group, in tree order (a group followed by what lies below it,
// users after the groups they are in, each node once), with Used /
// Available / Total / Shared per license type. Depth counts from the
// group at path. It returns nil if there is no group at path.
func (m *Model) Report(u *Usage, path string) []NodeReport {
	m.ready()
	start, ok := nodeID(0), true
	if path != "" {
		start, ok = m.groupID(path)
	}
	if !ok {
		return nil
	}
	taken, uses, used := m.sums(u)
	var out []NodeReport
	seen := make([]bool, len(m.nodes))
	var walk func(id nodeID, depth int)
	walk = func(id nodeID, depth int) {
		if seen[id] {
			return
		}
		seen[id] = true
		out = append(out, m.nodeReport(id, depth, uses[id], taken, used))
		for _, c := range m.children(id) {
			walk(c, depth+1)
		}
	}
	walk(start, 0)
	return out
}

func (m *Model) nodeReport(id nodeID, depth int, own *Use, taken, used []map[string]int64) NodeReport {
	n := &m.nodes[id]
	r := NodeReport{Kind: KindSystem, Depth: depth, Restricted: n.restricted}
	for _, p := range m.pools(id) {
		r.Pools = append(r.Pools, m.name(p))
	}
	if g := m.group(id); g != nil {
		r.Kind, r.Path = KindGroup, g.Path
	} else if us := m.user(id); us != nil {
		r.Kind, r.Path, r.Paused, r.CreatedBy = KindUser, us.Name, us.Paused, us.CreatedBy
	}
	e := m.effs[id]
	if !e.from.IsZero() {
		r.From = &e.from
	}
	if !e.until.IsZero() {
		r.Until = &e.until
	}
	if e.features != nil {
		r.Features = slices.Sorted(maps.Keys(e.features))
	} else {
		r.AnyFeature = true
	}
	types := map[string]bool{}
	for _, pool := range m.pools(id) {
		for t, q := range m.effs[pool].quota {
			if q > 0 {
				types[t] = true
			}
		}
		for t := range used[pool] {
			types[t] = true
		}
	}
	for _, t := range slices.Sorted(maps.Keys(types)) {
		var lu LicenseUse
		for i, pool := range m.pools(id) {
			total := int64(m.effs[pool].quota[t])
			x := LicenseUse{License: t, Total: total, Shared: taken[pool][t], Used: used[pool][t]}
			x.Available = total - x.Shared - x.Used
			if i == 0 || x.Available < lu.Available {
				lu = x
			}
		}
		if !n.restricted {
			lu.Used = 0
			if own != nil {
				lu.Used = own.Used.Of(t)
			}
		}
		r.Licenses = append(r.Licenses, lu)
	}
	return r
}

// CheckUsage compares what each node uses with its limits at now, and
// returns the first failure, in tree order: a node named in u that is not
// in the tree (Structure); a paused user that uses anything, or a node that
// uses a feature it does not have (Quota); a node that uses anything
// outside its validity window (Validity); and a pool whose members use
// more than it has left after its restricted nodes took theirs (Quota).
func (m *Model) CheckUsage(u *Usage, now time.Time) error {
	m.ready()
	if u == nil {
		return nil
	}
	// Every node named is in the tree: count what the tree's nodes find,
	// and name the first one missing, in order, only if some are.
	uses, found := m.usesOf(u)
	if found < len(u.Groups)+len(u.Users) {
		for _, p := range slices.Sorted(maps.Keys(u.Groups)) {
			if _, ok := m.groupID(p); !ok {
				return &Error{Kind: Structure, Node: GroupName(p), Msg: "is not a group of the tree"}
			}
		}
		for _, name := range slices.Sorted(maps.Keys(u.Users)) {
			if _, ok := m.userID(name); !ok {
				return &Error{Kind: Structure, Node: UserName(name), Msg: "is not a user of the tree"}
			}
		}
	}
	taken, _, used := m.sums(u)
	for id := nodeID(1); int(id) < len(m.nodes); id++ {
		if !m.active[id] {
			continue
		}
		nu := uses[id]
		if us := m.user(id); us != nil && us.Paused {
			return &Error{Kind: Quota, Node: m.name(id), Msg: "is paused and uses nothing, but reports " + describeUse(nu)}
		}
		if !m.inWindow(id, now) {
			return m.checkWindow(id, now, "uses "+describeUse(nu)+", ")
		}
		e := m.effs[id]
		for _, f := range nu.Features {
			if !e.hasFeature(f) {
				return &Error{Kind: Quota, Node: m.name(id), Msg: fmt.Sprintf("uses feature %s, which it does not have", f)}
			}
		}
	}
	for id := nodeID(0); int(id) < len(m.nodes); id++ {
		if used[id] == nil {
			continue
		}
		for _, t := range slices.Sorted(maps.Keys(used[id])) {
			total := int64(m.effs[id].quota[t])
			if left := total - taken[id][t]; used[id][t] > left {
				return &Error{Kind: Quota, Node: m.name(id), License: t,
					Msg: fmt.Sprintf("uses %d %s, %d available (total %d, shared %d)", used[id][t], t, max(left, 0), total, taken[id][t])}
			}
		}
	}
	return nil
}

func describeUse(u *Use) string {
	used := slices.Clone(u.Used)
	slices.SortFunc(used, func(a, b Count) int { return strings.Compare(a.License, b.License) })
	for _, c := range used {
		if c.N > 0 {
			return fmt.Sprintf("%d %s", c.N, c.License)
		}
	}
	if len(u.Features) > 0 {
		return "feature " + u.Features[0]
	}
	return "nothing"
}

// checkWindow reports, as a Validity error naming the node whose own
// window it is, that now lies outside node id's window. what prefixes the
// message ("uses 2 mobile-app, ").
func (m *Model) checkWindow(id nodeID, now time.Time, what string) error {
	if m.inWindow(id, now) {
		return nil
	}
	culprit, l := m.windowOf(id, now)
	if what == "" {
		what = "is not valid now: "
	} else {
		what += "but "
	}
	if culprit != id {

		what += "the validity of " + m.name(culprit)
	} else {
		what += "its validity"
	}
	if !l.Until.IsZero() && !now.Before(l.Until) {
		return &Error{Kind: Validity, Node: m.name(id), Msg: fmt.Sprintf("%s ended %s", what, date(l.Until))}
	}
	return &Error{Kind: Validity, NotYet: true, Node: m.name(id), Msg: fmt.Sprintf("%s begins %s", what, date(l.From))}
}

// inWindow reports whether now lies in node id's window.
func (m *Model) inWindow(id nodeID, now time.Time) bool {
	e := m.effs[id]
	return (e.from.IsZero() || !now.Before(e.from)) && (e.until.IsZero() || now.Before(e.until))
}

// windowOf finds the node on the way to the root whose own window excludes
// now: id itself, else each parent in turn.
func (m *Model) windowOf(id nodeID, now time.Time) (nodeID, Limits) {
	var l Limits
	if id == 0 {
		l = Limits{From: m.Root.From, Until: m.Root.Until}
	} else if m.nodes[id].restricted {
		l = *m.limits(id)
	}
	if !l.From.IsZero() && now.Before(l.From) || !l.Until.IsZero() && !now.Before(l.Until) {
		return id, l
	}
	for _, p := range m.parents(id) {
		pe := m.effs[p]
		if !pe.from.IsZero() && now.Before(pe.from) || !pe.until.IsZero() && !now.Before(pe.until) {
			return m.windowOf(p, now)
		}
	}
	return id, Limits{From: m.effs[id].from, Until: m.effs[id].until}
}
