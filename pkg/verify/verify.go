// Package verify is the device-side check of a license bundle: trust, time,
// hardware binding and quotas, in that order, stopping at the first failure.
//
//   - trust: the bundle's signature is the wallet's; every funding key
//     chains to a trusted root through certificates whose scopes nest, lies
//     inside every scope, is issued to this wallet (or is a bearer key every
//     certificate allows) and is not revoked; the keys cover every quota of
//     every period, and no key is asked for more than it holds;
//   - time: now lies in the validity, or in the grace after it;
//   - binding: enough hardware identifiers of the machine match a server;
//   - quotas: what the system uses fits the period in force.
//
// It depends only on the standard library and allot's format packages, so a
// device can link it into a small binary. It never prints and never exits:
// it returns a Report whose Err belongs to one of the error classes below.
package verify

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/parallel"
	"allot.dev/allot/pkg/sign"
)

// Error classes. Every failure wraps exactly one.
var (
	ErrMalformed   = errclass.Sentinel(errclass.Input, "malformed")
	ErrTrust       = errclass.Sentinel(errclass.Trust, "not trusted")
	ErrExpired     = errclass.Sentinel(errclass.Validity, "expired")
	ErrNotYetValid = errclass.Sentinel(errclass.Validity, "not yet valid")
	ErrBinding     = errclass.Sentinel(errclass.Binding, "hardware binding does not match")
	ErrQuota       = errclass.Sentinel(errclass.Quota, "quota exceeded")
	ErrRollback    = errclass.Sentinel(errclass.Rollback, "rollback detected")
)

// MaxCertificatesPerSigner bounds the certificates of one signer in a
// bundle: a renewed certificate beside an expired one is two; each key is
// tried against every one of its signer's chains.
const MaxCertificatesPerSigner = 8

// Status words of a report.
const (
	StatusLicensed  = "licensed"
	StatusGrace     = "grace"
	StatusMalformed = "malformed"
	StatusUntrusted = "untrusted"
	StatusExpired   = "expired"
	StatusNotYet    = "not-yet-valid"
	StatusBinding   = "binding-mismatch"
	StatusQuota     = "quota-exceeded"
	StatusRollback  = "rollback"
)

// Machine is a set of hashed identifiers to check the binding against: this
// machine's, or a server's from a system file. The hashes must be keyed
// with the bundle's system id.
type Machine struct {
	Name        string
	Identifiers []string
}

// Options is what a verification checks against.
type Options struct {
	Trust   *Trust
	Now     time.Time
	Catalog *catalog.Catalog // analytics types; the default if nil
	// Machines returns the machines whose binding to check, their
	// identifiers hashed for systemID. Nil skips the binding check.
	Machines func(systemID string) ([]Machine, error)
	Usage    *Usage // nil skips the quota check
	State    *State // nil skips rollback detection
	// Workers bounds how many signatures of one bundle are checked at
	// once: 0 means one per core. A short-lived process verifying one
	// bundle is faster with 1, since starting threads costs more than the
	// few signatures gain.
	Workers int
	// Question asks the bundle's quota tree about one node (tree.go); nil
	// asks nothing. Grants is a chain of grants down to that node.
	Question *Question
	Grants   [][]byte
}

// Report is the result of verifying one bundle.
type Report struct {
	File     string         `json:"file"`
	Status   string         `json:"status"`
	Error    string         `json:"error,omitempty"`
	Bundle   *Summary       `json:"bundle,omitempty"`
	Time     *TimeReport    `json:"time,omitempty"`
	Binding  *BindingReport `json:"binding,omitempty"`
	Quotas   []QuotaReport  `json:"quotas"`
	Shares   []ShareReport  `json:"shares,omitempty"` // a floating system's (shares.go)
	Keys     []KeyReport    `json:"keys"`
	Warnings []string       `json:"warnings"`
	Tree     *TreeReport    `json:"tree,omitempty"`
	// Features are the state of each feature now (features.go); empty
	// before the time step.
	Features []FeatureState `json:"features"`

	lifecycleReport // hardware licenses, trials, first-day grace (lifecycle.go)

	// Err is the failure, nil when the bundle is licensed.
	Err error `json:"-"`

	// periodFeatures[i] are the features period i grants: those its keys
	// pay for over its whole length.
	periodFeatures [][]string
	// machineServer is the bundle's server that the one machine checked
	// (this machine) matched; empty if several machines were checked.
	machineServer string
	// decoded, if not nil, is given every key the trust check decodes, by
	// its text (AuthorityKeys).
	decoded map[string]*licensekey.Key
	// authorityOnly: only the bundle's authority is asked for, by a
	// caller that reads no report (Authority*), so its key rows are not
	// written.
	authorityOnly bool
	// signatures counts the Ed25519 verifications made for the bundle:
	// its own, and its keys' that the verifier had not verified before;
	// not the certificates' (checked once per verifier, when parsed).
	signatures int
}

