package wallet_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/wallet"
)

// lowerNoDashes is how a person may type a key: lower case, run together.
func lowerNoDashes(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "-", ""))
}

// typo changes the first character of a key's text to another character of
// the alphabet.
func typo(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

// forgeSignature returns the text of k with one bit of its signature
// flipped, re-encoded so the text itself is intact.
func forgeSignature(t *testing.T, text string) string {
	t.Helper()
	k, err := licensekey.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	raw := k.Raw()
	raw[len(raw)-1] ^= 0x01
	return licensekey.Encode(raw)
}

// withIssuer returns the text of k with its issuer key id replaced, the
// signature kept: a key that claims another issuer.
func withIssuer(t *testing.T, text string, issuer ed25519.PublicKey) string {
	t.Helper()
	k, err := licensekey.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	raw := k.Raw()
	old := k.Issuer
	i := bytes.Index(raw, old[:])
	if i < 0 {
		t.Fatal("test setup: issuer id not found in the key")
	}
	id := sign.IDOf(issuer)
	copy(raw[i:], id[:])
	return licensekey.Encode(raw)
}

func TestRedeemValidKeys(t *testing.T) {
	f := newFixture(t)
	bearer := f.sub(20)
	bearer.Bearer, bearer.Wallet = true, licensekey.WalletID{}
	hw := &licensekey.Key{
		Kind: licensekey.Hardware, Issued: date(2025, 2, 1), Product: "vms",
		Licenses: []licensekey.License{{Type: "camera", Quantity: 4}}, Device: "NVR-0001", Wallet: f.walletID,
	}
	intercom := &licensekey.Key{
		Kind: licensekey.Subscription, Issued: date(2025, 2, 1), TermMonths: 24, Product: "intercom",
		Licenses: []licensekey.License{{Type: "intercom", Quantity: 3}}, Features: []string{"mobile-app"}, Wallet: f.walletID,
	}
	texts := []string{
		f.issue(f.reseller, f.sub(10)),
		f.issue(f.bearer, bearer),
		f.issue(f.reseller, hw),
		f.issue(f.reseller, intercom),
		f.issue(f.root, f.sub(1000)), // the root issues on its own authority
		lowerNoDashes(f.issue(f.reseller, f.sub(5))),
	}
	w, res, err := f.redeem(t0, texts...)
	if err != nil {
		t.Fatalf("redeem: %v", err)
	}
	if len(res.Redeemed) != len(texts) || len(res.Skipped) != 0 {
		t.Fatalf("redeemed %d, skipped %d; want %d and 0", len(res.Redeemed), len(res.Skipped), len(texts))
	}
	w2 := f.open()
	for _, w := range []*wallet.Wallet{w, w2} {
		if len(w.Keys) != len(texts) {
			t.Errorf("wallet holds %d keys, want %d", len(w.Keys), len(texts))
		}
		for i, text := range texts {
			k, err := licensekey.Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			e, ok := w.Key(k.ID())
			if !ok {
				t.Errorf("key %d (%s) is not in the wallet", i+1, k.ID())
				continue
			}
			if !e.Redeemed.Equal(t0) || len(e.Used) != 0 {
				t.Errorf("key %d: redeemed %s, used %v; want %s and nothing", i+1, e.Redeemed, e.Used, t0)
			}
			if !bytes.Equal(e.Key.Raw(), k.Raw()) {
				t.Errorf("key %d: stored key differs from the key redeemed", i+1)
			}
		}
	}
}

func TestRedeemRejections(t *testing.T) {
	type tc struct {
		name  string
		pre   []string // redeemed before
		batch []string
		bad   int // 1-based index of the invalid key in batch
		certs []*cert.Certificate
		trust *cert.Trust
		class error // nil: a *licensekey.TypoError
	}
	classes := []error{wallet.ErrRedeemed, wallet.ErrDuplicate, wallet.ErrOtherWallet,
		cert.ErrUntrusted, cert.ErrScope, cert.ErrRevoked, sign.ErrSignature, licensekey.ErrMalformed}

	build := func(f *fixture) []tc {
		k := f.keys(3)
		otherRoot := signer{priv: seedKey(20)}
		outsider := f.certify(otherRoot, seedKey(21), "reseller", scope(true))
		other := f.sub(10)
		other.Wallet = licensekey.WalletIDOf(pubOf(seedKey(2)))
		scoped := func(edit func(k *licensekey.Key)) string {
			key := f.sub(10)
			edit(key)
			return f.issue(f.reseller, key)
		}
		revoked, _ := licensekey.Parse(k[2])
		return []tc{
			{name: "already redeemed", pre: k[:1], batch: k[:1], bad: 1, class: wallet.ErrRedeemed},
			{name: "already redeemed, typed in lower case without dashes", pre: k[:1],
				batch: []string{k[1], lowerNoDashes(k[0])}, bad: 2, class: wallet.ErrRedeemed},
			{name: "twice in the batch", batch: []string{k[0], k[1], k[0]}, bad: 3, class: wallet.ErrDuplicate},
			{name: "twice in the batch, typed differently", batch: []string{k[0], lowerNoDashes(k[0])}, bad: 2, class: wallet.ErrDuplicate},
			{name: "issued to another wallet", batch: []string{k[0], f.issue(f.reseller, other)}, bad: 2, class: wallet.ErrOtherWallet},
			{name: "typo", batch: []string{k[0], typo(k[1])}, bad: 2, class: nil},
			{name: "chain to an untrusted root", batch: []string{f.issue(outsider, f.sub(10))}, bad: 1,
				certs: outsider.chain, class: cert.ErrUntrusted},
			{name: "issuer without a certificate", batch: []string{k[0], f.issue(signer{priv: seedKey(22)}, f.sub(10))}, bad: 2,
				class: cert.ErrUntrusted},
			{name: "quantity out of scope", batch: []string{scoped(func(k *licensekey.Key) { k.Licenses[0].Quantity = 1001 })}, bad: 1,
				class: cert.ErrScope},
			{name: "license type out of scope", batch: []string{scoped(func(k *licensekey.Key) { k.Licenses[0].Type = "analytics-l1" })}, bad: 1,
				class: cert.ErrScope},
			{name: "product out of scope", batch: []string{scoped(func(k *licensekey.Key) { k.Product = "access" })}, bad: 1,
				class: cert.ErrScope},
			{name: "term out of scope", batch: []string{scoped(func(k *licensekey.Key) { k.TermMonths = 61 })}, bad: 1,
				class: cert.ErrScope},
			{name: "bearer key the chain forbids", batch: []string{scoped(func(k *licensekey.Key) { k.Bearer, k.Wallet = true, licensekey.WalletID{} })}, bad: 1,
				class: cert.ErrScope},
			{name: "issued before the certificate", batch: []string{scoped(func(k *licensekey.Key) { k.Issued = date(2019, 12, 31) })}, bad: 1,
				class: cert.ErrScope},
			{name: "bad signature", batch: []string{k[0], forgeSignature(t, k[1])}, bad: 2, class: sign.ErrSignature},
			{name: "signed by another reseller than it names", batch: []string{withIssuer(t, f.issue(f.bearer, f.sub(10)), f.reseller.pub())}, bad: 1,
				class: sign.ErrSignature},
			{name: "revoked", batch: []string{k[0], k[2]}, bad: 2,
				trust: &cert.Trust{Revoked: map[string]bool{revoked.ID(): true}}, class: cert.ErrRevoked},
		}
	}

	n := len(build(newFixture(t)))
	for i := range n {
		f := newFixture(t)
		c := build(f)[i]
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			if c.pre != nil {
				f.mustRedeem(t0, c.pre...)
			}
			before := f.read()
			_, err := wallet.Update(f.path, t0.AddDate(0, 0, 1), "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
				ch, _, err := w.Redeem(inputs(c.batch...), append(certs(f.reseller, f.bearer), c.certs...), w.TrustFor(c.trust), false)
				return ch, err
			})
			var be *wallet.BatchError
			if !errors.As(err, &be) {
				t.Fatalf("got %v, want a *BatchError", err)
			}
			if len(be.Invalid) != 1 || be.Total != len(c.batch) {
				t.Fatalf("BatchError: %d invalid of %d, want 1 of %d: %v", len(be.Invalid), be.Total, len(c.batch), err)
			}
			if want := "argument " + itoa(c.bad); be.Invalid[0].Where != want {
				t.Errorf("invalid key at %q, want %q", be.Invalid[0].Where, want)
			}
			if !strings.Contains(err.Error(), "nothing was redeemed") {
				t.Errorf("message %q does not say that nothing was redeemed", err)
			}
			var te *licensekey.TypoError
			if c.class == nil {
				if !errors.As(err, &te) {
					t.Errorf("got %v, want a *licensekey.TypoError", err)
				}
			} else {
				if !errors.Is(err, c.class) {
					t.Errorf("got %v, want class %q", err, c.class)
				}
				if errors.As(err, &te) {
					t.Errorf("got %v: also a typo", err)
				}
			}
			for _, other := range classes {
				if other != c.class && errors.Is(err, other) {
					t.Errorf("got %v: also of class %q", err, other)
				}
			}
			f.unchanged(before)
		})
	}
}

