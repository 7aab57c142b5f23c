package verify

import (
	"errors"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/licensekey"
)

// AuthorityOf is Authority that also returns the bundle, for a caller that
// looks further into it (package audit): the bundle's signature is checked
// once.
func (v *Verifier) AuthorityOf(doc []byte) (*bundle.Bundle, error) {
	b, err := v.check(&Report{}, doc, true)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Authority is what AuthorityKeys finds of a bundle whose authority holds.
type Authority struct {
	Bundle *bundle.Bundle
	// Keys are the keys of the bundle as the trust check decoded them, by
	// their text: a caller that looks into the keys (package audit) need
	// not decode them again.
	Keys map[string]*licensekey.Key
	// Signatures counts the Ed25519 verifications made: the bundle's own,
	// and its keys' that the verifier had not verified before.
	Signatures int
}

// AuthorityKeys is AuthorityOf that also returns the keys of the bundle
// and the signatures it verified.
func (v *Verifier) AuthorityKeys(doc []byte) (*Authority, error) {
	r := &Report{decoded: map[string]*licensekey.Key{}}
	b, err := v.check(r, doc, true)
	if err != nil {
		return nil, err
	}
	return &Authority{Bundle: b, Keys: r.decoded, Signatures: r.signatures}, nil
}

// keepRevoked returns failed, which reports cause, as a revocation as well
// when cause is one, so that callers (audit) can tell a revoked key from
// other trust failures; the message and the exit code stay failed's.
func keepRevoked(cause, failed error) error {
	if errors.Is(cause, cert.ErrRevoked) {
		return errclass.Wrap(cert.ErrRevoked, failed)
	}
	return failed
}
