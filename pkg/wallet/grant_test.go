package wallet_test

import (
	"strings"
	"testing"

	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/grant"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/tree"
	"allot.dev/allot/pkg/wallet"
)

// The wallet records the grants it signs, and only those: the first of a
// chain, of one of its own bundles, signed by its own key. A record of
// any other grant is refused when written, and leaves the file as it was.
func TestGrantRecord(t *testing.T) {
	f := newFixture(t)
	f.mustRedeem(t0)
	if _, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		return w.Rebalance(&wallet.Allocation{System: "site-1", BundleID: "b1", Sequence: 1}, "the bundle"), nil
	}); err != nil {
		t.Fatal(err)
	}
	seal := func(edit func(g *grant.Grant), signer byte) []byte {
		g := &grant.Grant{System: "site-1", Bundle: "b1", WalletID: f.walletID, Node: "hq",
			Delegate: sign.PublicKey{Key: pubOf(seedKey(40))}, Issued: t0,
			Limits: tree.Limits{Quota: map[string]int{"camera": 1}}}
		edit(g)
		doc, err := grant.Seal(g, seedKey(signer))
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	for _, c := range []struct {
		name string
		doc  []byte
		want string // "" for accepted
	}{
		{"another key's grant", seal(func(*grant.Grant) {}, 41), "not by this wallet's key"},
		{"another wallet's id", seal(func(g *grant.Grant) { g.WalletID = licensekey.WalletIDOf(pubOf(seedKey(42))) }, 1), "not of this wallet"},
		{"a grant dividing a grant", seal(func(g *grant.Grant) { g.Parent = "sha256:" + strings.Repeat("ab", 32) }, 1), "only the first of a chain"},
		{"a bundle the wallet did not allocate", seal(func(g *grant.Grant) { g.Bundle = "b2" }, 1), "which this wallet did not allocate"},
		{"another system's name", seal(func(g *grant.Grant) { g.System = "site-2" }, 1), "which this wallet did not allocate"},
		{"the wallet's own grant", seal(func(*grant.Grant) {}, 1), ""},
	} {
		before := f.read()
		_, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
			return w.RecordGrant(c.doc, "")
		})
		if c.want != "" {
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want %q", c.name, err, c.want)
			}
			f.unchanged(before)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		w := f.open()
		if len(w.Grants) != 1 || w.Grants[0].Node != "hq" || string(w.Grants[0].Document()) != string(c.doc) {
			t.Errorf("%s: grants %+v", c.name, w.Grants)
		}
		if ev := w.History[len(w.History)-1]; ev.Op != "grant" || !strings.Contains(ev.Note, "granted node hq of system site-1 (bundle b1) to SHA256:") {
			t.Errorf("%s: history %+v", c.name, ev)
		}
	}
}

// The wallet records the revocations it signs, of grants only.
func TestRevocationRecord(t *testing.T) {
	f := newFixture(t)
	digest := "sha256:" + strings.Repeat("0f", 32)
	rev := func(signer byte, target string) *cert.Revocation {
		r, err := cert.IssueRevocation(seedKey(signer), target, "", t0)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, c := range []struct {
		name string
		r    *cert.Revocation
		want string
	}{
		{"another key's revocation", rev(41, digest), "not by this wallet's key"},
		{"a certificate", rev(1, "0123456789abcdef"), "a wallet revokes grants only"},
		{"a grant, by the wallet", rev(1, digest), ""},
	} {
		before := f.read()
		_, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
			return w.RecordRevocations([]*cert.Revocation{c.r}, "")
		})
		if c.want != "" {
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want %q", c.name, err, c.want)
			}
			f.unchanged(before)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		w := f.open()
		if len(w.Revocations) != 1 || w.Revocations[0].Grant != digest || w.History[len(w.History)-1].Note != "revoked grant "+digest {
			t.Errorf("%s: revocations %+v, history %+v", c.name, w.Revocations, w.History[len(w.History)-1])
		}
	}
}
