package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// blob is an SSHSIG blob's fields, so tests can build valid and damaged
// signatures field by field.
type blob struct {
	magic    string
	version  uint32
	pubWire  []byte
	ns       string
	reserved []byte
	hashAlg  string
	sigType  string
	sig      []byte
	trailing []byte // after the blob
	sigTrail []byte // inside the signature blob, after the signature
}

// newBlob returns the fields of a valid signature of msg by priv.
func newBlob(priv ed25519.PrivateKey, ns, hashAlg string, msg []byte) blob {
	var digest []byte
	switch hashAlg {
	case "sha256":
		h := sha256.Sum256(msg)
		digest = h[:]
	default:
		h := sha512.Sum512(msg)
		digest = h[:]
	}
	return blob{
		magic: sshsigMagic, version: 1, pubWire: Wire(pubOf(priv)), ns: ns,
		hashAlg: hashAlg, sigType: KeyType,
		sig: ed25519.Sign(priv, signedData(ns, hashAlg, digest)),
	}
}

func (b blob) bytes() []byte {
	var out []byte
	out = append(out, b.magic...)
	out = binary.BigEndian.AppendUint32(out, b.version)
	out = AppendWireString(out, b.pubWire)
	out = AppendWireString(out, []byte(b.ns))
	out = AppendWireString(out, b.reserved)
	out = AppendWireString(out, []byte(b.hashAlg))
	var sb []byte
	sb = AppendWireString(sb, []byte(b.sigType))
	sb = AppendWireString(sb, b.sig)
	sb = append(sb, b.sigTrail...)
	out = AppendWireString(out, sb)
	return append(out, b.trailing...)
}

func (b blob) armored() []byte { return armor(b.bytes()) }

func TestSignSSHFormat(t *testing.T) {
	priv := testKey("sshsig")
	msg := []byte("hello\n")
	armored := SignSSH(priv, "file", msg)
	if !bytes.HasPrefix(armored, []byte(armorBegin+"\n")) || !bytes.HasSuffix(armored, []byte("\n"+armorEnd+"\n")) {
		t.Fatalf("armor framing:\n%s", armored)
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(armored), "\n"), "\n") {
		if len(line) > armorWidth {
			t.Errorf("armor line of %d characters, want at most %d", len(line), armorWidth)
		}
	}
	// SignSSH's output is what newBlob describes: pinned field by field.
	if want := newBlob(priv, "file", "sha512", msg).armored(); !bytes.Equal(armored, want) {
		t.Fatalf("SignSSH =\n%s\nwant\n%s", armored, want)
	}
	sig, err := ParseSignature(armored)
	if err != nil {
		t.Fatal(err)
	}
	if !sig.PublicKey.Equal(pubOf(priv)) || sig.Namespace != "file" || sig.HashAlg != "sha512" {
		t.Fatalf("parsed %+v", sig)
	}
	if err := sig.Verify("file", msg); err != nil {
		t.Fatal(err)
	}
}

func TestSignatureVerifyRejects(t *testing.T) {
	priv := testKey("sshsig")
	msg := []byte("payload\n")
	sig, err := ParseSignature(SignSSH(priv, "allot-bundle-v1", msg))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ns string
		msg      []byte
	}{
		{"other namespace", "allot-certificate-v1", msg},
		{"namespace prefix", "allot-bundle-v", msg},
		{"empty namespace", "", msg},
		{"other message", "allot-bundle-v1", []byte("payload \n")},
		{"empty message", "allot-bundle-v1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := sig.Verify(tt.ns, tt.msg); !errors.Is(err, ErrSignature) {
				t.Fatalf("Verify = %v, want ErrSignature", err)
			}
		})
	}
}

func TestSHA256Signature(t *testing.T) {
	priv := testKey("sha256")
	msg := []byte("signed with sha256\n")
	sig, err := ParseSignature(newBlob(priv, "file", "sha256", msg).armored())
	if err != nil {
		t.Fatal(err)
	}
	if sig.HashAlg != "sha256" {
		t.Fatalf("HashAlg = %q", sig.HashAlg)
	}
	if err := sig.Verify("file", msg); err != nil {
		t.Fatalf("sha256 signature: %v", err)
	}
	// The hash algorithm is part of what is signed: relabelling a sha256
	// signature as sha512 must not verify.
	b := newBlob(priv, "file", "sha256", msg)
	b.hashAlg = "sha512"
	sig, err = ParseSignature(b.armored())
	if err != nil {
		t.Fatal(err)
	}
	if err := sig.Verify("file", msg); !errors.Is(err, ErrSignature) {
		t.Fatalf("relabelled hash algorithm: %v, want ErrSignature", err)
	}
}