// Summary identifies a bundle.
type Summary struct {
	ID           string `json:"id"`
	Sequence     int    `json:"sequence"`
	Organization string `json:"organization"`
	System       string `json:"system"`
	WalletID     string `json:"wallet_id"`
	// Features are the features the bundle lists; a feature is licensed
	// only where a period's keys pay for it, and FeaturesGranted are those
	// of the period in force now: what a device may switch on.
	Features        []string `json:"features"`
	FeaturesGranted []string `json:"features_granted"`
}

// TimeReport is where now falls in the bundle's validity.
type TimeReport struct {
	Now                     time.Time  `json:"now"`
	From                    time.Time  `json:"from"`
	Until                   time.Time  `json:"until"`
	GraceUntil              time.Time  `json:"grace_until"`
	DaysLeft                int        `json:"days_left"`
	AnalyticsRetentionUntil *time.Time `json:"analytics_retention_until,omitempty"`

	lifecycleTimes // support end, trial, first-day grace (lifecycle.go)
}

// BindingReport says how the binding was checked.
type BindingReport struct {
	// Status is "unbound" (the bundle requires no identifier, which the
	// vendor's chain allows), "matched", "mismatch" or "not-checked".
	Status   string `json:"status"`
	Required int    `json:"required"`
	Checked  bool   `json:"checked"`
	Server   string `json:"server,omitempty"` // the bundle's server that matched
	Matched  int    `json:"matched"`
}

// Binding statuses.
const (
	BindingUnbound    = "unbound"
	BindingMatched    = "matched"
	BindingMismatch   = "mismatch"
	BindingNotChecked = "not-checked"
)

// QuotaReport compares one quota with its use.
type QuotaReport struct {
	// Server is the server whose share the row checks (several joined by
	// "+"); empty for the system's pool.
	Server  string `json:"server,omitempty"`
	License string `json:"license"`
	Allowed int64  `json:"allowed"`
	Used    int64  `json:"used"`
	Limit   int64  `json:"limit"`  // with the growth allowance
	Status  string `json:"status"` // ok, growth, exceeded, not-checked
}

// KeyReport describes a key that funds the bundle.
type KeyReport struct {
	Serial  string `json:"serial"`
	Issuer  string `json:"issuer"`
	Product string `json:"product"`
	Kind    string `json:"kind"`
	Bearer  bool   `json:"bearer"`
	Chain   int    `json:"chain_length"`
}

// Bundle verifies the bundle doc read from file.
func Bundle(file string, doc []byte, opts Options) *Report {
	return NewVerifier(opts).Bundle(file, doc)
}

// Verifier verifies any number of bundles, from any number of goroutines,
// against one set of options. It remembers the certificates it has checked
// (by their exact bytes) and the key signatures that verified (by the
// exact bytes verified: issuer key, signed message and signature), so
// bundles that share a chain or a key pay for its signatures once.
type Verifier struct {
	opts    Options
	mu      sync.Mutex // guards certs, certNum, pools and the device state
	certs   map[string]*cert.Certificate
	certNum map[*cert.Certificate]uint32 // one number per document parsed
	pools   map[string]*certSet          // by the numbers of a bundle's certificates (pools.go)
	keys    sign.Verified
}

// NewVerifier returns a Verifier for opts.
func NewVerifier(opts Options) *Verifier {
	return &Verifier{opts: opts, certs: map[string]*cert.Certificate{}, certNum: map[*cert.Certificate]uint32{}}
}

// Bundle verifies the bundle doc read from file.
func (v *Verifier) Bundle(file string, doc []byte) *Report {
	r, b := v.Check(file, doc)
	v.ApplyState(r, b, 0)
	return r
}

// Check verifies the bundle doc read from file in everything but the
// device state, and returns the report and the bundle (nil if it could not
// be opened). ApplyState completes it; Bundle does both.
func (v *Verifier) Check(file string, doc []byte) (*Report, *bundle.Bundle) {
	r := &Report{File: file}
	b, err := v.check(r, doc, false)
	r.Err = err
	return r, b
}

// ApplyState checks r's bundle b against the device state, if the options
// have one, and completes the report. A clock set back is a rollback
// whatever the bundle; the time is recorded whatever the verdict; the
// bundle's sequence and signing time only when it is accepted. newest, if
// not 0, is the highest sequence of b's series (system and wallet) among
// the bundles verified with it: an older one is refused as a rollback,
// since a device given a bundle and its renewal at once must not run on
// the older.
func (v *Verifier) ApplyState(r *Report, b *bundle.Bundle, newest int) {
	opts := v.opts
	err := r.Err
	if opts.State != nil {
		v.mu.Lock()
		switch {
		case err == nil && b.Sequence < newest:
			err = fmt.Errorf("%w: bundle sequence %d of system %s is older than sequence %d, verified with it",
				ErrRollback, b.Sequence, b.System, newest)
			opts.State.Observe(opts.Now)
		case err == nil:
			err = opts.State.checkBundle(b, r, opts.Now, opts.Trust.ClockTolerance)
		default:
			if rb := opts.State.CheckClock(opts.Now, opts.Trust.ClockTolerance); rb != nil {
				err = rb
			} else {
				opts.State.Observe(opts.Now)
			}
		}
		v.mu.Unlock()
	}
	r.Err = err
	r.Status = statusOf(r, err)
	r.emptyLists()
	if err != nil {
		r.Error = err.Error()
	}
}

