package wallet_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
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

// t0 is the fixed "now" of the tests.
var t0 = time.Date(2025, 3, 10, 14, 30, 0, 0, time.UTC)

// signer is a key pair with the chain that certifies it (empty for a root).
type signer struct {
	priv  ed25519.PrivateKey
	chain cert.Chain
}

func (s signer) pub() ed25519.PublicKey { return pubOf(s.priv) }

// fixture is a vendor root, resellers certified by it, and a wallet.
type fixture struct {
	t    *testing.T
	dir  string
	path string
	rng  *rand.ChaCha8

	root     signer // the vendor root
	reseller signer // root → reseller; no bearer keys
	bearer   signer // root → reseller that may issue bearer keys
	wallet   ed25519.PrivateKey
	walletID licensekey.WalletID
}

// scope is what the test resellers may issue.
func scope(bearer bool) cert.Scope {
	return cert.Scope{
		Products:      []string{"vms", "intercom"},
		Kinds:         []licensekey.Kind{licensekey.Subscription, licensekey.Hardware},
		Licenses:      map[string]int{"camera": 1000, "intercom": 100},
		Features:      []string{"mobile-app"},
		MaxTermMonths: 60,
		Bearer:        bearer,
	}
}

// newFixture makes the signers and initialises a wallet that trusts the
// root.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{
		t: t, dir: dir, path: filepath.Join(dir, "org.wallet"),
		rng:    rand.NewChaCha8([32]byte{'a', 'l', 'l', 'o', 't'}),
		root:   signer{priv: seedKey(10)},
		wallet: seedKey(1),
	}
	f.walletID = licensekey.WalletIDOf(pubOf(f.wallet))
	f.reseller = f.certify(f.root, seedKey(11), "reseller", scope(false))
	f.bearer = f.certify(f.root, seedKey(12), "reseller", scope(true))
	f.init(f.path, []ed25519.PublicKey{f.root.pub()})
	return f
}

func (f *fixture) init(path string, trust []ed25519.PublicKey) *wallet.Wallet {
	f.t.Helper()
	w, err := wallet.Init(path, wallet.InitParams{
		Organization: "Example Housing", PublicKey: pubOf(f.wallet),
		EncryptedKey: []byte("-----BEGIN AGE ENCRYPTED FILE-----\ntest\n-----END AGE ENCRYPTED FILE-----\n"),
		Trust:        trust, Time: t0, Who: "tester",
	})
	if err != nil {
		f.t.Fatalf("Init: %v", err)
	}
	return w
}

// certify has parent certify child's key with a role and scope valid from
// 2020 to 2040.
func (f *fixture) certify(parent signer, child ed25519.PrivateKey, role string, s cert.Scope) signer {
	f.t.Helper()
	c, err := cert.Issue(parent.priv, parent.chain, cert.Template{
		Role: role, Subject: sign.PublicKey{Key: pubOf(child), Comment: role},
		ValidFrom: date(2020, 1, 1), ValidUntil: date(2040, 1, 1), Scope: s,
	}, f.rng)
	if err != nil {
		f.t.Fatalf("cert.Issue: %v", err)
	}
	chain := append(cert.Chain{}, parent.chain...)
	return signer{priv: child, chain: append(chain, c)}
}

// sub returns a one-year subscription key for qty cameras, issued to the
// fixture's wallet.
func (f *fixture) sub(qty int) *licensekey.Key {
	return &licensekey.Key{
		Kind: licensekey.Subscription, Issued: date(2025, 1, 1), TermMonths: 12,
		Product: "vms", Licenses: []licensekey.License{{Type: "camera", Quantity: qty}},
		Wallet: f.walletID,
	}
}

// issue signs k with s and returns its text.
func (f *fixture) issue(s signer, k *licensekey.Key) string {
	f.t.Helper()
	text, err := k.Sign(s.priv, f.rng)
	if err != nil {
		f.t.Fatalf("Sign: %v", err)
	}
	return text
}

// keys issues n one-year keys of 10 cameras by the reseller.
func (f *fixture) keys(n int) []string {
	var texts []string
	for range n {
		texts = append(texts, f.issue(f.reseller, f.sub(10)))
	}
	return texts
}

func inputs(texts ...string) []wallet.Input {
	in := make([]wallet.Input, len(texts))
	for i, s := range texts {
		in[i] = wallet.Input{Where: fmt.Sprintf("argument %d", i+1), Text: s}
	}
	return in
}

// certs returns the certificates of the given signers' chains.
func certs(ss ...signer) []*cert.Certificate {
	var cs []*cert.Certificate
	for _, s := range ss {
		cs = append(cs, s.chain...)
	}
	return cs
}

// redeem redeems texts at now with the resellers' certificates and the
// wallet's own trust, refusing the batch on any invalid key.
func (f *fixture) redeem(now time.Time, texts ...string) (*wallet.Wallet, *wallet.RedeemResult, error) {
	var res *wallet.RedeemResult
	w, err := wallet.Update(f.path, now, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		ch, r, err := w.Redeem(inputs(texts...), certs(f.reseller, f.bearer), w.TrustFor(nil), false)
		res = r
		return ch, err
	})
	return w, res, err
}

func (f *fixture) mustRedeem(now time.Time, texts ...string) *wallet.Wallet {
	f.t.Helper()
	w, _, err := f.redeem(now, texts...)
	if err != nil {
		f.t.Fatalf("redeem: %v", err)
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

func (f *fixture) open() *wallet.Wallet {
	f.t.Helper()
	w, err := wallet.Open(f.path)
	if err != nil {
		f.t.Fatalf("Open: %v", err)
	}
	return w
}

// unchanged fails the test if the wallet file differs from before.
func (f *fixture) unchanged(before []byte) {
	f.t.Helper()
	if after := f.read(); !bytes.Equal(before, after) {
		f.t.Errorf("the wallet file changed:\nbefore %d bytes\nafter  %d bytes", len(before), len(after))
	}
	f.noTemp()
}

// noTemp fails the test if a temporary file is left in the wallet's folder.
func (f *fixture) noTemp() {
	f.t.Helper()
	ents, err := os.ReadDir(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, e := range ents {
		if n := e.Name(); n != filepath.Base(f.path) && n != filepath.Base(wallet.LockPath(f.path)) {
			f.t.Errorf("unexpected file left in the wallet's folder: %s", n)
		}
	}
}