func TestParseSignatureRejects(t *testing.T) {
	priv := testKey("sshsig")
	msg := []byte("m\n")
	good := newBlob(priv, "file", "sha512", msg)
	mod := func(f func(*blob)) []byte {
		b := good
		f(&b)
		return b.armored()
	}
	goodArmor := good.armored()
	body := bytes.TrimSuffix(bytes.TrimPrefix(goodArmor, []byte(armorBegin+"\n")), []byte(armorEnd+"\n"))
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"no begin", body},
		{"no end", []byte(armorBegin + "\n" + string(body))},
		{"other armor", bytes.ReplaceAll(goodArmor, []byte("SSH SIGNATURE"), []byte("PGP SIGNATURE"))},
		{"bad base64", []byte(armorBegin + "\n!!!!\n" + armorEnd + "\n")},
		{"too large", append(append([]byte(armorBegin+"\n"), bytes.Repeat([]byte("QUFB\n"), MaxArmorSize/5)...), armorEnd+"\n"...)},
		{"magic", mod(func(b *blob) { b.magic = "SSHSIH" })},
		{"version 2", mod(func(b *blob) { b.version = 2 })},
		{"version 0", mod(func(b *blob) { b.version = 0 })},
		{"rsa public key", mod(func(b *blob) {
			b.pubWire = append(AppendWireString(nil, []byte("ssh-rsa")), AppendWireString(nil, pubOf(priv))...)
		})},
		{"short public key", mod(func(b *blob) { b.pubWire = b.pubWire[:len(b.pubWire)-1] })},
		{"hash md5", mod(func(b *blob) { b.hashAlg = "md5" })},
		{"hash empty", mod(func(b *blob) { b.hashAlg = "" })},
		{"signature type", mod(func(b *blob) { b.sigType = "rsa-sha2-512" })},
		{"short signature", mod(func(b *blob) { b.sig = b.sig[:63] })},
		{"long signature", mod(func(b *blob) { b.sig = append(bytes.Clone(b.sig), 0) })},
		{"bytes after signature", mod(func(b *blob) { b.sigTrail = []byte{0} })},
		{"bytes after blob", mod(func(b *blob) { b.trailing = []byte{0, 0, 0, 0} })},
		{"truncated blob", armor(good.bytes()[:len(good.bytes())-1])},
		{"magic only", armor([]byte(sshsigMagic))},
		{"non-zero padding bits", paddingBitsSet(t, priv)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := ParseSignature(tt.in); err == nil {
				t.Fatalf("ParseSignature accepted it: %+v", s)
			}
		})
	}
	// The reserved field is ignored, as PROTOCOL.sshsig asks; it is not
	// part of the signed data either, so a signature stays valid.
	b := good
	b.reserved = []byte("future")
	s, err := ParseSignature(b.armored())
	if err != nil {
		t.Fatalf("non-empty reserved field: %v", err)
	}
	if err := s.Verify("file", msg); err != nil {
		t.Fatalf("non-empty reserved field: %v", err)
	}
}

// paddingBitsSet returns a valid signature whose base64 text has non-zero
// padding bits: it decodes to the same blob in a lax decoder, and OpenSSH
// rejects it.
func paddingBitsSet(t *testing.T, priv ed25519.PrivateKey) []byte {
	t.Helper()
	b := newBlob(priv, "allot", "sha512", []byte("m\n"))
	if len(b.bytes())%3 == 0 {
		t.Fatal("blob length is a multiple of 3: no padding bits")
	}
	a := b.armored()
	i := bytes.IndexByte(a, '=') - 1
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	a[i] = alphabet[strings.IndexByte(alphabet, a[i])|1]
	return a
}

