// Package bundle reads and writes license bundles (*.lic): what `allot
// allocate` produces and a device verifies.
//
// A bundle is a signed document (package sign): a TOML payload a person can
// read, followed by an armored SSHSIG over its exact bytes under the
// namespace "allot-bundle-v1", made by the wallet's signer. The payload holds
// the system's hardware binding, its subscription periods with their quotas,
// the license keys that fund it and their issuers' certificates. Open checks
// the signature before it parses anything, and never re-encodes to check.
//
// Open proves only that the wallet signed the bundle. Whether the wallet had
// the authority (the keys chain to a vendor root, are issued to this wallet,
// and cover the quotas) is package verify's business.
package bundle

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/payload"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/tree"
)

// Namespace is the SSHSIG namespace of bundles.
const Namespace = "allot-bundle-v1"

// Version is the payload version this package writes and reads.
const Version = 1

// Limits a reader enforces.
const (
	MaxSize         = 4 << 20
	MaxFunding      = 2048
	MaxCertificates = 256
	MaxPeriods      = 16
	MaxServers      = 1024
)

// Errors by class.
var (
	// ErrMalformed: the file is not a bundle, or its payload is invalid.
	ErrMalformed = errclass.Sentinel(errclass.Input, "malformed bundle")
	// ErrSignature: the signature does not verify, or is not the wallet's.
	ErrSignature = sign.ErrSignature
)

// Bundle is a parsed bundle.
type Bundle struct {
	ID                     string
	Sequence               int
	Organization           string
	System                 string
	Issued                 time.Time
	WalletID               licensekey.WalletID
	WalletKey              sign.PublicKey
	Features               []string
	AnalyticsRetentionDays int
	GrowthAllowancePercent int
	Validity               Validity
	Binding                Binding
	Periods                []Period
	Shares                 []Share // a floating system's pool per server (shares.go)
	Funding                []Funding
	Certificates           [][]byte   // certificate documents
	Lifecycle                         // credits and hardware licenses (lifecycle.go)
	Tree                   *tree.Tree // the quota tree, or nil (tree.go)

	model *tree.Model // Tree, its structure checked (tree.go)

	doc []byte
}

// Validity is the span a bundle licenses, and the grace after it.
type Validity struct {
	From       time.Time `toml:"from" json:"from"`
	Until      time.Time `toml:"until" json:"until"`
	GraceUntil time.Time `toml:"grace_until" json:"grace_until"`
}

// Binding lists the servers a bundle runs on and how many identifiers of a
// server must match.
type Binding struct {
	Required int      `toml:"required" json:"required"`
	Servers  []Server `toml:"server" json:"servers"`
}

// Server is one licensed server and its hashed identifiers.
type Server struct {
	Name        string   `toml:"name" json:"name"`
	Identifiers []string `toml:"identifiers" json:"identifiers"`
	// OrgIdentifiers are the same identifiers keyed by the organization
	// (hwid.OrgHash), for allocate and audit to find one machine in two
	// systems. A device never uses them for the binding.
	OrgIdentifiers []string `toml:"org_identifiers" json:"org_identifiers,omitempty"`
}

// Period is a subscription period (one or more subscription years) with its
// quotas per license type.
type Period struct {
	From  time.Time      `toml:"from" json:"from"`
	Until time.Time      `toml:"until" json:"until"`
	Quota map[string]int `toml:"quota" json:"quota"`
}

// Months returns the period's length in months, a month begun counting as a
// whole one: what its quotas cost in license-months.
func (p Period) Months() int {
	m := MonthsBetween(p.From, p.Until)
	if AddMonths(p.From, m).Before(p.Until) {
		m++
	}
	return m
}

// Funding is an amount of one license type taken from one key for one
// period: license-months for subscription keys.
type Funding struct {
	Key     string `toml:"key" json:"key"`
	Period  int    `toml:"period" json:"period"` // 1-based index into Periods
	License string `toml:"license" json:"license"`
	Months  int    `toml:"months" json:"months"`
}