// Series is the key of a bundle's sequence: its system and wallet.
func Series(b *bundle.Bundle) string { return b.System + " " + b.WalletID.String() }

// Unreadable returns the report of a bundle file that could not be read.
func Unreadable(file string, err error) *Report {
	err = errclass.Wrap(ErrMalformed, err)
	r := &Report{File: file, Status: StatusMalformed, Error: err.Error(), Err: err}
	r.emptyLists()
	return r
}

// emptyLists makes the report's lists empty rather than nil, so that its
// JSON says [] and never null.
func (r *Report) emptyLists() {
	if r.Quotas == nil {
		r.Quotas = []QuotaReport{}
	}
	if r.Keys == nil {
		r.Keys = []KeyReport{}
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	if r.Features == nil {
		r.Features = []FeatureState{}
	}
	if r.Bundle != nil && r.Bundle.Features == nil {
		r.Bundle.Features = []string{}
	}
	if r.Bundle != nil && r.Bundle.FeaturesGranted == nil {
		r.Bundle.FeaturesGranted = []string{}
	}
}

func statusOf(r *Report, err error) string {
	switch {
	case err == nil:
		if r.Time != nil && !r.Time.Now.Before(r.Time.Until) && r.Time.Now.Before(r.Time.GraceUntil) {
			return StatusGrace
		}
		return StatusLicensed
	case errors.Is(err, ErrMalformed):
		return StatusMalformed
	case errors.Is(err, ErrTrust):
		return StatusUntrusted
	case errors.Is(err, ErrExpired):
		return StatusExpired
	case errors.Is(err, ErrNotYetValid):
		return StatusNotYet
	case errors.Is(err, ErrBinding):
		return StatusBinding
	case errors.Is(err, ErrQuota):
		return StatusQuota
	case errors.Is(err, ErrRollback):
		return StatusRollback
	}
	return "error"
}

func (v *Verifier) check(r *Report, doc []byte, trustOnly bool) (*bundle.Bundle, error) {
	opts := v.opts
	b, err := bundle.Open(doc)
	if err != nil {
		if errors.Is(err, bundle.ErrSignature) {
			return nil, fmt.Errorf("%w: %v", ErrTrust, err)
		}
		return nil, errclass.Wrap(ErrMalformed, err)
	}
	r.signatures = 1 // the bundle's own, by its wallet
	r.Bundle = &Summary{ID: b.ID, Sequence: b.Sequence, Organization: b.Organization,
		System: b.System, WalletID: b.WalletID.String(), Features: b.Features}
	r.authorityOnly = trustOnly
	if err := v.checkTrust(r, b, opts.Trust); err != nil || trustOnly {
		return b, err
	}
	r.Bundle.FeaturesGranted = r.featuresAt(b, opts.Now)
	if err := checkTime(r, b, opts.Now); err != nil {
		return b, err
	}
	r.Features = v.featureStates(r, b, opts.Now)
	if err := checkBinding(r, b, opts.Machines); err != nil {
		return b, err
	}
	if err := checkQuotas(r, b, opts); err != nil {
		return b, err
	}
	if err := v.checkTree(r, b, opts); err != nil {
		return b, err
	}
	return b, nil
}

// checkTrust establishes that the wallet had the authority for everything
// the bundle grants: every key chains to a trusted root and is issued to
// this wallet; each key funds no more than it holds, and only time it can
// fund; the keys cover every period's quotas; and every number the wallet
// wrote (grace, growth allowance, retention, binding) lies inside the
// policy the vendor's chain signs.
func (v *Verifier) checkTrust(r *Report, b *bundle.Bundle, trust *Trust) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrTrust, fmt.Sprintf(format, args...))
	}
	// Decode the keys first: cheap, and a key the wallet signed that does
	// not even decode condemns the bundle. A key is known by its identity,
	// issuer and serial, never by its text: inside a signed bundle only
	// the canonical text is read, and two different keys may not share an
	// identity.
	keys := map[licensekey.Ref]*licensekey.Key{}
	uses := map[licensekey.Ref]keyUse{} // what each key is used for (lifecycle.go)
	var order []*licensekey.Key
	decode := func(text string, field field, use keyUse) (*licensekey.Key, error) {
		k, err := licensekey.ParseCanonical(text)
		if err != nil {
			return nil, errclass.New(ErrMalformed, "%s: %v", field, err)
		}
		ref := k.Ref()
		if prev, ok := keys[ref]; ok {
			if !bytes.Equal(prev.Raw(), k.Raw()) {
				return nil, fail("%s: two different keys have the id %s", field, k.ID())
			}
			k = prev
		} else {
			keys[ref] = k
			order = append(order, k)
		}
		uses[ref] |= use
		if r.decoded != nil {
			r.decoded[text] = k
		}
		return k, nil
	}
	funders := make([]*licensekey.Key, len(b.Funding))
	for i, f := range b.Funding {
		k, err := decode(f.Key, field{"funding[%d].key", i + 1, 0}, useFunding)
		if err != nil {
			return err
		}
		funders[i] = k
	}
	lc, err := decodeLifecycle(b, decode)
	if err != nil {
		return err
	}
	// What needs no signature is checked first, so that a bundle of many
	// keys a device would refuse costs it no signature.
	for _, k := range order {
		if !k.Bearer && k.Wallet != b.WalletID {
			return fail("key %s is issued to wallet %s, not to this bundle's wallet %s", k.Serial, k.Wallet, b.WalletID)
		}
		if err := uses[k.Ref()].allows(k); err != nil {
			return fail("%v", err)
		}
		if b.Issued.Before(k.Issued) {
			return fail("the bundle was signed %s, before key %s was issued (%s)",
				b.Issued.Format(time.DateOnly), k.Serial, k.Issued.Format(time.DateOnly))
		}
	}
	// Certificate and key signatures dominate the cost: check them on every
	// core at once, certificates first since keys need their chains.
	certs := make([]*cert.Certificate, len(b.Certificates))
	errs := make([]error, len(b.Certificates))
	parallel.For(len(b.Certificates), v.opts.Workers, func(i int) {
		certs[i], errs[i] = v.parseCert(b.Certificates[i])
	})
	// The certificates' chains are the same for every bundle that carries
	// them: found once per verifier (pools.go).
	pool, err := v.certPool(certs, errs, fail)
	if err != nil {
		return err
	}
	// A key several bundles carry is verified for the first (sign.Verified
	// says why that is sound); the report counts what was verified.
	var keySigs atomic.Int64
	verifyKey := func(k *licensekey.Key, issuer ed25519.PublicKey) error {
		checked, err := k.VerifyOnce(issuer, &v.keys)
		if checked {
			keySigs.Add(1)
		}
		return err
	}
	chains := make([]cert.Chain, len(order))
	for i, k := range order {
		c, err := pool.ChainFor(k.Issuer)
		if err != nil {
			return keepRevoked(err, fail("key %s: %v", k.Serial, err))
		}
		chains[i] = c
	}
	kerrs := make([]error, len(order))
	parallel.For(len(order), v.opts.Workers, func(i int) {
		chains[i], kerrs[i] = pool.AuthorizeWith(order[i], verifyKey)
	})
	r.signatures += int(keySigs.Load())
	// The policy and binding rule of the bundle are the strictest of every
	// chain that funds it, inside what the trust file allows.
	pol := trust.policy()
	binding, bindingWhy := 0, ""
	for i, k := range order {
		if kerrs[i] != nil {
			return keepRevoked(kerrs[i], fail("%v", kerrs[i]))
		}
		pol = chains[i].Policy(pol)
		// A chain's binding rule binds every key it signs, whatever
		// product the key names: the key's product is the issuer's word,
		// and its license types need not belong to it.
		if n, prod := chains[i].BindingAny(); n > binding {
			binding, bindingWhy = n, fmt.Sprintf("the certificates of key %s require %d for product %s", k.Serial, n, prod)
		}
		// The catalog's rule too binds a key by what it carries, whatever
		// product it names: the product of each of its license types.
		if n, prod := catalogBinding(v.catalog(), k); n > binding {
			binding, bindingWhy = n, fmt.Sprintf("the catalog requires %d for product %s", n, prod)
		}
		if !r.authorityOnly {
			r.Keys = append(r.Keys, KeyReport{Serial: k.Serial.String(), Issuer: k.Issuer.String(),
				Product: k.Product, Kind: k.Kind.String(), Bearer: k.Bearer, Chain: len(chains[i])})
		}
	}
	// The keys must cover the quotas: per key, no more than it holds; per
	// period and license type, the quota for the period's whole length;
	// and a key funds only time it could have been allocated to: a period
	// that had not ended when the key was issued, and that ends within the
	// years a redeemed key may wait plus the years a renewal may reach.
	// Sums are int64: on a 32-bit device quota × months could wrap.
	taken := map[licensekey.Ref]map[string]int64{}
	funded := make([]map[string]int64, len(b.Periods))
	// featureMonths[i][f]: license-months in period i from keys that carry
	// feature f; a feature is granted for a period its keys pay for.
	featureMonths := make([]map[string]int64, len(b.Periods))
	horizon := pol.UnallocatedExpiryYears + pol.MaxRenewalYears
	for i, f := range b.Funding {
		k := funders[i]
		ref := k.Ref()
		if taken[ref] == nil {
			taken[ref] = map[string]int64{}
		}
		taken[ref][f.License] += int64(f.Months)
		if c := int64(k.Capacity(f.License)); taken[ref][f.License] > c {
			return fail("key %s holds %d %s license-months, the bundle takes %d", k.Serial, c, f.License, taken[ref][f.License])
		}
		p := b.Periods[f.Period-1]
		if !p.Until.After(k.Issued) {
			return fail("key %s, issued %s, funds period %d, which ended %s before it was issued",
				k.Serial, k.Issued.Format(time.DateOnly), f.Period, p.Until.Format(time.DateOnly))
		}
		if last := k.Issued.AddDate(horizon, 0, 0); p.Until.After(last) {
			return fail("key %s, issued %s, funds period %d until %s: a key funds time until %s at most (%d years to allocate it, %d years ahead)",
				k.Serial, k.Issued.Format(time.DateOnly), f.Period, p.Until.Format(time.DateOnly),
				last.Format(time.DateOnly), pol.UnallocatedExpiryYears, pol.MaxRenewalYears)
		}
		if funded[f.Period-1] == nil {
			funded[f.Period-1] = map[string]int64{}
			featureMonths[f.Period-1] = map[string]int64{}
		}
		funded[f.Period-1][f.License] += int64(f.Months)
		for _, feat := range k.Features {
			featureMonths[f.Period-1][feat] += int64(f.Months)
		}
	}
	// Credit pays for periods too, in license-days, each bounded by what
	// its key paid for an earlier period that could not be used.
	creditDays, err := lc.checkCredits(b, pol, taken, funders)
	if err != nil {
		return err
	}
	r.periodFeatures = make([][]string, len(b.Periods))
	for i, p := range b.Periods {
		if longest := p.From.AddDate(pol.MaxRenewalYears, 0, 0); p.Until.After(longest) {
			return fail("period %d runs %s to %s, longer than the %d years the vendor's policy allows",
				i+1, p.From.Format(time.DateOnly), p.Until.Format(time.DateOnly), pol.MaxRenewalYears)
		}
		// A period that licenses nothing would need no key, and so no key
		// would bound its dates.
		if funded[i] == nil && creditDays[i] == nil {
			return fail("period %d (%s to %s) is funded by no key", i+1, p.From.Format(time.DateOnly), p.Until.Format(time.DateOnly))
		}
		months := int64(p.Months())
		positive := false
		for _, t := range slices.Sorted(maps.Keys(p.Quota)) {
			positive = positive || p.Quota[t] > 0
			if need := int64(p.Quota[t]) * months; !covered(p, funded[i][t], creditDays[i][t], need) {
				return fail("period %d: the keys fund %d %s license-months%s, its quota needs %d", i+1, funded[i][t], t, creditText(creditDays[i][t]), need)
			}
		}
		if !positive {
			return fail("period %d (%s to %s) licenses nothing", i+1, p.From.Format(time.DateOnly), p.Until.Format(time.DateOnly))
		}
		// A feature holds in a period if the keys that carry it fund at
		// least one license for the period's whole length.
		for _, feat := range b.Features {
			if featureMonths[i][feat] >= months {
				r.periodFeatures[i] = append(r.periodFeatures[i], feat)
			}
		}
	}
	features := map[string]bool{}
	for _, k := range order {
		for _, f := range k.Features {
			features[f] = true
		}
	}
	for _, f := range b.Features {
		if !features[f] {
			return fail("feature %q is granted by none of the keys", f)
		}
	}
	// The numbers the wallet wrote, inside the vendor's policy.
	// Dates compared as dates: a span of centuries saturates a Duration.
	if latest := b.Validity.Until.AddDate(0, 0, pol.GraceDays); b.Validity.GraceUntil.After(latest) {
		return fail("validity.grace_until: %s is more than %d days after the subscription ends (%s), the most the vendor's policy allows",
			b.Validity.GraceUntil.Format(time.DateOnly), pol.GraceDays, b.Validity.Until.Format(time.DateOnly))
	}
	if b.GrowthAllowancePercent > pol.GrowthAllowancePercent {
		return fail("growth_allowance_percent: %d; the vendor's policy allows %d", b.GrowthAllowancePercent, pol.GrowthAllowancePercent)
	}
	if b.AnalyticsRetentionDays > pol.AnalyticsRetentionDays {
		return fail("analytics_retention_days: %d; the vendor's policy allows %d", b.AnalyticsRetentionDays, pol.AnalyticsRetentionDays)
	}
	if n, why := v.lifecycleBinding(b); n > binding {
		binding, bindingWhy = n, why
	}
	if b.Binding.Required < binding {
		return fail("binding.required: %d hardware identifier%s; %s", b.Binding.Required, plural(b.Binding.Required), bindingWhy)
	}
	if err := checkShareSums(b); err != nil {
		return fail("%v", err)
	}
	// Hardware licenses, trials and the first-day grace (lifecycle.go).
	return lc.check(r, b, funders, creditDays)
}

