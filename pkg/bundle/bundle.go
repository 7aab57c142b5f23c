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
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/tomlfile"
)

// Namespace is the SSHSIG namespace of bundles.
const Namespace = "allot-bundle-v1"

// Version is the payload version this package writes and reads.
const Version = 1

// Limits a reader enforces.
const (
	MaxSize         = 4 << 20
	MaxFunding      = 10_000
	MaxCertificates = 256
	MaxPeriods      = 16
	MaxServers      = 1024
)

// Errors by class.
var (
	// ErrMalformed: the file is not a bundle, or its payload is invalid.
	ErrMalformed = errors.New("malformed bundle")
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
	Funding                []Funding
	Certificates           [][]byte // certificate documents

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
}

// Period is a subscription period (one or more subscription years) with its
// quotas per license type.
type Period struct {
	From  time.Time      `toml:"from" json:"from"`
	Until time.Time      `toml:"until" json:"until"`
	Quota map[string]int `toml:"quota" json:"quota"`
}

// Months returns the period's length in whole months.
func (p Period) Months() int { return MonthsBetween(p.From, p.Until) }

// Funding is an amount of one license type taken from one key: license-months
// for subscription keys.
type Funding struct {
	Key     string `toml:"key" json:"key"`
	License string `toml:"license" json:"license"`
	Months  int    `toml:"months" json:"months"`
}

// Document returns the signed bundle exactly as read or written.
func (b *Bundle) Document() []byte { return b.doc }

