package keyfile

import (
	"bytes"
	"crypto/ed25519"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"allot.dev/allot/pkg/sign"
)

// The OpenSSH key format is written here, not by x/crypto/ssh: check it
// against that package and against ssh-keygen, both ways.
func TestOpenSSHInterop(t *testing.T) {
	priv := testKey("interop")
	ours, err := marshalOpenSSH(priv, "a comment")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey(ours)
	if err != nil {
		t.Fatalf("x/crypto/ssh does not read our key: %v", err)
	}
	if k, ok := raw.(*ed25519.PrivateKey); !ok || !k.Equal(priv) {
		t.Fatalf("x/crypto/ssh reads another key: %T", raw)
	}
	block, err := ssh.MarshalPrivateKey(priv, "theirs")
	if err != nil {
		t.Fatal(err)
	}
	if k, err := parseOpenSSH(pem.EncodeToMemory(block)); err != nil || !k.Equal(priv) {
		t.Fatalf("we do not read x/crypto/ssh's key: %v", err)
	}

	// A key ssh-keygen made.
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Fatalf("ssh-keygen is required: %v", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "id")
	cmd := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "made by ssh-keygen", "-f", path)
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := parseOpenSSH(data)
	if err != nil {
		t.Fatalf("we do not read ssh-keygen's key: %v", err)
	}
	pubLine, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sign.ParseAuthorized(string(pubLine))
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Key.Equal(k.Public()) {
		t.Fatal("the key read differs from ssh-keygen's public key")
	}
}

func TestOpenSSHRejects(t *testing.T) {
	priv := testKey("rejects")
	good, err := marshalOpenSSH(priv, "c")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(good)
	body := block.Bytes
	// The private section starts after the magic, two "none" strings, the
	// empty options, the key count and the public key.
	secStart := len(opensshMagic) + (4 + 4) + (4 + 4) + 4 + 4 + (4 + len(sign.Wire(priv.Public().(ed25519.PublicKey)))) + 4
	reencode := func(f func(b []byte) []byte) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: f(bytes.Clone(body))})
	}
	tests := map[string][]byte{
		"not PEM":        []byte("hello"),
		"wrong PEM type": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: body}),
		"trailing data":  append(bytes.Clone(good), "junk"...),
		"truncated":      reencode(func(b []byte) []byte { return b[:len(b)-9] }),
		"bad magic":      reencode(func(b []byte) []byte { b[0] = 'X'; return b }),
		"check numbers":  reencode(func(b []byte) []byte { b[secStart] ^= 1; return b }),
		"private half":   reencode(func(b []byte) []byte { b[len(b)-20] ^= 1; return b }),
		"padding":        reencode(func(b []byte) []byte { b[len(b)-1] ^= 0x40; return b }),
		"encrypted":      reencode(func(b []byte) []byte { copy(b[len(opensshMagic)+4:], "aes2"); return b }),
		"two keys":       reencode(func(b []byte) []byte { b[len(opensshMagic)+4+4+4+4+4+3] = 2; return b }),
	}
	for name, data := range tests {
		if k, err := parseOpenSSH(data); err == nil {
			t.Errorf("%s: accepted, key %x", name, k.Public())
		}
	}
	if k, err := parseOpenSSH(good); err != nil || !k.Equal(priv) {
		t.Fatalf("the good key: %v", err)
	}
}