// catalogBinding returns the highest binding_required of the catalog's
// products that sell k's product or any of its license types, and that
// product.
func catalogBinding(cat *catalog.Catalog, k *licensekey.Key) (int, string) {
	n, product := 0, ""
	consider := func(p *catalog.Product) {
		if p.BindingRequired > n {
			n, product = p.BindingRequired, p.Code
		}
	}
	if p, err := cat.Product(k.Product); err == nil {
		consider(p)
	}
	for _, l := range k.Licenses {
		if _, p, err := cat.LicenseType(l.Type); err == nil {
			consider(p)
		}
	}
	return n, product
}

// catalog returns the catalog of the options, or the default.
func (v *Verifier) catalog() *catalog.Catalog {
	if v.opts.Catalog != nil {
		return v.opts.Catalog
	}
	return catalog.Default()
}

// Authority checks that the bundle doc is signed by its wallet and that the
// wallet had the authority for everything it grants, as Bundle does, but
// not the time, binding, quotas or state: what `allot allocate` checks of a
// bundle before it writes it, so that it never writes one a device refuses.
func (v *Verifier) Authority(doc []byte) error {
	_, err := v.check(&Report{}, doc, true)
	return err
}

// parseCert parses a certificate document, or returns the one already
// parsed from the same bytes.
func (v *Verifier) parseCert(doc []byte) (*cert.Certificate, error) {
	v.mu.Lock()
	c, ok := v.certs[string(doc)]
	v.mu.Unlock()
	if ok {
		return c, nil
	}
	c, err := cert.Parse(doc)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	v.certs[string(doc)] = c
	v.certNum[c] = uint32(len(v.certNum))
	v.mu.Unlock()
	return c, nil
}

