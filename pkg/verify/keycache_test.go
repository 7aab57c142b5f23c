package verify_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/verify"
)

// TestVerifierKeySignaturesOnce: a Verifier verifies a key's signature for
// the first bundle that carries it and serves it to the next ones from
// what it verified, counting only the verifications it made; and it never
// serves a key that differs in any bit of its signed bytes or its
// signature, though it has the same id: every such key is verified, and
// its bundle refused.
func TestVerifierKeySignaturesOnce(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	v := verify.NewVerifier(verify.Options{Trust: w.w.Trust, Workers: 1})
	a, err := v.AuthorityKeys(w.doc)
	if err != nil {
		t.Fatal(err)
	}
	keys := len(w.b.Funding)
	if a.Signatures != 1+keys {
		t.Fatalf("first bundle: %d signatures verified, want %d: its own and %d keys'", a.Signatures, 1+keys, keys)
	}
	// Another bundle of the wallet, carrying the same keys.
	again := clone(w.b)
	again.ID, again.System = "0000000000000002", "site-2"
	doc, err := bundle.Seal(again, wk)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := v.AuthorityKeys(doc); err != nil || a.Signatures != 1 {
		t.Fatalf("second bundle, same keys: %v, %d signatures verified; want its own alone", err, a.Signatures)
	}

	// The first key, every bit of its binary form flipped in turn and
	// encoded as a forger would, in a bundle the wallet signs.
	k, err := licensekey.Parse(w.b.Funding[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	raw := k.Raw()
	signatureRefused := 0
	for i := range len(raw) * 8 {
		b := bytes.Clone(raw)
		b[i/8] ^= 1 << (i % 8)
		text := licensekey.Encode(b)
		fk, err := licensekey.Parse(text)
		if err != nil {
			continue // not a key: refused before any signature
		}
		forged := clone(w.b)
		forged.ID = fmt.Sprintf("%016x", i+3)
		forged.Funding[0].Key = text
		doc, err := bundle.Seal(forged, wk)
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.AuthorityKeys(doc)
		if err == nil {
			t.Fatalf("bit %d of the key flipped: the bundle verifies", i)
		}
		if fk.Ref() == k.Ref() && errors.Is(err, verify.ErrTrust) && strings.Contains(err.Error(), sign.ErrSignature.Error()) {
			signatureRefused++
		}
	}
	// The signature's 512 bits at least keep the key's id and reach its
	// check.
	if signatureRefused < 512 {
		t.Fatalf("%d flips refused by the signature with the key's id unchanged, want at least 512", signatureRefused)
	}
	// The keys verified at first are still served, and nothing else was
	// added.
	if a, err := v.AuthorityKeys(w.doc); err != nil || a.Signatures != 1 {
		t.Fatalf("first bundle again: %v, %d signatures verified; want its own alone", err, a.Signatures)
	}
}

// TestKeyErrorNamesField: a key that does not decode is named by its
// field.
func TestKeyErrorNamesField(t *testing.T) {
	w := newWorld(t)
	b := clone(w.b)
	b.Funding[1].Key = respell(b.Funding[1].Key)
	expectClass(t, w.reseal(t, allottest.Key("wallet"), b, w.opts), verify.ErrMalformed, "funding[2].key: ")
}
