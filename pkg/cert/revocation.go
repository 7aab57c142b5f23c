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
//
// A grant of a bundle's quota tree (package grant), named by its digest
// ("sha256:HEX"), may be revoked by a root, by the bundle's wallet, or by
// the signer of any grant from the first of its chain down to it: the
// grant package decides that, as it checks a chain.
type Revocation struct {
	Serial string // a certificate serial; or
	Key    string // a key id; or
	Grant  string // a grant's digest, "sha256:HEX"
	Issued time.Time
	Reason string
	Signer ed25519.PublicKey

	doc []byte
}

// Target returns what is revoked: the certificate serial or the key id.
func (r *Revocation) Target() string {
	switch {
	case r.Serial != "":
		return r.Serial
	case r.Key != "":
		return r.Key
	}
	return r.Grant
}

// What names what r revokes: "certificate SERIAL", "key ID" or
// "grant sha256:HEX".
func (r *Revocation) What() string { return TargetKind(r.Target()) + " " + r.Target() }

// TargetKind says what a revocation target names, by its form:
// "grant" (sha256:HEX), "key" (issuer:serial) or "certificate" (a serial),
// which is also the name of its field in a revocation document.
func TargetKind(target string) string {
	switch {
	case ValidGrantTarget(target):
		return "grant"
	case strings.Contains(target, ":"):
		return "key"
	}
	return "certificate"
}

// Document returns the signed document.
func (r *Revocation) Document() []byte { return r.doc }

// IssueRevocation signs a revocation of target (a certificate serial, a
// key id or a grant's digest) by priv.
func IssueRevocation(priv ed25519.PrivateKey, target, reason string, issued time.Time) (*Revocation, error) {
	if !ValidTarget(target) && !ValidGrantTarget(target) {
		return nil, fmt.Errorf("%w: %q is neither a certificate serial (16 hexadecimal digits), a key id (issuer:serial) nor a grant digest (sha256:HEX)", ErrInvalid, target)
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
	// The field is named as the kind is: certificate, key or grant.
	w.String(TargetKind(target), target)
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
		case "grant":
			r.Grant = t.String("grant")
		case "reason":
			r.Reason = t.String("reason")
		}
	}
	r.Issued = t.Time("issued")
	revoker = t.String("revoker")
	if err := t.Done(); err != nil {
		return nil, fmt.Errorf("%w: revocation: %v", ErrMalformed, err)
	}
	named := 0
	for _, v := range []string{r.Serial, r.Key, r.Grant} {
		if v != "" {
			named++
		}
	}
	valid := r.Grant != "" && ValidGrantTarget(r.Grant) ||
		r.Grant == "" && ValidTarget(r.Target()) && !strings.Contains(r.Serial, ":") && (r.Key == "" || strings.Contains(r.Key, ":"))
	if named != 1 || !valid {
		return nil, fmt.Errorf("%w: revocation: it must name one certificate serial (16 hexadecimal digits), one key id (issuer:serial) or one grant digest (sha256:HEX)", ErrMalformed)
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

// ValidGrantTarget reports whether s is a grant's digest: "sha256:" and
// 64 lower-case hexadecimal digits (grant.Digest).
func ValidGrantTarget(s string) bool {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if !(h[i] >= '0' && h[i] <= '9' || h[i] >= 'a' && h[i] <= 'f') {
			return false
		}
	}
	return true
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