// TestBitFlips flips every bit of a signed document, payload and armor, and
// requires that Open rejects every result. The namespaces give blobs of
// every length modulo 3, so the base64 padding cases are all covered.
func TestBitFlips(t *testing.T) {
	priv := testKey("flips")
	payload := []byte("# a payload\nkey = \"value\"\n")
	for _, ns := range []string{"file", "allot", "bundle", "allot-certificate-v1"} {
		t.Run(ns, func(t *testing.T) {
			doc, err := Seal(priv, ns, payload)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := Open(doc, ns); err != nil {
				t.Fatalf("intact document: %v", err)
			}
			for i := range len(doc) * 8 {
				bad := bytes.Clone(doc)
				bad[i/8] ^= 1 << (i % 8)
				if p, _, err := Open(bad, ns); err == nil {
					t.Errorf("byte %d bit %d (%q→%q) flipped: Open accepted it, payload %q",
						i/8, i%8, doc[i/8], bad[i/8], p)
				}
			}
		})
	}
}

func TestSealSplitOpen(t *testing.T) {
	priv := testKey("seal")
	pub := pubOf(priv)
	payload := []byte("version = 1\n# mentions " + armorBegin + " mid-line\n")
	doc, err := Seal(priv, "ns", payload)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(doc, payload) {
		t.Fatal("Seal does not start with the payload's exact bytes")
	}
	p, a, rest, err := Split(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p, payload) || !bytes.Equal(a, doc[len(payload):]) || len(rest) != 0 {
		t.Fatalf("Split = %q, %q, %q", p, a, rest)
	}
	got, signer, err := Open(doc, "ns")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) || !signer.Equal(pub) {
		t.Fatalf("Open = %q, %x", got, signer)
	}

	// Two documents back to back: Split cuts off the first.
	doc2, err := Seal(testKey("other"), "ns", []byte("second\n"))
	if err != nil {
		t.Fatal(err)
	}
	both := append(bytes.Clone(doc), doc2...)
	p, a, rest, err = Split(both)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p, payload) || !bytes.Equal(append(bytes.Clone(p), a...), doc) || !bytes.Equal(rest, doc2) {
		t.Fatalf("Split of two documents: %q | %q | %q", p, a, rest)
	}
	if _, _, err := Open(both, "ns"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Open of two documents = %v, want ErrMalformed (data after the signature)", err)
	}

	// Trailing white space after the signature is tolerated; other data is not.
	if _, _, err := Open(append(bytes.Clone(doc), "\n  \n"...), "ns"); err != nil {
		t.Fatalf("trailing blank lines: %v", err)
	}
	if _, _, err := Open(append(bytes.Clone(doc), "x\n"...), "ns"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("trailing text: %v, want ErrMalformed", err)
	}
	if _, _, err := Open(doc, "other"); !errors.Is(err, ErrSignature) {
		t.Fatalf("Open under another namespace: %v, want ErrSignature", err)
	}
}

// A document named by its digest has one text form: every other form of
// the same valid signature (the armor wrapped at another width or on one
// line, a blank line in it, no final newline, a reserved field, white
// space after it) verifies with Open but not with OpenCanonical.
func TestOpenCanonical(t *testing.T) {
	priv := testKey("canonical")
	payload := []byte("version = 1\n")
	doc, err := Seal(priv, "ns", payload)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenCanonical(doc, "ns"); err != nil {
		t.Fatalf("Seal's own document: %v", err)
	}
	b := newBlob(priv, "ns", "sha512", payload)
	enc := base64.StdEncoding.EncodeToString(b.bytes())
	reserved := b
	reserved.reserved = []byte("x")
	for name, armored := range map[string][]byte{
		"one line":         []byte(armorBegin + "\n" + enc + "\n" + armorEnd + "\n"),
		"wrapped at 60":    []byte(armorBegin + "\n" + enc[:60] + "\n" + enc[60:] + "\n" + armorEnd + "\n"),
		"a blank line":     bytes.Replace(b.armored(), []byte("\n"), []byte("\n\n"), 2),
		"no final newline": bytes.TrimSuffix(b.armored(), []byte("\n")),
		"reserved set":     reserved.armored(),
	} {
		other := append(bytes.Clone(payload), armored...)
		if _, _, err := Open(other, "ns"); err != nil {
			t.Fatalf("%s: Open: %v (the case must be a valid signature)", name, err)
		}
		if _, _, err := OpenCanonical(other, "ns"); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: OpenCanonical = %v, want ErrMalformed", name, err)
		}
	}
	if _, _, err := OpenCanonical(append(bytes.Clone(doc), '\n'), "ns"); !errors.Is(err, ErrMalformed) {
		t.Errorf("a blank line after the armor: %v, want ErrMalformed", err)
	}
	if _, _, err := OpenCanonical(doc, "other"); !errors.Is(err, ErrSignature) {
		t.Errorf("another namespace: %v, want ErrSignature", err)
	}
}

