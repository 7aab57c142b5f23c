package cert

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"

	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
)

// Trust is what a verifier accepts: vendor root keys and revoked serials.
type Trust struct {
	Roots []ed25519.PublicKey
	// Revoked holds revoked certificate serials and key ids
	// ("issuer:serial", as licensekey.Key.ID prints them).
	Revoked map[string]bool
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
			return fmt.Errorf("certificate %s is not issued by the subject of certificate %s: %w",
				c[i].Serial, c[i-1].Serial, ErrUntrusted)
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
		return fmt.Errorf("certificate %s: issuer %s is not a trusted root: %w", c[0].Serial, sign.IDOf(c[0].Issuer), ErrUntrusted)
	}
	if err := c.link(); err != nil {
		return err
	}
	for i, x := range c {
		if t.Revoked[x.Serial] {
			return fmt.Errorf("certificate %s: %w", x.Serial, ErrRevoked)
		}
		if i > 0 {
			if err := c[i-1].Contains(x); err != nil {
				return err
			}
		}
	}
	return nil
}

// Authorize checks that k is signed by the chain's subject (or by a root,
// for the empty chain), lies inside the scope of every certificate of the
// chain, and is not revoked. The chain itself must have passed Verify.
func (c Chain) Authorize(k *licensekey.Key, t *Trust) error {
	var issuer ed25519.PublicKey
	if leaf := c.Leaf(); leaf != nil {
		issuer = leaf.Subject.Key
	} else if issuer = t.root(k.Issuer); issuer == nil {
		return fmt.Errorf("key %s: issuer %s is not a trusted root and no certificate names it: %w", k.Serial, k.Issuer, ErrUntrusted)
	}
	if err := k.Verify(issuer); err != nil {
		return err
	}
	for _, x := range c {
		if err := x.Allows(k); err != nil {
			return err
		}
	}
	if t.Revoked[k.ID()] {
		return fmt.Errorf("key %s: %w", k.ID(), ErrRevoked)
	}
	return nil
}

// Pool holds certificates from any number of chains and finds the chain
// that authorizes a key. It remembers the chains it found, so a batch of
// keys from one issuer costs one chain verification.
type Pool struct {
	trust     *Trust
	bySubject map[sign.KeyID][]*Certificate
	seen      map[[32]byte]bool
	chains    map[sign.KeyID]chainResult
}

type chainResult struct {
	chain Chain
	err   error
}

// NewPool returns an empty pool that builds chains to t's roots.
func NewPool(t *Trust) *Pool {
	return &Pool{
		trust:     t,
		bySubject: map[sign.KeyID][]*Certificate{},
		seen:      map[[32]byte]bool{},
		chains:    map[sign.KeyID]chainResult{},
	}
}

// Add adds certificates; duplicates are ignored. It reports whether any was
// new.
func (p *Pool) Add(certs ...*Certificate) bool {
	added := false
	for _, c := range certs {
		h := sha256.Sum256(c.doc)
		if p.seen[h] {
			continue
		}
		p.seen[h] = true
		id := sign.IDOf(c.Subject.Key)
		p.bySubject[id] = append(p.bySubject[id], c)
		added = true
	}
	if added {
		clear(p.chains)
	}
	return added
}

// All returns every certificate in the pool, in the order added per subject.
func (p *Pool) All() []*Certificate {
	var all []*Certificate
	for _, cs := range p.bySubject {
		all = append(all, cs...)
	}
	return all
}

// ChainFor returns a verified chain from a trusted root to the signer with
// key id issuer: the empty chain if issuer is itself a root.
func (p *Pool) ChainFor(issuer sign.KeyID) (Chain, error) {
	return p.chainFor(issuer, 0)
}

func (p *Pool) chainFor(issuer sign.KeyID, depth int) (Chain, error) {
	if r, ok := p.chains[issuer]; ok {
		return r.chain, r.err
	}
	// A placeholder breaks cycles of certificates that certify each other.
	p.chains[issuer] = chainResult{err: fmt.Errorf("signer %s: certificates form a cycle: %w", issuer, ErrUntrusted)}
	chain, err := p.build(issuer, depth)
	p.chains[issuer] = chainResult{chain, err}
	return chain, err
}

func (p *Pool) build(issuer sign.KeyID, depth int) (Chain, error) {
	if p.trust.root(issuer) != nil {
		return Chain{}, nil
	}
	if depth >= MaxDepth {
		return nil, fmt.Errorf("signer %s: chain longer than %d: %w", issuer, MaxDepth, ErrUntrusted)
	}
	cands := p.bySubject[issuer]
	if len(cands) == 0 {
		return nil, fmt.Errorf("signer %s: no certificate for it, and it is not a trusted root: %w", issuer, ErrUntrusted)
	}
	var firstErr error
	for _, c := range cands {
		parent, err := p.chainFor(sign.IDOf(c.Issuer), depth+1)
		if err == nil {
			chain := append(parent[:len(parent):len(parent)], c)
			if err = chain.Verify(p.trust); err == nil {
				return chain, nil
			}
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}
