package tree

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Question is what a device asks: may this user at this node use this
// feature, or one more of this license type, now?
type Question struct {
	Node    string // a group's path; "" is the system
	User    string // optional
	Feature string // optional
	License string // optional
	Now     time.Time
	Usage   *Usage // what is used now; nil: nothing
	// Bounds narrow the answer further: the grants on the way down to the
	// node, outermost first, each over its node's subtree.
	Bounds []Bound
}

// Bound is a limit on a subtree from outside the tree: a grant.
type Bound struct {
	Name   string // for messages: "grant 2 (tower-a/floor-1)"
	Path   string // the subtree's root, a group path
	Limits Limits // complete, as a restricted node's
}

// Answer is the answer to a Question that is allowed.
type Answer struct {
	Node    string     `json:"node"`
	User    string     `json:"user,omitempty"`
	Feature string     `json:"feature,omitempty"`
	License string     `json:"license,omitempty"`
	From    *time.Time `json:"from,omitempty"`  // the window that applies
	Until   *time.Time `json:"until,omitempty"` // exclusive
	// Quota is, for a License question, the strictest pool the one more
	// comes from.
	Quota *AnswerQuota `json:"headroom,omitempty"`
}

// AnswerQuota is the pool of a license question: the node (or grant) whose
// limit is the strictest, and its numbers before the one more asked for.
type AnswerQuota struct {
	Pool      string `json:"pool"`
	Total     int64  `json:"total"`
	Used      int64  `json:"used"`
	Available int64  `json:"available"`
}

// Ask answers q: nil error and the answer if allowed, else a Quota or
// Validity *Error naming the node (or bound) that refuses. A node that is
// not in the tree is refused (Quota) unless a bound covers it; then it has
// the limits of its nearest group in the tree, narrowed by the bounds.
func (m *Model) Ask(q Question) (*Answer, error) {
	m.ready()
	a := &Answer{Node: q.Node, User: q.User, Feature: q.Feature, License: q.License}
	nodeName := GroupName(q.Node)
	if q.Node == "" {
		nodeName = m.name(0)
	}
	id, ok := nodeID(0), true
	if q.Node != "" {
		id, ok = m.groupID(q.Node)
	}
	if !ok {
		covered := false
		for _, b := range q.Bounds {
			covered = covered || Within(q.Node, b.Path)
		}
		if !covered {
			return nil, &Error{Kind: Quota, Node: nodeName, Msg: "is not in the tree: nothing is licensed there"}
		}
		// The nearest group above it that is in the tree.
		id = 0
		for p := Parent(q.Node); p != ""; p = Parent(p) {
			if g, ok := m.groupID(p); ok {
				id = g
				break
			}
		}
	}
	who := id
	if q.User != "" {
		uid, ok := m.userID(q.User)
		if !ok {
			return nil, &Error{Kind: Quota, Node: UserName(q.User), Msg: "is not a user of the tree"}
		}
		if !m.attached(uid, q.Node) {
			return nil, &Error{Kind: Quota, Node: UserName(q.User), Msg: "is not in " + nodeName}
		}
		if m.user(uid).Paused {
			return nil, &Error{Kind: Quota, Node: UserName(q.User), Msg: "is paused"}
		}
		who = uid
	}
	// Every window on the way to the root: the node's and the user's
	// (whose window is already the strictest of all its groups).
	for _, n := range []nodeID{id, who} {
		if err := m.checkWindow(n, q.Now, ""); err != nil {
			return nil, err
		}
	}
	e := m.effs[who]
	from, until := e.from, e.until
	for _, b := range q.Bounds {
		if !b.Limits.From.IsZero() && q.Now.Before(b.Limits.From) {
			return nil, &Error{Kind: Validity, NotYet: true, Node: b.Name, Msg: "is valid from " + date(b.Limits.From)}
		}
		if !b.Limits.Until.IsZero() && !q.Now.Before(b.Limits.Until) {
			return nil, &Error{Kind: Validity, Node: b.Name, Msg: "ended " + date(b.Limits.Until)}
		}
		from, until = later(from, b.Limits.From), earlier(until, b.Limits.Until)
	}
	if !from.IsZero() {
		a.From = &from
	}
	if !until.IsZero() {
		a.Until = &until
	}
	if f := q.Feature; f != "" {
		if !e.hasFeature(f) {
			return nil, &Error{Kind: Quota, Node: m.name(m.featureCulprit(who, f)), Msg: "does not have feature " + f}
		}
		for _, b := range q.Bounds {
			if b.Limits.Features != nil && !slices.Contains(b.Limits.Features, f) {
				return nil, &Error{Kind: Quota, Node: b.Name, Msg: "does not grant feature " + f}
			}
		}
	}
	if t := q.License; t != "" {
		taken, _, used := m.sums(q.Usage)
		for _, pool := range m.pools(who) {
			total := int64(m.effs[pool].quota[t])
			avail := total - taken[pool][t] - used[pool][t]
			if a.Quota == nil || avail < a.Quota.Available {
				a.Quota = &AnswerQuota{Pool: m.name(pool), Total: total, Used: used[pool][t], Available: avail}
			}
			if avail < 1 {
				return nil, &Error{Kind: Quota, Node: m.name(pool), License: t,
					Msg: fmt.Sprintf("no %s left: %d used, %d available (total %d, shared %d)", t, used[pool][t], max(avail, 0), total, taken[pool][t])}
			}
		}
		for _, b := range q.Bounds {
			total := int64(b.Limits.Quota[t])
			sub := m.subtreeUse(b.Path, t, q.Usage)
			if sub+1 > total {
				return nil, &Error{Kind: Quota, Node: b.Name, License: t,
					Msg: fmt.Sprintf("no %s left: %d used below %s, %d granted", t, sub, b.Path, total)}
			}
			if avail := total - sub; avail < a.Quota.Available {
				a.Quota = &AnswerQuota{Pool: b.Name, Total: total, Used: sub, Available: avail}
			}
		}
	}
	return a, nil
}

