package audit

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/licensekey"
)

// tally gathers, bundle after bundle and in the order they were given,
// where each key and server shows up, and then says what is wrong.
//
// It is fed while the bundles are still being checked, so it holds one
// entry per key and per funded period, found with one map lookup each,
// rather than a map per question; the questions with a sorted answer
// (which keys are overspent, which sit in two wallets) are sorted only
// over the keys that answer them.
type tally struct {
	keys map[licensekey.Ref]*keyTally
	// What each key funds: a system's later bundles repeat the periods of
	// the earlier ones, so each (wallet, system, period, key, license)
	// counts once, at the most any of its bundles says. funds are in the
	// order they were first seen, found by fundAt.
	fundAt  map[fundKey]int
	funds   []fund
	servers map[string]*places // identifier → wallet/system → where
}

// keyTally is what the audit knows of one key.
type keyTally struct {
	ref      licensekey.Ref
	wallets  places  // wallet id → where
	hardware *places // wallet/system → where, for a hardware or expansion key
	bearer   bool    // as the last bundle or wallet that holds the key says
	licenses []licenseTally
}

// licenseTally is one license type of a key: what the key holds of it and
// what the bundles spent.
type licenseTally struct {
	license string
	// capacity is what the last bundle funded by the key says it holds
	// (funded), or else what the first bundle that spends its credit
	// says (credit).
	capacity, credit int
	funded           bool
	spent            int64
	overspent        bool
	uses             []Use // for an overspent key only
}

// license returns the tally of license type l of k.
func (k *keyTally) license(l string) *licenseTally {
	for i := range k.licenses {
		if k.licenses[i].license == l {
			return &k.licenses[i]
		}
	}
	k.licenses = append(k.licenses, licenseTally{license: l})
	return &k.licenses[len(k.licenses)-1]
}

type fundKey struct {
	wallet, system, license string
	key                     *keyTally
	from                    time.Time
}

type fund struct {
	key    *keyTally
	lt     string // license type
	months int
	use    Use // the bundle that says the most
}

func newTally(keys int) *tally {
	return &tally{
		keys:    make(map[licensekey.Ref]*keyTally, keys),
		fundAt:  make(map[fundKey]int, keys),
		servers: map[string]*places{},
	}
}

// key returns the tally of the key d, noting that wallet wid holds it and
// that it is, or is not, a bearer key.
func (t *tally) key(d decoded, wid string, u Use) *keyTally {
	ref := d.k.Ref()
	kt := t.keys[ref]
	if kt == nil {
		kt = &keyTally{ref: ref, wallets: places{place: wid, use: u}}
		t.keys[ref] = kt
	} else {
		kt.wallets.note(wid, u)
	}
	kt.bearer = d.k.Bearer
	return kt
}

// spend notes that a bundle of system spends months of license lt of kt
// in the period from.
func (t *tally) spend(kt *keyTally, wid, system, lt string, from time.Time, months int, u Use) {
	fk := fundKey{wid, system, lt, kt, from}
	i, ok := t.fundAt[fk]
	if !ok {
		if months <= 0 {
			return // counts for nothing, as no spend at all
		}
		t.fundAt[fk] = len(t.funds)
		t.funds = append(t.funds, fund{key: kt, lt: lt, months: months, use: u})
		return
	}
	if f := &t.funds[i]; months > f.months {
		f.months, f.use = months, u
	}
}