// Document returns the signed bundle exactly as read or written.
func (b *Bundle) Document() []byte { return b.doc }

// Open verifies a bundle's signature and then parses it. The signature must
// be by the wallet key the payload names.
func Open(doc []byte) (*Bundle, error) {
	if len(doc) > MaxSize {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrMalformed, MaxSize>>20)
	}
	body, signer, err := sign.Open(doc, Namespace)
	if err != nil {
		if errors.Is(err, sign.ErrSignature) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	b, err := parse(body)
	if err != nil {
		return nil, err
	}
	if !b.WalletKey.Key.Equal(signer) {
		return nil, fmt.Errorf("%w: signed by key %s, not by the wallet key the bundle names", ErrSignature, sign.IDOf(signer))
	}
	b.doc = doc
	return b, nil
}

func parse(body []byte) (*Bundle, error) {
	// One copy of the payload, of which every string of the bundle is a
	// piece, whichever path reads it.
	text := payload.Text(body)
	if spanOn {
		if b, err, ok := parseSpan(text); ok {
			return b, err
		}
	}
	var b *Bundle
	var err error
	if perr := payload.ParseHoleFunc(text, 0, 0, func(secs []payload.Section) error {
		b, err = parseSectionsOf(secs, nil)
		return nil
	}); perr != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, perr)
	}
	return b, err
}

// parseSectionsOf reads a bundle from its payload's sections, and the
// tree parseSpan read from the run of sections it took out of them, if
// not nil.
func parseSectionsOf(secs []payload.Section, tr *tree.Tree) (*Bundle, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	b := &Bundle{}
	// The version decides the layout, so it is checked before anything
	// else is read.
	if v, ok := payload.Version(secs); ok && v != Version {
		return nil, fail("version: %d, want %d", v, Version)
	}
	top := payload.NewTable(&secs[0])
	top.Int("version")
	b.ID = top.String("id")
	b.Sequence = top.Int("sequence")
	b.Organization = top.String("organization")
	b.System = top.String("system")
	b.Issued = top.Time("issued")
	walletID := top.String("wallet_id")
	walletKey := top.String("wallet_key")
	b.Features = top.Strings("features")
	b.AnalyticsRetentionDays = top.Int("analytics_retention_days")
	b.GrowthAllowancePercent = top.Int("growth_allowance_percent")
	if err := top.Done(); err != nil {
		return nil, fail("%v", err)
	}
	wk, err := sign.ParseAuthorized(walletKey)
	if err != nil {
		return nil, fail("wallet_key: %v", err)
	}
	b.WalletKey = wk
	if b.WalletID, err = licensekey.ParseWalletID(walletID); err != nil {
		return nil, fail("wallet_id: %v", err)
	}
	if licensekey.WalletIDOf(wk.Key) != b.WalletID {
		return nil, fail("wallet_id: %s is not the id of wallet_key", b.WalletID)
	}
	seen := map[string]bool{}
	if b.Tree = tr; tr == nil {
		b.sizeTree(secs)
	}
	t := &payload.Table{}
	for i := 1; i < len(secs); i++ {
		sec := &secs[i]
		t.Reset(sec)
		switch {
		case sec.Name == "validity" && !sec.Array && !seen["validity"]:
			b.Validity = Validity{From: t.Time("from"), Until: t.Time("until"), GraceUntil: t.Time("grace_until")}
		case sec.Name == "binding" && !sec.Array && !seen["binding"]:
			b.Binding.Required = t.Int("required")
		case sec.Name == "binding.server" && sec.Array && seen["binding"]:
			if len(b.Binding.Servers) == MaxServers {
				return nil, fail("line %d: more than %d servers", sec.Line, MaxServers)
			}
			srv := Server{Name: t.String("name"), Identifiers: t.Strings("identifiers")}
			if t.Has("org_identifiers") {
				srv.OrgIdentifiers = t.Strings("org_identifiers")
			}
			b.Binding.Servers = append(b.Binding.Servers, srv)
		case sec.Name == "period" && sec.Array:
			if len(b.Periods) == MaxPeriods {
				return nil, fail("line %d: more than %d periods", sec.Line, MaxPeriods)
			}
			b.Periods = append(b.Periods, Period{From: t.Time("from"), Until: t.Time("until")})
		case sec.Name == "period.quota" && !sec.Array && len(b.Periods) > 0 && b.Periods[len(b.Periods)-1].Quota == nil:
			b.Periods[len(b.Periods)-1].Quota = t.IntMap()
		case sec.Name == "share" && sec.Array, sec.Name == "share.quota" && !sec.Array:
			if err := b.parseShare(sec, t); err != nil {
				return nil, fail("%v", err)
			}
		case sec.Name == "funding" && sec.Array:
			if len(b.Funding) == MaxFunding {
				return nil, fail("line %d: more than %d funding entries", sec.Line, MaxFunding)
			}
			b.Funding = append(b.Funding, Funding{Key: t.String("key"), Period: t.Int("period"), License: t.String("license"), Months: t.Int("months")})
		case sec.Name == "certificate" && sec.Array:
			if len(b.Certificates) == MaxCertificates {
				return nil, fail("line %d: more than %d certificates", sec.Line, MaxCertificates)
			}
			d, err := base64.StdEncoding.Strict().DecodeString(t.String("document"))
			if err != nil {
				return nil, fail("line %d: certificate.document: not base64", sec.Line)
			}
			b.Certificates = append(b.Certificates, d)
		case isLifecycle(sec):
			if err := b.parseLifecycle(sec, t); err != nil {
				return nil, err
			}
		default:
			if ok, err := b.parseTree(sec, t); err != nil {
				return nil, fail("%v", err)
			} else if !ok {
				return nil, fail("line %d: unexpected [%s]", sec.Line, sec.Name)
			}
		}
		if err := t.Done(); err != nil {
			return nil, fail("%v", err)
		}
		if !sec.Array { // seen guards tables read once, never arrays
			seen[sec.Name] = true
		}
	}
	for i, p := range b.Periods {
		if p.Quota == nil {
			return nil, fail("period[%d]: no [period.quota]", i+1)
		}
	}
	if err := b.checkSharesParsed(); err != nil {
		return nil, fail("%v", err)
	}
	if err := b.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return b, nil
}

