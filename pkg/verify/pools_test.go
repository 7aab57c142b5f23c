package verify_test

import (
	"strings"
	"testing"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/verify"
)

// TestVerifierCertificatesOnce: one verifier checks bundles whose
// certificates differ, one after another and in any order; each bundle is
// judged by its own certificates, though the verifier finds the chains of
// a set of certificates once.
func TestVerifierCertificatesOnce(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	seal := func(certs ...*cert.Certificate) []byte {
		b := clone(w.b)
		b.ID = "0000000000000009"
		b.Certificates = nil
		for _, c := range certs {
			b.Certificates = append(b.Certificates, c.Document())
		}
		doc, err := bundle.Seal(b, wk)
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	// The reseller's certificate again, without cameras: the bundle's keys
	// lie outside it.
	noCameras := reissue(t, w, func(tpl *cert.Template) {
		tpl.Scope.Licenses = map[string]int{"intercom": 1000}
	})
	// Nine certificates of the reseller: one too many.
	many := []*cert.Certificate{w.w.Chain[0]}
	for range verify.MaxCertificatesPerSigner + 1 {
		many = append(many, reissue(t, w, func(*cert.Template) {}))
	}
	root, reseller := w.w.Chain[0], w.w.Chain[1]
	cases := []struct {
		name string
		doc  []byte
		says string // "" for a bundle that verifies
	}{
		{"its chain", w.doc, ""},
		{"the chain in the other order", seal(reseller, root), ""},
		{"a narrower reseller certificate", seal(root, noCameras), "outside the issuer's scope"},
		{"both reseller certificates", seal(root, noCameras, reseller), ""},
		{"no root certificate", seal(reseller), "no certificate"},
		{"too many certificates of one signer", seal(many...), "more than 8 certificates for signer"},
	}
	v := verify.NewVerifier(verify.Options{Trust: w.w.Trust, Workers: 1})
	for round := range 2 {
		for _, c := range cases {
			_, err := v.AuthorityKeys(c.doc)
			switch {
			case c.says == "" && err != nil:
				t.Errorf("round %d, %s: %v", round, c.name, err)
			case c.says != "" && err == nil:
				t.Errorf("round %d, %s: verifies", round, c.name)
			case c.says != "" && !strings.Contains(err.Error(), c.says):
				t.Errorf("round %d, %s: %v; want it to say %q", round, c.name, err, c.says)
			}
			// A fresh verifier says the same.
			if _, ferr := verify.NewVerifier(verify.Options{Trust: w.w.Trust}).AuthorityKeys(c.doc); (ferr == nil) != (err == nil) || err != nil && ferr.Error() != err.Error() {
				t.Errorf("round %d, %s: %v; a fresh verifier: %v", round, c.name, err, ferr)
			}
		}
	}
}
