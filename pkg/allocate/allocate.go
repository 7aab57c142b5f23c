// Package allocate turns a wallet's licenses and a system's current need
// into a signed license bundle.
//
// Subscriptions run in subscription years from a start date. The first
// allocation for a system starts on the given date (today by default); each
// later allocation renews from where the last one ends, so subscription
// dates never move. A renewal may reach at most the policy's number of
// years ahead. Time that was paid for but could not be used (an allocation
// made after the grace period of its start or renewal date) is credited to
// the wallet in license-days.
//
// Keys are consumed in license-months, oldest redemption first, and never
// past their expiry (the policy's years after redemption). Make either
// returns a complete plan or an *InsufficientError saying what is missing;
// it never changes the wallet.
package allocate

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/wallet"
)

// Request is what an allocation is asked to do.
type Request struct {
	System *system.System
	Years  int       // subscription years to add
	Start  time.Time // first allocation only; zero means today
	Now    time.Time
	Policy catalog.Policy
	Rand   io.Reader // bundle ids
}

// ErrRequest reports a request that cannot be honoured as asked.
var ErrRequest = errors.New("cannot allocate")

// Shortfall is what is missing of one license type.
type Shortfall struct {
	License string `json:"license"`
	Need    int    `json:"need_months"`
	Have    int    `json:"have_months"`
	Months  int    `json:"period_months"` // the length of the period asked for
}

// InsufficientError reports that the wallet does not hold enough licenses.
type InsufficientError struct {
	Missing []Shortfall
}