func TestSealRejects(t *testing.T) {
	priv := testKey("seal")
	for _, p := range []string{
		"",
		"no newline",
		armorBegin + "\nx\n",
		"a\n" + armorBegin + "\n",
	} {
		if doc, err := Seal(priv, "ns", []byte(p)); err == nil {
			t.Errorf("Seal(%q) = %q, want an error", p, doc)
		}
	}
}

func TestSplitRejects(t *testing.T) {
	priv := testKey("split")
	doc, err := Seal(priv, "ns", []byte("a = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	crlf := bytes.ReplaceAll(doc, []byte("\n"), []byte("\r\n"))
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"crlf", crlf, ErrCRLF},
		{"one crlf in the payload", append([]byte("a = 1\r\n"), doc[len("a = 1\n"):]...), ErrCRLF},
		{"no signature", []byte("a = 1\n"), ErrMalformed},
		{"begin not at a line start", bytes.Replace(doc, []byte("\n"+armorBegin), []byte(" "+armorBegin), 1), ErrMalformed},
		{"no end", doc[:bytes.Index(doc, []byte(armorEnd))], ErrMalformed},
		{"text after end", append(bytes.TrimSuffix(doc, []byte("\n")), "x\n"...), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := Split(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Split = %v, want %v", err, tt.want)
			}
			if _, _, err := Open(tt.in, "ns"); err == nil {
				t.Fatal("Open accepted it")
			}
		})
	}
	// A document that is only a signature has an empty payload.
	sig := SignSSH(priv, "ns", nil)
	p, a, rest, err := Split(sig)
	if err != nil || len(p) != 0 || !bytes.Equal(a, sig) || len(rest) != 0 {
		t.Fatalf("Split(signature only) = %q, %q, %q, %v", p, a, rest, err)
	}
}

// sshKeygen returns the path of ssh-keygen; the interoperability tests are
// part of the contract, so its absence is a failure, not a skip.
func sshKeygen(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Fatalf("ssh-keygen is required for the OpenSSH interoperability tests: %v", err)
	}
	return path
}

// runSSHKeygen runs ssh-keygen hermetically: HOME points into the test's
// temporary directory and stdin is the given bytes.
func runSSHKeygen(t *testing.T, home string, stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(sshKeygen(t), args...)
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	cmd.Dir = home
	cmd.Stdin = bytes.NewReader(stdin)
	return cmd.CombinedOutput()
}

