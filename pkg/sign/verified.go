package sign

import (
	"crypto/ed25519"
	"sync"
)

// Verified remembers the domain-separated signatures (VerifyContext) that
// verified, so that one verifying many artifacts checks a signature they
// share once: a license key carried by several bundles (the bundles of one
// system, or of a wallet, audited together).
//
// It is sound because an entry is the exact bytes Ed25519 verified, all of
// them: the public key, the signed message (the context, a zero byte and
// the message, as VerifyContext signs them) and the signature; and because
// only a verification that succeeded is served from it. Ed25519
// verification is a function of those bytes alone, so bytes found in the
// set would verify again. Bytes that differ from every entry in any bit,
// whether of the key, the message, the context or the signature, are not
// found, and are verified. Entries are compared whole, not by a hash of
// them.
//
// Two goroutines asking at once about the same bytes verify them once: the
// second waits for the first's answer. The zero Verified is empty and
// ready to use; a nil *Verified remembers nothing.
type Verified struct {
	mu   sync.Mutex
	done sync.Cond // signalled when a verification in flight ends
	m    map[string]*verification
}

// verification is an entry of Verified: one in flight, or, done, one
// that passed. One that fails is removed.
type verification struct{ done bool }

// VerifyContext checks a signature made by SignContext, as the function
// VerifyContext does, unless the same public key, context, message and
// signature verified before. checked reports whether it ran an Ed25519
// verification.
func (v *Verified) VerifyContext(pub ed25519.PublicKey, context string, msg, sig []byte) (checked bool, err error) {
	if v == nil || len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return true, VerifyContext(pub, context, msg, sig)
	}
	// The key and the signature have fixed sizes: the entry reads back as
	// exactly one (key, signed message, signature).
	entry := make([]byte, 0, len(pub)+len(context)+1+len(msg)+len(sig))
	entry = append(entry, pub...)
	entry = append(entry, context...)
	entry = append(entry, 0)
	entry = append(entry, msg...)
	entry = append(entry, sig...)

	v.mu.Lock()
	if v.m == nil {
		v.m = map[string]*verification{}
		v.done.L = &v.mu
	}
	// Another goroutine may be verifying these bytes: wait, and look
	// again (if they failed, they are gone, and are verified here).
	for e, ok := v.m[string(entry)]; ok; e, ok = v.m[string(entry)] {
		if e.done {
			v.mu.Unlock()
			return false, nil
		}
		v.done.Wait()
	}
	e := &verification{}
	v.m[string(entry)] = e
	v.mu.Unlock()

	err = VerifyContext(pub, context, msg, sig)

	v.mu.Lock()
	if err != nil {
		delete(v.m, string(entry))
	} else {
		e.done = true
	}
	v.done.Broadcast()
	v.mu.Unlock()
	return true, err
}

// Len returns how many signatures v holds.
func (v *Verified) Len() int {
	if v == nil {
		return 0
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.m)
}
