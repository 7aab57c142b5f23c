// Package cert holds delegation certificates: a parent signer grants a child
// signer the right to issue license keys, or to certify further signers,
// within a scope.
//
// A certificate is a signed document (package sign): a TOML payload followed
// by an SSHSIG signature under the namespace "allot-certificate-v1". Readers
// verify the signature before they parse the payload. A chain runs from a
// vendor root key through one certificate per level; every certificate's
// scope lies inside its parent's, and a key is checked against every level,
// so the strictest limit always applies.
package cert

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/payload"
	"allot.dev/allot/pkg/sign"
)

// Namespace is the SSHSIG namespace of certificates.
const Namespace = "allot-certificate-v1"

// Version is the payload version this package writes and reads.
const Version = 1

// Limits a reader enforces.
const (
	MaxDocumentSize = 16 << 10
	MaxDepth        = 8
	MaxListLen      = 64
)

// Roles a certificate can grant.
var Roles = []string{"distributor", "reseller"}

// Errors by class; wrapped with detail.
var (
	// ErrScope: a certificate or key exceeds the scope its parent granted.
	ErrScope = errclass.Sentinel(errclass.Trust, "outside the issuer's scope")
	// ErrUntrusted: a chain does not lead to a trusted root, or a link's
	// signature does not verify.
	ErrUntrusted = errclass.Sentinel(errclass.Trust, "not trusted")
	// ErrRevoked: a certificate or key serial is revoked.
	ErrRevoked = errclass.Sentinel(errclass.Trust, "revoked")
	// ErrMalformed: a certificate cannot be read.
	ErrMalformed = errclass.Sentinel(errclass.Input, "malformed certificate")
	// ErrInvalid: Issue was asked for a certificate no reader would accept
	// (an unknown role, a validity that ends before it starts, …).
	ErrInvalid = errclass.Sentinel(errclass.Usage, "invalid certificate")
)

// Scope is what a certificate allows its subject to issue.
type Scope struct {
	Products      []string          `toml:"products" json:"products"`
	Kinds         []licensekey.Kind `toml:"kinds" json:"kinds"`
	Licenses      map[string]int    `toml:"licenses" json:"licenses"` // license type → maximum quantity per key
	Features      []string          `toml:"features" json:"features"`
	MaxTermMonths int               `toml:"max_term_months" json:"max_term_months"`
	Bearer        bool              `toml:"bearer" json:"bearer"`
	// Binding is the vendor's hardware binding rule: product → the fewest
	// hardware identifiers of a server that must match for a bundle funded
	// by a key of that product. A child may raise it, never lower it.
	Binding map[string]int `toml:"binding" json:"binding"`
}

// Policy holds the numbers of the subscription rules that a device needs to
// bound what a wallet writes into a bundle: the grace after a subscription
// ends, the growth allowance, how long analytics data is kept, and how far
// ahead keys may fund time. A certificate may carry one; a chain's policy is
// the strictest of its certificates' (each number the least), and a child's
// numbers may not exceed its parent's.
type Policy struct {
	GraceDays              int `toml:"grace_days" json:"grace_days"`
	MaxRenewalYears        int `toml:"max_renewal_years" json:"max_renewal_years"`
	UnallocatedExpiryYears int `toml:"unallocated_expiry_years" json:"unallocated_expiry_years"`
	AnalyticsRetentionDays int `toml:"analytics_retention_days" json:"analytics_retention_days"`
	GrowthAllowancePercent int `toml:"growth_allowance_percent" json:"growth_allowance_percent"`
}

// MaxPolicyValue bounds every number of a policy, so date arithmetic on
// them stays inside the years a date may have.
const MaxPolicyValue = 1000

// fields lists the policy's numbers by name, for checks and messages.
func (p *Policy) fields() []struct {
	name string
	v    *int
} {
	return []struct {
		name string
		v    *int
	}{
		{"grace_days", &p.GraceDays}, {"max_renewal_years", &p.MaxRenewalYears},
		{"unallocated_expiry_years", &p.UnallocatedExpiryYears},
		{"analytics_retention_days", &p.AnalyticsRetentionDays},
		{"growth_allowance_percent", &p.GrowthAllowancePercent},
	}
}

// Narrow returns p with every number lowered to q's where q's is less.
func (p Policy) Narrow(q Policy) Policy {
	pf, qf := p.fields(), q.fields()
	for i := range pf {
		*pf[i].v = min(*pf[i].v, *qf[i].v)
	}
	return p
}

