package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// testKey returns a deterministic Ed25519 key, so that expected values stay
// stable across runs.
func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("allot sign test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func pubOf(priv ed25519.PrivateKey) ed25519.PublicKey {
	return priv.Public().(ed25519.PublicKey)
}

func TestWireRoundTrip(t *testing.T) {
	pub := pubOf(testKey("wire"))
	w := Wire(pub)
	// string "ssh-ed25519" then string key, both length-prefixed.
	if len(w) != 4+len(KeyType)+4+ed25519.PublicKeySize {
		t.Fatalf("Wire length %d", len(w))
	}
	if n := binary.BigEndian.Uint32(w); n != uint32(len(KeyType)) || string(w[4:4+n]) != KeyType {
		t.Fatalf("Wire does not start with the key type: %x", w[:15])
	}
	got, err := ParseWire(w)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(pub) {
		t.Fatalf("ParseWire(Wire(pub)) = %x, want %x", got, pub)
	}
	// The parsed key must not alias the input.
	w[len(w)-1] ^= 0xff
	if !got.Equal(pub) {
		t.Fatal("ParseWire result aliases its input")
	}
}

func TestParseWireRejects(t *testing.T) {
	pub := pubOf(testKey("wire"))
	good := Wire(pub)
	str := func(s []byte) []byte { return AppendWireString(nil, s) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"truncated length", good[:3]},
		{"truncated type", good[:8]},
		{"missing key", str([]byte(KeyType))},
		{"truncated key", good[:len(good)-1]},
		{"trailing byte", append(append([]byte{}, good...), 0)},
		{"other type", cat(str([]byte("ssh-rsa")), str(pub))},
		{"short key", cat(str([]byte(KeyType)), str(pub[:31]))},
		{"long key", cat(str([]byte(KeyType)), str(append(append([]byte{}, pub...), 0)))},
		{"huge length", cat([]byte{0xff, 0xff, 0xff, 0xff}, []byte(KeyType))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if k, err := ParseWire(tt.in); err == nil {
				t.Fatalf("ParseWire(%x) = %x, want an error", tt.in, k)
			}
		})
	}
}

func TestAuthorizedRoundTrip(t *testing.T) {
	pub := pubOf(testKey("line"))
	for _, comment := range []string{"", "vendor", "vendor root 2026"} {
		line := MarshalAuthorized(pub, comment)
		if !strings.HasPrefix(line, KeyType+" AAAA") {
			t.Errorf("MarshalAuthorized = %q, want an ssh-ed25519 AAAA… line", line)
		}
		if strings.HasSuffix(line, " ") || strings.Contains(line, "\n") {
			t.Errorf("MarshalAuthorized(%q) = %q: trailing space or newline", comment, line)
		}
		k, err := ParseAuthorized(line)
		if err != nil {
			t.Fatalf("ParseAuthorized(%q): %v", line, err)
		}
		if !k.Key.Equal(pub) || k.Comment != comment {
			t.Errorf("ParseAuthorized(%q) = %v %q, want the key and %q", line, k.Key, k.Comment, comment)
		}
		if s := k.String(); s != line {
			t.Errorf("String() = %q, want %q", s, line)
		}
	}
	// White space around the line and between fields is forgiven.
	k, err := ParseAuthorized("  " + MarshalAuthorized(pub, "a") + "   b\n")
	if err != nil {
		t.Fatal(err)
	}
	if !k.Key.Equal(pub) || k.Comment != "a b" {
		t.Errorf("padded line parsed as %q", k.Comment)
	}
}

func TestParseAuthorizedRejects(t *testing.T) {
	pub := pubOf(testKey("line"))
	b64 := base64.StdEncoding.EncodeToString(Wire(pub))
	rsaWire := append(AppendWireString(nil, []byte("ssh-rsa")), AppendWireString(nil, pub)...)
	tests := []struct {
		name, line string
	}{
		{"empty", ""},
		{"type only", KeyType},
		{"other type", "ssh-rsa " + b64},
		{"type mismatch inside", KeyType + " " + base64.StdEncoding.EncodeToString(rsaWire)},
		{"bad base64", KeyType + " !!!!"},
		{"truncated base64", KeyType + " " + b64[:len(b64)-4]},
		{"raw key, not wire", KeyType + " " + base64.StdEncoding.EncodeToString(pub)},
		{"case of type", "SSH-ED25519 " + b64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if k, err := ParseAuthorized(tt.line); err == nil {
				t.Fatalf("ParseAuthorized(%q) = %v, want an error", tt.line, k)
			}
		})
	}
}

