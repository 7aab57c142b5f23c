// Package licensekey encodes, signs, parses and verifies license keys: short
// signed strings that a reseller issues by the thousand and a site installer
// types or pastes into `allot wallet redeem`.
//
// A key is a compact binary record signed with Ed25519 under the context
// "allot-license-key-v1", written as Crockford base32 in groups with a check
// character each (see text.go and formats/license-key.md). Parse checks the
// text and the structure; Verify checks the signature against the issuer's
// public key. Whether the issuer may issue such a key is the business of
// package cert.
package licensekey

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/sign"
)

// Version is the binary format version this package writes and reads.
const Version = 1

// SignatureContext separates key signatures from every other signature.
const SignatureContext = "allot-license-key-v1"

// Limits a reader enforces, so no key can make it allocate without bound.
const (
	MaxLicenses   = 8
	MaxFeatures   = 32
	MaxQuantity   = 1_000_000
	MaxTermMonths = 120
	maxNameLen    = 32
	maxDeviceLen  = 64
)

// ErrMalformed reports a key whose text is intact but whose content is not a
// valid key: an unknown version, a bad field, trailing bytes.
var ErrMalformed = errclass.Sentinel(errclass.Input, "malformed license key")

// Kind says how a license is consumed.
type Kind byte

const (
	// Subscription licenses run for a term, counted in license-months.
	Subscription Kind = 1
	// Hardware licenses are perpetual and tied to one device.
	Hardware Kind = 2
	// Expansion licenses add perpetual capacity to a hardware license.
	Expansion Kind = 3
	// Trial licenses are for evaluation: a short term, counted in
	// license-months like a subscription, once per system (trial.go).
	Trial Kind = 4
)

var kindNames = [...]string{Subscription: "subscription", Hardware: "hardware", Expansion: "expansion", Trial: "trial"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// ParseKind parses a kind name.
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if name != "" && name == s {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown kind %q (want subscription, hardware, expansion or trial)", s)
}

// MarshalText lets kinds appear by name in TOML and JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses a kind name.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	*k = v
	return err
}

// SerialSize is the length of a key serial in bytes.
const SerialSize = 8

// Serial identifies a key among all keys of its issuer.
type Serial [SerialSize]byte

func (s Serial) String() string { return hex.EncodeToString(s[:]) }

// WalletIDSize is the length of a wallet id in bytes.
const WalletIDSize = 16

// WalletID names the wallet a key is issued to: the first 16 bytes of the
// SHA-256 of the wallet signer's public key in SSH wire form.
type WalletID [WalletIDSize]byte

// WalletIDOf returns the wallet id of a wallet signer's public key.
func WalletIDOf(pub ed25519.PublicKey) WalletID {
	sum := sha256.Sum256(sign.Wire(pub))
	var id WalletID
	copy(id[:], sum[:])
	return id
}

func (w WalletID) String() string { return EncodeID(w[:]) }

// ParseWalletID parses the printed form of a wallet id.
func ParseWalletID(s string) (WalletID, error) {
	var w WalletID
	raw, err := DecodeID(s, WalletIDSize)
	if err != nil {
		return w, fmt.Errorf("wallet id %q: %v", s, err)
	}
	copy(w[:], raw)
	return w, nil
}

// MarshalText prints a wallet id.
func (w WalletID) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// UnmarshalText parses a wallet id.
func (w *WalletID) UnmarshalText(b []byte) error {
	v, err := ParseWalletID(string(b))
	*w = v
	return err
}

// License is a quantity of one license type.
type License struct {
	Type     string `json:"type"`
	Quantity int    `json:"quantity"`
}

// Key is a decoded license key.
type Key struct {
	Kind       Kind
	Issuer     sign.KeyID
	Serial     Serial
	Issued     time.Time // a date, UTC midnight
	TermMonths int       // 0: perpetual
	Product    string
	Licenses   []License
	Features   []string
	Wallet     WalletID // zero for a bearer key
	Bearer     bool
	Device     string // the device a hardware or expansion key is tied to, if any

	signed    []byte // the bytes the signature covers
	signature []byte
}

// ID is the de-duplication identity of a key: its issuer and serial, as
// "issuer:serial" in hexadecimal. Two texts with the same ID are the same key.
func (k *Key) ID() string { return k.Ref().String() }

// Ref is a key's ID in binary: the issuer key id and the serial.
type Ref [sign.KeyIDSize + SerialSize]byte