func (e *InsufficientError) Error() string {
	var parts []string
	for _, s := range e.Missing {
		miss := s.Need - s.Have
		licenses := (miss + s.Months - 1) / s.Months
		parts = append(parts, fmt.Sprintf("%s: missing %d license-months, that is %d %s license%s for %s (need %d, have %d)",
			s.License, miss, licenses, s.License, plural(licenses), monthsText(s.Months), s.Need, s.Have))
	}
	return "not enough licenses in the wallet: " + strings.Join(parts, "; ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func monthsText(m int) string {
	if m%12 == 0 {
		if m == 12 {
			return "1 year"
		}
		return fmt.Sprintf("%d years", m/12)
	}
	return fmt.Sprintf("%d months", m)
}

// Plan is a complete allocation, ready to be signed and recorded.
type Plan struct {
	System     *system.System
	BundleID   string
	Sequence   int
	Issued     time.Time
	Periods    []wallet.Period
	Taken      []wallet.KeyFunding
	Credits    []wallet.Credit
	Validity   bundle.Validity
	Keys       []*wallet.Entry // every key that funds a period of the bundle
	GraceDays  int
	Policy     catalog.Policy
	newPeriods int
}

// Day returns t's date: midnight UTC.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Make plans an allocation of req against w.
func Make(w *wallet.Wallet, req Request) (*Plan, error) {
	if req.Years < 1 {
		return nil, fmt.Errorf("%w: --years must be at least 1", ErrRequest)
	}
	pol := req.Policy
	if req.Years > pol.MaxRenewalYears {
		return nil, fmt.Errorf("%w: %d years is more than the %d years a subscription may be allocated ahead", ErrRequest, req.Years, pol.MaxRenewalYears)
	}
	sys := req.System
	today := Day(req.Now)
	need := map[string]int{}
	for t, q := range sys.Need {
		if q > 0 {
			need[t] = q
		}
	}
	if len(need) == 0 {
		return nil, fmt.Errorf("%w: system %s needs nothing: its [need] section is empty", ErrRequest, sys.ID)
	}
	p := &Plan{System: sys, Issued: req.Now.UTC().Truncate(time.Second), GraceDays: pol.GraceDays, Policy: pol}
	grace := func(t time.Time) time.Time { return t.AddDate(0, 0, pol.GraceDays) }

	var from time.Time
	var anchor time.Time // the start or renewal date whose grace decides compensation
	prev := w.LastAllocation(sys.ID)
	if prev == nil {
		from = today
		if !req.Start.IsZero() {
			from = Day(req.Start)
		}
		anchor = from
		p.Sequence = 1
	} else {
		last := prev.Periods[len(prev.Periods)-1]
		from = last.Until
		anchor = from
		if !req.Start.IsZero() && !Day(req.Start).Equal(from) {
			return nil, fmt.Errorf("%w: system %s already has a subscription, which renews on %s; --start applies only to a first allocation",
				ErrRequest, sys.ID, from.Format(time.DateOnly))
		}
		// Keep the periods still running; the bundle replaces the last one.
		for _, per := range prev.Periods {
			if per.Until.After(today) {
				p.Periods = append(p.Periods, per)
			}
		}
		p.Sequence = prev.Sequence + 1
	}
	until := from.AddDate(req.Years, 0, 0)
	if horizon := today.AddDate(pol.MaxRenewalYears, 0, 0); until.After(horizon) {
		return nil, fmt.Errorf("%w: the subscription would run until %s, more than %d years ahead (until %s at most)",
			ErrRequest, until.Format(time.DateOnly), pol.MaxRenewalYears, horizon.Format(time.DateOnly))
	}
	if !until.After(today) {
		return nil, fmt.Errorf("%w: %d year%s from %s end on %s, before today: dates never move, so allocate enough years to reach past today",
			ErrRequest, req.Years, plural(req.Years), from.Format(time.DateOnly), until.Format(time.DateOnly))
	}
	per := wallet.Period{From: from, Until: until, Quota: need}
	// Dates never move: the days after the grace period of the start or
	// renewal date that have already passed are paid for but could not be
	// used. Credit them, never more than the period allocated.
	if lapsed := today.Sub(grace(anchor)); lapsed > 0 {
		days := int(lapsed / (24 * time.Hour))
		for _, t := range slices.Sorted(maps.Keys(need)) {
			p.Credits = append(p.Credits, wallet.Credit{
				License: t, Days: need[t] * days,
				Reason: fmt.Sprintf("allocated %s, %d days after the grace period of %s ended", today.Format(time.DateOnly), days, anchor.Format(time.DateOnly)),
			})
		}
	}
	if err := fund(w, &per, req.Now, pol.UnallocatedExpiryYears); err != nil {
		return nil, err
	}
	p.Taken = per.Funding
	p.Periods = append(p.Periods, per)
	p.newPeriods = 1
	p.Validity = bundle.Validity{From: p.Periods[0].From, Until: until, GraceUntil: grace(until)}

	seen := map[string]bool{}
	for _, per := range p.Periods {
		for _, f := range per.Funding {
			if !seen[f.Key] {
				seen[f.Key] = true
				e, ok := w.Key(f.Key)
				if !ok {
					return nil, fmt.Errorf("wallet: allocation funded by unknown key %s", f.Key)
				}
				p.Keys = append(p.Keys, e)
			}
		}
	}
	var id [8]byte
	if _, err := io.ReadFull(req.Rand, id[:]); err != nil {
		return nil, err
	}
	p.BundleID = hex.EncodeToString(id[:])
	return p, nil
}

// fund takes the license-months per's quotas need from the wallet's
// subscription keys, oldest redemption first, skipping expired keys.
func fund(w *wallet.Wallet, per *wallet.Period, now time.Time, expiryYears int) error {
	months := bundle.Period{From: per.From, Until: per.Until}.Months()
	var missing []Shortfall
	for _, t := range slices.Sorted(maps.Keys(per.Quota)) {
		want := per.Quota[t] * months
		have := 0
		var take []wallet.KeyFunding
		for _, e := range w.Keys {
			if e.Key.Kind != licensekey.Subscription || !now.Before(e.Expires(expiryYears)) {
				continue
			}
			avail := e.Available(t)
			if avail <= 0 {
				continue
			}
			n := min(avail, want-have)
			if n > 0 {
				take = append(take, wallet.KeyFunding{Key: e.Key.ID(), License: t, Months: n})
			}
			have += avail
		}
		if have < want {
			missing = append(missing, Shortfall{License: t, Need: want, Have: have, Months: months})
			continue
		}
		per.Funding = append(per.Funding, take...)
	}
	if missing != nil {
		return &InsufficientError{Missing: missing}
	}
	return nil
}

// Bundle returns the unsigned bundle for the plan. pool must hold the
// certificates of the wallet (wallet.Certificates) and trust its roots.
func (p *Plan) Bundle(w *wallet.Wallet, pool *cert.Pool) (*bundle.Bundle, error) {
	sys := p.System
	b := &bundle.Bundle{
		ID: p.BundleID, Sequence: p.Sequence, Organization: w.Organization, System: sys.ID,
		Issued: p.Issued, WalletKey: w.PublicKey,
		AnalyticsRetentionDays: p.Policy.AnalyticsRetentionDays,
		GrowthAllowancePercent: p.Policy.GrowthAllowancePercent,
		Validity:               p.Validity,
		Binding:                bundle.Binding{Required: sys.Binding.Required},
	}
	for _, s := range sys.Servers {
		b.Binding.Servers = append(b.Binding.Servers, bundle.Server{Name: s.Name, Identifiers: s.Identifiers})
	}
	text := map[string]string{}
	features := map[string]bool{}
	certs := map[string]bool{}
	for _, e := range p.Keys {
		text[e.Key.ID()] = e.Key.Text()
		for _, f := range e.Key.Features {
			features[f] = true
		}
		chain, err := pool.Authorize(e.Key)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", e.Key.Serial, err)
		}
		for _, c := range chain {
			if d := c.Document(); !certs[string(d)] {
				certs[string(d)] = true
				b.Certificates = append(b.Certificates, d)
			}
		}
	}
	b.Features = slices.Sorted(maps.Keys(features))
	for _, per := range p.Periods {
		b.Periods = append(b.Periods, bundle.Period{From: per.From, Until: per.Until, Quota: per.Quota})
		for _, f := range per.Funding {
			b.Funding = append(b.Funding, bundle.Funding{Key: text[f.Key], License: f.License, Months: f.Months})
		}
	}
	return b, nil
}

