package cert

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"

	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
)

// Trust is what a verifier accepts: vendor root keys and revoked serials.
type Trust struct {
	Roots []ed25519.PublicKey
	// Revoked holds revoked certificate serials and key ids
	// ("issuer:serial", as licensekey.Key.ID prints them): the trust
	// file's own, unsigned list.
	Revoked map[string]bool
	// Revocations holds signed revocations by what they revoke; each
	// counts only where its signer may revoke (Revocation).
	Revocations map[string][]*Revocation
}

// root returns the root key with id, or nil.
func (t *Trust) root(id sign.KeyID) ed25519.PublicKey {
	for _, r := range t.Roots {
		if sign.IDOf(r) == id {
			return r
		}
	}
	return nil
}

// IsRoot reports whether pub is one of the trusted roots.
func (t *Trust) IsRoot(pub ed25519.PublicKey) bool {
	for _, r := range t.Roots {
		if r.Equal(pub) {
			return true
		}
	}
	return false
}

// Chain is a certificate chain, root-most first. The empty chain stands for
// a root signing on its own authority.
type Chain []*Certificate

// Leaf returns the last certificate, or nil for the empty chain.
func (c Chain) Leaf() *Certificate {
	if len(c) == 0 {
		return nil
	}
	return c[len(c)-1]
}

// Document returns the chain as a certificate file: its documents, in order.
func (c Chain) Document() []byte {
	var b bytes.Buffer
	for _, x := range c {
		b.Write(x.doc)
	}
	return b.Bytes()
}

// link checks that each certificate is issued by the subject of the one
// before it.
func (c Chain) link() error {
	for i := 1; i < len(c); i++ {
		if !c[i].Issuer.Equal(c[i-1].Subject.Key) {
			return errclass.New(ErrUntrusted, "certificate %s is not issued by the subject of certificate %s", c[i].Serial, c[i-1].Serial)
		}
	}
	return nil
}

// Verify checks that the chain starts at a trusted root, that every link is
// issued by the subject of the one before and lies inside its scope, and
// that no serial is revoked. Each certificate's own signature was checked
// when it was parsed.
func (c Chain) Verify(t *Trust) error {
	if len(c) == 0 {
		return nil
	}
	if !t.IsRoot(c[0].Issuer) {
		return errclass.New(ErrUntrusted, "certificate %s: issuer %s is not a trusted root", c[0].Serial, sign.IDOf(c[0].Issuer))
	}
	if err := c.link(); err != nil {
		return err
	}
	for i, x := range c {
		if t.Revoked[x.Serial] {
			return fmt.Errorf("certificate %s: %w", x.Serial, ErrRevoked)
		}
		if r := t.revokedBy(x.Serial, c, i+1, nil); r != nil {
			return &RevokedError{What: "certificate " + x.Serial, Revocation: r}
		}
		if i > 0 {
			if err := c[i-1].Contains(x); err != nil {
				return err
			}
		}
	}
	return nil
}

// Policy returns base narrowed by every policy of the chain's
// certificates: the strictest number of each.
func (c Chain) Policy(base Policy) Policy {
	for _, x := range c {
		if x.Policy != nil {
			base = base.Narrow(*x.Policy)
		}
	}
	return base
}

// BindingAny returns the highest binding requirement of the chain for any
// product, and that product: what binds every key the chain's subject
// signs, since a key's product is its issuer's word and its license types
// need not belong to that product.
func (c Chain) BindingAny() (int, string) {
	k, product := 0, ""
	for _, x := range c {
		// The highest of this certificate, the first product in order
		// among those that ask it; it counts if above those before.
		xk, xp := 0, ""
		for p, n := range x.Scope.Binding {
			if n > xk || n == xk && n > 0 && p < xp {
				xk, xp = n, p
			}
		}
		if xk > k {
			k, product = xk, xp
		}
	}
	return k, product
}

// Authorize checks that k is signed by the chain's subject (or by a root,
// for the empty chain), lies inside the scope of every certificate of the
// chain, and is not revoked. The chain itself must have passed Verify.
func (c Chain) Authorize(k *licensekey.Key, t *Trust) error {
	issuer, err := c.issuerKey(k, t)
	if err != nil {
		return err
	}
	if err := k.Verify(issuer); err != nil {
		return err
	}
	return c.allows(k, t)
}

// issuerKey returns the key that must have signed k: the chain's subject,
// or the root k names for the empty chain.
func (c Chain) issuerKey(k *licensekey.Key, t *Trust) (ed25519.PublicKey, error) {
	if leaf := c.Leaf(); leaf != nil {
		return leaf.Subject.Key, nil
	}
	if issuer := t.root(k.Issuer); issuer != nil {
		return issuer, nil
	}
	return nil, errclass.New(ErrUntrusted, "key %s: issuer %s is not a trusted root and no certificate names it", k.Serial, k.Issuer)
}