func (b *Bundle) validate() error {
	if b.ID == "" || len(b.ID) > 64 {
		return errors.New("id: want 1 to 64 characters")
	}
	if b.Sequence < 1 {
		return fmt.Errorf("sequence: %d, want 1 or more", b.Sequence)
	}
	// Ids reach the device state's lines: they hold no white space.
	if err := system.ValidID(b.System); err != nil {
		return fmt.Errorf("system: %v", err)
	}
	if b.Issued.IsZero() {
		return errors.New("issued: missing")
	}
	for _, t := range append([]time.Time{b.Issued, b.Validity.From, b.Validity.Until, b.Validity.GraceUntil}, periodTimes(b.Periods)...) {
		if !payload.ValidTime(t) {
			return fmt.Errorf("date %s: want a year from %d to %d", t.UTC().Format(time.RFC3339), payload.MinYear, payload.MaxYear)
		}
	}
	v := b.Validity
	// A bundle of no period is a first-day grace (lifecycle.go).
	if v.From.IsZero() || !v.Until.After(v.From) && !b.Start() || v.GraceUntil.Before(v.Until) {
		return errors.New("validity: want from < until <= grace_until")
	}
	if len(b.Periods) > MaxPeriods {
		return fmt.Errorf("period: want 1 to %d periods", MaxPeriods)
	}
	for i, p := range b.Periods {
		field := fmt.Sprintf("period[%d]", i+1)
		if !p.Until.After(p.From) {
			return fmt.Errorf("%s: until must be after from", field)
		}
		if i == 0 && !p.From.Equal(v.From) || i > 0 && !p.From.Equal(b.Periods[i-1].Until) {
			return fmt.Errorf("%s: periods must follow each other from validity.from", field)
		}
		for t, q := range p.Quota {
			if err := licensekey.ValidName(t); err != nil {
				return fmt.Errorf("%s.quota: %v", field, err)
			}
			if q < 0 || q > licensekey.MaxQuantity*100 {
				return fmt.Errorf("%s.quota.%s: %d out of range", field, t, q)
			}
		}
	}
	if n := len(b.Periods); n > 0 && !b.Periods[n-1].Until.Equal(v.Until) {
		return errors.New("validity.until: not the end of the last period")
	}
	if r := b.Binding.Required; r < 0 || r > hwidMax {
		return fmt.Errorf("binding.required: %d out of range", r)
	}
	if len(b.Binding.Servers) == 0 || len(b.Binding.Servers) > MaxServers {
		return fmt.Errorf("binding.server: want 1 to %d servers", MaxServers)
	}
	names := make(map[string]bool, len(b.Binding.Servers))
	for i, s := range b.Binding.Servers {
		if err := system.ValidID(s.Name); err != nil {
			return fmt.Errorf("binding.server[%d].name: %v", i+1, err)
		}
		// Usage files report servers by name: two entries of one name
		// would be two machines counted as one.
		if names[s.Name] {
			return fmt.Errorf("binding.server[%d].name: %q is listed twice", i+1, s.Name)
		}
		names[s.Name] = true
		if len(s.Identifiers) < b.Binding.Required || len(s.Identifiers) > hwidMax {
			return fmt.Errorf("binding.server[%d].identifiers: %d, want %d to %d", i+1, len(s.Identifiers), b.Binding.Required, hwidMax)
		}
		for _, h := range s.Identifiers {
			if err := hwid.ValidHash(h); err != nil {
				return fmt.Errorf("binding.server[%d].identifiers: %v", i+1, err)
			}
		}
		if len(s.OrgIdentifiers) > hwidMax {
			return fmt.Errorf("binding.server[%d].org_identifiers: %d, at most %d", i+1, len(s.OrgIdentifiers), hwidMax)
		}
		for _, h := range s.OrgIdentifiers {
			if err := hwid.ValidHash(h); err != nil {
				return fmt.Errorf("binding.server[%d].org_identifiers: %v", i+1, err)
			}
		}
	}
	if err := b.validateShares(); err != nil {
		return err
	}
	if b.GrowthAllowancePercent < 0 || b.AnalyticsRetentionDays < 0 {
		return errors.New("growth_allowance_percent and analytics_retention_days: want 0 or more")
	}
	if len(b.Funding) == 0 && !b.Start() || len(b.Funding) > MaxFunding {
		return fmt.Errorf("funding: want 1 to %d entries", MaxFunding)
	}
	for i, f := range b.Funding {
		// No key holds more than this, and the bound keeps sums of months
		// far from overflowing on a 32-bit device.
		if f.Months < 1 || f.Months > licensekey.MaxQuantity*licensekey.MaxTermMonths {
			return fmt.Errorf("funding[%d].months: %d, want 1 to %d", i+1, f.Months, licensekey.MaxQuantity*licensekey.MaxTermMonths)
		}
		if f.Period < 1 || f.Period > len(b.Periods) {
			return fmt.Errorf("funding[%d].period: %d, want 1 to %d", i+1, f.Period, len(b.Periods))
		}
		if err := licensekey.ValidName(f.License); err != nil {
			return fmt.Errorf("funding[%d].license: %v", i+1, err)
		}
		if len(f.Key) > licensekey.MaxTextLen {
			return fmt.Errorf("funding[%d].key: too long", i+1)
		}
	}
	for _, f := range b.Features {
		if err := licensekey.ValidName(f); err != nil {
			return fmt.Errorf("features: %v", err)
		}
	}
	if err := b.validateLifecycle(); err != nil {
		return err
	}
	return b.validateTree()
}