// Within returns an error naming the first number of p that exceeds
// parent's.
func (p Policy) Within(parent Policy) error {
	pf, qf := p.fields(), parent.fields()
	for i := range pf {
		if *pf[i].v > *qf[i].v {
			return fmt.Errorf("policy.%s: %d exceeds %d", pf[i].name, *pf[i].v, *qf[i].v)
		}
	}
	return nil
}

// Validate checks that every number lies in 0 to MaxPolicyValue, and that
// the year counts are at least 1.
func (p Policy) Validate() error {
	for _, f := range p.fields() {
		least := 0
		if strings.HasSuffix(f.name, "_years") {
			least = 1
		}
		if *f.v < least || *f.v > MaxPolicyValue {
			return fmt.Errorf("policy.%s: %d is not between %d and %d", f.name, *f.v, least, MaxPolicyValue)
		}
	}
	return nil
}

// Certificate is a parsed, signature-checked certificate.
type Certificate struct {
	Serial     string
	Role       string
	Subject    sign.PublicKey
	Issuer     ed25519.PublicKey
	ValidFrom  time.Time
	ValidUntil time.Time
	Scope      Scope
	Policy     *Policy // nil: the certificate narrows no policy number

	doc []byte   // the signed document, exactly as read or written
	sum [32]byte // its SHA-256, by which a pool knows it (Pool.Add)
}

// Document returns the certificate's signed document.
func (c *Certificate) Document() []byte { return c.doc }

// Template is what Issue needs to make a certificate.
type Template struct {
	Role       string
	Subject    sign.PublicKey
	ValidFrom  time.Time
	ValidUntil time.Time
	Scope      Scope
	Policy     *Policy
}

// Issue signs a certificate for t with the parent's private key. parent is
// the parent's own chain (nil when the parent is a root); the new scope must
// lie inside the parent's, and is refused otherwise. The serial is read from
// rand.
func Issue(priv ed25519.PrivateKey, parent Chain, t Template, rand io.Reader) (*Certificate, error) {
	var serial [8]byte
	if _, err := io.ReadFull(rand, serial[:]); err != nil {
		return nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	c := &Certificate{
		Serial:     hex.EncodeToString(serial[:]),
		Role:       t.Role,
		Subject:    t.Subject,
		Issuer:     pub,
		ValidFrom:  t.ValidFrom.UTC().Truncate(time.Second),
		ValidUntil: t.ValidUntil.UTC().Truncate(time.Second),
		Scope:      t.Scope.normalized(),
		Policy:     t.Policy,
	}
	if err := c.validate(); err != nil {
		return nil, errclass.Wrap(ErrInvalid, err)
	}
	if leaf := parent.Leaf(); leaf != nil {
		if !leaf.Subject.Key.Equal(pub) {
			return nil, fmt.Errorf("the signer's key is not the subject of the parent certificate %s", leaf.Serial)
		}
		if err := leaf.Contains(c); err != nil {
			return nil, err
		}
	}
	body := c.marshal(pub)
	doc, err := sign.Seal(priv, Namespace, body)
	if err != nil {
		return nil, err
	}
	// What no reader would accept must not be written.
	if len(doc) > MaxDocumentSize {
		return nil, errclass.New(ErrInvalid, "the certificate would be %d bytes, more than the %d a reader accepts", len(doc), MaxDocumentSize)
	}
	c.doc, c.sum = doc, sha256.Sum256(doc)
	return c, nil
}

// Parse verifies a single certificate document's signature and then parses
// it. The signature is checked against the key it names; whether that key
// is trusted is for Chain.Verify to decide.
func Parse(doc []byte) (*Certificate, error) {
	if len(doc) > MaxDocumentSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxDocumentSize)
	}
	body, signer, err := sign.Open(doc, Namespace)
	if err != nil {
		if errors.Is(err, sign.ErrSignature) {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	c, err := unmarshal(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !c.Issuer.Equal(signer) {
		return nil, fmt.Errorf("certificate %s: signed by %s, not by its issuer %s: %w",
			c.Serial, sign.IDOf(signer), sign.IDOf(c.Issuer), sign.ErrSignature)
	}
	c.doc, c.sum = doc, sha256.Sum256(doc)
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return c, nil
}

// ParseChain reads a certificate file: one or more certificate documents,
// root-most first, as `allot signer certify` writes them.
func ParseChain(data []byte) (Chain, error) {
	var chain Chain
	for len(bytes.TrimSpace(data)) > 0 {
		if len(chain) == MaxDepth {
			return nil, fmt.Errorf("%w: more than %d certificates in one chain", ErrMalformed, MaxDepth)
		}
		payload, armored, rest, err := sign.Split(data)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %v", ErrMalformed, len(chain)+1, err)
		}
		c, err := Parse(data[:len(payload)+len(armored)])
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(chain)+1, err)
		}
		chain = append(chain, c)
		data = rest
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("%w: no certificate", ErrMalformed)
	}
	if err := chain.link(); err != nil {
		return nil, err
	}
	return chain, nil
}

