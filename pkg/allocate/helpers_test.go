package allocate_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"allot.dev/allot/pkg/allocate"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/wallet"
)

// seedKey returns a deterministic Ed25519 key for n.
func seedKey(n byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{n}, ed25519.SeedSize))
}

func pubOf(priv ed25519.PrivateKey) ed25519.PublicKey {
	return priv.Public().(ed25519.PublicKey)
}

func date(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// t0 is the fixed "now" of the tests: 2025-03-10, in the afternoon.
var t0 = time.Date(2025, 3, 10, 14, 30, 0, 0, time.UTC)

// policy is the default catalog's, spelt out so the tests do not depend on
// the embedded file.
var policy = catalog.Policy{
	GraceDays: 30, MaxRenewalYears: 5, UnallocatedExpiryYears: 5,
	AnalyticsRetentionDays: 7, GrowthAllowancePercent: 100,
}

type signer struct {
	priv  ed25519.PrivateKey
	chain cert.Chain
}

func (s signer) pub() ed25519.PublicKey { return pubOf(s.priv) }

// fixture is a vendor root, a distributor and a reseller under it, a
// reseller directly under the root, and a wallet trusting the root.
type fixture struct {
	t    *testing.T
	dir  string
	path string
	rng  *rand.ChaCha8

	root     signer
	dist     signer // root → distributor
	reseller signer // root → distributor → reseller
	direct   signer // root → reseller
	wallet   ed25519.PrivateKey
	walletID licensekey.WalletID
}

func scope() cert.Scope {
	return cert.Scope{
		Products:      []string{"vms", "intercom"},
		Kinds:         []licensekey.Kind{licensekey.Subscription, licensekey.Hardware, licensekey.Expansion, licensekey.Trial},
		Licenses:      map[string]int{"camera": 1000, "intercom": 100, "analytics-l1": 100, "analytics-l4": 100},
		Features:      []string{"mobile-app", "sip-trunk"},
		MaxTermMonths: 60,
		Bearer:        true,
	}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{
		t: t, dir: dir, path: filepath.Join(dir, "org.wallet"),
		rng:    rand.NewChaCha8([32]byte{'a', 'l', 'l', 'o', 'c'}),
		root:   signer{priv: seedKey(10)},
		wallet: seedKey(1),
	}
	f.walletID = licensekey.WalletIDOf(pubOf(f.wallet))
	f.dist = f.certify(f.root, seedKey(11), "distributor")
	f.reseller = f.certify(f.dist, seedKey(12), "reseller")
	f.direct = f.certify(f.root, seedKey(13), "reseller")
	if _, err := wallet.Init(f.path, wallet.InitParams{
		Organization: "Example Housing", PublicKey: pubOf(f.wallet),
		EncryptedKey: []byte("not used by these tests"),
		Trust:        []ed25519.PublicKey{f.root.pub()}, Time: t0.AddDate(-3, 0, 0), Who: "tester",
	}); err != nil {
		t.Fatalf("wallet.Init: %v", err)
	}
	return f
}

func (f *fixture) certify(parent signer, child ed25519.PrivateKey, role string) signer {
	f.t.Helper()
	c, err := cert.Issue(parent.priv, parent.chain, cert.Template{
		Role: role, Subject: sign.PublicKey{Key: pubOf(child), Comment: role},
		ValidFrom: date(2015, 1, 1), ValidUntil: date(2040, 1, 1), Scope: scope(),
	}, f.rng)
	if err != nil {
		f.t.Fatalf("cert.Issue: %v", err)
	}
	chain := append(cert.Chain{}, parent.chain...)
	return signer{priv: child, chain: append(chain, c)}
}

// key issues a subscription key of qty licenses of type lic for months,
// signed by s, to the fixture's wallet.
func (f *fixture) key(s signer, lic string, qty, months int) string {
	f.t.Helper()
	return f.keyIssued(s, lic, qty, months, date(2025, 6, 1))
}

// keyIssued is key, issued on a given date.
func (f *fixture) keyIssued(s signer, lic string, qty, months int, issued time.Time) string {
	f.t.Helper()
	product := "vms"
	if lic == "intercom" {
		product = "intercom"
	}
	k := &licensekey.Key{
		Kind: licensekey.Subscription, Issued: issued, TermMonths: months, Product: product,
		Licenses: []licensekey.License{{Type: lic, Quantity: qty}}, Features: []string{"mobile-app"},
		Wallet: f.walletID,
	}
	text, err := k.Sign(s.priv, f.rng)
	if err != nil {
		f.t.Fatalf("Sign: %v", err)
	}
	return text
}

// redeem redeems texts at the time when, with every certificate the
// fixture has.
func (f *fixture) redeem(when time.Time, texts ...string) {
	f.t.Helper()
	var in []wallet.Input
	for i, s := range texts {
		in = append(in, wallet.Input{Where: fmt.Sprintf("argument %d", i+1), Text: s})
	}
	all := append(append(cert.Chain{}, f.reseller.chain...), f.direct.chain...)
	if _, err := wallet.Update(f.path, when, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		ch, _, err := w.Redeem(in, all, w.TrustFor(nil), false)
		return ch, err
	}); err != nil {
		f.t.Fatalf("redeem: %v", err)
	}
}

