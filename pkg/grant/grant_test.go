package grant_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/grant"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/tree"
)

// world is a bundle's identity and tree, without the bundle: what a chain
// is checked against.
type world struct {
	wallet, manager, billing ed25519.PrivateKey
	model                    *tree.Model
	now                      time.Time
}

func newWorld(t testing.TB) *world {
	m, err := tree.New(&tree.Tree{Groups: []tree.Group{
		{Path: "a", Restrict: true, Limits: tree.Limits{Quota: map[string]int{"camera": 20}}},
		{Path: "a/b"},
	}}, tree.Root{Name: "system site-1", Quota: map[string]int{"camera": 25}, Features: []string{"web-dialer"},
		From: allottest.Now, Until: allottest.Now.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return &world{wallet: allottest.Key("wallet"), manager: allottest.Key("manager"), billing: allottest.Key("billing"),
		model: m, now: allottest.Now.AddDate(0, 1, 0)}
}

func (w *world) anchor() grant.Anchor {
	pub := w.wallet.Public().(ed25519.PublicKey)
	return grant.Anchor{Bundle: "00112233aabbccdd", System: "site-1", WalletID: licensekey.WalletIDOf(pub), WalletKey: pub, Node: w.model.Effective}
}

func (w *world) grant(signer ed25519.PrivateKey, parent []byte, node string, to ed25519.PrivateKey, l tree.Limits) (*grant.Grant, []byte, error) {
	a := w.anchor()
	g := &grant.Grant{System: a.System, Bundle: a.Bundle, WalletID: a.WalletID, Node: node,
		Delegate: sign.PublicKey{Key: to.Public().(ed25519.PublicKey), Comment: "delegate"}, Issued: allottest.Now, Limits: l}
	if parent != nil {
		g.Parent = grant.Digest(parent)
	}
	doc, err := grant.Seal(g, signer)
	return g, doc, err
}

// chain returns the wallet's grant of a to the manager, and the manager's
// grant of a/b to the billing system.
func (w *world) chain(t testing.TB) (g1, g2 []byte) {
	_, g1, err := w.grant(w.wallet, nil, "a", w.manager, tree.Limits{Quota: map[string]int{"camera": 10}, Until: allottest.Now.AddDate(0, 6, 0)})
	if err != nil {
		t.Fatal(err)
	}
	_, g2, err = w.grant(w.manager, g1, "a/b", w.billing, tree.Limits{Quota: map[string]int{"camera": 3}, Features: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	return g1, g2
}

func TestRoundTrip(t *testing.T) {
	w := newWorld(t)
	g1, g2 := w.chain(t)
	docs, err := grant.Split(append(bytes.Clone(g1), g2...))
	if err != nil || len(docs) != 2 || !bytes.Equal(docs[0], g1) || !bytes.Equal(docs[1], g2) {
		t.Fatalf("split: %d docs, %v", len(docs), err)
	}
	gs, err := grant.Verify(docs, w.anchor(), w.now)
	if err != nil {
		t.Fatal(err)
	}
	if gs[1].Node != "a/b" || gs[1].Limits.Quota["camera"] != 3 || gs[1].Limits.Features == nil || gs[0].Limits.Features != nil {
		t.Fatalf("read back: %+v %+v", gs[0], gs[1])
	}
	bs := grant.Bounds(gs)
	if len(bs) != 2 || bs[1].Path != "a/b" || !strings.Contains(bs[1].Name, "grant 2") {
		t.Fatalf("bounds: %+v", bs)
	}
	// The second inherits the first's end.
	if _, err := grant.Verify(docs, w.anchor(), allottest.Now.AddDate(0, 7, 0)); !errors.Is(err, grant.ErrExpired) ||
		!strings.Contains(err.Error(), "grant 1 (node a): ended") {
		t.Fatalf("after the first grant ended: %v", err)
	}
}

func TestRejects(t *testing.T) {
	w := newWorld(t)
	g1, g2 := w.chain(t)
	for _, c := range []struct {
		name  string
		chain func() [][]byte
		class error
		says  string
	}{
		{"a changed byte", func() [][]byte {
			d := bytes.Replace(bytes.Clone(g1), []byte("camera = 10"), []byte("camera = 19"), 1)
			return [][]byte{d}
		}, grant.ErrTrust, "grant 1"},
		{"a feature the node lacks", func() [][]byte {
			_, d, _ := w.grant(w.wallet, nil, "a", w.manager, tree.Limits{Features: []string{"elevator"}})
			return [][]byte{d}
		}, grant.ErrTrust, "feature elevator, which it does not have"},
		{"a node not in the tree", func() [][]byte {
			_, d, _ := w.grant(w.wallet, nil, "z", w.manager, tree.Limits{})
			return [][]byte{d}
		}, grant.ErrTrust, "not a group of the bundle's tree"},
		{"a window after its parent's", func() [][]byte {
			_, d, _ := w.grant(w.manager, g1, "a/b", w.billing, tree.Limits{Until: allottest.Now.AddDate(0, 8, 0)})
			return [][]byte{g1, d}
		}, grant.ErrTrust, "valid until"},
		{"the chain out of order", func() [][]byte { return [][]byte{g2, g1} }, grant.ErrTrust, "not by the bundle's wallet"},
		{"not yet valid", func() [][]byte {
			_, d, _ := w.grant(w.wallet, nil, "a", w.manager, tree.Limits{From: w.now.AddDate(0, 0, 1).Truncate(24 * time.Hour)})
			return [][]byte{d}
		}, grant.ErrNotYetValid, "valid from"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := grant.Verify(c.chain(), w.anchor(), w.now)
			if !errors.Is(err, c.class) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want %v saying %q", err, c.class, c.says)
			}
		})
	}
	for _, bad := range []string{"", "junk\n", string(g1) + "trailing"} {
		if _, err := grant.Split([]byte(bad)); !errors.Is(err, grant.ErrMalformed) {
			t.Errorf("split %q: %v", bad, err)
		}
	}
	if _, _, err := w.grant(w.wallet, nil, "a//b", w.manager, tree.Limits{}); err == nil {
		t.Error("a grant of a bad path was sealed")
	}
}