func (c *Certificate) marshal(issuer ed25519.PublicKey) []byte {
	var w payload.Writer
	w.Comment(fmt.Sprintf("allot certificate: %s %q, signed below by its issuer; do not edit.", c.Role, c.Subject.Comment))
	w.Int("version", Version)
	w.String("serial", c.Serial)
	w.String("role", c.Role)
	w.String("subject", c.Subject.String())
	w.String("issuer", sign.MarshalAuthorized(issuer, ""))
	w.Time("valid_from", c.ValidFrom)
	w.Time("valid_until", c.ValidUntil)
	w.Table("scope")
	w.Strings("products", c.Scope.Products)
	kinds := make([]string, len(c.Scope.Kinds))
	for i, k := range c.Scope.Kinds {
		kinds[i] = k.String()
	}
	w.Strings("kinds", kinds)
	w.Strings("features", c.Scope.Features)
	w.Int("max_term_months", c.Scope.MaxTermMonths)
	w.Bool("bearer", c.Scope.Bearer)
	w.Table("scope.licenses")
	for _, t := range slices.Sorted(maps.Keys(c.Scope.Licenses)) {
		w.Int(t, c.Scope.Licenses[t])
	}
	if len(c.Scope.Binding) > 0 {
		w.Table("scope.binding")
		for _, p := range slices.Sorted(maps.Keys(c.Scope.Binding)) {
			w.Int(p, c.Scope.Binding[p])
		}
	}
	if p := c.Policy; p != nil {
		w.Table("policy")
		for _, f := range p.fields() {
			w.Int(f.name, *f.v)
		}
	}
	return w.Bytes()
}

func unmarshal(body []byte) (*Certificate, error) {
	secs, err := payload.Parse(body)
	if err != nil {
		return nil, err
	}
	if v, ok := payload.Version(secs); ok && v != Version {
		return nil, fmt.Errorf("version %d, want %d", v, Version)
	}
	// [scope.binding] and [policy] are optional, and follow in this order.
	order := errors.New("want the top level, [scope], [scope.licenses], then optionally [scope.binding] and [policy], in that order")
	if len(secs) < 3 || secs[1].Name != "scope" || secs[2].Name != "scope.licenses" {
		return nil, order
	}
	optional := []string{"scope.binding", "policy"}
	for _, sec := range secs[1:] {
		if sec.Array {
			return nil, order
		}
	}
	for _, sec := range secs[3:] {
		i := slices.Index(optional, sec.Name)
		if i < 0 {
			return nil, order
		}
		optional = optional[i+1:]
	}
	c := &Certificate{}
	top := payload.NewTable(&secs[0])
	top.Int("version")
	c.Serial = top.String("serial")
	c.Role = top.String("role")
	subject := top.String("subject")
	issuer := top.String("issuer")
	c.ValidFrom = top.Time("valid_from")
	c.ValidUntil = top.Time("valid_until")
	if err := top.Done(); err != nil {
		return nil, err
	}
	sc := payload.NewTable(&secs[1])
	c.Scope.Products = sc.Strings("products")
	kinds := sc.Strings("kinds")
	c.Scope.Features = sc.Strings("features")
	c.Scope.MaxTermMonths = sc.Int("max_term_months")
	c.Scope.Bearer = sc.Bool("bearer")
	if err := sc.Done(); err != nil {
		return nil, err
	}
	for _, k := range kinds {
		kind, err := licensekey.ParseKind(k)
		if err != nil {
			return nil, fmt.Errorf("scope.kinds: %v", err)
		}
		c.Scope.Kinds = append(c.Scope.Kinds, kind)
	}
	lt := payload.NewTable(&secs[2])
	c.Scope.Licenses = lt.IntMap()
	if err := lt.Done(); err != nil {
		return nil, err
	}
	for _, sec := range secs[3:] {
		t := payload.NewTable(&sec)
		switch sec.Name {
		case "scope.binding":
			c.Scope.Binding = t.IntMap()
		case "policy":
			c.Policy = &Policy{}
			for _, f := range c.Policy.fields() {
				*f.v = t.Int(f.name)
			}
		}
		if err := t.Done(); err != nil {
			return nil, err
		}
	}
	if c.Subject, err = sign.ParseAuthorized(subject); err != nil {
		return nil, fmt.Errorf("subject: %v", err)
	}
	is, err := sign.ParseAuthorized(issuer)
	if err != nil {
		return nil, fmt.Errorf("issuer: %v", err)
	}
	c.Issuer = is.Key
	return c, nil
}