// Sign writes the plan's bundle, signs it with the wallet's private key,
// and returns the signed bundle and the wallet change that records it.
// The certificates of every funding key come from the wallet.
func (p *Plan) Sign(w *wallet.Wallet, priv ed25519.PrivateKey) ([]byte, *wallet.Change, error) {
	certs, err := w.Certificates()
	if err != nil {
		return nil, nil, err
	}
	pool := cert.NewPool(w.TrustFor(nil))
	pool.Add(certs...)
	b, err := p.Bundle(w, pool)
	if err != nil {
		return nil, nil, err
	}
	doc, err := bundle.Seal(b, priv)
	if err != nil {
		return nil, nil, err
	}
	return doc, w.Allocate(p.Record(doc), p.Note()), nil
}

// Record returns the wallet's record of the plan and its signed bundle.
func (p *Plan) Record(doc []byte) *wallet.Allocation {
	return &wallet.Allocation{
		System: p.System.ID, BundleID: p.BundleID, Sequence: p.Sequence,
		Periods: p.Periods, Taken: p.Taken, Credits: p.Credits, Bundle: doc,
	}
}

// Note summarises the plan for the wallet's history.
func (p *Plan) Note() string {
	last := p.Periods[len(p.Periods)-1]
	s := fmt.Sprintf("allocated bundle %d of system %s: %s from %s until %s",
		p.Sequence, p.System.ID, bundle.FormatQuota(last.Quota),
		last.From.Format(time.DateOnly), last.Until.Format(time.DateOnly))
	for _, c := range p.Credits {
		s += fmt.Sprintf("; credited %d %s license-days", c.Days, c.License)
	}
	return s
}