// add tallies one bundle that verified, with its keys decoded.
func (t *tally) add(source string, c *checked) {
	b := c.b
	wid := c.walletID
	u := Use{Source: source, WalletID: wid, System: b.System, Sequence: b.Sequence}
	for j, f := range b.Funding {
		d := c.funding[j]
		if d.k == nil || f.Period < 1 || f.Period > len(b.Periods) {
			continue // bundle.Open refuses a period out of range
		}
		kt := t.key(d, wid, u)
		// The key's capacity is the one the last bundle it funds says.
		lt := kt.license(f.License)
		lt.capacity, lt.funded = d.k.Capacity(f.License), true
		t.spend(kt, wid, b.System, f.License, b.Periods[f.Period-1].From, f.Months, u)
	}
	// Credit: the months a key paid for an earlier period, spent again
	// here; counted with that period's funding, once per system.
	for j, cr := range b.Credits {
		d := c.credits[j]
		if d.k == nil {
			continue
		}
		kt := t.key(d, wid, u)
		if lt := kt.license(cr.License); lt.credit == 0 {
			lt.credit = d.k.Capacity(cr.License)
		}
		t.spend(kt, wid, b.System, cr.License, cr.From, cr.Months, u)
	}
	// Hardware and expansion keys: perpetual, each for one device of one
	// system.
	sys := wid + "/" + b.System
	for _, ks := range c.hardware {
		for _, d := range ks {
			if d.k == nil {
				continue
			}
			kt := t.key(d, wid, u)
			if kt.hardware == nil {
				kt.hardware = &places{place: sys, use: u}
			} else {
				kt.hardware.note(sys, u)
			}
		}
	}
	// A server's uses by system first: the order of the uses in a finding
	// is not that of the wallets' random ids.
	serverPlace := b.System + "/" + wid
	for _, s := range b.Binding.Servers {
		su := u
		su.Server = s.Name
		// org_identifiers find one machine collected for two systems of
		// an organization, whose identifiers differ (hwid.OrgHash).
		for _, ids := range [][]string{s.Identifiers, s.OrgIdentifiers} {
			for _, id := range ids {
				note(t.servers, id, serverPlace, su)
			}
		}
	}
}

// addWallet tallies the keys a wallet holds.
func (t *tally) addWallet(w Wallet) {
	wid := w.W.ID.String()
	u := Use{Source: w.Source, WalletID: wid}
	for _, e := range w.W.Keys {
		t.key(decoded{k: e.Key}, wid, u)
	}
}

// findings returns what the tally shows: keys spent beyond their
// quantity, keys in two wallets, hardware keys in two systems, servers in
// two systems, each kind sorted.
func (t *tally) findings() []Finding {
	var out []Finding
	// Keys spent beyond their quantity.
	for i := range t.funds {
		f := &t.funds[i]
		f.key.license(f.lt).spent += int64(f.months)
	}
	var over []*keyTally
	for _, kt := range t.keys {
		for i := range kt.licenses {
			lt := &kt.licenses[i]
			if !lt.funded {
				lt.capacity = lt.credit
			}
			if lt.spent > 0 && lt.spent > int64(lt.capacity) {
				lt.overspent = true
				if len(over) == 0 || over[len(over)-1] != kt {
					over = append(over, kt)
				}
			}
		}
	}
	if len(over) > 0 {
		for i := range t.funds {
			f := &t.funds[i]
			if lt := f.key.license(f.lt); lt.overspent {
				u := f.use
				u.Months = f.months
				lt.uses = append(lt.uses, u)
			}
		}
	}
	sortKeys(over)
	for _, kt := range over {
		id := kt.ref.String()
		lts := slices.Clone(kt.licenses)
		slices.SortFunc(lts, func(a, b licenseTally) int { return strings.Compare(a.license, b.license) })
		for _, lt := range lts {
			if !lt.overspent {
				continue
			}
			us := mergeUses(lt.uses)
			out = append(out, Finding{Kind: Overspent, Key: id, Bearer: kt.bearer, License: lt.license,
				Capacity: lt.capacity, Spent: lt.spent, Uses: us,
				Message: fmt.Sprintf("key %s: %d of %s spent, it holds %d: by %s", id, lt.spent, lt.license, lt.capacity, describe(us))})
		}
	}
	// The same key in two wallets.
	var twice, hardware []*keyTally
	for _, kt := range t.keys {
		if kt.wallets.count() > 1 {
			twice = append(twice, kt)
		}
		if kt.hardware != nil && kt.hardware.count() > 1 {
			hardware = append(hardware, kt)
		}
	}
	sortKeys(twice)
	for _, kt := range twice {
		id := kt.ref.String()
		us := kt.wallets.sorted()
		what := "key"
		if kt.bearer {
			what = "bearer key"
		}
		out = append(out, Finding{Kind: KeyInTwoWallets, Key: id, Bearer: kt.bearer, Uses: us,
			Message: fmt.Sprintf("%s %s in %d wallets: %s", what, id, len(us), describe(us))})
	}
	// A hardware or expansion key in two systems.
	sortKeys(hardware)
	for _, kt := range hardware {
		id := kt.ref.String()
		us := kt.hardware.sorted()
		out = append(out, Finding{Kind: HardwareTwice, Key: id, Bearer: kt.bearer, Uses: us,
			Message: fmt.Sprintf("hardware key %s licenses devices in %d systems: %s", id, len(us), describe(us))})
	}
	// A server bound in two systems, once for the servers it is, however
	// many of its identifiers they share.
	var shared []string
	for id, p := range t.servers {
		if p.count() > 1 {
			shared = append(shared, id)
		}
	}
	slices.Sort(shared)
	reported := map[string]bool{}
	for _, id := range shared {
		us := t.servers[id].sorted()
		var where strings.Builder
		for _, u := range us {
			fmt.Fprintf(&where, "%s/%s/%s\x00", u.WalletID, u.System, u.Server)
		}
		if reported[where.String()] {
			continue
		}
		reported[where.String()] = true
		out = append(out, Finding{Kind: ServerTwice, Identifier: id, Uses: us,
			Message: fmt.Sprintf("server identifier %s bound in %d systems: %s", id, len(us), describe(us))})
	}
	return out
}