func (s Scope) normalized() Scope {
	sortUnique := func(v []string) []string {
		v = slices.Clone(v)
		slices.Sort(v)
		return slices.Compact(v)
	}
	s.Products = sortUnique(s.Products)
	s.Features = sortUnique(s.Features)
	s.Kinds = slices.Clone(s.Kinds)
	slices.Sort(s.Kinds)
	s.Kinds = slices.Compact(s.Kinds)
	if s.Licenses == nil {
		s.Licenses = map[string]int{}
	}
	// Only a requirement for a product of the scope means anything.
	binding := map[string]int{}
	for p, k := range s.Binding {
		if k > 0 && slices.Contains(s.Products, p) {
			binding[p] = k
		}
	}
	s.Binding = binding
	return s
}

func (c *Certificate) validate() error {
	if !payload.ValidTime(c.ValidFrom) || !payload.ValidTime(c.ValidUntil) {
		return fmt.Errorf("validity: want years from %d to %d", payload.MinYear, payload.MaxYear)
	}
	if len(c.Serial) != 16 {
		return fmt.Errorf("serial %q: want 16 hexadecimal digits", c.Serial)
	}
	if _, err := hex.DecodeString(c.Serial); err != nil || strings.ToLower(c.Serial) != c.Serial {
		return fmt.Errorf("serial %q: want 16 hexadecimal digits", c.Serial)
	}
	if !slices.Contains(Roles, c.Role) {
		return fmt.Errorf("role %q: want one of %s", c.Role, strings.Join(Roles, ", "))
	}
	if c.ValidFrom.IsZero() || c.ValidUntil.IsZero() || !c.ValidUntil.After(c.ValidFrom) {
		return fmt.Errorf("validity: valid_until %s must be after valid_from %s",
			c.ValidUntil.Format(time.RFC3339), c.ValidFrom.Format(time.RFC3339))
	}
	s := c.Scope
	if len(s.Products) == 0 || len(s.Products) > MaxListLen {
		return fmt.Errorf("scope.products: want 1 to %d products", MaxListLen)
	}
	for _, p := range s.Products {
		if err := licensekey.ValidName(p); err != nil {
			return fmt.Errorf("scope.products: %v", err)
		}
	}
	if len(s.Kinds) == 0 {
		return errors.New("scope.kinds: want at least one kind")
	}
	for _, k := range s.Kinds {
		if _, err := licensekey.ParseKind(k.String()); err != nil {
			return fmt.Errorf("scope.kinds: %v", err)
		}
	}
	if len(s.Licenses) == 0 || len(s.Licenses) > MaxListLen {
		return fmt.Errorf("scope.licenses: want 1 to %d license types", MaxListLen)
	}
	for t, q := range s.Licenses {
		if err := licensekey.ValidName(t); err != nil {
			return fmt.Errorf("scope.licenses: %v", err)
		}
		if q < 1 || q > licensekey.MaxQuantity {
			return fmt.Errorf("scope.licenses.%s: maximum quantity %d is not between 1 and %d", t, q, licensekey.MaxQuantity)
		}
	}
	if len(s.Features) > MaxListLen {
		return fmt.Errorf("scope.features: more than %d", MaxListLen)
	}
	for _, f := range s.Features {
		if err := licensekey.ValidName(f); err != nil {
			return fmt.Errorf("scope.features: %v", err)
		}
	}
	if s.MaxTermMonths < 0 || s.MaxTermMonths > licensekey.MaxTermMonths {
		return fmt.Errorf("scope.max_term_months: %d is not between 0 and %d", s.MaxTermMonths, licensekey.MaxTermMonths)
	}
	for p, k := range s.Binding {
		if !slices.Contains(s.Products, p) {
			return fmt.Errorf("scope.binding.%s: not a product of the scope", p)
		}
		if k < 1 || k > MaxBindingRequired {
			return fmt.Errorf("scope.binding.%s: %d is not between 1 and %d", p, k, MaxBindingRequired)
		}
	}
	if c.Policy != nil {
		if err := c.Policy.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// MaxBindingRequired is the most identifiers a binding rule may require:
// the most a server of a system file or a bundle lists.
const MaxBindingRequired = 32

// Contains reports whether child's scope and validity lie inside c's. The
// error names the first field that exceeds it.
func (c *Certificate) Contains(child *Certificate) error {
	p, s := c.Scope, child.Scope
	fail := func(format string, args ...any) error {
		return fmt.Errorf("certificate %s: %s: %w of certificate %s", child.Serial, fmt.Sprintf(format, args...), ErrScope, c.Serial)
	}
	// Roles rank distributor over reseller: a reseller certifies only
	// sub-resellers.
	if slices.Index(Roles, child.Role) < slices.Index(Roles, c.Role) {
		return fail("role %s", child.Role)
	}
	for _, x := range s.Products {
		if !slices.Contains(p.Products, x) {
			return fail("product %q", x)
		}
	}
	for _, x := range s.Kinds {
		if !slices.Contains(p.Kinds, x) {
			return fail("kind %s", x)
		}
	}
	for t, q := range s.Licenses {
		pq, ok := p.Licenses[t]
		if !ok {
			return fail("license type %q", t)
		}
		if q > pq {
			return fail("license %s: %d per key exceeds %d", t, q, pq)
		}
	}
	for _, x := range s.Features {
		if !slices.Contains(p.Features, x) {
			return fail("feature %q", x)
		}
	}
	if s.MaxTermMonths > p.MaxTermMonths {
		return fail("maximum term %d months exceeds %d", s.MaxTermMonths, p.MaxTermMonths)
	}
	if s.Bearer && !p.Bearer {
		return fail("bearer keys are not allowed")
	}
	for prod, k := range p.Binding {
		if slices.Contains(s.Products, prod) && s.Binding[prod] < k {
			return fail("binding for %s: %d identifiers required, less than %d", prod, s.Binding[prod], k)
		}
	}
	if c.Policy != nil && child.Policy != nil {
		if err := child.Policy.Within(*c.Policy); err != nil {
			return fail("%v", err)
		}
	}
	if child.ValidFrom.Before(c.ValidFrom) || child.ValidUntil.After(c.ValidUntil) {
		return fail("validity %s to %s is not inside %s to %s",
			child.ValidFrom.Format(time.DateOnly), child.ValidUntil.Format(time.DateOnly),
			c.ValidFrom.Format(time.DateOnly), c.ValidUntil.Format(time.DateOnly))
	}
	return nil
}

// Allows reports whether k lies inside c's scope and was issued while c was
// valid. It does not check k's signature.
func (c *Certificate) Allows(k *licensekey.Key) error {
	s := c.Scope
	fail := func(format string, args ...any) error {
		// A key not signed yet (an issuer checking its request) has no serial
		// worth naming.
		who := "key " + k.Serial.String() + ": "
		if k.Serial == (licensekey.Serial{}) {
			who = ""
		}
		return fmt.Errorf("%s%s: %w of certificate %s", who, fmt.Sprintf(format, args...), ErrScope, c.Serial)
	}
	if !slices.Contains(s.Products, k.Product) {
		return fail("product %q", k.Product)
	}
	if !slices.Contains(s.Kinds, k.Kind) {
		return fail("kind %s", k.Kind)
	}
	for _, l := range k.Licenses {
		q, ok := s.Licenses[l.Type]
		if !ok {
			return fail("license type %q", l.Type)
		}
		if l.Quantity > q {
			return fail("license %s: quantity %d exceeds %d per key", l.Type, l.Quantity, q)
		}
	}
	for _, f := range k.Features {
		if !slices.Contains(s.Features, f) {
			return fail("feature %q", f)
		}
	}
	if !k.Kind.Perpetual() && k.TermMonths > s.MaxTermMonths {
		return fail("term %d months exceeds %d", k.TermMonths, s.MaxTermMonths)
	}
	if k.Bearer && !s.Bearer {
		return fail("bearer keys are not allowed")
	}
	day := func(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
	if k.Issued.Before(day(c.ValidFrom)) || k.Issued.After(c.ValidUntil) {
		return fail("issued %s, outside the validity %s to %s", k.Issued.Format(time.DateOnly),
			c.ValidFrom.Format(time.DateOnly), c.ValidUntil.Format(time.DateOnly))
	}
	return nil
}
