// Package allottest builds complete, valid allot worlds for benchmarks and
// tests: a vendor root, a certificate chain, keys issued to a wallet, a
// system, and bundles. Keys and times are deterministic, so runs compare.
package allottest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"allot.dev/allot/pkg/allocate"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/verify"
	"allot.dev/allot/pkg/wallet"
)

// Now is the fixed clock of fixtures.
var Now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// Key returns a deterministic Ed25519 key named name.
func Key(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("allot fixture key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// Rand is a deterministic byte stream for serials and ids.
type Rand struct{ n uint64 }

func (r *Rand) Read(p []byte) (int, error) {
	for i := 0; i < len(p); i += 8 {
		r.n++
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], r.n*0x9e3779b97f4a7c15)
		copy(p[i:], b[:])
	}
	return len(p), nil
}

// World is a vendor root with a chain of certificates down to an issuer.
type World struct {
	Vendor ed25519.PrivateKey
	Issuer ed25519.PrivateKey
	Chain  cert.Chain
	Trust  *verify.Trust
	Rand   io.Reader
}

// NewWorld builds a vendor root and a chain of depth certificates
// (vendor → distributor → reseller … ), each with a generous scope.
func NewWorld(depth int) (*World, error) { return NewNamedWorld("", depth) }

// NewNamedWorld is NewWorld with keys of its own: worlds of different names
// share no key.
func NewNamedWorld(name string, depth int) (*World, error) {
	w := &World{Vendor: Key(name + "vendor"), Rand: &Rand{}}
	scope := cert.Scope{
		Products: []string{"intercom", "vms"},
		Kinds:    []licensekey.Kind{licensekey.Subscription, licensekey.Hardware, licensekey.Expansion, licensekey.Trial},
		Licenses: map[string]int{"camera": 1000, "intercom": 1000, "analytics-l1": 1000,
			"analytics-l2": 1000, "analytics-l3": 1000, "analytics-l4": 1000},
		Features:      []string{"remote-door-opening", "web-dialer"},
		MaxTermMonths: 60,
	}
	parent := w.Vendor
	for i := 0; i < depth; i++ {
		role := "distributor"
		if i == depth-1 {
			role = "reseller"
		}
		child := Key(fmt.Sprintf("%ssigner-%d", name, i))
		c, err := cert.Issue(parent, w.Chain, cert.Template{
			Role:      role,
			Subject:   sign.PublicKey{Key: child.Public().(ed25519.PublicKey), Comment: role},
			ValidFrom: Now.AddDate(-1, 0, 0), ValidUntil: Now.AddDate(5, 0, 0), Scope: scope,
		}, w.Rand)
		if err != nil {
			return nil, err
		}
		w.Chain = append(w.Chain, c)
		parent = child
	}
	w.Issuer = parent
	w.Trust = &verify.Trust{Trust: cert.Trust{Roots: []ed25519.PublicKey{w.Vendor.Public().(ed25519.PublicKey)},
		Revoked: map[string]bool{}}, ClockTolerance: verify.DefaultClockTolerance}
	return w, nil
}

// Keys issues n subscription keys of qty cameras for termMonths to the
// wallet id.
func (w *World) Keys(n, qty, termMonths int, to licensekey.WalletID) ([]string, error) {
	keys := make([]string, n)
	for i := range keys {
		k := &licensekey.Key{Kind: licensekey.Subscription, Product: "vms", Issued: allocate.Day(Now),
			TermMonths: termMonths, Licenses: []licensekey.License{{Type: "camera", Quantity: qty}}, Wallet: to}
		s, err := k.Sign(w.Issuer, w.Rand)
		if err != nil {
			return nil, err
		}
		keys[i] = s
	}
	return keys, nil
}

// Wallet creates a wallet at path whose signer is key; its private key is
// stored as given (opaque to the wallet).
func (w *World) Wallet(path string, key ed25519.PrivateKey) (*wallet.Wallet, error) {
	return wallet.Init(path, wallet.InitParams{Organization: "Fixture Org", PublicKey: key.Public().(ed25519.PublicKey),
		EncryptedKey: []byte("not used by fixtures"), Trust: w.Trust.Roots, Time: Now, Who: "fixture"})
}