// allows checks k against every certificate's scope and the revocations.
func (c Chain) allows(k *licensekey.Key, t *Trust) error {
	for _, x := range c {
		if err := x.Allows(k); err != nil {
			return err
		}
	}
	id := k.ID()
	if t.Revoked[id] {
		return fmt.Errorf("key %s: %w", id, ErrRevoked)
	}
	var issuer ed25519.PublicKey
	if leaf := c.Leaf(); leaf != nil {
		issuer = leaf.Subject.Key
	}
	if r := t.revokedBy(id, c, len(c), issuer); r != nil {
		return &RevokedError{What: "key " + id, Revocation: r}
	}
	return nil
}

// Pool holds certificates from any number of chains and finds the chain
// that authorizes a key. It builds the chains once after certificates are
// added, so a batch of keys from one issuer costs one chain verification.
type Pool struct {
	trust     *Trust
	certs     []*Certificate // in the order added
	bySubject map[sign.KeyID][]*Certificate
	seen      map[[32]byte]bool
	// chains holds a verified chain ending in each certificate that has
	// one; nil until built.
	chains map[*Certificate]Chain
	// verifyKey checks a key's signature; tests count its calls.
	verifyKey func(*licensekey.Key, ed25519.PublicKey) error
	// rootIDs are the key ids of trust.Roots, in order, once prepared.
	rootIDs []sign.KeyID
}

// NewPool returns an empty pool that builds chains to t's roots.
func NewPool(t *Trust) *Pool {
	return &Pool{
		trust:     t,
		bySubject: map[sign.KeyID][]*Certificate{},
		seen:      map[[32]byte]bool{},
		verifyKey: (*licensekey.Key).Verify,
	}
}

// Add adds certificates; duplicates are ignored. It reports whether any was
// new.
func (p *Pool) Add(certs ...*Certificate) bool {
	added := false
	for _, c := range certs {
		if p.seen[c.sum] {
			continue
		}
		p.seen[c.sum] = true
		p.certs = append(p.certs, c)
		id := sign.IDOf(c.Subject.Key)
		p.bySubject[id] = append(p.bySubject[id], c)
		added = true
	}
	if added {
		p.chains = nil
	}
	return added
}

// Prepare finds every chain now rather than for the first key, and takes
// the ids of the trust's roots once: the trust must not change after. A
// pool prepared, to which nothing is added after, may be used by any
// number of goroutines at once (ChainFor, Authorize, AuthorizeWith).
func (p *Pool) Prepare() {
	if p.chains == nil {
		p.build()
	}
	p.rootIDs = make([]sign.KeyID, len(p.trust.Roots))
	for i, r := range p.trust.Roots {
		p.rootIDs[i] = sign.IDOf(r)
	}
}

// isRoot reports whether the key with id issuer is one of the roots, as
// trust.root does, without hashing the roots again once prepared.
func (p *Pool) isRoot(issuer sign.KeyID) bool {
	if p.rootIDs == nil {
		return p.trust.root(issuer) != nil
	}
	return slices.Contains(p.rootIDs, issuer)
}

// All returns every certificate in the pool, in the order added.
func (p *Pool) All() []*Certificate { return slices.Clone(p.certs) }

// ChainFor returns a verified chain from a trusted root to the signer with
// key id issuer: the empty chain if issuer is itself a root. If the signer
// has several certificates with a chain, the one added first is used.
func (p *Pool) ChainFor(issuer sign.KeyID) (Chain, error) {
	chains, err := p.chainsFor(issuer)
	if err != nil {
		return nil, err
	}
	return chains[0], nil
}

// Authorize returns a verified chain to k's issuer that authorizes k, trying
// each of the issuer's certificates, so that a signer certified more than
// once (a renewed certificate beside an expired one) is judged by the one
// that allows the key.
func (p *Pool) Authorize(k *licensekey.Key) (Chain, error) {
	return p.AuthorizeWith(k, p.verifyKey)
}

