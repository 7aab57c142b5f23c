package allocate

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/wallet"
)

// newPlan starts a plan for req: what every bundle of the system needs,
// whether it adds years, tops up or rebalances. A server that another
// system's bundle of the wallet licenses is refused here, before anything
// is planned.
func newPlan(w *wallet.Wallet, req Request) (*Plan, error) {
	sys := req.System
	if err := checkServers(w, req); err != nil {
		return nil, err
	}
	p := &Plan{System: sys, Issued: req.Now.UTC().Truncate(time.Second), GraceDays: req.Policy.GraceDays, Policy: req.Policy}
	if sys.Floating {
		cat := req.Catalog
		if cat == nil {
			cat = catalog.Default()
		}
		d, err := newDemand(sys, cat)
		if err != nil {
			return nil, err
		}
		p.demand = d
	}
	return p, nil
}

// Rebalance plans the next bundle of a system whose devices or servers
// changed: the same periods, quotas and funding as its last bundle, the
// servers, their binding and (for a floating system) their shares as the
// system file has them now, and the next sequence. It takes nothing from
// any key: a device accepts it as it accepts a renewal, and the wallet
// records it as a rebalance.
func Rebalance(w *wallet.Wallet, req Request) (*Plan, error) {
	sys := req.System
	prev := w.LastAllocation(sys.ID)
	if prev == nil {
		return nil, fmt.Errorf("%w: system %s has no bundle to rebalance; allocate --years first", ErrRequest, sys.ID)
	}
	if len(prev.Periods) == 0 {
		return nil, fmt.Errorf("%w: system %s has only a first-day grace, and nothing to rebalance; allocate --years first", ErrRequest, sys.ID)
	}
	last := prev.Periods[len(prev.Periods)-1]
	if end := last.Until.AddDate(0, 0, req.Policy.GraceDays); !req.Now.Before(end) {
		return nil, fmt.Errorf("%w: the subscription of system %s ended on %s, and its grace period on %s; renew it with allocate --years",
			ErrRequest, sys.ID, last.Until.Format(time.DateOnly), end.Format(time.DateOnly))
	}
	p, err := newPlan(w, req)
	if err != nil {
		return nil, err
	}
	p.rebalance = true
	p.Taken = []wallet.KeyFunding{}
	p.Hardware = prev.Hardware // the hardware licenses stay (lifecycle.go)
	p.Sequence = prev.Sequence + 1
	for _, per := range prev.Periods {
		per.Quota = maps.Clone(per.Quota)
		per.Funding = slices.Clone(per.Funding)
		p.Periods = append(p.Periods, per)
	}
	return p, p.finish(w, req)
}

// checkServers refuses a system with a server that is already licensed by
// another system's bundle of the wallet: the latest bundle of each other
// system, until its grace period ends. A server is in a bundle if one of
// its hashed identifiers is one of a server of the bundle.
//
// Identifiers are hashed with the system id (package hwid), so the same
// machine collected for two systems has unrelated hashes there; its
// org_identifiers, hashed with the organization, are the same in both
// systems, and find it. A system file made from hashes alone has none:
// then only copied entries are found here, and the device state
// (verify.Pin) refuses the machine itself.
func checkServers(w *wallet.Wallet, req Request) error {
	sys := req.System
	type mine struct{ server, field string }
	ids := map[string]mine{} // hash → server
	for _, s := range sys.Servers {
		for _, h := range s.Identifiers {
			ids[h] = mine{s.Name, "identifier"}
		}
		for _, h := range s.OrgIdentifiers {
			ids[h] = mine{s.Name, "org identifier"}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	latest := map[string]*wallet.Allocation{}
	var order []string
	for _, a := range w.Allocations {
		if a.System == sys.ID {
			continue
		}
		if latest[a.System] == nil {
			order = append(order, a.System)
		}
		latest[a.System] = a
	}
	for _, id := range order {
		a := latest[id]
		b, err := bundle.Open(a.Bundle)
		if err != nil {
			return fmt.Errorf("%s: %w: the bundle of system %s it keeps: %v", w.Path, wallet.ErrCorrupt, id, err)
		}
		if !req.Now.Before(b.Validity.GraceUntil) {
			continue
		}
		for _, s := range b.Binding.Servers {
			for _, h := range slices.Concat(s.Identifiers, s.OrgIdentifiers) {
				if m, ok := ids[h]; ok {
					return fmt.Errorf("%w: server %s of system %s has %s %s of server %s of system %s, which bundle %d of this wallet licenses until %s: a server is licensed by one system at a time",
						ErrRequest, m.server, sys.ID, m.field, h, s.Name, id, b.Sequence, b.Validity.GraceUntil.Format(time.DateOnly))
				}
			}
		}
	}
	return nil
}

// Shares returns the servers' shares of the plan's last period, as its
// bundle has them: nil unless the system is floating.
func (p *Plan) Shares() []bundle.Share {
	if p.demand == nil {
		return nil
	}
	n := len(p.Periods)
	if n == 0 {
		return nil
	}
	last := p.Periods[n-1]
	shares := p.demand.shares([]bundle.Period{{From: last.From, Until: last.Until, Quota: last.Quota}})
	for i := range shares {
		shares[i].Period = n
	}
	return shares
}