func TestOpenSSHVerifiesOurSignature(t *testing.T) {
	dir := t.TempDir()
	priv := testKey("interop")
	allowed := filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(allowed, []byte("vendor@example "+MarshalAuthorized(pubOf(priv), "vendor")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ns  string
		msg []byte
	}{
		{"file", []byte("hello, world\n")},
		{"allot-bundle-v1", []byte("id = \"b1\"\n")},
		{"allot", nil},
		{"bundle", bytes.Repeat([]byte("0123456789abcdef"), 1000)},
	} {
		sigFile := filepath.Join(dir, tc.ns+".sig")
		if err := os.WriteFile(sigFile, SignSSH(priv, tc.ns, tc.msg), 0o644); err != nil {
			t.Fatal(err)
		}
		verify := func(ns, principal string, msg []byte) error {
			out, err := runSSHKeygen(t, dir, msg, "-Y", "verify", "-f", allowed, "-I", principal, "-n", ns, "-s", sigFile)
			if err != nil {
				return errors.New(strings.TrimSpace(string(out)))
			}
			return nil
		}
		if err := verify(tc.ns, "vendor@example", tc.msg); err != nil {
			t.Errorf("ssh-keygen -Y verify (namespace %s): %v", tc.ns, err)
		}
		if err := verify(tc.ns+"x", "vendor@example", tc.msg); err == nil {
			t.Errorf("ssh-keygen accepts namespace %sx for a %s signature", tc.ns, tc.ns)
		}
		if err := verify(tc.ns, "vendor@example", append(bytes.Clone(tc.msg), 'x')); err == nil {
			t.Errorf("ssh-keygen accepts an altered message (namespace %s)", tc.ns)
		}
	}

	// A sealed document verifies too: payload on stdin, armor as the
	// signature file, as the README tells people to do.
	doc, err := Seal(priv, "allot-bundle-v1", []byte("a = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	payload, armored, _, err := Split(doc)
	if err != nil {
		t.Fatal(err)
	}
	sigFile := filepath.Join(dir, "doc.sig")
	if err := os.WriteFile(sigFile, armored, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runSSHKeygen(t, dir, payload, "-Y", "verify", "-f", allowed, "-I", "vendor@example", "-n", "allot-bundle-v1", "-s", sigFile); err != nil {
		t.Fatalf("ssh-keygen -Y verify of a sealed document: %v\n%s", err, out)
	}
}

func TestWeVerifyOpenSSHSignature(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "id_ed25519")
	if out, err := runSSHKeygen(t, dir, nil, "-q", "-t", "ed25519", "-N", "", "-C", "site installer", "-f", keyPath); err != nil {
		t.Fatalf("ssh-keygen -t ed25519: %v\n%s", err, out)
	}
	line, err := os.ReadFile(keyPath + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParseAuthorized(string(line))
	if err != nil {
		t.Fatalf("ParseAuthorized(%q): %v", line, err)
	}
	if pub.Comment != "site installer" {
		t.Errorf("comment %q", pub.Comment)
	}
	// ssh-keygen -l prints the same fingerprint as Fingerprint.
	out, err := runSSHKeygen(t, dir, nil, "-l", "-E", "sha256", "-f", keyPath+".pub")
	if err != nil {
		t.Fatalf("ssh-keygen -l: %v\n%s", err, out)
	}
	if f := strings.Fields(string(out)); len(f) < 2 || f[1] != Fingerprint(pub.Key) {
		t.Errorf("ssh-keygen -l = %q, Fingerprint = %q", out, Fingerprint(pub.Key))
	}

	msg := []byte("a message signed by OpenSSH\n")
	msgPath := filepath.Join(dir, "msg")
	if err := os.WriteFile(msgPath, msg, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, hashAlg := range []string{"sha512", "sha256"} {
		t.Run(hashAlg, func(t *testing.T) {
			os.Remove(msgPath + ".sig")
			if out, err := runSSHKeygen(t, dir, nil, "-Y", "sign", "-f", keyPath, "-n", "allot-test", "-O", "hashalg="+hashAlg, msgPath); err != nil {
				t.Fatalf("ssh-keygen -Y sign: %v\n%s", err, out)
			}
			armored, err := os.ReadFile(msgPath + ".sig")
			if err != nil {
				t.Fatal(err)
			}
			sig, err := ParseSignature(armored)
			if err != nil {
				t.Fatalf("ParseSignature of ssh-keygen's signature: %v\n%s", err, armored)
			}
			if !sig.PublicKey.Equal(pub.Key) || sig.Namespace != "allot-test" || sig.HashAlg != hashAlg {
				t.Fatalf("parsed key %s namespace %q hash %q", MarshalAuthorized(sig.PublicKey, ""), sig.Namespace, sig.HashAlg)
			}
			if err := sig.Verify("allot-test", msg); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if err := sig.Verify("allot-other", msg); !errors.Is(err, ErrSignature) {
				t.Fatalf("Verify under another namespace: %v, want ErrSignature", err)
			}
			if err := sig.Verify("allot-test", msg[1:]); !errors.Is(err, ErrSignature) {
				t.Fatalf("Verify of another message: %v, want ErrSignature", err)
			}
			// Payload followed by ssh-keygen's armor is a document Open accepts.
			payload, signer, err := Open(append(bytes.Clone(msg), armored...), "allot-test")
			if err != nil || !bytes.Equal(payload, msg) || !signer.Equal(pub.Key) {
				t.Fatalf("Open = %q, %x, %v", payload, signer, err)
			}
		})
	}
}