func TestKeyID(t *testing.T) {
	a, b := pubOf(testKey("a")), pubOf(testKey("b"))
	if IDOf(a) == IDOf(b) {
		t.Fatal("two keys have the same id")
	}
	sum := sha256.Sum256(Wire(a))
	id := IDOf(a)
	if !bytes.Equal(id[:], sum[:KeyIDSize]) {
		t.Fatalf("IDOf = %x, want the first %d bytes of SHA-256(wire) %x", id, KeyIDSize, sum[:KeyIDSize])
	}
	s := id.String()
	if len(s) != 2*KeyIDSize || strings.ToLower(s) != s {
		t.Fatalf("KeyID.String() = %q", s)
	}
	back, err := ParseKeyID(s)
	if err != nil || back != id {
		t.Fatalf("ParseKeyID(%q) = %v, %v", s, back, err)
	}
	if back, err := ParseKeyID(strings.ToUpper(s)); err != nil || back != id {
		t.Fatalf("ParseKeyID(upper) = %v, %v", back, err)
	}
	for _, bad := range []string{"", s[:14], s + "00", "zz" + s[2:], s[:15] + "g"} {
		if _, err := ParseKeyID(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseKeyID(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestFingerprint(t *testing.T) {
	pub := pubOf(testKey("fp"))
	sum := sha256.Sum256(Wire(pub))
	want := "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
	if got := Fingerprint(pub); got != want {
		t.Fatalf("Fingerprint = %q, want %q", got, want)
	}
	if strings.HasSuffix(Fingerprint(pub), "=") {
		t.Fatal("fingerprint is padded; ssh-keygen prints it unpadded")
	}
	if Fingerprint(pub) == Fingerprint(pubOf(testKey("other"))) {
		t.Fatal("two keys have the same fingerprint")
	}
}

func TestSignContext(t *testing.T) {
	priv := testKey("ctx")
	pub := pubOf(priv)
	msg := []byte("license key body")
	sig := SignContext(priv, "allot-license-key-v1", msg)
	if err := VerifyContext(pub, "allot-license-key-v1", msg, sig); err != nil {
		t.Fatalf("VerifyContext: %v", err)
	}
	// A signature is bound to its context: not valid under another, nor as
	// a plain Ed25519 signature of msg, nor with the context moved into msg.
	if err := VerifyContext(pub, "allot-license-key-v2", msg, sig); !errors.Is(err, ErrSignature) {
		t.Errorf("other context: %v, want ErrSignature", err)
	}
	if err := VerifyContext(pub, "", msg, sig); !errors.Is(err, ErrSignature) {
		t.Errorf("empty context: %v, want ErrSignature", err)
	}
	if ed25519.Verify(pub, msg, sig) {
		t.Error("context signature verifies as a plain signature of the message")
	}
	if err := VerifyContext(pub, "allot-license-key-v", []byte("1\x00license key body"), sig); !errors.Is(err, ErrSignature) {
		t.Errorf("context shifted into the message: %v, want ErrSignature", err)
	}
	if err := VerifyContext(pubOf(testKey("other")), "allot-license-key-v1", msg, sig); !errors.Is(err, ErrSignature) {
		t.Errorf("other key: %v, want ErrSignature", err)
	}
	if err := VerifyContext(pub, "allot-license-key-v1", append(msg, 0), sig); !errors.Is(err, ErrSignature) {
		t.Errorf("longer message: %v, want ErrSignature", err)
	}
	// Malformed inputs are errors, never panics.
	if err := VerifyContext(pub[:31], "allot-license-key-v1", msg, sig); !errors.Is(err, ErrSignature) {
		t.Errorf("short key: %v, want ErrSignature", err)
	}
	if err := VerifyContext(pub, "allot-license-key-v1", msg, sig[:63]); !errors.Is(err, ErrSignature) {
		t.Errorf("short signature: %v, want ErrSignature", err)
	}
	for i := range len(sig) * 8 {
		bad := bytes.Clone(sig)
		bad[i/8] ^= 1 << (i % 8)
		if VerifyContext(pub, "allot-license-key-v1", msg, bad) == nil {
			t.Fatalf("signature with bit %d flipped verifies", i)
		}
	}
}

func TestContainsKey(t *testing.T) {
	a, b, c := pubOf(testKey("a")), pubOf(testKey("b")), pubOf(testKey("c"))
	keys := []ed25519.PublicKey{a, b}
	if !ContainsKey(keys, bytes.Clone(b)) {
		t.Error("ContainsKey misses a key equal by value")
	}
	if ContainsKey(keys, c) || ContainsKey(nil, a) {
		t.Error("ContainsKey finds a key that is not there")
	}
}