type payload struct {
	Version                int                 `toml:"version"`
	ID                     string              `toml:"id"`
	Sequence               int                 `toml:"sequence"`
	Organization           string              `toml:"organization"`
	System                 string              `toml:"system"`
	Issued                 time.Time           `toml:"issued"`
	WalletID               licensekey.WalletID `toml:"wallet_id"`
	WalletKey              string              `toml:"wallet_key"`
	Features               []string            `toml:"features"`
	AnalyticsRetentionDays int                 `toml:"analytics_retention_days"`
	GrowthAllowancePercent int                 `toml:"growth_allowance_percent"`
	Validity               Validity            `toml:"validity"`
	Binding                Binding             `toml:"binding"`
	Periods                []Period            `toml:"period"`
	Funding                []Funding           `toml:"funding"`
	Certificates           []struct {
		Document string `toml:"document"`
	} `toml:"certificate"`
}

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
	var p payload
	md, err := toml.Decode(string(body), &p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		return nil, fmt.Errorf("%w: unknown field %q", ErrMalformed, u[0].String())
	}
	fail := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrMalformed, field, fmt.Sprintf(format, args...))
	}
	if p.Version != Version {
		return nil, fail("version", "%d, want %d", p.Version, Version)
	}
	wk, err := sign.ParseAuthorized(p.WalletKey)
	if err != nil {
		return nil, fail("wallet_key", "%v", err)
	}
	if licensekey.WalletIDOf(wk.Key) != p.WalletID {
		return nil, fail("wallet_id", "%s is not the id of wallet_key", p.WalletID)
	}
	b := &Bundle{
		ID: p.ID, Sequence: p.Sequence, Organization: p.Organization, System: p.System,
		Issued: p.Issued, WalletID: p.WalletID, WalletKey: wk, Features: p.Features,
		AnalyticsRetentionDays: p.AnalyticsRetentionDays, GrowthAllowancePercent: p.GrowthAllowancePercent,
		Validity: p.Validity, Binding: p.Binding, Periods: p.Periods, Funding: p.Funding,
	}
	if len(p.Certificates) > MaxCertificates {
		return nil, fail("certificate", "%d certificates, at most %d", len(p.Certificates), MaxCertificates)
	}
	for i, c := range p.Certificates {
		d, err := base64.StdEncoding.DecodeString(c.Document)
		if err != nil {
			return nil, fail(fmt.Sprintf("certificate[%d].document", i+1), "not base64")
		}
		b.Certificates = append(b.Certificates, d)
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
	if b.System == "" {
		return errors.New("system: missing")
	}
	if b.Issued.IsZero() {
		return errors.New("issued: missing")
	}
	v := b.Validity
	if v.From.IsZero() || !v.Until.After(v.From) || v.GraceUntil.Before(v.Until) {
		return errors.New("validity: want from < until <= grace_until")
	}
	if len(b.Periods) == 0 || len(b.Periods) > MaxPeriods {
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
	if last := b.Periods[len(b.Periods)-1]; !last.Until.Equal(v.Until) {
		return errors.New("validity.until: not the end of the last period")
	}
	if r := b.Binding.Required; r < 0 || r > hwidMax {
		return fmt.Errorf("binding.required: %d out of range", r)
	}
	if len(b.Binding.Servers) == 0 || len(b.Binding.Servers) > MaxServers {
		return fmt.Errorf("binding.server: want 1 to %d servers", MaxServers)
	}
	for i, s := range b.Binding.Servers {
		if s.Name == "" {
			return fmt.Errorf("binding.server[%d].name: missing", i+1)
		}
		if len(s.Identifiers) < b.Binding.Required || len(s.Identifiers) > hwidMax {
			return fmt.Errorf("binding.server[%d].identifiers: %d, want %d to %d", i+1, len(s.Identifiers), b.Binding.Required, hwidMax)
		}
		for _, h := range s.Identifiers {
			if err := hwid.ValidHash(h); err != nil {
				return fmt.Errorf("binding.server[%d].identifiers: %v", i+1, err)
			}
		}
	}
	if len(b.Funding) == 0 || len(b.Funding) > MaxFunding {
		return fmt.Errorf("funding: want 1 to %d entries", MaxFunding)
	}
	for i, f := range b.Funding {
		if f.Months < 1 {
			return fmt.Errorf("funding[%d].months: %d, want 1 or more", i+1, f.Months)
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
	return nil
}

const hwidMax = 32

// Period returns the period in force at t: the one containing t, or the last
// one if t is in the grace after it. ok is false outside the validity.
func (b *Bundle) Period(t time.Time) (p Period, ok bool) {
	for _, p := range b.Periods {
		if !t.Before(p.From) && t.Before(p.Until) {
			return p, true
		}
	}
	if !t.Before(b.Validity.Until) && t.Before(b.Validity.GraceUntil) {
		return b.Periods[len(b.Periods)-1], true
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
	var w bytes.Buffer
	b.writePayload(&w)
	doc, err := sign.Seal(priv, Namespace, w.Bytes())
	if err != nil {
		return nil, err
	}
	b.doc = doc
	return doc, nil
}

func (b *Bundle) writePayload(w io.Writer) {
	q := tomlfile.Quote
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	fmt.Fprintf(w, "# allot license bundle for system %s. Signed below by the organization's\n", q(b.System))
	fmt.Fprintf(w, "# wallet: any change breaks the signature. Check it with `allot verify`.\n")
	fmt.Fprintf(w, "version = %d\n", Version)
	fmt.Fprintf(w, "id = %s\n", q(b.ID))
	fmt.Fprintf(w, "sequence = %d\n", b.Sequence)
	fmt.Fprintf(w, "organization = %s\n", q(b.Organization))
	fmt.Fprintf(w, "system = %s\n", q(b.System))
	fmt.Fprintf(w, "issued = %s\n", ts(b.Issued))
	fmt.Fprintf(w, "wallet_id = %s\n", q(b.WalletID.String()))
	fmt.Fprintf(w, "wallet_key = %s\n", q(b.WalletKey.String()))
	fmt.Fprintf(w, "features = %s\n", tomlfile.QuoteList(b.Features))
	fmt.Fprintf(w, "analytics_retention_days = %d\n", b.AnalyticsRetentionDays)
	fmt.Fprintf(w, "growth_allowance_percent = %d\n", b.GrowthAllowancePercent)
	fmt.Fprintf(w, "\n[validity]\nfrom = %s\nuntil = %s\ngrace_until = %s\n",
		ts(b.Validity.From), ts(b.Validity.Until), ts(b.Validity.GraceUntil))
	fmt.Fprintf(w, "\n[binding]\nrequired = %d\n", b.Binding.Required)
	for _, s := range b.Binding.Servers {
		fmt.Fprintf(w, "\n[[binding.server]]\nname = %s\nidentifiers = %s\n", q(s.Name), tomlfile.QuoteList(s.Identifiers))
	}
	for _, p := range b.Periods {
		fmt.Fprintf(w, "\n[[period]]\nfrom = %s\nuntil = %s\n[period.quota]\n", ts(p.From), ts(p.Until))
		for _, t := range slices.Sorted(maps.Keys(p.Quota)) {
			fmt.Fprintf(w, "%s = %d\n", t, p.Quota[t])
		}
	}
	for _, f := range b.Funding {
		fmt.Fprintf(w, "\n[[funding]]\nkey = %s\nlicense = %s\nmonths = %d\n", q(f.Key), q(f.License), f.Months)
	}
	for _, c := range b.Certificates {
		fmt.Fprintf(w, "\n[[certificate]]\ndocument = %s\n", q(base64.StdEncoding.EncodeToString(c)))
	}
}

// MonthsBetween returns the whole months from a to b, counting a month from
// a day of one month to the same day of the next.
func MonthsBetween(a, b time.Time) int {
	a, b = a.UTC(), b.UTC()
	m := (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
	if a.AddDate(0, m, 0).After(b) {
		m--
	}
	return m
}

// FormatQuota prints quotas as "camera=40, intercom=4", sorted by type.
func FormatQuota(q map[string]int) string {
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(q)) {
		parts = append(parts, fmt.Sprintf("%s=%d", t, q[t]))
	}
	return strings.Join(parts, ", ")
}