func (f *fixture) open() *wallet.Wallet {
	f.t.Helper()
	w, err := wallet.Open(f.path)
	if err != nil {
		f.t.Fatalf("wallet.Open: %v", err)
	}
	return w
}

func (f *fixture) read() []byte {
	f.t.Helper()
	data, err := os.ReadFile(f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	return data
}

// id returns a key's ID from its text.
func id(t *testing.T, text string) string {
	t.Helper()
	k, err := licensekey.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return k.ID()
}

// site returns a system of two servers that needs need.
func site(need map[string]int) *system.System { return siteOf("site-1", need) }

// siteOf returns the system of site with another id: its servers' hashes
// keyed by that id, as a machine collected for it has them.
func siteOf(id string, need map[string]int) *system.System {
	h := func(v string) string { return hwid.Hash(id, hwid.Identifier{Kind: hwid.MachineID, Value: v}) }
	return &system.System{
		ID: id, Organization: "Example Housing",
		Binding: system.Binding{Required: 1},
		Need:    need,
		Servers: []system.Server{
			{Name: "nvr-1", Identifiers: []string{h("one")}},
			{Name: "nvr-2", Identifiers: []string{h("two")}},
		},
	}
}

// request returns a request for years from now, with deterministic bundle
// ids.
func (f *fixture) request(sys *system.System, years int, now time.Time) allocate.Request {
	return allocate.Request{System: sys, Years: years, Now: now, Policy: policy, Rand: f.rng}
}

// pool returns the wallet's certificates trusted to its roots, as the CLI
// builds it.
func pool(t *testing.T, w *wallet.Wallet) *cert.Pool {
	t.Helper()
	certs, err := w.Certificates()
	if err != nil {
		t.Fatal(err)
	}
	p := cert.NewPool(w.TrustFor(nil))
	p.Add(certs...)
	return p
}

// allocate runs the whole allocation as `allot allocate` does: under the
// wallet's lock, plan, build and seal the bundle, and record it.
func (f *fixture) allocate(req allocate.Request) (*allocate.Plan, []byte, error) {
	f.t.Helper()
	var plan *allocate.Plan
	var doc []byte
	_, err := wallet.Update(f.path, req.Now, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		var err error
		if plan, err = allocate.Make(w, req); err != nil {
			return nil, err
		}
		b, err := plan.Bundle(w, pool(f.t, w))
		if err != nil {
			return nil, err
		}
		if doc, err = bundle.Seal(b, f.wallet); err != nil {
			return nil, err
		}
		return w.Allocate(plan.Record(doc), plan.Note()), nil
	})
	return plan, doc, err
}

func (f *fixture) mustAllocate(req allocate.Request) (*allocate.Plan, []byte) {
	f.t.Helper()
	plan, doc, err := f.allocate(req)
	if err != nil {
		f.t.Fatalf("allocate: %v", err)
	}
	return plan, doc
}