func checkTime(r *Report, b *bundle.Bundle, now time.Time) error {
	v := b.Validity
	t := &TimeReport{Now: now.UTC(), From: v.From, Until: v.Until, GraceUntil: v.GraceUntil}
	r.Time = t
	if ret, ok := AnalyticsRetention(b); ok {
		t.AnalyticsRetentionUntil = &ret
	}
	r.lifecycleTime(b, now)
	switch {
	case now.Before(v.From):
		t.DaysLeft = days(v.From.Sub(now))
		return fmt.Errorf("%w: valid from %s, it is %s", ErrNotYetValid, v.From.Format(time.DateOnly), now.UTC().Format(time.DateOnly))
	case now.Before(v.Until):
		t.DaysLeft = days(v.Until.Sub(now))
	case now.Before(v.GraceUntil):
		t.DaysLeft = days(v.GraceUntil.Sub(now))
		r.Warnings = append(r.Warnings, graceWarning(b))
	case len(b.Hardware) > 0 || b.Start():
		return afterGrace(r, b)
	default:
		retention := ""
		if t.AnalyticsRetentionUntil != nil {
			retention = "; analytics data is kept until " + t.AnalyticsRetentionUntil.Format(time.DateOnly)
		}
		return fmt.Errorf("%w: the subscription ended %s and its grace period %s%s", ErrExpired,
			v.Until.Format(time.DateOnly), v.GraceUntil.Format(time.DateOnly), retention)
	}
	return nil
}

