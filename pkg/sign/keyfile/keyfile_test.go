package keyfile

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"

	"allot.dev/allot/pkg/sign"
)

// testWorkFactor keeps scrypt fast in tests; keys made with it open like
// any other.
const testWorkFactor = 10

func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("allot keyfile test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func encryptWithPassphrase(t *testing.T, priv ed25519.PrivateKey, passphrase string) []byte {
	t.Helper()
	r, err := PassphraseRecipient(passphrase, testWorkFactor)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Encrypt(priv, "vendor root", r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestPassphraseRoundTrip(t *testing.T) {
	priv := testKey("passphrase")
	data := encryptWithPassphrase(t, priv, "correct horse")
	if !bytes.HasPrefix(data, []byte("-----BEGIN AGE ENCRYPTED FILE-----\n")) ||
		!bytes.HasSuffix(bytes.TrimRight(data, "\n"), []byte("\n-----END AGE ENCRYPTED FILE-----")) ||
		!bytes.HasSuffix(data, []byte("\n")) {
		t.Fatalf("not armored age ending in a newline:\n%s", data)
	}
	// The key must not appear in the clear.
	if bytes.Contains(data, priv.Seed()) || bytes.Contains(data, []byte("OPENSSH PRIVATE KEY")) {
		t.Fatal("encrypted file contains the key in the clear")
	}
	id, err := PassphraseIdentity("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decrypt(data, id)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(priv) {
		t.Fatal("decrypted key differs from the original")
	}
}

func TestWrongPassphrase(t *testing.T) {
	data := encryptWithPassphrase(t, testKey("passphrase"), "correct horse")
	for _, p := range []string{"correct horse ", "Correct horse", "x"} {
		id, err := PassphraseIdentity(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decrypt(data, id); !errors.Is(err, ErrNoMatch) {
			t.Errorf("passphrase %q: %v, want ErrNoMatch", p, err)
		}
	}
	// An X25519 identity does not open a passphrase-encrypted key either.
	x, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decrypt(data, x); !errors.Is(err, ErrNoMatch) {
		t.Errorf("X25519 identity on a passphrase key: %v, want ErrNoMatch", err)
	}
}

func TestIdentityRoundTrip(t *testing.T) {
	x1, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	x2, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	file := "# created: by a test\n" + x1.String() + "\n" + x2.String() + "\n"
	ids, rs, err := ParseIdentities(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || len(rs) != 2 {
		t.Fatalf("%d identities, %d recipients, want 2 and 2", len(ids), len(rs))
	}
	if rs[0].(*age.X25519Recipient).String() != x1.Recipient().String() {
		t.Fatal("recipient does not belong to the first identity")
	}
	priv := testKey("identity")
	data, err := Encrypt(priv, "wallet", rs...)
	if err != nil {
		t.Fatal(err)
	}
	// Each identity alone opens a key encrypted to both.
	for i, id := range ids {
		got, err := Decrypt(data, id)
		if err != nil {
			t.Fatalf("identity %d: %v", i, err)
		}
		if !got.Equal(priv) {
			t.Fatalf("identity %d: decrypted key differs", i)
		}
	}
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decrypt(data, other); !errors.Is(err, ErrNoMatch) {
		t.Fatalf("other identity: %v, want ErrNoMatch", err)
	}
	passID, err := PassphraseIdentity("x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decrypt(data, passID); !errors.Is(err, ErrNoMatch) {
		t.Fatalf("passphrase on an identity key: %v, want ErrNoMatch", err)
	}
}

func TestParseIdentitiesRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"# only a comment\n",
		"AGE-SECRET-KEY-1NOTAKEY\n",
		"age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq\n", // a recipient, not an identity
	} {
		if ids, _, err := ParseIdentities(strings.NewReader(in)); err == nil {
			t.Errorf("ParseIdentities(%q) = %d identities, want an error", in, len(ids))
		}
	}
}

func TestDecryptRejects(t *testing.T) {
	id, err := PassphraseIdentity("p")
	if err != nil {
		t.Fatal(err)
	}
	good := encryptWithPassphrase(t, testKey("k"), "p")

	// Larger than MaxSize: refused before age sees it, not a wrong passphrase.
	big := append(bytes.Clone(good), bytes.Repeat([]byte("\n"), MaxSize)...)
	if _, err := Decrypt(big, id); err == nil || errors.Is(err, ErrNoMatch) {
		t.Errorf("oversized file: %v, want a size error", err)
	} else if !strings.Contains(err.Error(), "larger") {
		t.Errorf("oversized file: %v, want it to say the file is too large", err)
	}

	// Plaintext that is not an OpenSSH key.
	r, err := PassphraseRecipient("p", testWorkFactor)
	if err != nil {
		t.Fatal(err)
	}
	notKey := encryptRaw(t, []byte("hello\n"), r)

	// An OpenSSH key of another type is refused.
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecBlock, err := ssh.MarshalPrivateKey(ec, "c")
	if err != nil {
		t.Fatal(err)
	}
	ecdsaKey := encryptRaw(t, pem.EncodeToMemory(ecBlock), r)

	// A damaged OpenSSH block.
	block, err := ssh.MarshalPrivateKey(testKey("k"), "c")
	if err != nil {
		t.Fatal(err)
	}
	block.Bytes = block.Bytes[:len(block.Bytes)/2]
	corrupt := encryptRaw(t, pem.EncodeToMemory(block), r)

	tampered := bytes.Clone(good)
	lines := bytes.Split(tampered, []byte("\n"))
	mid := lines[len(lines)/2]
	if mid[0] == 'A' {
		mid[0] = 'B'
	} else {
		mid[0] = 'A'
	}

	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not age", []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n")},
		{"truncated", good[:len(good)/2]},
		{"tampered ciphertext", tampered},
		{"not a key", notKey},
		{"corrupt key", corrupt},
		{"ecdsa key", ecdsaKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Decrypt(tt.data, id)
			if err == nil {
				t.Fatalf("Decrypt accepted it: %x", k)
			}
			if errors.Is(err, ErrNoMatch) {
				t.Fatalf("Decrypt = %v; a damaged file is not a wrong passphrase", err)
			}
		})
	}
}

func encryptRaw(t *testing.T, plain []byte, r age.Recipient) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := age.Encrypt(&b, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestOpenSSHReadsPlaintext checks the promise of the package doc: the
// plaintext inside the age file is an OpenSSH private key that ssh-keygen
// reads.
func TestOpenSSHReadsPlaintext(t *testing.T) {
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Fatalf("ssh-keygen is required: %v", err)
	}
	priv := testKey("openssh")
	data := encryptWithPassphrase(t, priv, "p")
	id, err := PassphraseIdentity("p")
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(data)), id)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "signer.ssh")
	if err := os.WriteFile(path, plain, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(keygen, "-y", "-f", path)
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ssh-keygen -y: %v", err)
	}
	pub, err := sign.ParseAuthorized(string(out))
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Key.Equal(priv.Public()) || pub.Comment != "vendor root" {
		t.Fatalf("ssh-keygen derives %s, want the key with comment %q", out, "vendor root")
	}
}