// Redeem redeems keys into the wallet at path.
func (w *World) Redeem(path string, keys []string) (*wallet.Wallet, error) {
	in := make([]wallet.Input, len(keys))
	for i, k := range keys {
		in[i] = wallet.Input{Where: fmt.Sprintf("key %d", i+1), Text: k}
	}
	return wallet.Update(path, Now, "fixture", func(wl *wallet.Wallet) (*wallet.Change, error) {
		ch, _, err := wl.Redeem(in, w.Chain, wl.TrustFor(&w.Trust.Trust), false)
		return ch, err
	})
}

// System returns a system of one server with devices cameras, bound to no
// hardware, needing a camera license per device.
func System(id string, devices int) *system.System {
	s := &system.System{ID: id, Organization: "Fixture Org", Need: map[string]int{"camera": devices},
		Servers: []system.Server{{Name: "nvr-1", Identifiers: []string{}}}}
	for i := 0; i < devices; i++ {
		s.Devices = append(s.Devices, system.Device{Serial: fmt.Sprintf("CAM-%07d", i), Model: "P3265", Type: "camera", Server: "nvr-1"})
	}
	return s
}

// Allocate allocates years of the system's need from the wallet at path
// and returns the signed bundle.
func (w *World) Allocate(path string, walletKey ed25519.PrivateKey, sys *system.System, years int) ([]byte, error) {
	var doc []byte
	_, err := wallet.Update(path, Now, "fixture", func(wl *wallet.Wallet) (*wallet.Change, error) {
		plan, err := allocate.Make(wl, allocate.Request{System: sys, Years: years, Now: Now,
			Policy: catalog.Default().Policy, Rand: w.Rand})
		if err != nil {
			return nil, err
		}
		var ch *wallet.Change
		doc, ch, err = plan.Sign(wl, walletKey)
		return ch, err
	})
	return doc, err
}

// TypicalBundle builds the budget's typical bundle in dir: a chain of
// depth certificates and nkeys keys funding one year of 10 cameras. It
// returns the bundle, the world, and the wallet path.
func TypicalBundle(dir string, depth, nkeys int) ([]byte, *World, error) {
	w, err := NewWorld(depth)
	if err != nil {
		return nil, nil, err
	}
	wk := Key("wallet")
	path := filepath.Join(dir, "fixture.wallet")
	os.Remove(path)
	wl, err := w.Wallet(path, wk)
	if err != nil {
		return nil, nil, err
	}
	keys, err := w.Keys(nkeys, 10, 12, wl.ID)
	if err != nil {
		return nil, nil, err
	}
	if _, err := w.Redeem(path, keys); err != nil {
		return nil, nil, err
	}
	// 10 cameras for a year need 120 license-months: spread over every key.
	doc, err := w.Allocate(path, wk, System("site-1", 10*nkeys-5), 1)
	return doc, w, err
}

// AuditBundles builds n bundles of one wallet for an audit benchmark, each
// funded by 3 keys of its own under a chain of 2 certificates, from the
// typical bundle of dir. It returns the bundles and the world whose trust
// verifies them.
func AuditBundles(dir string, n int) ([][]byte, *World, error) {
	doc, w, err := TypicalBundle(dir, 2, 3)
	if err != nil {
		return nil, nil, err
	}
	tmpl, err := bundle.Open(doc)
	if err != nil {
		return nil, nil, err
	}
	keys, err := w.Keys(3*n, 10, 12, tmpl.WalletID)
	if err != nil {
		return nil, nil, err
	}
	wk := Key("wallet")
	docs := make([][]byte, n)
	for i := range docs {
		b := *tmpl
		b.ID = fmt.Sprintf("%016x", i+1)
		b.System = fmt.Sprintf("site-%d", i)
		b.Funding = append([]bundle.Funding(nil), tmpl.Funding...)
		for j := range b.Funding {
			b.Funding[j].Key = keys[3*i+j%3]
		}
		if docs[i], err = bundle.Seal(&b, wk); err != nil {
			return nil, nil, err
		}
	}
	return docs, w, nil
}

// WriteTrust writes the world's vendor key as an OpenSSH public key file.
func (w *World) WriteTrust(path string) error {
	line := sign.MarshalAuthorized(w.Vendor.Public().(ed25519.PublicKey), "vendor") + "\n"
	return os.WriteFile(path, []byte(line), 0o644)
}

// KeysText joins keys one a line.
func KeysText(keys []string) string { return strings.Join(keys, "\n") + "\n" }
