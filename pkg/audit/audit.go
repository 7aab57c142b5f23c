// Package audit looks at many bundles and wallets together, where the
// misuse that no single device or wallet can see shows: a key spent beyond
// its quantity across bundles (two installers, or two wallets, allocating
// the same key), the same key redeemed into two wallets (a bearer key
// carried to two sites), and a server bound in two systems. With a trust
// file it also checks every bundle's authority, revocations included.
//
// Bundles are verified on every core, through one verify.Verifier, so a
// certificate chain the bundles share is checked once.
package audit

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/parallel"
	"allot.dev/allot/pkg/verify"
	"allot.dev/allot/pkg/wallet"
)

// Kinds of finding.
const (
	Overspent       = "overspent"               // a key spent beyond its quantity
	KeyInTwoWallets = "key-in-two-wallets"      // one key redeemed or spent by two wallets
	ServerTwice     = "server-in-two-systems"   // one server's identifiers in two systems' bundles
	HardwareTwice   = "hardware-in-two-systems" // one hardware or expansion key in two systems' bundles
	Revoked         = "revoked"                 // a bundle funded by a revoked key or through a revoked certificate
	Invalid         = "invalid"                 // a bundle that does not verify, or cannot be read
)

// Bundle is a bundle to audit.
type Bundle struct {
	Source string // the file, or "WALLET: bundle N of system S"
	Doc    []byte
	Err    error // the file could not be read
}

// Wallet is a wallet to audit: its keys, and its allocations' bundles.
type Wallet struct {
	Source string
	W      *wallet.Wallet
}

// Options are how the audit checks bundles.
type Options struct {
	// Trust, if not nil, is checked for every bundle: signatures, chains
	// to a root, scope, revocations. Without it only the bundle's own
	// signature (by its wallet) is checked.
	Trust *verify.Trust
	// Workers is the number of goroutines (0: one per core).
	Workers int
	// Progress, if not nil, is told how many bundles are checked; it must
	// be safe for concurrent use.
	Progress func(n int)
}

// Use is one place a key, a server or a bundle shows up.
type Use struct {
	Source   string `json:"source"`
	WalletID string `json:"wallet_id"`
	System   string `json:"system"`
	Sequence int    `json:"sequence"`
	Server   string `json:"server"`
	Months   int    `json:"months"`
}

// Finding is one thing the audit found.
type Finding struct {
	Kind       string `json:"kind"`
	Key        string `json:"key"` // key id, for key findings
	Bearer     bool   `json:"bearer"`
	License    string `json:"license"`
	Capacity   int    `json:"capacity"`
	Spent      int64  `json:"spent"`
	Identifier string `json:"identifier"` // for a server in two systems
	Uses       []Use  `json:"uses"`
	Message    string `json:"message"`
}

// Report is an audit's result.
type Report struct {
	Bundles    int       `json:"bundles"` // distinct bundles, those inside the wallets included
	Wallets    int       `json:"wallets"`
	Signatures int64     `json:"signatures"` // signatures checked
	Findings   []Finding `json:"findings"`
}

// Clean reports whether the audit found nothing.
func (r *Report) Clean() bool { return len(r.Findings) == 0 }

type checked struct {
	b    *bundle.Bundle
	err  error
	sigs int
	// The keys of b, decoded beside its signatures rather than after them
	// all, one after another: each of b.Funding, of b.Credits, and of
	// b.Hardware (the key, then its expansions).
	funding, credits []decoded
	hardware         [][]decoded
}

// decoded is a key of a bundle, or nil where its text does not decode.
type decoded struct {
	k  *licensekey.Key
	id string // k.ID()
}

// decode decodes a key's text, or takes it from known, the keys the trust
// check decoded.
func decode(text string, known map[string]*licensekey.Key) decoded {
	if k := known[text]; k != nil {
		return decoded{k, k.ID()}
	}
	k, err := licensekey.Parse(text)
	if err != nil {
		return decoded{} // a bundle that verified holds keys that decode
	}
	return decoded{k, k.ID()}
}

// decodeKeys decodes the keys of c.b, those in known as they are.
func (c *checked) decodeKeys(known map[string]*licensekey.Key) {
	b := c.b
	c.funding = make([]decoded, len(b.Funding))
	for i, f := range b.Funding {
		c.funding[i] = decode(f.Key, known)
	}
	c.credits = make([]decoded, len(b.Credits))
	for i, cr := range b.Credits {
		c.credits[i] = decode(cr.Key, known)
	}
	c.hardware = make([][]decoded, len(b.Hardware))
	for i, h := range b.Hardware {
		ks := make([]decoded, 0, 1+len(h.Expansions))
		ks = append(ks, decode(h.Key, known))
		for _, text := range h.Expansions {
			ks = append(ks, decode(text, known))
		}
		c.hardware[i] = ks
	}
}

