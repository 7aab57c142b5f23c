package cert_test

// Fuzz targets for certificate documents and chains. FuzzParse feeds whole
// documents, as a file on disk would; byte-flipping a signed document
// rarely gets past its signature, so FuzzPayload signs the fuzzed payload
// with the vendor root's key first, which reaches the payload reader and the
// scope checks behind the signature. Both then put what parsed into a Pool
// with a real chain and ask it for chains and authorizations.

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
)

type certFixture struct {
	w    *allottest.World
	keys []*licensekey.Key
}

func newCertFixture(t testing.TB, depth int) *certFixture {
	w, err := allottest.NewWorld(depth)
	if err != nil {
		t.Fatal(err)
	}
	texts, err := w.Keys(1, 10, 12, licensekey.WalletIDOf(allottest.Key("wallet").Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	fx := &certFixture{w: w}
	for _, s := range texts {
		k, err := licensekey.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		fx.keys = append(fx.keys, k)
	}
	return fx
}

// exercise puts certs into a pool beside the fixture's own chain and asks
// for every chain and authorization; none may panic.
func (fx *certFixture) exercise(t *testing.T, certs ...*cert.Certificate) {
	t.Helper()
	pool := cert.NewPool(&fx.w.Trust.Trust)
	pool.Add(certs...)
	pool.Add(fx.w.Chain...)
	pool.Add(certs...)
	for _, c := range pool.All() {
		if chain, err := pool.ChainFor(sign.IDOf(c.Subject.Key)); err != nil {
			checkErr(t, err)
		} else if err := chain.Verify(&fx.w.Trust.Trust); err != nil {
			t.Fatalf("ChainFor returned a chain that does not verify: %v", err)
		}
		if _, err := pool.ChainFor(sign.IDOf(c.Issuer)); err != nil {
			checkErr(t, err)
		}
	}
	for _, k := range fx.keys {
		if chain, err := pool.Authorize(k); err != nil {
			checkErr(t, err)
		} else if err := chain.Authorize(k, &fx.w.Trust.Trust); err != nil {
			t.Fatalf("Pool.Authorize returned a chain that does not authorize the key: %v", err)
		}
	}
	for _, c := range certs {
		for _, k := range fx.keys {
			if err := c.Allows(k); err != nil {
				checkErr(t, err)
			}
		}
		for _, p := range fx.w.Chain {
			if err := p.Contains(c); err != nil {
				checkErr(t, err)
			}
			if err := c.Contains(p); err != nil {
				checkErr(t, err)
			}
		}
	}
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("nil error")
	}
	if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
}

// FuzzParse reads certificate documents and certificate files.
func FuzzParse(f *testing.F) {
	fx := newCertFixture(f, 2)
	for depth := 1; depth <= 3; depth++ {
		w := newCertFixture(f, depth).w
		f.Add(w.Chain.Document())
		for _, c := range w.Chain {
			f.Add(c.Document())
		}
	}
	f.Add([]byte{})
	f.Add([]byte("-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, err := cert.Parse(data); err != nil {
			checkErr(t, err)
		} else {
			if !bytes.Equal(c.Document(), data) {
				t.Fatal("Document() is not the document read")
			}
			fx.exercise(t, c)
		}
		chain, err := cert.ParseChain(data)
		if err != nil {
			checkErr(t, err)
			return
		}
		if len(chain) == 0 || len(chain) > cert.MaxDepth {
			t.Fatalf("chain of %d certificates", len(chain))
		}
		if doc := chain.Document(); len(bytes.TrimSpace(doc)) == 0 {
			t.Fatal("a chain without a document")
		}
		if err := chain.Verify(&fx.w.Trust.Trust); err != nil {
			checkErr(t, err)
		}
		for _, k := range fx.keys {
			if err := chain.Authorize(k, &fx.w.Trust.Trust); err != nil {
				checkErr(t, err)
			}
		}
		fx.exercise(t, chain...)
	})
}

// FuzzPayload signs the fuzzed payload with the vendor root's key, so the
// payload reader and the certificate's validation see every mutation.
func FuzzPayload(f *testing.F) {
	fx := newCertFixture(f, 2)
	signers := []ed25519.PrivateKey{fx.w.Vendor, allottest.Key("signer-0"), allottest.Key("signer-1")}
	for _, c := range fx.w.Chain {
		body, _, _, err := sign.Split(c.Document())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, priv := range signers {
			doc, err := sign.Seal(priv, cert.Namespace, body)
			if err != nil {
				return
			}
			c, err := cert.Parse(doc)
			if err != nil {
				checkErr(t, err)
				continue
			}
			if !c.Issuer.Equal(priv.Public().(ed25519.PublicKey)) {
				t.Fatal("a certificate parsed whose issuer did not sign it")
			}
			fx.exercise(t, c)
			// The certificate under the chain the fixture already has.
			chain, err := cert.ParseChain(append(fx.w.Chain.Document(), doc...))
			if err != nil {
				checkErr(t, err)
				continue
			}
			if err := chain.Verify(&fx.w.Trust.Trust); err != nil {
				checkErr(t, err)
			}
		}
	})
}