// AnalyticsRetention returns the date until which a device keeps analytics
// data: the bundle's retention days after the analytics licenses end. They
// end with the last period that carries an analytics quota: at the end of
// the grace if that is the last period, else when that period ends (a
// renewal that dropped analytics). ok is false if no period carries
// analytics.
func AnalyticsRetention(b *bundle.Bundle) (time.Time, bool) {
	for i := len(b.Periods) - 1; i >= 0; i-- {
		p := b.Periods[i]
		for typ, q := range p.Quota {
			if q > 0 && licensekey.AnalyticsLevel(typ) > 0 {
				end := p.Until
				if i == len(b.Periods)-1 {
					end = b.Validity.GraceUntil
				}
				return end.AddDate(0, 0, b.AnalyticsRetentionDays), true
			}
		}
	}
	return time.Time{}, false
}

// days rounds d up to whole days, at least 0. time.Time.Sub saturates for
// spans longer than about 292 years, so d may be the largest Duration:
// dividing before rounding keeps that from wrapping.
func days(d time.Duration) int {
	const day = 24 * time.Hour
	n := d / day
	if d%day > 0 {
		n++
	}
	return int(max(0, n))
}

func checkBinding(r *Report, b *bundle.Bundle, machines func(string) ([]Machine, error)) error {
	br := &BindingReport{Status: BindingNotChecked, Required: b.Binding.Required}
	r.Binding = br
	if b.Binding.Required == 0 {
		br.Status = BindingUnbound
		return nil
	}
	if machines == nil {
		return nil
	}
	ms, err := machines(b.System)
	if err != nil {
		br.Status = BindingMismatch
		return err
	}
	br.Checked, br.Status = true, BindingMatched
	// A machine matches a server if at least the required number of its
	// identifiers, and more than half of the server's, are the server's:
	// one server entry listing the identifiers of several machines cannot
	// license each of them.
	// Index the servers by identifier once: a machine's identifiers are
	// then counted against every server in one pass, linear in the
	// bundle's size however many servers it lists.
	where := map[string][]int{}
	of := make([]int, len(b.Binding.Servers))
	for i, s := range b.Binding.Servers {
		for _, id := range s.Identifiers {
			if at := where[id]; len(at) == 0 || at[len(at)-1] != i {
				where[id] = append(at, i)
				of[i]++
			}
		}
	}
	counts := make([]int, len(b.Binding.Servers))
	for _, m := range ms {
		clear(counts)
		seen := map[string]bool{}
		for _, id := range m.Identifiers {
			if seen[id] {
				continue
			}
			seen[id] = true
			for _, i := range where[id] {
				counts[i]++
			}
		}
		best, bestServer, bestOf := 0, "", 0
		for i, s := range b.Binding.Servers {
			if n := counts[i]; n > best || n == best && of[i] < bestOf {
				best, bestServer, bestOf = n, s.Name, of[i]
			}
		}
		br.Matched, br.Server = best, bestServer
		if best < b.Binding.Required {
			br.Status = BindingMismatch
			return fmt.Errorf("%w: %s matches %d identifier%s of a licensed server, %d required",
				ErrBinding, m.Name, best, plural(best), b.Binding.Required)
		}
		if 2*best <= bestOf {
			br.Status = BindingMismatch
			return fmt.Errorf("%w: %s matches %d of the %d identifiers of server %s; more than half must match",
				ErrBinding, m.Name, best, bestOf, bestServer)
		}
	}
	if len(ms) == 1 {
		r.machineServer = br.Server
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func checkQuotas(r *Report, b *bundle.Bundle, opts Options) error {
	per, _ := b.Period(opts.Now)
	r.reportShares(b, opts.Now)
	u := opts.Usage
	if u != nil && u.System != b.System {
		return errclass.New(ErrMalformed, "the usage file is for system %q, the bundle licenses %q", u.System, b.System)
	}
	// The period's quotas, plus the hardware licenses of the devices
	// that report using them (lifecycle.go).
	quota, err := r.quotaInForce(b, per, u)
	if err != nil {
		return err
	}
	if u == nil {
		for _, t := range slices.Sorted(maps.Keys(quota)) {
			r.Quotas = append(r.Quotas, QuotaReport{License: t, Allowed: quota[t], Status: "not-checked"})
		}
		return nil
	}
	licensed := map[string]bool{}
	for _, s := range b.Binding.Servers {
		licensed[s.Name] = true
	}
	reported := map[string]bool{}
	used := map[string]int64{}
	for _, s := range u.Servers {
		if !licensed[s.Name] {
			return fmt.Errorf("%w: server %q uses licenses but is not a server of this bundle", ErrBinding, s.Name)
		}
		reported[s.Name] = true
		used["camera"] += int64(s.Cameras)
		used["intercom"] += int64(s.Intercoms)
	}
	// The quotas are the whole system's: a bundle of several servers that
	// does not divide them into shares is checked against what all of
	// them use, or each server could use the whole pool on its own.
	if len(b.Binding.Servers) > 1 && !b.Shared() {
		for _, s := range b.Binding.Servers {
			if !reported[s.Name] {
				return fmt.Errorf("%w: the bundle licenses %d servers and its quotas are shared: the usage file must report every one of them, and lacks server %q",
					ErrQuota, len(b.Binding.Servers), s.Name)
			}
		}
	}
	var failed []string
	growth := int64(b.GrowthAllowancePercent)
	for _, t := range []string{"camera", "intercom"} {
		if f := r.checkCount("", t, quota[t], used[t], growth, int64(per.Quota[t])); f != "" {
			failed = append(failed, f)
		}
	}
	need, err := AnalyticsNeed(u, opts.Catalog)
	if err != nil {
		return err
	}
	if f := r.checkAnalytics("", quota, need); f != "" {
		failed = append(failed, f)
	}
	if b.Shared() {
		f, err := r.checkShares(b, opts.Now, u, need)
		if err != nil {
			return err
		}
		failed = append(failed, f...)
	}
	granted := r.featuresAt(b, opts.Now)
	for _, f := range u.Features {
		if !slices.Contains(granted, f) {
			failed = append(failed, fmt.Sprintf("feature %q is used but not licensed now", f))
		}
	}
	if len(failed) > 0 && r.unlimited() {
		// The first-day grace licenses no quota and limits none.
		failed = nil
	}
	if len(failed) > 0 {
		msg := failed[0]
		if len(failed) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(failed)-1)
		}
		return fmt.Errorf("%w: %s", ErrQuota, msg)
	}
	return nil
}