// Run audits bundles and wallets.
func Run(bundles []Bundle, wallets []Wallet, opts Options) *Report {
	// Every bundle once: the wallets hold the bundles they signed, which
	// may be given as files too. The bundles are hashed on every core, and
	// kept in order, the first of each content.
	given := slices.Clone(bundles)
	for _, w := range wallets {
		for _, a := range w.W.Allocations {
			given = append(given, Bundle{Source: fmt.Sprintf("%s: bundle %d of system %s", w.Source, a.Sequence, a.System), Doc: a.Bundle})
		}
	}
	sums := make([][sha256.Size]byte, len(given))
	parallel.For(len(given), opts.Workers, func(i int) {
		if given[i].Err == nil {
			sums[i] = sha256.Sum256(given[i].Doc)
		}
	})
	seen := make(map[[sha256.Size]byte]bool, len(given))
	all := make([]Bundle, 0, len(given))
	for i, b := range given {
		if b.Err == nil {
			if seen[sums[i]] {
				continue
			}
			seen[sums[i]] = true
		}
		all = append(all, b)
	}

	// Bundles are checked side by side, each on one goroutine: a bundle's
	// handful of signatures spread over the cores too would only add
	// goroutines that wait on each other.
	var v *verify.Verifier
	if opts.Trust != nil {
		v = verify.NewVerifier(verify.Options{Trust: opts.Trust, Workers: 1})
	}
	res := make([]checked, len(all))
	var done atomic.Int64
	parallel.For(len(all), opts.Workers, func(i int) {
		c := &res[i]
		var known map[string]*licensekey.Key
		switch {
		case all[i].Err != nil:
			c.err = all[i].Err
		case v != nil:
			c.b, known, c.err = v.AuthorityKeys(all[i].Doc)
			if c.b != nil {
				c.sigs = 1 + len(c.b.Funding)
			}
		default:
			c.b, c.err = bundle.Open(all[i].Doc)
			c.sigs = 1
		}
		if c.err == nil {
			c.decodeKeys(known)
		}
		if n := done.Add(1); opts.Progress != nil && (n%64 == 0 || int(n) == len(all)) {
			opts.Progress(int(n))
		}
	})

	rep := &Report{Bundles: len(all), Wallets: len(wallets), Findings: []Finding{}}
	var good []int
	for i, c := range res {
		rep.Signatures += int64(c.sigs)
		if c.err != nil {
			kind := Invalid
			if errors.Is(c.err, cert.ErrRevoked) {
				kind = Revoked
			}
			rep.Findings = append(rep.Findings, Finding{Kind: kind, Uses: []Use{{Source: all[i].Source}},
				Message: fmt.Sprintf("%s: %v", all[i].Source, c.err)})
			continue
		}
		good = append(good, i)
	}

	// What each key funds: a system's later bundles repeat the periods of
	// the earlier ones, so each (wallet, system, period, key, license)
	// counts once, at the most any of its bundles says.
	type fundKey struct {
		wallet, system, key, license string
		from                         time.Time
	}
	funded := map[fundKey]int{}
	fundUse := map[fundKey]Use{}
	wallets2 := map[string]*places{} // key id → wallet id → where
	bearer := map[string]bool{}
	servers := map[string]*places{}  // identifier → wallet/system → where
	hardware := map[string]*places{} // hardware or expansion key id → wallet/system → where
	capacity := map[spendKey]int{}
	for _, i := range good {
		b := res[i].b
		wid := b.WalletID.String()
		sys := wid + "/" + b.System
		// A server's uses by system first: the order of the uses in a
		// finding is not that of the wallets' random ids.
		serverPlace := b.System + "/" + wid
		for j, f := range b.Funding {
			d := res[i].funding[j]
			k := d.k
			if k == nil || f.Period < 1 || f.Period > len(b.Periods) {
				continue
			}
			fk := fundKey{wid, b.System, d.id, f.License, b.Periods[f.Period-1].From}
			if f.Months > funded[fk] {
				funded[fk] = f.Months
				fundUse[fk] = Use{Source: all[i].Source, WalletID: wid, System: b.System, Sequence: b.Sequence}
			}
			note(wallets2, d.id, wid, Use{Source: all[i].Source, WalletID: wid, System: b.System, Sequence: b.Sequence})
			bearer[d.id] = k.Bearer
		}
		// Credit: the months a key paid for an earlier period, spent again
		// here; counted with that period's funding, once per system.
		for j, c := range b.Credits {
			d := res[i].credits[j]
			k := d.k
			if k == nil {
				continue
			}
			fk := fundKey{wid, b.System, d.id, c.License, c.From}
			if c.Months > funded[fk] {
				funded[fk] = c.Months
				fundUse[fk] = Use{Source: all[i].Source, WalletID: wid, System: b.System, Sequence: b.Sequence}
			}
			if capacity[spendKey{d.id, c.License}] == 0 {
				capacity[spendKey{d.id, c.License}] = k.Capacity(c.License)
			}
			note(wallets2, d.id, wid, Use{Source: all[i].Source, WalletID: wid, System: b.System, Sequence: b.Sequence})
			bearer[d.id] = k.Bearer
		}
		// Hardware and expansion keys: perpetual, each for one device of
		// one system.
		for _, ks := range res[i].hardware {
			for _, d := range ks {
				k := d.k
				if k == nil {
					continue
				}
				u := Use{Source: all[i].Source, WalletID: wid, System: b.System, Sequence: b.Sequence}
				note(wallets2, d.id, wid, u)
				bearer[d.id] = k.Bearer
				note(hardware, d.id, sys, u)
			}
		}
		for _, s := range b.Binding.Servers {
			// org_identifiers find one machine collected for two systems
			// of an organization, whose identifiers differ (hwid.OrgHash).
			for _, id := range slices.Concat(s.Identifiers, s.OrgIdentifiers) {
				note(servers, id, serverPlace, Use{Source: all[i].Source, WalletID: wid, System: b.System, Sequence: b.Sequence, Server: s.Name})
			}
		}
	}
	for _, w := range wallets {
		for _, e := range w.W.Keys {
			note(wallets2, e.Key.ID(), w.W.ID.String(), Use{Source: w.Source, WalletID: w.W.ID.String()})
			bearer[e.Key.ID()] = e.Key.Bearer
		}
	}

	// Keys spent beyond their quantity.
	spent := map[spendKey]int64{}
	uses := map[spendKey][]Use{}
	for fk, m := range funded {
		sk := spendKey{fk.key, fk.license}
		spent[sk] += int64(m)
		u := fundUse[fk]
		u.Months = m
		uses[sk] = append(uses[sk], u)
	}
	for _, i := range good {
		for j, f := range res[i].b.Funding {
			if d := res[i].funding[j]; d.k != nil {
				capacity[spendKey{d.id, f.License}] = d.k.Capacity(f.License)
			}
		}
	}
	for _, sk := range sortedSpends(spent) {
		if c := capacity[sk]; spent[sk] > int64(c) {
			us := mergeUses(uses[sk])
			rep.Findings = append(rep.Findings, Finding{Kind: Overspent, Key: sk.key, Bearer: bearer[sk.key], License: sk.license,
				Capacity: c, Spent: spent[sk], Uses: us,
				Message: fmt.Sprintf("key %s: %d of %s spent, it holds %d: by %s", sk.key, spent[sk], sk.license, c, describe(us))})
		}
	}
	// The same key in two wallets.
	for _, id := range slices.Sorted(maps.Keys(wallets2)) {
		if wallets2[id].count() < 2 {
			continue
		}
		us := wallets2[id].sorted()
		what := "key"
		if bearer[id] {
			what = "bearer key"
		}
		rep.Findings = append(rep.Findings, Finding{Kind: KeyInTwoWallets, Key: id, Bearer: bearer[id], Uses: us,
			Message: fmt.Sprintf("%s %s in %d wallets: %s", what, id, len(us), describe(us))})
	}
	// A hardware or expansion key in two systems.
	for _, id := range slices.Sorted(maps.Keys(hardware)) {
		if hardware[id].count() < 2 {
			continue
		}
		us := hardware[id].sorted()
		rep.Findings = append(rep.Findings, Finding{Kind: HardwareTwice, Key: id, Bearer: bearer[id], Uses: us,
			Message: fmt.Sprintf("hardware key %s licenses devices in %d systems: %s", id, len(us), describe(us))})
	}
	// A server bound in two systems, once for the servers it is, however
	// many of its identifiers they share.
	reported := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(servers)) {
		if servers[id].count() < 2 {
			continue
		}
		us := servers[id].sorted()
		var where strings.Builder
		for _, u := range us {
			fmt.Fprintf(&where, "%s/%s/%s\x00", u.WalletID, u.System, u.Server)
		}
		if reported[where.String()] {
			continue
		}
		reported[where.String()] = true
		rep.Findings = append(rep.Findings, Finding{Kind: ServerTwice, Identifier: id, Uses: us,
			Message: fmt.Sprintf("server identifier %s bound in %d systems: %s", id, len(us), describe(us))})
	}
	return rep
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
	p := m[key]
	if p == nil {
		m[key] = &places{place: place, use: u}
		return
	}
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

// spendKey is a key's license type.
type spendKey struct{ key, license string }

func sortedSpends(m map[spendKey]int64) []spendKey {
	ks := slices.Collect(maps.Keys(m))
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].key != ks[j].key {
			return ks[i].key < ks[j].key
		}
		return ks[i].license < ks[j].license
	})
	return ks
}

// mergeUses sums a system's periods into one use each.
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