// AuthorizeWith is Authorize with the key's signature checked by verify in
// place of Key.Verify: through a set of signatures already verified, or
// counting the verifications. verify must be as strict as Key.Verify.
func (p *Pool) AuthorizeWith(k *licensekey.Key, verify func(k *licensekey.Key, issuer ed25519.PublicKey) error) (Chain, error) {
	chains, err := p.chainsFor(k.Issuer)
	if err != nil {
		return nil, err
	}
	// The key's signature is checked once per issuer key, however many
	// certificates name that key: a bundle could carry hundreds.
	checked := map[string]error{}
	var firstErr error
	for _, c := range chains {
		issuer, err := c.issuerKey(k, p.trust)
		if err != nil {
			return nil, err
		}
		verr, ok := checked[string(issuer)]
		if !ok {
			verr = verify(k, issuer)
			checked[string(issuer)] = verr
		}
		if verr != nil {
			return nil, verr
		}
		err = c.allows(k, p.trust)
		if err == nil {
			return c, nil
		}
		// A revoked key fails every chain alike; only scope differs from
		// one certificate to another.
		if !errors.Is(err, ErrScope) {
			return nil, err
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// chainsFor returns every verified chain to issuer, at least one, in the
// order its certificates were added.
func (p *Pool) chainsFor(issuer sign.KeyID) ([]Chain, error) {
	if p.isRoot(issuer) {
		return []Chain{{}}, nil
	}
	cands := p.bySubject[issuer]
	if len(cands) == 0 {
		return nil, errclass.New(ErrUntrusted, "signer %s: no certificate for it, and it is not a trusted root", issuer)
	}
	if p.chains == nil {
		p.build()
	}
	var chains []Chain
	for _, c := range cands {
		if chain, ok := p.chains[c]; ok {
			chains = append(chains, chain)
		}
	}
	if len(chains) == 0 {
		return nil, fmt.Errorf("signer %s: %w", issuer, p.explain(cands[0], nil))
	}
	return chains, nil
}

// build finds a shortest verified chain for every certificate, working
// down from the roots one level at a time. One chain per certificate is
// enough: whether a certificate may follow another depends on those two
// alone (link, scope) and on itself (revocation), so any verified chain to
// the parent serves every child. Working level by level ends cycles and
// bounds the depth.
func (p *Pool) build() {
	p.chains = map[*Certificate]Chain{}
	for depth := 1; depth <= MaxDepth; depth++ {
		grew := false
		for _, c := range p.certs {
			if _, ok := p.chains[c]; ok {
				continue
			}
			if chain, ok := p.extend(c, depth); ok {
				p.chains[c] = chain
				grew = true
			}
		}
		if !grew {
			return
		}
	}
}

// extend returns a verified chain of length depth ending in c, built on the
// chains found at the level above.
func (p *Pool) extend(c *Certificate, depth int) (Chain, bool) {
	if depth == 1 {
		chain := Chain{c}
		return chain, p.trust.IsRoot(c.Issuer) && chain.Verify(p.trust) == nil
	}
	for _, parent := range p.bySubject[sign.IDOf(c.Issuer)] {
		pc, ok := p.chains[parent]
		if !ok || len(pc) != depth-1 {
			continue
		}
		chain := append(pc[:len(pc):len(pc)], c)
		if chain.Verify(p.trust) == nil {
			return chain, true
		}
	}
	return nil, false
}

// explain says why c has no chain. below holds the certificates already
// followed, so that a cycle is reported as one.
func (p *Pool) explain(c *Certificate, below []*Certificate) error {
	if p.trust.Revoked[c.Serial] {
		return fmt.Errorf("certificate %s: %w", c.Serial, ErrRevoked)
	}
	issuer := sign.IDOf(c.Issuer)
	if p.trust.IsRoot(c.Issuer) {
		if err := (Chain{c}).Verify(p.trust); err != nil {
			return err // revoked by a signed revocation
		}
		// A root's certificate that is not revoked has a chain of one.
		return errclass.New(ErrUntrusted, "certificate %s: issued by root %s, but not verified", c.Serial, issuer)
	}
	parents := p.bySubject[issuer]
	if len(parents) == 0 {
		return errclass.New(ErrUntrusted, "certificate %s: issuer %s has no certificate, and it is not a trusted root", c.Serial, issuer)
	}
	below = append(below, c)
	if len(below) >= MaxDepth {
		return errclass.New(ErrUntrusted, "certificate %s: chain longer than %d", c.Serial, MaxDepth)
	}
	for _, parent := range parents {
		if pc, ok := p.chains[parent]; ok {
			chain := append(pc[:len(pc):len(pc)], c)
			if err := chain.Verify(p.trust); err != nil {
				return err
			}
			return errclass.New(ErrUntrusted, "certificate %s: chain longer than %d", c.Serial, MaxDepth)
		}
	}
	if slices.Contains(below, parents[0]) {
		return errclass.New(ErrUntrusted, "certificate %s: certificates form a cycle", c.Serial)
	}
	return p.explain(parents[0], below)
}
