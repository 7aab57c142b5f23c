package tree

import (
	"fmt"
	"maps"
	"slices"
)

// The license types of the sip-number ≥ mobile-app rule: every mobile app
// needs a SIP number.
const (
	SIPNumber = "sip-number"
	MobileApp = "mobile-app"
)

// Check applies the rules of the tree, in tree order (the root, the groups,
// then the users, each in file order), and returns the first violation:
//
//   - a restricted node's window lies inside each parent's (Validity);
//   - its features are among each parent's (Quota);
//   - its quota of each type fits in what its parents' pools have left,
//     after the restricted nodes before it took theirs: the restricted
//     children of a node together take no more than it has, a user in
//     several groups takes from each, and a sub-user takes from its
//     creator (Quota);
//   - at the root and every restricted node, sip-number ≥ mobile-app
//     (Quota).
func (m *Model) Check() error {
	m.ready()
	taken, err := m.shared(true)
	if err == nil {
		m.taken = taken // what sums would compute again
	}
	return err
}

// shared returns what the restricted nodes take from each pool, per
// license type. With check, it stops at the first rule a node breaks.
func (m *Model) shared(check bool) ([]map[string]int64, error) {
	taken := make([]map[string]int64, len(m.nodes))
	if check {
		if err := m.checkSIP(0); err != nil {
			return nil, err
		}
	}
	for id := nodeID(1); int(id) < len(m.nodes); id++ {
		n := &m.nodes[id]
		if !n.restricted {
			continue
		}
		l := m.limits(id)
		if check {
			if err := m.checkInside(id, l); err != nil {
				return nil, err
			}
		}
		// The pools a node takes from: each parent's, once.
		var pools []nodeID
		for _, p := range m.parents(id) {
			for _, pool := range m.pools(p) {
				if !slices.Contains(pools, pool) {
					pools = append(pools, pool)
				}
			}
		}
		for _, t := range slices.Sorted(maps.Keys(l.Quota)) {
			q := int64(l.Quota[t])
			if q == 0 {
				continue
			}
			for _, pool := range pools {
				if taken[pool] == nil {
					taken[pool] = map[string]int64{}
				}
				total := int64(m.effs[pool].quota[t])
				if left := total - taken[pool][t]; check && q > left {
					return nil, &Error{Kind: Quota, Field: m.field(id) + ".quota." + t, Node: m.name(id), License: t,
						Msg: fmt.Sprintf("%s %d is more than %s has left: %d of %d", t, q, m.name(pool), max(left, 0), total)}
				}
				taken[pool][t] += q
			}
		}
		if check {
			if err := m.checkSIP(id); err != nil {
				return nil, err
			}
		}
	}
	return taken, nil
}

// checkInside checks a restricted node's window and features against each
// of its parents'.
func (m *Model) checkInside(id nodeID, l *Limits) error {
	for _, p := range m.parents(id) {
		pe := m.effs[p]
		if !l.From.IsZero() && !pe.from.IsZero() && l.From.Before(pe.from) {
			return &Error{Kind: Validity, Field: m.field(id) + ".from", Node: m.name(id),
				Msg: fmt.Sprintf("valid from %s, before %s is (from %s)", date(l.From), m.name(p), date(pe.from))}
		}
		if !l.Until.IsZero() && !pe.until.IsZero() && l.Until.After(pe.until) {
			return &Error{Kind: Validity, Field: m.field(id) + ".until", Node: m.name(id),
				Msg: fmt.Sprintf("valid until %s, after %s ends (until %s)", date(l.Until), m.name(p), date(pe.until))}
		}
		for _, f := range l.Features {
			if !pe.hasFeature(f) {
				return &Error{Kind: Quota, Field: m.field(id) + ".features", Node: m.name(id),
					Msg: fmt.Sprintf("feature %s is not among the features of %s", f, m.name(p))}
			}
		}
	}
	return nil
}

func (m *Model) checkSIP(id nodeID) error {
	q := m.effs[id].quota
	if sip, app := q[SIPNumber], q[MobileApp]; sip < app {
		return &Error{Kind: Quota, Field: m.field(id) + ".quota." + SIPNumber, Node: m.name(id), License: SIPNumber,
			Msg: fmt.Sprintf("%s %d is fewer than %s %d: every mobile app needs a SIP number", SIPNumber, sip, MobileApp, app)}
	}
	return nil
}