// sortKeys sorts keys by their ids: the order of the ids' text, since
// both halves of an id are hexadecimal of a fixed length.
func sortKeys(ks []*keyTally) {
	slices.SortFunc(ks, func(a, b *keyTally) int { return bytes.Compare(a.ref[:], b.ref[:]) })
}

// places holds where one key or server identifier is used: the first use
// seen in each place (a wallet, or a wallet's system). Most are used in
// one place only, which needs no map of their own.
type places struct {
	place string
	use   Use
	more  map[string]Use // the other places, once there are any
}

// note notes u of key in place, unless key has a use there already.
func note(m map[string]*places, key, place string, u Use) {
	if p := m[key]; p != nil {
		p.note(place, u)
		return
	}
	m[key] = &places{place: place, use: u}
}

// note notes u in place, unless there is a use there already.
func (p *places) note(place string, u Use) {
	if place == p.place {
		return
	}
	if _, ok := p.more[place]; ok {
		return
	}
	if p.more == nil {
		p.more = map[string]Use{}
	}
	p.more[place] = u
}

func (p *places) count() int { return 1 + len(p.more) }

// sorted returns the uses in the order of their places.
func (p *places) sorted() []Use {
	all := maps.Clone(p.more)
	if all == nil {
		all = map[string]Use{}
	}
	all[p.place] = p.use
	var us []Use
	for _, k := range slices.Sorted(maps.Keys(all)) {
		us = append(us, all[k])
	}
	return us
}

// mergeUses sums a system's periods into one use each: the first use of
// each, with the months of all and the highest sequence.
func mergeUses(us []Use) []Use {
	by := map[string]*Use{}
	var order []string
	for _, u := range us {
		k := u.WalletID + "/" + u.System
		if p, ok := by[k]; ok {
			p.Months += u.Months
			p.Sequence = max(p.Sequence, u.Sequence)
			continue
		}
		c := u
		by[k] = &c
		order = append(order, k)
	}
	slices.Sort(order)
	out := make([]Use, len(order))
	for i, k := range order {
		out[i] = *by[k]
	}
	return out
}

func describe(us []Use) string {
	s := ""
	for i, u := range us {
		if i > 0 {
			s += ", "
		}
		switch {
		case u.Server != "":
			s += fmt.Sprintf("server %s of system %s (wallet %s, %s)", u.Server, u.System, u.WalletID, u.Source)
		case u.System != "" && u.Months > 0:
			s += fmt.Sprintf("system %s of wallet %s: %d (%s)", u.System, u.WalletID, u.Months, u.Source)
		default:
			s += fmt.Sprintf("wallet %s (%s)", u.WalletID, u.Source)
		}
	}
	return s
}

// walletKeys counts the keys of ws, to size the tally.
func walletKeys(ws []Wallet) int {
	n := 0
	for _, w := range ws {
		n += len(w.W.Keys)
	}
	return n
}
