package cert

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"allot.dev/allot/pkg/payload"
	"allot.dev/allot/pkg/sign"
)

// RevocationNamespace is the SSHSIG namespace of signed revocations.
const RevocationNamespace = "allot-revocation-v1"

// RevocationVersion is the revocation document version.
const RevocationVersion = 1

// MaxRevocationSize bounds a revocation document.
const MaxRevocationSize = 4 << 10

// Revocation is a signed statement that a certificate (by serial) or a
// license key (by key id, "issuer:serial") is no longer to be trusted.
//
// Who may revoke what, as a verifier decides it (Trust.revokedBy): a root
// of the trust file may revoke any certificate and any key; any other
// signer may revoke only what lies below it in the chain being checked:
// a certificate it issued, or any certificate further down, and a key it
// issued or one issued below it. A reseller cannot revoke a competitor's
// certificate, nor anything above itself; a revocation signed by anyone
// else is ignored, wherever it was found.
type Revocation struct {
	Serial string // a certificate serial; or
	Key    string // a key id
	Issued time.Time
	Reason string
	Signer ed25519.PublicKey

	doc []byte
}

// Target returns what is revoked: the certificate serial or the key id.
func (r *Revocation) Target() string {
	if r.Serial != "" {
		return r.Serial
	}
	return r.Key
}

// Document returns the signed document.
func (r *Revocation) Document() []byte { return r.doc }

// IssueRevocation signs a revocation of target (a certificate serial or a
// key id) by priv.
func IssueRevocation(priv ed25519.PrivateKey, target, reason string, issued time.Time) (*Revocation, error) {
	if !ValidTarget(target) {
		return nil, fmt.Errorf("%w: %q is neither a certificate serial (16 hexadecimal digits) nor a key id (issuer:serial)", ErrInvalid, target)
	}
	if strings.ContainsAny(reason, "\n\r") || len(reason) > 200 {
		return nil, fmt.Errorf("%w: the reason must be one line of at most 200 bytes", ErrInvalid)
	}
	if !payload.ValidTime(issued) {
		return nil, fmt.Errorf("%w: issued: %s is out of range", ErrInvalid, issued)
	}
	pub := priv.Public().(ed25519.PublicKey)
	var w payload.Writer
	w.Comment("allot revocation: signed below by the revoker; do not edit.")
	w.Int("version", RevocationVersion)
	if strings.Contains(target, ":") {
		w.String("key", target)
	} else {
		w.String("certificate", target)
	}
	w.Time("issued", issued.UTC().Truncate(time.Second))
	if reason != "" {
		w.String("reason", reason)
	}
	w.String("revoker", sign.MarshalAuthorized(pub, ""))
	doc, err := sign.Seal(priv, RevocationNamespace, w.Bytes())
	if err != nil {
		return nil, err
	}
	return ParseRevocation(doc)
}

// ParseRevocation reads a revocation document, checking its signature
// first: the payload's revoker must be the key that signed it. Whether that
// key may revoke what it names is the verifier's question (Trust).
func ParseRevocation(doc []byte) (*Revocation, error) {
	if len(doc) > MaxRevocationSize {
		return nil, fmt.Errorf("%w: revocation: larger than %d bytes", ErrMalformed, MaxRevocationSize)
	}
	body, signer, err := sign.Open(doc, RevocationNamespace)
	if err != nil {
		if errors.Is(err, sign.ErrSignature) {
			return nil, fmt.Errorf("revocation: %w", err)
		}
		return nil, fmt.Errorf("%w: revocation: %v", ErrMalformed, err)
	}
	secs, err := payload.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: revocation: %v", ErrMalformed, err)
	}
	if len(secs) != 1 {
		return nil, fmt.Errorf("%w: revocation: no tables allowed", ErrMalformed)
	}
	t := payload.NewTable(&secs[0])
	r := &Revocation{doc: doc, Signer: signer}
	if v := t.Int("version"); v != RevocationVersion {
		return nil, fmt.Errorf("%w: revocation: version %d, want %d", ErrMalformed, v, RevocationVersion)
	}
	var revoker string
	for _, f := range secs[0].Fields {
		switch f.Key {
		case "certificate":
			r.Serial = t.String("certificate")
		case "key":
			r.Key = t.String("key")
		case "reason":
			r.Reason = t.String("reason")
		}
	}
	r.Issued = t.Time("issued")
	revoker = t.String("revoker")
	if err := t.Done(); err != nil {
		return nil, fmt.Errorf("%w: revocation: %v", ErrMalformed, err)
	}
	if (r.Serial == "") == (r.Key == "") || !ValidTarget(r.Target()) || strings.Contains(r.Serial, ":") || r.Key != "" && !strings.Contains(r.Key, ":") {
		return nil, fmt.Errorf("%w: revocation: it must name one certificate serial (16 hexadecimal digits) or one key id (issuer:serial)", ErrMalformed)
	}
	k, err := sign.ParseAuthorized(revoker)
	if err != nil {
		return nil, fmt.Errorf("%w: revocation: revoker: %v", ErrMalformed, err)
	}
	if !k.Key.Equal(signer) {
		return nil, fmt.Errorf("revocation of %s: signed by %s, not by its revoker %s: %w", r.Target(), sign.IDOf(signer), sign.IDOf(k.Key), sign.ErrSignature)
	}
	return r, nil
}

// ValidTarget reports whether s is a certificate serial (16 lower-case
// hexadecimal digits) or a key id (two such, joined by ':').
func ValidTarget(s string) bool {
	hex16 := func(s string) bool {
		if len(s) != 16 {
			return false
		}
		for i := 0; i < len(s); i++ {
			if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
				return false
			}
		}
		return true
	}
	if a, b, ok := strings.Cut(s, ":"); ok {
		return hex16(a) && hex16(b)
	}
	return hex16(s)
}

// revokedBy returns the first signed revocation of target that the chain
// c lets count: signed by a root, or by one of the keys above the revoked
// item, which are the issuers of c[:upto] and, for a key, the chain's
// subject (signer). It returns nil if none counts.
func (t *Trust) revokedBy(target string, c Chain, upto int, signer ed25519.PublicKey) *Revocation {
	for _, r := range t.Revocations[target] {
		if t.IsRoot(r.Signer) || signer != nil && r.Signer.Equal(signer) {
			return r
		}
		for _, x := range c[:upto] {
			if r.Signer.Equal(x.Issuer) {
				return r
			}
		}
	}
	return nil
}

// AddRevocation adds a signed revocation; a verifier honours it where the
// rule of Revocation allows.
func (t *Trust) AddRevocation(r *Revocation) {
	if t.Revocations == nil {
		t.Revocations = map[string][]*Revocation{}
	}
	t.Revocations[r.Target()] = append(t.Revocations[r.Target()], r)
}

// RevokedError is a certificate or key that a signed revocation revokes.
type RevokedError struct {
	What       string // "certificate 467d…" or "key 989d…:c939…"
	Revocation *Revocation
}

func (e *RevokedError) Error() string {
	msg := fmt.Sprintf("%s: %s by %s on %s", e.What, ErrRevoked, sign.IDOf(e.Revocation.Signer), e.Revocation.Issued.Format(time.DateOnly))
	if e.Revocation.Reason != "" {
		msg += " (" + e.Revocation.Reason + ")"
	}
	return msg
}

// Unwrap makes a RevokedError of class ErrRevoked.
func (e *RevokedError) Unwrap() error { return ErrRevoked }