// Ref returns the key's ID in binary, for maps.
func (k *Key) Ref() Ref {
	var r Ref
	copy(r[:], k.Issuer[:])
	copy(r[sign.KeyIDSize:], k.Serial[:])
	return r
}

func (r Ref) String() string {
	return hex.EncodeToString(r[:sign.KeyIDSize]) + ":" + hex.EncodeToString(r[sign.KeyIDSize:])
}

// ParseRef parses a key ID, "issuer:serial".
func ParseRef(s string) (Ref, error) {
	var r Ref
	a, b, ok := strings.Cut(s, ":")
	ia, err1 := hex.DecodeString(a)
	ib, err2 := hex.DecodeString(b)
	if !ok || err1 != nil || err2 != nil || len(ia) != sign.KeyIDSize || len(ib) != SerialSize {
		return r, fmt.Errorf("key id %q: want issuer:serial, 16 and 16 hexadecimal digits", s)
	}
	copy(r[:], ia)
	copy(r[sign.KeyIDSize:], ib)
	return r, nil
}

// Text returns the key's canonical text form. It is valid only for a key
// returned by Parse or Sign.
func (k *Key) Text() string { return Encode(k.raw()) }

// Raw returns the key's binary form, signature included.
func (k *Key) Raw() []byte { return k.raw() }

func (k *Key) raw() []byte {
	b := make([]byte, 0, len(k.signed)+len(k.signature))
	b = append(b, k.signed...)
	return append(b, k.signature...)
}

// Capacity returns the license-months (subscription) or units (hardware,
// expansion) a key grants for a license type.
func (k *Key) Capacity(licenseType string) int {
	n := 0
	for _, l := range k.Licenses {
		if l.Type == licenseType {
			n += l.Quantity * max(k.TermMonths, 1)
		}
	}
	return n
}

// Sign fills in the issuer and serial, signs the key with priv, and returns
// its text form. Serials are read from rand.
func (k *Key) Sign(priv ed25519.PrivateKey, rand io.Reader) (string, error) {
	k.Issuer = sign.IDOf(priv.Public().(ed25519.PublicKey))
	if _, err := io.ReadFull(rand, k.Serial[:]); err != nil {
		return "", err
	}
	if err := k.validate(); err != nil {
		return "", err
	}
	signed := k.marshal()
	// Every key Sign makes must be one Parse reads back.
	if n := textLen(len(signed) + ed25519.SignatureSize); n > MaxTextLen {
		return "", fmt.Errorf("key text would be %d characters, more than %d: fewer licenses, features or shorter names", n, MaxTextLen)
	}
	k.signed = signed
	k.signature = sign.SignContext(priv, SignatureContext, k.signed)
	return k.Text(), nil
}

// TextLen returns the length of the text Sign makes of k. The serial and
// the issuer have fixed sizes, so every key signed from one template has
// this length.
func (k *Key) TextLen() int {
	return textLen(len(k.marshal()) + ed25519.SignatureSize)
}

// Verify checks the key's signature against the issuer's public key.
func (k *Key) Verify(issuer ed25519.PublicKey) error {
	_, err := k.VerifyOnce(issuer, nil)
	return err
}

// VerifyOnce is Verify through a set of signatures already verified (nil:
// none), which it adds the key's to: a key verified before against the
// same issuer key, in exactly the same bytes, is not verified again.
// checked reports whether it ran an Ed25519 verification.
func (k *Key) VerifyOnce(issuer ed25519.PublicKey, verified *sign.Verified) (checked bool, err error) {
	if sign.IDOf(issuer) != k.Issuer {
		return false, fmt.Errorf("key %s: issuer key id %s does not match the certificate's key %s: %w",
			k.Serial, k.Issuer, sign.IDOf(issuer), sign.ErrSignature)
	}
	checked, err = verified.VerifyContext(issuer, SignatureContext, k.signed, k.signature)
	if err != nil {
		return checked, fmt.Errorf("key %s: %w", k.Serial, err)
	}
	return checked, nil
}

// Parse decodes the text form of a key. It checks the text and the
// structure, not the signature: call Verify for that.
func Parse(s string) (*Key, error) {
	raw, err := Decode(s)
	if err != nil {
		return nil, err
	}
	return ParseRaw(raw)
}

// ErrNotCanonical reports key text that decodes to a valid key but is not
// the one spelling Encode writes.
var ErrNotCanonical = errors.New("key text is not canonical: inside a signed file a key is written exactly as allot writes it (upper case, groups of six characters joined by dashes, no spaces or look-alike letters)")

