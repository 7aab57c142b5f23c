// Package keyfile stores Ed25519 private keys at rest, encrypted with age.
//
// The plaintext is the key in OpenSSH private key format, so the age
// command-line tool and ssh-keygen understand it:
//
//	age -d -o signer.ssh signer.key   # passphrase, or -i identity.txt
//	ssh-keygen -y -f signer.ssh       # prints the public key
//
// The ciphertext is ASCII-armored age. A key is encrypted either to a
// passphrase (age's scrypt recipient) or to the recipients of age identities.
package keyfile

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"filippo.io/age/armor"

	"allot.dev/allot/pkg/errclass"
)

// MaxSize bounds the encrypted key file a reader accepts.
const MaxSize = 64 << 10

// DefaultWorkFactor is the scrypt work factor (log2 N) for new passphrase-
// encrypted keys: age's default, about a second on a laptop.
const DefaultWorkFactor = 18

// ErrNoMatch reports a passphrase or identity that does not open the key.
var ErrNoMatch = errclass.Sentinel(errclass.Input, "wrong passphrase or identity")

// Encrypt returns the armored age encryption of priv for recipients.
func Encrypt(priv ed25519.PrivateKey, comment string, recipients ...age.Recipient) ([]byte, error) {
	plain, err := marshalOpenSSH(priv, comment)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	aw := armor.NewWriter(&out)
	w, err := age.Encrypt(aw, recipients...)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Decrypt opens an encrypted key file with identities.
func Decrypt(data []byte, identities ...age.Identity) (ed25519.PrivateKey, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("key file larger than %d bytes", MaxSize)
	}
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(data)), identities...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, ErrNoMatch
		}
		return nil, fmt.Errorf("not an age-encrypted key: %v", err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, MaxSize))
	if err != nil {
		return nil, fmt.Errorf("decrypting key: %v", err)
	}
	return parseOpenSSH(plain)
}

// PassphraseRecipient returns an age recipient for passphrase at the given
// scrypt work factor.
func PassphraseRecipient(passphrase string, workFactor int) (age.Recipient, error) {
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, err
	}
	r.SetWorkFactor(workFactor)
	return r, nil
}

// PassphraseIdentity returns an age identity for passphrase.
func PassphraseIdentity(passphrase string) (age.Identity, error) {
	return age.NewScryptIdentity(passphrase)
}

// ParseIdentities reads an age identity file ("AGE-SECRET-KEY-1…" lines) and
// returns its identities and the recipients they decrypt for.
func ParseIdentities(r io.Reader) ([]age.Identity, []age.Recipient, error) {
	ids, err := age.ParseIdentities(io.LimitReader(r, MaxSize))
	if err != nil {
		return nil, nil, err
	}
	var rs []age.Recipient
	for _, id := range ids {
		x, ok := id.(*age.X25519Identity)
		if !ok {
			return nil, nil, fmt.Errorf("identity of type %T cannot be used to encrypt", id)
		}
		rs = append(rs, x.Recipient())
	}
	return ids, rs, nil
}