// attached reports whether user uid is in the subtree of the group at
// path: one of its groups (a sub-user: its creator's) lies within it.
func (m *Model) attached(uid nodeID, path string) bool {
	if path == "" {
		return true
	}
	for _, p := range m.parents(uid) {
		if g := m.group(p); g != nil && Within(g.Path, path) {
			return true
		}
		if m.user(p) != nil && m.attached(p, path) {
			return true
		}
	}
	return false
}

// featureCulprit returns the node on the way to the root that lacks the
// feature: the restricted node nearest to id whose features exclude it.
func (m *Model) featureCulprit(id nodeID, f string) nodeID {
	n := &m.nodes[id]
	if n.restricted && m.limits(id).Features != nil && !m.effs[id].hasFeature(f) || id == 0 {
		return id
	}
	for _, p := range m.parents(id) {
		if !m.effs[p].hasFeature(f) {
			return m.featureCulprit(p, f)
		}
	}
	return id
}

// subtreeUse sums what the groups within path, and the users attached to
// them (each once), use of license type t.
func (m *Model) subtreeUse(path, t string, u *Usage) int64 {
	if u == nil {
		return 0
	}
	var sum int64
	for p, use := range u.Groups {
		if Within(p, path) {
			sum += use.Used.Of(t)
		}
	}
	for name, use := range u.Users {
		if uid, ok := m.userID(name); ok && m.attached(uid, path) {
			sum += use.Used.Of(t)
		}
	}
	return sum
}

// Effective returns the effective limits of the group at path ("" is the
// system): its own if restricted, else its pool's, with the window of
// every node on the way to the root. Features are nil where any is
// allowed.
func (m *Model) Effective(path string) (Limits, bool) {
	m.ready()
	id, ok := nodeID(0), true
	if path != "" {
		id, ok = m.groupID(path)
	}
	if !ok {
		return Limits{}, false
	}
	e := m.effs[id]
	l := Limits{Quota: e.quota, From: e.from, Until: e.until}
	if e.features != nil {
		l.Features = slices.Sorted(maps.Keys(e.features))
	}
	return l, true
}