const hwidMax = 32

func periodTimes(ps []Period) []time.Time {
	var ts []time.Time
	for _, p := range ps {
		ts = append(ts, p.From, p.Until)
	}
	return ts
}

// Period returns the period in force at t: the one containing t, or the last
// one if t is in the grace after it. ok is false outside the validity.
func (b *Bundle) Period(t time.Time) (p Period, ok bool) {
	if i, ok := b.PeriodIndex(t); ok {
		return b.Periods[i], true
	}
	return Period{}, false
}

// Seal writes b's payload, signs it with the wallet's private key, and
// returns the document. b.WalletKey and b.WalletID are set from priv.
func Seal(b *Bundle, priv ed25519.PrivateKey) ([]byte, error) {
	pub := priv.Public().(ed25519.PublicKey)
	b.WalletKey.Key = pub
	b.WalletID = licensekey.WalletIDOf(pub)
	if err := b.validate(); err != nil {
		return nil, err
	}
	doc, err := sign.Seal(priv, Namespace, b.writePayload())
	if err != nil {
		return nil, err
	}
	b.doc = doc
	return doc, nil
}

func (b *Bundle) writePayload() []byte {
	var w payload.Writer
	w.Comment(fmt.Sprintf("allot license bundle for system %q. Signed below by the organization's", b.System))
	w.Comment("wallet: any change breaks the signature. Check it with `allot verify`.")
	w.Int("version", Version)
	w.String("id", b.ID)
	w.Int("sequence", b.Sequence)
	w.String("organization", b.Organization)
	w.String("system", b.System)
	w.Time("issued", b.Issued)
	w.String("wallet_id", b.WalletID.String())
	w.String("wallet_key", b.WalletKey.String())
	w.Strings("features", b.Features)
	w.Int("analytics_retention_days", b.AnalyticsRetentionDays)
	w.Int("growth_allowance_percent", b.GrowthAllowancePercent)
	w.Table("validity")
	w.Time("from", b.Validity.From)
	w.Time("until", b.Validity.Until)
	w.Time("grace_until", b.Validity.GraceUntil)
	w.Table("binding")
	w.Int("required", b.Binding.Required)
	for _, s := range b.Binding.Servers {
		w.ArrayTable("binding.server")
		w.String("name", s.Name)
		w.Strings("identifiers", s.Identifiers)
		if len(s.OrgIdentifiers) > 0 {
			w.Strings("org_identifiers", s.OrgIdentifiers)
		}
	}
	for _, p := range b.Periods {
		w.ArrayTable("period")
		w.Time("from", p.From)
		w.Time("until", p.Until)
		w.SubTable("period.quota")
		for _, t := range slices.Sorted(maps.Keys(p.Quota)) {
			w.Int(t, p.Quota[t])
		}
	}
	b.writeShares(&w)
	b.writeTree(&w)
	for _, f := range b.Funding {
		w.ArrayTable("funding")
		w.String("key", f.Key)
		w.Int("period", f.Period)
		w.String("license", f.License)
		w.Int("months", f.Months)
	}
	b.writeLifecycle(&w)
	for _, c := range b.Certificates {
		w.ArrayTable("certificate")
		w.String("document", base64.StdEncoding.EncodeToString(c))
	}
	return w.Bytes()
}

// MonthsBetween returns the whole months from a to b: the largest m with
// AddMonths(a, m) not after b.
func MonthsBetween(a, b time.Time) int {
	a, b = a.UTC(), b.UTC()
	m := (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
	for m > 0 && AddMonths(a, m).After(b) {
		m--
	}
	return max(m, 0)
}

// AddMonths adds m months to t, keeping the day of the month but clamping
// it to the month's last day: January 31 plus one month is February 28 (or
// 29), not March 3 as time.AddDate has it.
func AddMonths(t time.Time, m int) time.Time {
	t = t.UTC()
	y, mo, d := t.Date()
	first := time.Date(y, mo+time.Month(m), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// FormatQuota prints quotas as "camera=40, intercom=4", sorted by type.
func FormatQuota(q map[string]int) string {
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(q)) {
		parts = append(parts, fmt.Sprintf("%s=%d", t, q[t]))
	}
	return strings.Join(parts, ", ")
}
