package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"

	"allot.dev/allot/pkg/errclass"
)

// The SSHSIG format, as OpenSSH's PROTOCOL.sshsig defines it. A signature
// made here verifies with `ssh-keygen -Y verify`, and the other way round.
const (
	sshsigMagic   = "SSHSIG"
	sshsigVersion = 1
	armorBegin    = "-----BEGIN SSH SIGNATURE-----"
	armorEnd      = "-----END SSH SIGNATURE-----"
	armorWidth    = 70

	// MaxArmorSize bounds the armored signature a reader accepts. An
	// Ed25519 SSHSIG is about 300 bytes armored.
	MaxArmorSize = 2048
)

// Signature is a parsed SSHSIG signature.
type Signature struct {
	PublicKey ed25519.PublicKey
	Namespace string
	HashAlg   string
	sig       []byte
}

// SignSSH signs msg under namespace and returns the armored SSHSIG block,
// ending in a newline.
func SignSSH(priv ed25519.PrivateKey, namespace string, msg []byte) []byte {
	const hashAlg = "sha512"
	h := sha512.Sum512(msg)
	sig := ed25519.Sign(priv, signedData(namespace, hashAlg, h[:]))

	s := &Signature{PublicKey: priv.Public().(ed25519.PublicKey), Namespace: namespace, HashAlg: hashAlg, sig: sig}
	return s.armor()
}

// armor returns the one text form of s that SignSSH writes: an empty
// reserved field, the base64 wrapped at 70 columns, a final newline.
func (s *Signature) armor() []byte {
	var blob []byte
	blob = append(blob, sshsigMagic...)
	blob = append(blob, 0, 0, 0, sshsigVersion)
	blob = AppendWireString(blob, Wire(s.PublicKey))
	blob = AppendWireString(blob, []byte(s.Namespace))
	blob = AppendWireString(blob, nil) // reserved
	blob = AppendWireString(blob, []byte(s.HashAlg))
	var sigBlob []byte
	sigBlob = AppendWireString(sigBlob, []byte(KeyType))
	sigBlob = AppendWireString(sigBlob, s.sig)
	blob = AppendWireString(blob, sigBlob)
	return armor(blob)
}

// signedData is the message Ed25519 actually signs: the magic preamble,
// namespace, reserved field, hash algorithm and the hash of the message.
func signedData(namespace, hashAlg string, digest []byte) []byte {
	var b []byte
	b = append(b, sshsigMagic...)
	b = AppendWireString(b, []byte(namespace))
	b = AppendWireString(b, nil)
	b = AppendWireString(b, []byte(hashAlg))
	return AppendWireString(b, digest)
}

func armor(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var b bytes.Buffer
	b.WriteString(armorBegin + "\n")
	for len(enc) > armorWidth {
		b.WriteString(enc[:armorWidth] + "\n")
		enc = enc[armorWidth:]
	}
	b.WriteString(enc + "\n")
	b.WriteString(armorEnd + "\n")
	return b.Bytes()
}

// ParseSignature parses an armored SSHSIG block. Only Ed25519 signatures
// with a sha256 or sha512 message hash are accepted.
func ParseSignature(armored []byte) (*Signature, error) {
	if len(armored) > MaxArmorSize {
		return nil, errclass.New(ErrMalformed, "signature: longer than %d bytes", MaxArmorSize)
	}
	body, ok := bytes.CutPrefix(armored, []byte(armorBegin+"\n"))
	if !ok {
		return nil, errclass.New(ErrMalformed, "signature: no %q line", armorBegin)
	}
	body = bytes.TrimSuffix(body, []byte("\n"))
	body, ok = bytes.CutSuffix(body, []byte(armorEnd))
	if !ok {
		return nil, errclass.New(ErrMalformed, "signature: no %q line", armorEnd)
	}
	// Strict decoding rejects non-zero padding bits, as OpenSSH does, so
	// that one signature has one text form.
	blob, err := base64.StdEncoding.Strict().DecodeString(string(bytes.ReplaceAll(body, []byte("\n"), nil)))
	if err != nil {
		return nil, errclass.New(ErrMalformed, "signature: not base64")
	}
	rest, ok := bytes.CutPrefix(blob, []byte(sshsigMagic))
	if !ok {
		return nil, errclass.New(ErrMalformed, "signature: not an SSHSIG blob")
	}
	r := WireReader{Rest: rest}
	version := r.ReadUint32()
	pubWire := r.ReadString()
	namespace := r.ReadString()
	r.ReadString() // reserved: PROTOCOL.sshsig asks verifiers to ignore it
	hashAlg := r.ReadString()
	sigBlob := r.ReadString()
	if r.Err != nil || len(r.Rest) != 0 {
		return nil, errclass.New(ErrMalformed, "signature: truncated or overlong SSHSIG blob")
	}
	if version != sshsigVersion {
		return nil, fmt.Errorf("signature: SSHSIG version %d is not %d", version, sshsigVersion)
	}
	pub, err := ParseWire(pubWire)
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	sr := WireReader{Rest: sigBlob}
	sigType := sr.ReadString()
	sig := sr.ReadString()
	if sr.Err != nil || len(sr.Rest) != 0 || string(sigType) != KeyType || len(sig) != ed25519.SignatureSize {
		return nil, errclass.New(ErrMalformed, "signature: not an Ed25519 signature")
	}
	if h := string(hashAlg); h != "sha512" && h != "sha256" {
		return nil, fmt.Errorf("signature: hash algorithm %q is not sha512 or sha256", h)
	}
	return &Signature{PublicKey: pub, Namespace: string(namespace), HashAlg: string(hashAlg), sig: bytes.Clone(sig)}, nil
}