// ParseCanonical parses a key as it appears inside a signed artifact. A
// person may type a key in any case, with or without dashes; a signed file
// holds each key in its one canonical text, so that one key can never be
// counted as two by its spelling.
func ParseCanonical(s string) (*Key, error) {
	// The text Encode writes is read as such, and is then the key's
	// canonical text with nothing encoded again to compare (decodeGroups
	// says why); any other text is read, and refused, below.
	if raw, ok := decodeGroups(s, &canonicalTable); ok {
		return ParseRaw(raw)
	}
	k, err := Parse(s)
	if err != nil {
		return nil, err
	}
	if !isEncoding(s, k.raw()) { // k.Text() != s
		return nil, fmt.Errorf("%w: %w", ErrMalformed, ErrNotCanonical)
	}
	return k, nil
}

// ParseRaw decodes the binary form of a key.
func ParseRaw(raw []byte) (*Key, error) {
	if len(raw) < ed25519.SignatureSize+1 {
		return nil, fmt.Errorf("%w: too short", ErrMalformed)
	}
	if raw[0] != Version {
		return nil, fmt.Errorf("%w: format version %d, want %d", ErrMalformed, raw[0], Version)
	}
	n := len(raw) - ed25519.SignatureSize
	k := &Key{signed: raw[:n:n], signature: raw[n:]}
	if err := k.unmarshal(raw[1:n]); err != nil {
		return nil, err
	}
	if err := k.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return k, nil
}

const (
	flagWallet = 1 << 0
	flagDevice = 1 << 1
	flagsKnown = flagWallet | flagDevice
)

func (k *Key) marshal() []byte {
	b := make([]byte, 0, 128)
	b = append(b, Version, byte(k.Kind))
	b = append(b, k.Issuer[:]...)
	b = append(b, k.Serial[:]...)
	b = binary.AppendUvarint(b, uint64(k.Issued.Unix()/86400))
	b = binary.AppendUvarint(b, uint64(k.TermMonths))
	b = appendName(b, k.Product)
	b = append(b, byte(len(k.Licenses)))
	for _, l := range k.Licenses {
		b = appendName(b, l.Type)
		b = binary.AppendUvarint(b, uint64(l.Quantity))
	}
	b = append(b, byte(len(k.Features)))
	for _, f := range k.Features {
		b = appendName(b, f)
	}
	var flags byte
	if !k.Bearer {
		flags |= flagWallet
	}
	if k.Device != "" {
		flags |= flagDevice
	}
	b = append(b, flags)
	if !k.Bearer {
		b = append(b, k.Wallet[:]...)
	}
	if k.Device != "" {
		b = appendName(b, k.Device)
	}
	return b
}

func appendName(b []byte, s string) []byte {
	b = append(b, byte(len(s)))
	return append(b, s...)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrMalformed, what)
	}
}