func TestRedeemTypoNamesGroup(t *testing.T) {
	f := newFixture(t)
	text := f.keys(1)[0]
	groups := strings.Split(text, "-")
	g := groups[2]
	c := byte('A')
	if g[1] == 'A' {
		c = 'B'
	}
	groups[2] = g[:1] + string(c) + g[2:]
	_, _, err := f.redeem(t0, strings.Join(groups, "-"))
	var te *licensekey.TypoError
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want a *licensekey.TypoError", err)
	}
	if te.Group != 3 {
		t.Errorf("typo reported in group %d, want 3", te.Group)
	}
}

func TestRedeemBatchWithInvalidKeys(t *testing.T) {
	f := newFixture(t)
	k := f.keys(3)
	other := f.sub(10)
	other.Wallet = licensekey.WalletIDOf(pubOf(seedKey(2)))
	batch := []string{k[0], k[1], typo(k[2]), k[2], f.issue(f.reseller, other)}

	// Refused whole.
	before := f.read()
	_, _, err := f.redeem(t0, batch...)
	var be *wallet.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("got %v, want a *BatchError", err)
	}
	if len(be.Invalid) != 2 || be.Total != 5 {
		t.Fatalf("BatchError: %d invalid of %d, want 2 of 5", len(be.Invalid), be.Total)
	}
	if be.Invalid[0].Where != "argument 3" || be.Invalid[1].Where != "argument 5" {
		t.Errorf("invalid keys at %q and %q, want argument 3 and argument 5", be.Invalid[0].Where, be.Invalid[1].Where)
	}
	var te *licensekey.TypoError
	if !errors.As(err, &te) {
		t.Errorf("the first invalid key decides the class: got %v, want a typo", err)
	}
	if !errors.Is(be.Invalid[1], wallet.ErrOtherWallet) {
		t.Errorf("second invalid key: got %v, want ErrOtherWallet", be.Invalid[1])
	}
	if msg := err.Error(); !strings.Contains(msg, "argument 3") || !strings.Contains(msg, "1 more") {
		t.Errorf("message %q does not name the first invalid key and count the rest", msg)
	}
	f.unchanged(before)

	// With skipInvalid, the rest is redeemed and the skipped are reported.
	var res *wallet.RedeemResult
	w, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		ch, r, err := w.Redeem(inputs(batch...), certs(f.reseller), w.TrustFor(nil), true)
		res = r
		return ch, err
	})
	if err != nil {
		t.Fatalf("redeem with skipInvalid: %v", err)
	}
	if len(res.Redeemed) != 3 || len(res.Skipped) != 2 {
		t.Fatalf("redeemed %d, skipped %d; want 3 and 2", len(res.Redeemed), len(res.Skipped))
	}
	if res.Skipped[0].Where != "argument 3" || !errors.As(res.Skipped[0], &te) ||
		res.Skipped[1].Where != "argument 5" || !errors.Is(res.Skipped[1], wallet.ErrOtherWallet) {
		t.Errorf("skipped: %v", res.Skipped)
	}
	if len(w.Keys) != 3 || len(f.open().Keys) != 3 {
		t.Errorf("wallet holds %d keys, want 3", len(w.Keys))
	}
	if h := w.History[len(w.History)-1]; h.Op != "redeem" || !strings.Contains(h.Note, "redeemed 3 keys") {
		t.Errorf("history: %+v", h)
	}

	// A batch of only invalid keys with skipInvalid changes nothing.
	before = f.read()
	_, err = wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		ch, r, err := w.Redeem(inputs(k[0], typo(k[1])), nil, w.TrustFor(nil), true)
		res = r
		return ch, err
	})
	if err != nil {
		t.Fatalf("redeem of invalid keys with skipInvalid: %v", err)
	}
	if len(res.Redeemed) != 0 || len(res.Skipped) != 2 || !errors.Is(res.Skipped[0], wallet.ErrRedeemed) {
		t.Errorf("redeemed %d, skipped %v", len(res.Redeemed), res.Skipped)
	}
	f.unchanged(before)
}

