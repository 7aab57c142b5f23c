package keyfile

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"

	"allot.dev/allot/pkg/sign"
)

// The OpenSSH private key format ("openssh-key-v1", OpenSSH's PROTOCOL.key),
// unencrypted, for one Ed25519 key: the plaintext of a key file. It is
// written here rather than taken from golang.org/x/crypto/ssh, whose
// package initialisation (and that of net, x509 and rsa it pulls in) every
// start of allot would otherwise pay.

const (
	opensshMagic = "openssh-key-v1\x00"
	pemType      = "OPENSSH PRIVATE KEY"
)

// marshalOpenSSH returns priv as a PEM-encoded OpenSSH private key.
func marshalOpenSSH(priv ed25519.PrivateKey, comment string) ([]byte, error) {
	var check [4]byte
	if _, err := rand.Read(check[:]); err != nil {
		return nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	var sec []byte
	sec = append(sec, check[:]...)
	sec = append(sec, check[:]...)
	sec = sign.AppendWireString(sec, []byte(sign.KeyType))
	sec = sign.AppendWireString(sec, pub)
	sec = sign.AppendWireString(sec, priv) // seed and public key, 64 bytes
	sec = sign.AppendWireString(sec, []byte(comment))
	for i := byte(1); len(sec)%8 != 0; i++ {
		sec = append(sec, i)
	}
	var b []byte
	b = append(b, opensshMagic...)
	b = sign.AppendWireString(b, []byte("none")) // cipher
	b = sign.AppendWireString(b, []byte("none")) // kdf
	b = sign.AppendWireString(b, nil)            // kdf options
	b = binary.BigEndian.AppendUint32(b, 1)
	b = sign.AppendWireString(b, sign.Wire(pub))
	b = sign.AppendWireString(b, sec)
	return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: b}), nil
}

// parseOpenSSH reads an unencrypted OpenSSH private key holding one
// Ed25519 key.
func parseOpenSSH(data []byte) (ed25519.PrivateKey, error) {
	block, rest := pem.Decode(data)
	if block == nil || block.Type != pemType || len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("not an OpenSSH private key")
	}
	body, ok := bytes.CutPrefix(block.Bytes, []byte(opensshMagic))
	if !ok {
		return nil, errors.New("not an openssh-key-v1 key")
	}
	r := sign.WireReader{Rest: body}
	cipher, kdf, _ := r.ReadString(), r.ReadString(), r.ReadString()
	n := r.ReadUint32()
	pubWire := r.ReadString()
	sec := r.ReadString()
	if r.Err != nil || len(r.Rest) != 0 {
		return nil, errors.New("damaged OpenSSH private key")
	}
	if string(cipher) != "none" || string(kdf) != "none" {
		return nil, fmt.Errorf("the OpenSSH key is encrypted (%s); allot keeps keys unencrypted inside age", cipher)
	}
	if n != 1 {
		return nil, fmt.Errorf("the OpenSSH key file holds %d keys, want 1", n)
	}
	pub, err := sign.ParseWire(pubWire)
	if err != nil {
		return nil, fmt.Errorf("OpenSSH key: %v", err)
	}
	s := sign.WireReader{Rest: sec}
	c1, c2 := s.ReadUint32(), s.ReadUint32()
	typ := s.ReadString()
	pub2 := s.ReadString()
	priv := s.ReadString()
	s.ReadString() // comment
	if s.Err != nil {
		return nil, errors.New("damaged OpenSSH private key")
	}
	for i, p := range s.Rest {
		if p != byte(i+1) || i >= 8 {
			return nil, errors.New("damaged OpenSSH private key padding")
		}
	}
	switch {
	case c1 != c2:
		return nil, errors.New("damaged OpenSSH private key: check numbers differ")
	case string(typ) != sign.KeyType:
		return nil, fmt.Errorf("the OpenSSH key is %s, not %s", typ, sign.KeyType)
	case len(priv) != ed25519.PrivateKeySize || !bytes.Equal(pub2, pub) || !bytes.Equal(priv[32:], pub):
		return nil, errors.New("damaged OpenSSH private key: the key halves do not match")
	}
	k := ed25519.NewKeyFromSeed(priv[:32])
	if !bytes.Equal(k.Public().(ed25519.PublicKey), pub) {
		return nil, errors.New("damaged OpenSSH private key: the seed does not give its public key")
	}
	return k, nil
}
