// Package allocate turns a wallet's licenses and a system's current need
// into a signed license bundle.
//
// Subscriptions run in subscription years from a start date. The first
// allocation for a system starts on the given date (today by default); each
// later allocation renews from where the last one ends, so subscription
// dates never move. A renewal may reach at most the policy's number of
// years ahead. Time that was paid for but could not be used (an allocation
// made after the grace period of its start or renewal date) is credited to
// the wallet in license-days. A top-up raises the running periods to the
// current need (devices or a product added mid-term): the added licenses
// are paid for each period's whole length and the days already past are
// credited.
//
// Keys are consumed in license-months, oldest redemption first, and never
// past their expiry (the policy's years after redemption). Make either
// returns a complete plan or an *InsufficientError saying what is missing;
// it never changes the wallet.
package allocate

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/verify"
	"allot.dev/allot/pkg/wallet"
)

// Request is what an allocation is asked to do.
type Request struct {
	System *system.System
	Years  int       // subscription years to add
	TopUp  bool      // instead, raise the running periods to the current need
	Trial  bool      // instead, a trial period funded by a trial key (lifecycle.go)
	Start  time.Time // first allocation only; zero means today
	Now    time.Time
	Policy catalog.Policy
	Rand   io.Reader // bundle ids
	// Catalog gives the analytics levels a floating system's shares are
	// counted by; nil is the embedded catalog.
	Catalog *catalog.Catalog
}

// ErrRequest reports a request that cannot be honoured as asked.
var ErrRequest = errclass.Sentinel(errclass.Input, "cannot allocate")

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

// Is makes a shortfall an input error (errclass.Input): the wallet does not
// hold what the request needs.
func (e *InsufficientError) Is(target error) bool { return target == errclass.Input }

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
	System    *system.System
	BundleID  string
	Sequence  int
	Issued    time.Time
	Periods   []wallet.Period
	Taken     []wallet.KeyFunding
	Credits   []wallet.Credit
	Spent     []wallet.CreditUse       // credit spent, before any key
	Hardware  []wallet.HardwareLicense // the system's perpetual hardware licenses
	Start     time.Time                // a bundle with no period: the first-day grace began
	Validity  bundle.Validity
	Keys      []*wallet.Entry // every key that funds a period of the bundle
	GraceDays int
	Policy    catalog.Policy
	toppedUp  bool
	demand    *demand // a floating system's, for its shares (shares.go)
	rebalance bool    // the next bundle, nothing spent (rebalance.go)
}

// Day returns t's date: midnight UTC.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Make plans an allocation of req against w.
func Make(w *wallet.Wallet, req Request) (*Plan, error) {
	pol := req.Policy
	switch {
	case req.TopUp && req.Years != 0:
		return nil, fmt.Errorf("%w: a top-up adds to the running periods; it takes no --years", ErrRequest)
	case req.Trial && (req.TopUp || req.Years != 0):
		return nil, fmt.Errorf("%w: a trial runs for its key's term; it takes no --years or --top-up", ErrRequest)
	case !req.TopUp && !req.Trial && req.Years < 1:
		return nil, fmt.Errorf("%w: --years must be at least 1", ErrRequest)
	case req.Years > pol.MaxRenewalYears:
		return nil, fmt.Errorf("%w: %d years is more than the %d years a subscription may be allocated ahead", ErrRequest, req.Years, pol.MaxRenewalYears)
	}
	sys := req.System
	need := map[string]int{}
	for t, q := range sys.Need {
		if q > 0 {
			need[t] = q
		}
	}
	if len(need) == 0 {
		return nil, fmt.Errorf("%w: system %s needs nothing: its [need] section is empty", ErrRequest, sys.ID)
	}
	p, err := newPlan(w, req)
	if err != nil {
		return nil, err
	}
	if err := p.hardwareFor(w, req); err != nil {
		return nil, err
	}
	if need, err = p.beyondHardware(w, need, req); err != nil {
		return nil, err
	}
	switch p.toppedUp = req.TopUp; {
	case req.Trial:
		err = p.trial(w, req, need)
	case p.toppedUp:
		err = p.topUp(w, req, need)
	default:
		err = p.renew(w, req, need)
	}
	if err != nil {
		return nil, err
	}
	return p, p.finish(w, req)
}

// finish sets the validity from the periods (or the first-day grace), the
// keys that fund them and the bundle id.
func (p *Plan) finish(w *wallet.Wallet, req Request) error {
	p.Validity = p.validity()

	seen := map[string]bool{}
	for _, per := range p.Periods {
		for _, f := range per.Funding {
			if !seen[f.Key] {
				seen[f.Key] = true
				e, ok := w.Key(f.Key)
				if !ok {
					return fmt.Errorf("wallet: allocation funded by unknown key %s", f.Key)
				}
				p.Keys = append(p.Keys, e)
			}
		}
	}
	if err := p.lifecycleKeys(w, seen); err != nil {
		return err
	}
	var id [8]byte
	if _, err := io.ReadFull(req.Rand, id[:]); err != nil {
		return err
	}
	p.BundleID = hex.EncodeToString(id[:])
	return nil
}