// TestRedeemForgedCopyDoesNotBlockKey: redemption is de-duplicated by
// serial, so a forged copy of a key (same issuer and serial, bad signature)
// and the key itself share an identity. With skipInvalid the forgery is
// skipped, whichever comes first, and the genuine key is redeemed.
func TestRedeemForgedCopyDoesNotBlockKey(t *testing.T) {
	for _, forgedFirst := range []bool{false, true} {
		f := newFixture(t)
		genuine := f.keys(1)[0]
		forged := forgeSignature(t, genuine)
		batch := []string{genuine, forged}
		if forgedFirst {
			batch = []string{forged, genuine}
		}
		var res *wallet.RedeemResult
		w, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
			ch, r, err := w.Redeem(inputs(batch...), certs(f.reseller), w.TrustFor(nil), true)
			res = r
			return ch, err
		})
		if err != nil {
			t.Fatalf("forged copy first %v: %v", forgedFirst, err)
		}
		if len(res.Redeemed) != 1 || len(w.Keys) != 1 {
			t.Errorf("forged copy first %v: redeemed %d, skipped %v; want the genuine key redeemed", forgedFirst, len(res.Redeemed), res.Skipped)
		}
	}
}

func TestRedeemStoresCertificates(t *testing.T) {
	f := newFixture(t)
	dist := f.certify(f.root, seedKey(13), "distributor", scope(true))
	sub := f.certify(dist, seedKey(14), "reseller", scope(false))
	if len(sub.chain) != 2 {
		t.Fatalf("test setup: chain of %d", len(sub.chain))
	}
	k1 := f.issue(sub, f.sub(10))
	_, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		ch, _, err := w.Redeem(inputs(k1), sub.chain, w.TrustFor(nil), false)
		return ch, err
	})
	if err != nil {
		t.Fatalf("redeem: %v", err)
	}

	// A later reading rebuilds the key's chain from the wallet alone.
	w := f.open()
	held, err := w.Certificates()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sub.chain {
		if !slices.ContainsFunc(held, func(h *cert.Certificate) bool { return bytes.Equal(h.Document(), c.Document()) }) {
			t.Errorf("certificate %s (%s) is not stored", c.Serial, c.Role)
		}
	}
	trust := w.TrustFor(nil)
	pool := cert.NewPool(trust)
	pool.Add(held...)
	key, _ := licensekey.Parse(k1)
	chain, err := pool.ChainFor(key.Issuer)
	if err != nil {
		t.Fatalf("ChainFor from the stored certificates: %v", err)
	}
	if len(chain) != 2 {
		t.Errorf("chain of %d certificates, want 2", len(chain))
	}
	if err := chain.Authorize(key, trust); err != nil {
		t.Errorf("Authorize with the stored chain: %v", err)
	}

	// Later keys of the same reseller redeem without the certificate files,
	// and giving them again stores nothing twice.
	k2, k3 := f.issue(sub, f.sub(10)), f.issue(sub, f.sub(10))
	for _, c := range [][]*cert.Certificate{nil, sub.chain} {
		text := k2
		if c != nil {
			text = k3
		}
		_, err = wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
			ch, _, err := w.Redeem(inputs(text), c, w.TrustFor(nil), false)
			return ch, err
		})
		if err != nil {
			t.Fatalf("redeem with %d certificates given: %v", len(c), err)
		}
	}
	held, err = f.open().Certificates()
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 2 {
		t.Errorf("wallet holds %d certificates, want the 2 of the chain once each", len(held))
	}
}