// checkCount compares the cameras or intercoms (t) used with what is
// allowed, for the pool (server "") or a server's share, with the growth
// allowance on base, the part of allowed a subscription period grants
// (perpetual hardware units earn none: there is no renewal to catch up
// with); it adds the row, and any warning, to the report and returns
// the failure, or "". A type with neither quota nor usage is not reported.
func (r *Report) checkCount(server, t string, allowed, used, growth, base int64) string {
	if used == 0 && allowed == 0 {
		return ""
	}
	who := ""
	if server != "" {
		who = "server " + server + ": "
	}
	q := QuotaReport{Server: server, License: t, Allowed: allowed, Used: used, Limit: allowed + base*growth/100, Status: "ok"}
	failed := ""
	switch {
	case q.Used > q.Limit:
		q.Status = "exceeded"
		failed = fmt.Sprintf("%s%s: %d used, %d allowed (%d with the growth allowance)", who, t, q.Used, q.Allowed, q.Limit)
	case q.Used > q.Allowed:
		q.Status = "growth"
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s%s: %d used, %d allocated: within the %d%% growth allowance until the next renewal", who, t, q.Used, q.Allowed, growth))
	}
	r.Quotas = append(r.Quotas, q)
	return failed
}

// checkAnalytics compares the camera assignments per analytics level with
// the analytics quotas of quota, the pool's (server "") or servers'
// shares; it adds the rows to the report and returns the failure, or "".
// Levels 1-3 license their own types; level 4 licenses all, and takes what
// each lower level cannot cover.
func (r *Report) checkAnalytics(server string, quota map[string]int64, need [5]int64) string {
	var overflow int64
	for lvl := 1; lvl <= 3; lvl++ {
		t := fmt.Sprintf("analytics-l%d", lvl)
		allowed := quota[t]
		if need[lvl] == 0 && allowed == 0 {
			continue
		}
		q := QuotaReport{Server: server, License: t, Allowed: allowed, Used: need[lvl], Limit: allowed, Status: "ok"}
		if need[lvl] > allowed {
			overflow += need[lvl] - allowed
			q.Status = "level-4" // the excess is counted against level 4
		}
		r.Quotas = append(r.Quotas, q)
	}
	l4 := quota["analytics-l4"]
	if l4 == 0 && overflow == 0 {
		return ""
	}
	q := QuotaReport{Server: server, License: "analytics-l4", Allowed: l4, Used: overflow, Limit: l4, Status: "ok"}
	failed := ""
	if overflow > l4 {
		q.Status = "exceeded"
		who := ""
		if server != "" {
			who = "server " + server + ": "
		}
		failed = fmt.Sprintf("%sanalytics: %d camera assignments are not covered by a license of their level or level 4", who, overflow-l4)
	}
	r.Quotas = append(r.Quotas, q)
	return failed
}