// renew adds a period of req.Years: the first, from the start date, or one
// that continues where the system's subscription ends.
func (p *Plan) renew(w *wallet.Wallet, req Request, need map[string]int) error {
	pol, sys := req.Policy, req.System
	today := Day(req.Now)
	var from time.Time
	prev := w.LastAllocation(sys.ID)
	if prev == nil {
		from = today
		if !req.Start.IsZero() {
			from = Day(req.Start)
		}
		p.Sequence = 1
	} else {
		// After a first-day grace the subscription starts on its day; a
		// trial that has ended fixes no date (lifecycle.go).
		var fresh bool
		from, fresh = renewalDate(prev, today)
		if fresh && !req.Start.IsZero() {
			from = Day(req.Start)
		}
		if !req.Start.IsZero() && !Day(req.Start).Equal(from) {
			return fmt.Errorf("%w: system %s already has a subscription, which renews on %s; --start applies only to a first allocation",
				ErrRequest, sys.ID, from.Format(time.DateOnly))
		}
		p.Periods = running(prev, today)
		p.Sequence = prev.Sequence + 1
	}
	// Subscription years in months: 29 February plus a year is 28
	// February, not 1 March, which would cost a thirteenth month.
	until := bundle.AddMonths(from, 12*req.Years)
	if horizon := today.AddDate(pol.MaxRenewalYears, 0, 0); until.After(horizon) {
		return fmt.Errorf("%w: the subscription would run until %s, more than %d years ahead (until %s at most)",
			ErrRequest, until.Format(time.DateOnly), pol.MaxRenewalYears, horizon.Format(time.DateOnly))
	}
	if !until.After(today) {
		return fmt.Errorf("%w: %d year%s from %s end on %s, before today: dates never move, so allocate enough years to reach past today",
			ErrRequest, req.Years, plural(req.Years), from.Format(time.DateOnly), until.Format(time.DateOnly))
	}
	per := wallet.Period{From: from, Until: until, Quota: need}
	// Credit is money: it pays before any key (lifecycle.go).
	p.Spent = spendCredit(w, &per, req)
	if err := fund(w, &per, req.Now, pol.UnallocatedExpiryYears); err != nil {
		return err
	}
	// Dates never move: the days after the grace period of the start or
	// renewal date that passed before the keys were bought are paid for
	// but could not be used. Credit them (lifecycle.go).
	p.Credits = append(p.Credits, earnCredit(w, per, per.Funding, today, pol.GraceDays,
		"allocated "+today.Format(time.DateOnly))...)
	p.Taken = per.Funding
	p.Periods = append(p.Periods, per)
	return nil
}

// topUp raises the quotas of the running periods to the current need: a
// product or devices added mid-term. Dates do not move; each added license
// is paid for its period's full length, and the days of the period that
// have already passed are credited.
func (p *Plan) topUp(w *wallet.Wallet, req Request, need map[string]int) error {
	sys := req.System
	today := Day(req.Now)
	prev := w.LastAllocation(sys.ID)
	if prev == nil {
		return fmt.Errorf("%w: system %s has no subscription to top up; allocate --years first", ErrRequest, sys.ID)
	}
	p.Periods = running(prev, today)
	if len(p.Periods) == 0 && len(prev.Periods) > 0 {
		return fmt.Errorf("%w: the subscription of system %s has ended; renew it with --years", ErrRequest, sys.ID)
	}
	p.Start = prev.Start // a first-day grace stays one when its hardware changes
	p.Sequence = prev.Sequence + 1
	added := false
	for i := range p.Periods {
		per := &p.Periods[i]
		delta := map[string]int{}
		for t, q := range need {
			if q > per.Quota[t] {
				delta[t] = q - per.Quota[t]
			}
		}
		if len(delta) == 0 {
			continue
		}
		added = true
		extra := wallet.Period{From: per.From, Until: per.Until, Quota: delta}
		if err := fund(w, &extra, req.Now, req.Policy.UnallocatedExpiryYears); err != nil {
			return err
		}
		per.Funding = append(per.Funding, extra.Funding...)
		p.Taken = append(p.Taken, extra.Funding...)
		for t, q := range delta {
			per.Quota[t] += q
		}
		// The added licenses are paid for the period's whole length; the
		// days past its grace before their keys were bought are credited.
		p.Credits = append(p.Credits, earnCredit(w, *per, extra.Funding, today, req.Policy.GraceDays,
			fmt.Sprintf("added %s mid-term on %s", bundle.FormatQuota(delta), today.Format(time.DateOnly)))...)
	}
	if !added && !p.hardwareChanged(prev) && !treeChanged(prev, sys) {
		return fmt.Errorf("%w: system %s already has its need (%s) in every running period, and its hardware licenses", ErrRequest, sys.ID, bundle.FormatQuota(need))
	}
	return nil
}