func TestRedeemRemembersTrust(t *testing.T) {
	f := newFixture(t)
	f.dir = t.TempDir()
	f.path = filepath.Join(f.dir, "bare.wallet")
	f.init(f.path, nil) // trusts nothing yet
	k := f.keys(2)

	redeem := func(text string, extra *cert.Trust) error {
		_, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
			ch, _, err := w.Redeem(inputs(text), certs(f.reseller), w.TrustFor(extra), false)
			return ch, err
		})
		return err
	}
	before := f.read()
	if err := redeem(k[0], nil); err == nil {
		t.Fatal("redeem without any trusted root: got nil error")
	}
	f.unchanged(before)

	if err := redeem(k[0], &cert.Trust{Roots: []ed25519.PublicKey{f.root.pub()}}); err != nil {
		t.Fatalf("redeem with the root given: %v", err)
	}
	if w := f.open(); !sign.ContainsKey(w.Trust, f.root.pub()) {
		t.Fatalf("the root given at redeem is not remembered")
	}
	if err := redeem(k[1], nil); err != nil {
		t.Errorf("redeem after the root was remembered: %v", err)
	}
}

func TestBalances(t *testing.T) {
	f := newFixture(t)
	a := f.issue(f.reseller, f.sub(10)) // 120 camera-months
	b := f.sub(5)
	b.TermMonths = 24 // 120 camera-months
	b.Issued = date(2026, 1, 1)
	ic := &licensekey.Key{
		Kind: licensekey.Subscription, Issued: date(2025, 1, 1), TermMonths: 12, Product: "intercom",
		Licenses: []licensekey.License{{Type: "intercom", Quantity: 2}}, Wallet: f.walletID,
	}
	hw := &licensekey.Key{
		Kind: licensekey.Hardware, Issued: date(2025, 1, 1), Product: "vms",
		Licenses: []licensekey.License{{Type: "camera", Quantity: 3}}, Device: "NVR-1", Wallet: f.walletID,
	}
	f.mustRedeem(t0, a, f.issue(f.reseller, ic), f.issue(f.reseller, hw))
	f.mustRedeem(t0.AddDate(1, 0, 0), f.issue(f.reseller, b))
	ka, _ := licensekey.Parse(a)
	_, err := wallet.Update(f.path, t0.AddDate(1, 0, 0), "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		return w.Allocate(&wallet.Allocation{
			System: "site-1", BundleID: "b1", Sequence: 1,
			Taken: []wallet.KeyFunding{{Key: ka.ID(), License: "camera", Months: 60}},
			Credits: []wallet.Credit{{License: "camera", Days: 300, Reason: "late", Key: ka.ID(), Months: 60,
				From: date(2025, 1, 1), Until: date(2026, 1, 1)}},
			Bundle: []byte("bundle\n"),
		}, "allocated"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w := f.open()

	got := w.Balances(t0.AddDate(1, 0, 1), 5)
	want := []wallet.Balance{
		{License: "camera", Kind: "hardware", Keys: 1, Total: 3, Available: 3},
		{License: "camera", Kind: "subscription", Keys: 2, Total: 240, Allocated: 60, Available: 180, Credits: 300},
		{License: "intercom", Kind: "subscription", Keys: 1, Total: 24, Available: 24},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Balances after one year:\n got %+v\nwant %+v", got, want)
	}

	// Five years after the first keys were issued (2025-01-01) their
	// unallocated rest expires, and the credit key a paid for with it; the
	// key issued a year later does not.
	expiry := date(2030, 1, 1)
	got = w.Balances(expiry, 5)
	want = []wallet.Balance{
		{License: "camera", Kind: "subscription", Keys: 2, Total: 240, Allocated: 60, Expired: 60, Available: 120},
		{License: "intercom", Kind: "subscription", Keys: 1, Total: 24, Expired: 24},
	}
	got = slices.DeleteFunc(got, func(b wallet.Balance) bool { return b.Kind != "subscription" })
	if !slices.Equal(got, want) {
		t.Errorf("Balances five years after issue:\n got %+v\nwant %+v", got, want)
	}
	// Just before, nothing has expired.
	got = w.Balances(expiry.Add(-1), 5)
	for _, b := range got {
		if b.Expired != 0 {
			t.Errorf("%s/%s: %d expired a moment before the expiry", b.License, b.Kind, b.Expired)
		}
	}
}