func (r *reader) bytes(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.fail("ends inside " + what)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte(what string) byte {
	if v := r.bytes(1, what); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) uvarint(what string, limit uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad number in " + what)
		return 0
	}
	if v > limit {
		r.fail(fmt.Sprintf("%s %d exceeds %d", what, v, limit))
		return 0
	}
	// One encoding per number, so one text per key.
	if n != len(binary.AppendUvarint(nil, v)) {
		r.fail("over-long number in " + what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) name(what string) string {
	n := int(r.byte(what))
	return string(r.bytes(n, what))
}

// maxDay is the last day a key may carry, 9999-12-31.
const maxDay = 2932896

func (k *Key) unmarshal(b []byte) error {
	r := reader{b: b}
	k.Kind = Kind(r.byte("kind"))
	copy(k.Issuer[:], r.bytes(sign.KeyIDSize, "issuer"))
	copy(k.Serial[:], r.bytes(SerialSize, "serial"))
	k.Issued = time.Unix(int64(r.uvarint("issue date", maxDay))*86400, 0).UTC()
	k.TermMonths = int(r.uvarint("term", MaxTermMonths))
	k.Product = r.name("product")
	n := int(r.byte("license count"))
	if n > MaxLicenses {
		r.fail(fmt.Sprintf("%d licenses, at most %d", n, MaxLicenses))
	}
	for i := 0; i < n && r.err == nil; i++ {
		t := r.name("license type")
		q := r.uvarint("quantity", MaxQuantity)
		k.Licenses = append(k.Licenses, License{Type: t, Quantity: int(q)})
	}
	n = int(r.byte("feature count"))
	if n > MaxFeatures {
		r.fail(fmt.Sprintf("%d features, at most %d", n, MaxFeatures))
	}
	for i := 0; i < n && r.err == nil; i++ {
		k.Features = append(k.Features, r.name("feature"))
	}
	flags := r.byte("flags")
	if flags&^flagsKnown != 0 {
		r.fail(fmt.Sprintf("unknown flags %#x", flags&^flagsKnown))
	}
	k.Bearer = flags&flagWallet == 0
	if !k.Bearer {
		copy(k.Wallet[:], r.bytes(WalletIDSize, "wallet id"))
	}
	if flags&flagDevice != 0 {
		if k.Device = r.name("device"); k.Device == "" {
			r.fail("the device flag is set but the device is empty")
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail(fmt.Sprintf("%d unexpected bytes before the signature", len(r.b)))
	}
	return r.err
}

// validate checks the rules that both the issuer and every reader enforce.
func (k *Key) validate() error {
	switch k.Kind {
	case Subscription:
		if k.TermMonths < 1 {
			return errors.New("a subscription key needs a term of at least one month")
		}
		if k.Device != "" {
			return errors.New("a subscription key cannot be tied to a device")
		}
	case Trial:
		if err := k.validateTrial(); err != nil {
			return err
		}
	case Hardware, Expansion:
		if k.TermMonths != 0 {
			return fmt.Errorf("a %s key is perpetual and has no term", k.Kind)
		}
	default:
		return fmt.Errorf("unknown kind %d", byte(k.Kind))
	}
	if k.TermMonths > MaxTermMonths {
		return fmt.Errorf("term of %d months exceeds %d", k.TermMonths, MaxTermMonths)
	}
	if d := k.Issued.Unix(); d < 0 || d/86400 > maxDay || d%86400 != 0 {
		return fmt.Errorf("issue date %s is not a date between 1970 and 9999", k.Issued.Format(time.RFC3339))
	}
	if err := ValidName(k.Product); err != nil {
		return fmt.Errorf("product: %v", err)
	}
	if len(k.Licenses) == 0 || len(k.Licenses) > MaxLicenses {
		return fmt.Errorf("%d licenses, want 1 to %d", len(k.Licenses), MaxLicenses)
	}
	seen := map[string]bool{}
	for _, l := range k.Licenses {
		if err := ValidName(l.Type); err != nil {
			return fmt.Errorf("license type: %v", err)
		}
		if seen[l.Type] {
			return fmt.Errorf("license type %q appears twice", l.Type)
		}
		seen[l.Type] = true
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			return fmt.Errorf("license %s: quantity %d is not between 1 and %d", l.Type, l.Quantity, MaxQuantity)
		}
	}
	if len(k.Features) > MaxFeatures {
		return fmt.Errorf("%d features, at most %d", len(k.Features), MaxFeatures)
	}
	clear(seen)
	for _, f := range k.Features {
		if err := ValidName(f); err != nil {
			return fmt.Errorf("feature: %v", err)
		}
		if seen[f] {
			return fmt.Errorf("feature %q appears twice", f)
		}
		seen[f] = true
	}
	if k.Device != "" {
		if err := validDevice(k.Device); err != nil {
			return err
		}
	}
	return nil
}

// ValidName checks the identifiers a key carries (product, license type,
// feature): 1 to 32 characters of a-z, 0-9 and '-', starting with a letter.
func ValidName(s string) error {
	if s == "" || len(s) > maxNameLen {
		return fmt.Errorf("%q: want 1 to %d characters", s, maxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			return fmt.Errorf("%q: want lower-case letters, digits and '-', starting with a letter", s)
		}
	}
	return nil
}

func validDevice(s string) error {
	if len(s) > maxDeviceLen {
		return fmt.Errorf("device serial longer than %d characters", maxDeviceLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == ':') {
			return fmt.Errorf("device serial %q: want letters, digits, '-', '.', '_' and ':'", s)
		}
	}
	return nil
}

// AnalyticsLevel returns the analytics level a license type stands for:
// "analytics-l1" to "analytics-l4" are levels 1 to 4; every other type is 0.
func AnalyticsLevel(licenseType string) int {
	if len(licenseType) == len("analytics-l1") && licenseType[:len("analytics-l")] == "analytics-l" {
		if c := licenseType[len(licenseType)-1]; c >= '1' && c <= '4' {
			return int(c - '0')
		}
	}
	return 0
}