// featuresAt returns the features the period in force at t grants (the
// last period's in its grace).
func (r *Report) featuresAt(b *bundle.Bundle, t time.Time) []string {
	for i, p := range b.Periods {
		if !t.Before(p.From) && t.Before(p.Until) && i < len(r.periodFeatures) {
			return r.periodFeatures[i]
		}
	}
	if n := len(r.periodFeatures); n > 0 && !t.Before(b.Validity.Until) && t.Before(b.Validity.GraceUntil) {
		return r.periodFeatures[n-1]
	}
	return nil
}

// quota64 returns quotas as 64-bit numbers, for sums that must not wrap.
func quota64(q map[string]int) map[string]int64 {
	m := make(map[string]int64, len(q))
	for t, v := range q {
		m[t] = int64(v)
	}
	return m
}

// AnalyticsNeed returns the camera assignments of u per analytics level,
// need[1] to need[3], each type counted at the level that licenses it (see
// analyticsLevel; cat nil is the embedded catalog). An analytics type that
// no catalog knows is malformed input.
func AnalyticsNeed(u *Usage, cat *catalog.Catalog) (need [5]int64, err error) {
	for _, a := range u.Analytics {
		lvl, err := analyticsLevel(cat, a.Type)
		if err != nil {
			return need, errclass.New(ErrMalformed, "usage file: %v", err)
		}
		need[lvl] += int64(a.Cameras)
	}
	return need, nil
}

// analyticsLevel returns the level that licenses an analytics type: the
// embedded catalog's, or cat's where that is higher or the embedded catalog
// does not know the type.
func analyticsLevel(cat *catalog.Catalog, typ string) (int, error) {
	lvl, err := catalog.Default().AnalyticsLevel(typ)
	if cat != nil {
		if l, cerr := cat.AnalyticsLevel(typ); cerr == nil && l > lvl {
			lvl, err = l, nil
		}
	}
	return lvl, err
}
