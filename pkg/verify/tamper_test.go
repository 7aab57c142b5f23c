package verify_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/verify"
)

// The tamper tests change artifacts one byte or one bit at a time and
// expect every change to be rejected with a trust or format error: nothing
// an attacker edits may verify. Each test logs how many mutations it tried;
// the count of accepted ones must be zero.

type world struct {
	doc  []byte
	w    *allottest.World
	opts verify.Options
	b    *bundle.Bundle
}

func newWorld(t *testing.T) *world {
	t.Helper()
	doc, w, err := allottest.TypicalBundle(t.TempDir(), 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &world{doc: doc, w: w, b: b, opts: verify.Options{Trust: w.Trust, Now: allottest.Now.Add(24 * time.Hour)}}
}

// rejected reports whether a verification failed as trust or format.
func rejected(r *verify.Report) bool {
	return errors.Is(r.Err, verify.ErrTrust) || errors.Is(r.Err, verify.ErrMalformed)
}

func TestTamperBundleEveryByte(t *testing.T) {
	w := newWorld(t)
	if r := verify.Bundle("good.lic", w.doc, w.opts); r.Err != nil {
		t.Fatalf("the untouched bundle fails: %v", r.Err)
	}
	v := verify.NewVerifier(w.opts)
	tried, accepted := 0, 0
	for i := range w.doc {
		d := bytes.Clone(w.doc)
		d[i] ^= 0xff
		tried++
		if r := v.Bundle("flipped.lic", d); !rejected(r) {
			accepted++
			t.Errorf("byte %d (%q) flipped: status %s, err %v", i, w.doc[i], r.Status, r.Err)
		}
	}
	t.Logf("bundle: %d byte flips tried, %d accepted", tried, accepted)
}

// signatureBits returns a copy of an SSHSIG-signed document with bit i of
// the Ed25519 signature flipped, re-armored so only the signature changes.
func signatureBits(t *testing.T, doc []byte) (n int, flip func(i int) []byte) {
	t.Helper()
	payload, armored, rest, err := sign.Split(doc)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimSuffix(strings.TrimPrefix(string(armored), "-----BEGIN SSH SIGNATURE-----\n"), "-----END SSH SIGNATURE-----\n")
	blob, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(body, "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	// The Ed25519 signature is the blob's last 64 bytes.
	sigStart := len(blob) - ed25519.SignatureSize
	return ed25519.SignatureSize * 8, func(i int) []byte {
		b := bytes.Clone(blob)
		b[sigStart+i/8] ^= 1 << (i % 8)
		enc := base64.StdEncoding.EncodeToString(b)
		var out bytes.Buffer
		out.Write(payload)
		out.WriteString("-----BEGIN SSH SIGNATURE-----\n")
		for len(enc) > 70 {
			out.WriteString(enc[:70] + "\n")
			enc = enc[70:]
		}
		out.WriteString(enc + "\n-----END SSH SIGNATURE-----\n")
		out.Write(rest)
		return out.Bytes()
	}
}

func TestTamperBundleSignatureBits(t *testing.T) {
	w := newWorld(t)
	v := verify.NewVerifier(w.opts)
	n, flip := signatureBits(t, w.doc)
	accepted := 0
	for i := 0; i < n; i++ {
		if r := v.Bundle("sigflip.lic", flip(i)); !rejected(r) {
			accepted++
			t.Errorf("signature bit %d flipped: status %s", i, r.Status)
		}
	}
	t.Logf("bundle: %d signature bit flips tried, %d accepted", n, accepted)
}

func TestTamperCertificate(t *testing.T) {
	w := newWorld(t)
	doc := w.w.Chain[1].Document()
	tried, accepted := 0, 0
	check := func(what string, d []byte) {
		tried++
		c, err := cert.Parse(d)
		if err == nil {
			// A change that still parses must not survive the chain.
			err = cert.Chain{w.w.Chain[0], c}.Verify(&w.w.Trust.Trust)
		}
		if err == nil {
			accepted++
			t.Errorf("%s: accepted", what)
		} else if !errors.Is(err, sign.ErrSignature) && !errors.Is(err, cert.ErrMalformed) && !errors.Is(err, cert.ErrUntrusted) {
			t.Errorf("%s: error of no class: %v", what, err)
		}
	}
	for i := range doc {
		d := bytes.Clone(doc)
		d[i] ^= 0xff
		check(fmt.Sprintf("byte %d", i), d)
	}
	n, flip := signatureBits(t, doc)
	for i := 0; i < n; i++ {
		check(fmt.Sprintf("signature bit %d", i), flip(i))
	}
	t.Logf("certificate: %d mutations tried, %d accepted", tried, accepted)
}

func TestTamperLicenseKey(t *testing.T) {
	w := newWorld(t)
	text := w.b.Funding[0].Key
	k, err := licensekey.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	issuer := w.w.Issuer.Public().(ed25519.PublicKey)
	if err := k.Verify(issuer); err != nil {
		t.Fatal(err)
	}
	tried, accepted := 0, 0
	// Every byte of the text: a typo or a format error, never a key.
	for i := range text {
		b := []byte(text)
		b[i] ^= 0xff
		tried++
		if _, err := licensekey.Parse(string(b)); err == nil {
			accepted++
			t.Errorf("text byte %d flipped: parses", i)
		}
	}
	// Every bit of the binary key, re-encoded with valid check characters,
	// as a forger would: it must not verify (or not even parse).
	raw := k.Raw()
	for i := 0; i < len(raw)*8; i++ {
		b := bytes.Clone(raw)
		b[i/8] ^= 1 << (i % 8)
		tried++
		fk, err := licensekey.Parse(licensekey.Encode(b))
		if err != nil {
			continue
		}
		if err := fk.Verify(issuer); err == nil {
			accepted++
			t.Errorf("bit %d of the binary key flipped: verifies", i)
		} else if !errors.Is(err, sign.ErrSignature) {
			t.Errorf("bit %d: error of no class: %v", i, err)
		}
	}
	t.Logf("license key: %d mutations tried, %d accepted", tried, accepted)
}

// reseal signs b (changed by the caller) with the wallet key, as a
// dishonest wallet can, and verifies it.
func (w *world) reseal(t *testing.T, walletKey ed25519.PrivateKey, b *bundle.Bundle, opts verify.Options) *verify.Report {
	t.Helper()
	doc, err := bundle.Seal(b, walletKey)
	if err != nil {
		t.Fatal(err)
	}
	return verify.Bundle("forged.lic", doc, opts)
}

func clone(b *bundle.Bundle) *bundle.Bundle {
	c := *b
	c.Funding = append([]bundle.Funding(nil), b.Funding...)
	c.Certificates = append([][]byte(nil), b.Certificates...)
	c.Periods = append([]bundle.Period(nil), b.Periods...)
	return &c
}

func TestTamperAttacks(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	expect := func(t *testing.T, r *verify.Report, class error) {
		t.Helper()
		if !errors.Is(r.Err, class) {
			t.Fatalf("status %s, err %v; want %v", r.Status, r.Err, class)
		}
	}

	t.Run("resealed unchanged is valid", func(t *testing.T) {
		if r := w.reseal(t, wk, clone(w.b), w.opts); r.Err != nil {
			t.Fatal(r.Err)
		}
	})
	t.Run("signature moved to another artifact type", func(t *testing.T) {
		payload, _, _, _ := sign.Split(w.doc)
		doc, err := sign.Seal(wk, cert.Namespace, payload)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, verify.Bundle("moved.lic", doc, w.opts), verify.ErrTrust)
	})
	t.Run("namespace changed", func(t *testing.T) {
		payload, _, _, _ := sign.Split(w.doc)
		doc, _ := sign.Seal(wk, "file", payload)
		expect(t, verify.Bundle("ns.lic", doc, w.opts), verify.ErrTrust)
	})
	t.Run("signed by another key than wallet_key", func(t *testing.T) {
		payload, _, _, _ := sign.Split(w.doc)
		doc, _ := sign.Seal(allottest.Key("mallory"), bundle.Namespace, payload)
		expect(t, verify.Bundle("other.lic", doc, w.opts), verify.ErrTrust)
	})
	t.Run("certificate from another chain spliced in", func(t *testing.T) {
		other, err := allottest.NewNamedWorld("other", 2)
		if err != nil {
			t.Fatal(err)
		}
		// A chain as long as the real one, from another vendor, whose
		// leaf has the same subject name but another key.
		b := clone(w.b)
		b.Certificates = [][]byte{other.Chain[0].Document(), other.Chain[1].Document()}
		expect(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust)
	})
	t.Run("key issued to another wallet", func(t *testing.T) {
		// Mallory's wallet copies the keys out of the bundle into her own.
		mallory := allottest.Key("mallory")
		expect(t, w.reseal(t, mallory, clone(w.b), w.opts), verify.ErrTrust)
	})
	t.Run("key text swapped for one of another issuer", func(t *testing.T) {
		other, _ := allottest.NewNamedWorld("other", 2)
		keys, err := other.Keys(1, 10, 12, w.b.WalletID)
		if err != nil {
			t.Fatal(err)
		}
		b := clone(w.b)
		b.Funding[0].Key = keys[0]
		expect(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust)
	})
	t.Run("quota raised beyond the funding", func(t *testing.T) {
		b := clone(w.b)
		b.Periods[0].Quota = map[string]int{"camera": 1000}
		expect(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust)
	})
	t.Run("period extended beyond the funding", func(t *testing.T) {
		b := clone(w.b)
		b.Periods[0].Until = b.Periods[0].Until.AddDate(3, 0, 0)
		b.Validity.Until, b.Validity.GraceUntil = b.Periods[0].Until, b.Periods[0].Until.AddDate(0, 0, 30)
		expect(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust)
	})
	t.Run("a key funds more than it holds", func(t *testing.T) {
		b := clone(w.b)
		b.Funding[0].Months = 100000
		expect(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust)
	})
	t.Run("feature not granted by any key", func(t *testing.T) {
		b := clone(w.b)
		b.Features = []string{"web-dialer"}
		expect(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust)
	})
	t.Run("child certificate exceeding its parent", func(t *testing.T) {
		// The distributor signs a reseller certificate wider than its own
		// scope, bypassing the check at certify time (nil parent chain).
		wide := w.w.Chain[1].Scope
		wide.Licenses = map[string]int{"camera": 1_000_000}
		c, err := cert.Issue(allottest.Key("signer-0"), nil, cert.Template{
			Role: "reseller", Subject: w.w.Chain[1].Subject,
			ValidFrom: w.w.Chain[1].ValidFrom, ValidUntil: w.w.Chain[1].ValidUntil, Scope: wide,
		}, w.w.Rand)
		if err != nil {
			t.Fatal(err)
		}
		b := clone(w.b)
		b.Certificates = [][]byte{w.w.Chain[0].Document(), c.Document()}
		r := w.reseal(t, wk, b, w.opts)
		expect(t, r, verify.ErrTrust)
		if !strings.Contains(r.Error, "outside the issuer's scope") {
			t.Fatalf("error %q does not say the scope is exceeded", r.Error)
		}
	})
	t.Run("revoked certificate serial", func(t *testing.T) {
		opts := w.opts
		tr := *w.w.Trust
		tr.Revoked = map[string]bool{w.w.Chain[1].Serial: true}
		opts.Trust = &tr
		expect(t, verify.Bundle("revoked.lic", w.doc, opts), verify.ErrTrust)
	})
	t.Run("revoked key", func(t *testing.T) {
		k, _ := licensekey.Parse(w.b.Funding[0].Key)
		opts := w.opts
		tr := *w.w.Trust
		tr.Revoked = map[string]bool{k.ID(): true}
		opts.Trust = &tr
		expect(t, verify.Bundle("revoked.lic", w.doc, opts), verify.ErrTrust)
	})
	t.Run("trust in another vendor", func(t *testing.T) {
		other, _ := allottest.NewNamedWorld("other", 1)
		opts := w.opts
		opts.Trust = other.Trust
		expect(t, verify.Bundle("untrusted.lic", w.doc, opts), verify.ErrTrust)
	})
}
