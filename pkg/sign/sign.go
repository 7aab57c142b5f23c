// Package sign holds allot's signature primitives: Ed25519 public keys in
// OpenSSH form, SSHSIG envelopes (the format of `ssh-keygen -Y sign`), and
// domain-separated Ed25519 signatures for compact artifacts such as license
// keys.
//
// It depends on the standard library only, so that a device binary that
// verifies bundles stays small and starts fast. Private keys at rest live in
// the subpackage keyfile.
//
// Every signature allot makes is bound to a purpose: SSHSIG signatures carry
// a namespace, and domain-separated signatures a context string, so that a
// signature made for one artifact type never verifies as another.
package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"allot.dev/allot/pkg/errclass"
)

// KeyType is the OpenSSH name of the only key type allot uses.
const KeyType = "ssh-ed25519"

// ErrSignature reports a signature that does not verify. It is the error
// class behind every "signature or trust failure".
var ErrSignature = errclass.Sentinel(errclass.Trust, "signature does not verify")

// ErrMalformed reports input that is not in the expected encoding.
var ErrMalformed = errclass.Sentinel(errclass.Input, "malformed")

// PublicKey is an Ed25519 public key with the comment of its OpenSSH line.
type PublicKey struct {
	Key     ed25519.PublicKey
	Comment string
}

// Wire returns the key in the SSH wire format: string "ssh-ed25519", string key.
func Wire(pub ed25519.PublicKey) []byte {
	b := make([]byte, 0, 4+len(KeyType)+4+ed25519.PublicKeySize)
	b = AppendWireString(b, []byte(KeyType))
	return AppendWireString(b, pub)
}

// ParseWire parses a public key in the SSH wire format.
func ParseWire(b []byte) (ed25519.PublicKey, error) {
	r := WireReader{Rest: b}
	typ := r.ReadString()
	key := r.ReadString()
	if r.Err != nil || len(r.Rest) != 0 {
		return nil, errclass.New(ErrMalformed, "public key: bad SSH wire encoding")
	}
	if string(typ) != KeyType {
		return nil, fmt.Errorf("public key: type %q is not %s", typ, KeyType)
	}
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key: %d bytes, want %d", len(key), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(bytes.Clone(key)), nil
}

// MarshalAuthorized returns the OpenSSH public key line without a newline:
// "ssh-ed25519 AAAA… comment".
func MarshalAuthorized(pub ed25519.PublicKey, comment string) string {
	s := KeyType + " " + base64.StdEncoding.EncodeToString(Wire(pub))
	if comment != "" {
		s += " " + comment
	}
	return s
}

// String returns the OpenSSH public key line.
func (k PublicKey) String() string { return MarshalAuthorized(k.Key, k.Comment) }

// ParseAuthorized parses one OpenSSH public key line ("ssh-ed25519 AAAA…
// comment"). Leading and trailing white space is ignored.
func ParseAuthorized(line string) (PublicKey, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return PublicKey{}, errclass.New(ErrMalformed, "public key: want \"%s <base64> [comment]\"", KeyType)
	}
	if f[0] != KeyType {
		return PublicKey{}, fmt.Errorf("public key: type %q is not %s", f[0], KeyType)
	}
	wire, err := base64.StdEncoding.Strict().DecodeString(f[1])
	if err != nil {
		return PublicKey{}, errclass.New(ErrMalformed, "public key: not base64")
	}
	key, err := ParseWire(wire)
	if err != nil {
		return PublicKey{}, err
	}
	comment := strings.Join(f[2:], " ")
	if len(comment) > MaxCommentLen {
		return PublicKey{}, errclass.New(ErrMalformed, "public key: comment longer than %d bytes", MaxCommentLen)
	}
	return PublicKey{Key: key, Comment: comment}, nil
}

// MaxCommentLen bounds the comment of a public key line: it names a
// signer ("vendor", "reseller@example") and is copied into certificates.
const MaxCommentLen = 256

// KeyIDSize is the length of a key id in bytes.
const KeyIDSize = 8

// KeyID is the short identifier of a public key: the first eight bytes of the
// SHA-256 of its wire form. It names a key in compact artifacts; it is never
// trusted on its own: the full key is always checked against a signature.
type KeyID [KeyIDSize]byte

// IDOf returns the key id of pub.
func IDOf(pub ed25519.PublicKey) KeyID {
	sum := sha256.Sum256(Wire(pub))
	var id KeyID
	copy(id[:], sum[:])
	return id
}

func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// ParseKeyID parses the hexadecimal form of a key id.
func ParseKeyID(s string) (KeyID, error) {
	var id KeyID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != KeyIDSize {
		return id, errclass.New(ErrMalformed, "key id %q: want %d hexadecimal digits", s, 2*KeyIDSize)
	}
	copy(id[:], b)
	return id, nil
}

// Fingerprint returns the key's fingerprint as ssh-keygen -l prints it:
// "SHA256:" and the unpadded base64 of the SHA-256 of the wire form.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(Wire(pub))
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// SignContext signs msg for one purpose. The signed message is the context,
// a zero byte, and msg, so a signature made under one context never verifies
// under another.
func SignContext(priv ed25519.PrivateKey, context string, msg []byte) []byte {
	return ed25519.Sign(priv, contextMessage(context, msg))
}

// VerifyContext checks a signature made by SignContext.
func VerifyContext(pub ed25519.PublicKey, context string, msg, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize ||
		!ed25519.Verify(pub, contextMessage(context, msg), sig) {
		return ErrSignature
	}
	return nil
}

func contextMessage(context string, msg []byte) []byte {
	m := make([]byte, 0, len(context)+1+len(msg))
	m = append(m, context...)
	m = append(m, 0)
	return append(m, msg...)
}

// AppendWireString appends s to b as an SSH wire string (RFC 4251): its
// length as a big-endian uint32, then its bytes.
func AppendWireString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// WireReader reads SSH wire strings and uint32s (RFC 4251) from the front
// of Rest. The first error, ErrMalformed, sticks in Err, and every read
// after it returns nothing.
type WireReader struct {
	Rest []byte
	Err  error
}

// ReadString reads a string; it is a slice of Rest, not a copy.
func (r *WireReader) ReadString() []byte {
	n := r.ReadUint32()
	if r.Err != nil {
		return nil
	}
	if uint64(n) > uint64(len(r.Rest)) {
		r.Err = ErrMalformed
		return nil
	}
	s := r.Rest[:n]
	r.Rest = r.Rest[n:]
	return s
}

// ReadUint32 reads a big-endian uint32.
func (r *WireReader) ReadUint32() uint32 {
	if r.Err != nil {
		return 0
	}
	if len(r.Rest) < 4 {
		r.Err = ErrMalformed
		return 0
	}
	v := binary.BigEndian.Uint32(r.Rest)
	r.Rest = r.Rest[4:]
	return v
}

// ContainsKey reports whether keys holds k.
func ContainsKey(keys []ed25519.PublicKey, k ed25519.PublicKey) bool {
	for _, x := range keys {
		if x.Equal(k) {
			return true
		}
	}
	return false
}