// Verify checks that s signs msg under namespace. It does not say whether
// the signing key is trusted: compare s.PublicKey with the expected key.
func (s *Signature) Verify(namespace string, msg []byte) error {
	if subtle.ConstantTimeCompare([]byte(s.Namespace), []byte(namespace)) != 1 {
		return fmt.Errorf("%w: namespace %q, want %q", ErrSignature, s.Namespace, namespace)
	}
	var h hash.Hash
	switch s.HashAlg {
	case "sha512":
		h = sha512.New()
	case "sha256":
		h = sha256.New()
	default:
		return fmt.Errorf("%w: hash algorithm %q", ErrSignature, s.HashAlg)
	}
	h.Write(msg)
	if !ed25519.Verify(s.PublicKey, signedData(namespace, s.HashAlg, h.Sum(nil)), s.sig) {
		return ErrSignature
	}
	return nil
}

// ErrCRLF reports a signed document whose line endings were converted to
// CRLF, which changes the signed bytes.
var ErrCRLF = errclass.Wrap(ErrMalformed, errors.New("CRLF line endings: signed files must keep LF line endings"))

// ErrBOM reports a signed document an editor saved with a byte order mark,
// which changes the signed bytes.
var ErrBOM = errclass.Wrap(ErrMalformed, errors.New("starts with a byte order mark: an editor changed the file; signed files must be kept as they were written"))

// Seal returns a signed document: payload followed by the armored SSHSIG of
// its exact bytes. The payload must end in a newline and must not contain a
// line that starts the armor.
func Seal(priv ed25519.PrivateKey, namespace string, payload []byte) ([]byte, error) {
	if len(payload) == 0 || payload[len(payload)-1] != '\n' {
		return nil, errors.New("payload must end in a newline")
	}
	if bytes.HasPrefix(payload, []byte(armorBegin)) || bytes.Contains(payload, []byte("\n"+armorBegin)) {
		return nil, errors.New("payload contains a signature armor line")
	}
	doc := make([]byte, 0, len(payload)+400)
	doc = append(doc, payload...)
	return append(doc, SignSSH(priv, namespace, payload)...), nil
}

// Split cuts the first signed document off the front of data: the payload
// (every byte before the armor's first line), the armor, and what follows
// the armor's last line. It checks the framing only, not the signature.
func Split(data []byte) (payload, armored, rest []byte, err error) {
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return nil, nil, nil, ErrBOM
	}
	if bytes.Contains(data, []byte("\r\n")) {
		return nil, nil, nil, ErrCRLF
	}
	var begin int
	if bytes.HasPrefix(data, []byte(armorBegin+"\n")) {
		begin = 0
	} else if i := bytes.Index(data, []byte("\n"+armorBegin+"\n")); i >= 0 {
		begin = i + 1
	} else {
		return nil, nil, nil, errclass.New(ErrMalformed, "no signature: no %q line", armorBegin)
	}
	endLine := []byte("\n" + armorEnd)
	j := bytes.Index(data[begin:], endLine)
	if j < 0 {
		return nil, nil, nil, errclass.New(ErrMalformed, "signature has no %q line", armorEnd)
	}
	end := begin + j + len(endLine)
	if end < len(data) {
		if data[end] != '\n' {
			return nil, nil, nil, errclass.New(ErrMalformed, "text after %q on its line", armorEnd)
		}
		end++
	}
	return data[:begin], data[begin:end], data[end:], nil
}

// Open verifies a single signed document under namespace and returns its
// payload and the signing key. Trailing data after the signature is
// rejected. The caller must still decide whether the key is trusted.
func Open(doc []byte, namespace string) (payload []byte, signer ed25519.PublicKey, err error) {
	payload, armored, rest, err := Split(doc)
	if err != nil {
		return nil, nil, err
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, nil, errclass.New(ErrMalformed, "data after the signature")
	}
	sig, err := ParseSignature(armored)
	if err != nil {
		return nil, nil, err
	}
	if err := sig.Verify(namespace, payload); err != nil {
		return nil, nil, err
	}
	return payload, sig.PublicKey, nil
}

// OpenCanonical is Open for a document named by its exact bytes (a grant,
// whose SHA-256 its children name and a revocation revokes): it also
// refuses any text form of the signature but the one Seal writes (armor
// wrapped at 70 columns, one final newline, an empty reserved field) and
// anything after the armor. Else whoever holds the document could re-wrap
// its armor, or drop its last newline, and have the same signature under
// another digest, out of reach of a revocation of the first.
func OpenCanonical(doc []byte, namespace string) (payload []byte, signer ed25519.PublicKey, err error) {
	payload, armored, rest, err := Split(doc)
	if err != nil {
		return nil, nil, err
	}
	if len(rest) != 0 {
		return nil, nil, errclass.New(ErrMalformed, "data after the signature")
	}
	sig, err := ParseSignature(armored)
	if err != nil {
		return nil, nil, err
	}
	if err := sig.Verify(namespace, payload); err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(armored, sig.armor()) {
		return nil, nil, errclass.New(ErrMalformed, "signature: not in the text form allot writes (its lines re-wrapped, its last newline missing or its reserved field set): the document is named by its exact bytes")
	}
	return payload, sig.PublicKey, nil
}