// TestBalancesHardwareNeverExpires: tied-to-hardware licenses are
// perpetual (DESIGN.md, domain rules); the five-year expiry of unallocated
// licenses is a rule of subscription licenses.
func TestBalancesHardwareNeverExpires(t *testing.T) {
	f := newFixture(t)
	hw := &licensekey.Key{
		Kind: licensekey.Hardware, Issued: date(2025, 1, 1), Product: "vms",
		Licenses: []licensekey.License{{Type: "camera", Quantity: 3}}, Device: "NVR-1", Wallet: f.walletID,
	}
	w := f.mustRedeem(t0, f.issue(f.reseller, hw))
	got := w.Balances(t0.AddDate(6, 0, 0), 5)
	want := []wallet.Balance{{License: "camera", Kind: "hardware", Keys: 1, Total: 3, Available: 3}}
	if !slices.Equal(got, want) {
		t.Errorf("Balances of a hardware key six years after redemption:\n got %+v\nwant %+v", got, want)
	}
}

func TestConcurrentUpdates(t *testing.T) {
	f := newFixture(t)
	const workers, each = 8, 3
	texts := f.keys(workers * each)
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				text := texts[g*each+i]
				_, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
					ch, _, err := w.Redeem(inputs(text), certs(f.reseller), w.TrustFor(nil), false)
					return ch, err
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Update: %v", err)
	}
	w := f.open()
	if len(w.Keys) != len(texts) || len(w.History) != len(texts)+1 {
		t.Fatalf("after %d concurrent redemptions: %d keys, %d records; some were lost", len(texts), len(w.Keys), len(w.History))
	}
	for _, text := range texts {
		k, _ := licensekey.Parse(text)
		if _, ok := w.Key(k.ID()); !ok {
			t.Errorf("key %s lost", k.ID())
		}
	}
	f.noTemp()
}