// running returns copies of the periods of an allocation that have not
// ended by today: the next bundle carries them on, and may change them.
func running(a *wallet.Allocation, today time.Time) []wallet.Period {
	var ps []wallet.Period
	for _, per := range a.Periods {
		if per.Until.After(today) {
			per.Quota = maps.Clone(per.Quota)
			per.Funding = slices.Clone(per.Funding)
			ps = append(ps, per)
		}
	}
	return ps
}

// fund takes the license-months per's quotas need from the wallet's
// subscription keys, oldest redemption first, skipping expired keys.
func fund(w *wallet.Wallet, per *wallet.Period, now time.Time, expiryYears int) error {
	months := bundle.Period{From: per.From, Until: per.Until}.Months()
	var missing []Shortfall
	for _, t := range slices.Sorted(maps.Keys(per.Quota)) {
		want := per.Quota[t]*months - creditMonths(*per, t, w)
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
		b.Binding.Servers = append(b.Binding.Servers, bundle.Server{Name: s.Name, Identifiers: s.Identifiers, OrgIdentifiers: s.OrgIdentifiers})
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
	// The numbers a device checks are bounded by the policy of every chain
	// that funds the bundle, and its binding by their binding rules.
	pol := p.Policy
	for _, e := range p.Keys {
		chain, _ := pool.Authorize(e.Key) // checked above
		pol = chain.Policy(pol)
		if n, product := chain.BindingAny(); sys.Binding.Required < n {
			return nil, fmt.Errorf("%w: system %s requires %d hardware identifier%s to match; the vendor requires at least %d for product %s (key %s): raise [binding] required in the system file",
				ErrRequest, sys.ID, sys.Binding.Required, plural(sys.Binding.Required), n, product, e.Key.Serial)
		}
	}
	b.AnalyticsRetentionDays = pol.AnalyticsRetentionDays
	b.GrowthAllowancePercent = pol.GrowthAllowancePercent
	b.Validity.GraceUntil = b.Validity.Until.AddDate(0, 0, pol.GraceDays)
	b.Features = slices.Sorted(maps.Keys(features))
	tr, err := bundleTree(sys)
	if err != nil {
		return nil, err
	}
	b.Tree = tr
	for i, per := range p.Periods {
		b.Periods = append(b.Periods, bundle.Period{From: per.From, Until: per.Until, Quota: per.Quota})
		for _, f := range per.Funding {
			b.Funding = append(b.Funding, bundle.Funding{Key: text[f.Key], Period: i + 1, License: f.License, Months: f.Months})
		}
	}
	if p.demand != nil {
		if n := len(sys.Servers) * len(b.Periods); n > bundle.MaxShares {
			return nil, fmt.Errorf("%w: system %s is floating: %d servers for %d periods need %d shares, and a bundle holds %d at most; allocate fewer years ahead",
				ErrRequest, sys.ID, len(sys.Servers), len(b.Periods), n, bundle.MaxShares)
		}
		b.Shares = p.demand.shares(b.Periods)
	}
	p.lifecycleSections(w, b, text)
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
	// What a device would refuse is never written: check the bundle as a
	// device checks its authority, under the allocation's policy.
	trust := &verify.Trust{Trust: *w.TrustFor(nil), Policy: p.Policy}
	v := verify.NewVerifier(verify.Options{Trust: trust, Workers: 1})
	if err := v.Authority(doc); err != nil {
		return nil, nil, fmt.Errorf("the bundle would not verify on a device: %w", err)
	}
	if err := checkTree(v, doc); err != nil {
		return nil, nil, err
	}
	if p.rebalance {
		return doc, w.Rebalance(p.Record(doc), p.Note()), nil
	}
	return doc, w.Allocate(p.Record(doc), p.Note()), nil
}

// Record returns the wallet's record of the plan and its signed bundle.
func (p *Plan) Record(doc []byte) *wallet.Allocation {
	return &wallet.Allocation{
		System: p.System.ID, BundleID: p.BundleID, Sequence: p.Sequence,
		Periods: p.Periods, Taken: p.Taken, Credits: p.Credits, Bundle: doc,
		Start: p.Start, Spent: p.Spent, Hardware: p.Hardware,
	}
}

// Note summarises the plan for the wallet's history.
func (p *Plan) Note() string {
	if len(p.Periods) == 0 {
		return p.startNote()
	}
	last := p.Periods[len(p.Periods)-1]
	verb := "allocated"
	switch {
	case p.toppedUp:
		verb = "topped up to"
	case p.rebalance:
		verb = "rebalanced"
	}
	s := fmt.Sprintf("%s bundle %d of system %s: %s from %s until %s", verb,
		p.Sequence, p.System.ID, bundle.FormatQuota(last.Quota),
		last.From.Format(time.DateOnly), last.Until.Format(time.DateOnly))
	for _, c := range p.Credits {
		s += fmt.Sprintf("; credited %d %s license-days", c.Days, c.License)
	}
	return s + p.lifecycleNote()
}
