package verify_test

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/grant"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/tree"
	"allot.dev/allot/pkg/verify"
)

// The quota tree is written by the wallet, which the vendor does not fully
// trust: on the device every node must be bounded by what the bundle's
// keys fund. The typical bundle funds 25 cameras and no feature.

func withTree(b *bundle.Bundle, tr *tree.Tree) *bundle.Bundle {
	c := clone(b)
	c.Tree = tr
	return c
}

func cameras(n int) map[string]int { return map[string]int{"camera": n} }

func TestWalletTreeBoundedByFunding(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	good := &tree.Tree{Groups: []tree.Group{
		{Path: "a", Restrict: true, Limits: tree.Limits{Quota: cameras(20)}},
		{Path: "a/b", Restrict: true, Limits: tree.Limits{Quota: cameras(5)}},
	}}
	if r := w.reseal(t, wk, withTree(w.b, good), w.opts); r.Err != nil || r.Tree == nil || r.Tree.Groups != 2 {
		t.Fatalf("a tree inside the funding: %v", r.Err)
	}
	for _, c := range []struct {
		name  string
		tr    *tree.Tree
		class error
		says  string
	}{
		{"a group above the period's quota", &tree.Tree{Groups: []tree.Group{{Path: "a", Restrict: true, Limits: tree.Limits{Quota: cameras(30)}}}},
			verify.ErrQuota, "group a: camera 30 is more than system site-1 has left: 25 of 25"},
		{"groups together above it", &tree.Tree{Groups: []tree.Group{
			{Path: "a", Restrict: true, Limits: tree.Limits{Quota: cameras(20)}},
			{Path: "b", Restrict: true, Limits: tree.Limits{Quota: cameras(20)}}}},
			verify.ErrQuota, "group b: camera 20 is more than system site-1 has left: 5 of 25"},
		{"a child above its parent", &tree.Tree{Groups: []tree.Group{
			{Path: "a", Restrict: true, Limits: tree.Limits{Quota: cameras(5)}},
			{Path: "a/b", Restrict: true, Limits: tree.Limits{Quota: cameras(6)}}}},
			verify.ErrQuota, "group a/b: camera 6 is more than group a has left: 5 of 5"},
		{"a type no key funds", &tree.Tree{Users: []tree.User{{Name: "u", Restrict: true, Limits: tree.Limits{Quota: map[string]int{"analytics-l4": 1}}}}},
			verify.ErrQuota, "user u: analytics-l4 1 is more than system site-1 has left: 0 of 0"},
		{"a feature no key grants", &tree.Tree{Groups: []tree.Group{{Path: "a", Restrict: true, Limits: tree.Limits{Features: []string{"web-dialer"}}}}},
			verify.ErrQuota, "group a: feature web-dialer is not among the features of system site-1"},
		{"a window beyond the bundle's", &tree.Tree{Groups: []tree.Group{{Path: "a", Restrict: true,
			Limits: tree.Limits{Until: w.b.Validity.GraceUntil.AddDate(1, 0, 0)}}}},
			verify.ErrExpired, "group a: valid until"},
	} {
		t.Run(c.name, func(t *testing.T) {
			expectClass(t, w.reseal(t, wk, withTree(w.b, c.tr), w.opts), c.class, c.says)
		})
	}
}

// grantWorld is the typical bundle with a tree, a manager the wallet
// grants group a to, and a billing system the manager grants a/b to.
type grantWorld struct {
	*world
	doc              []byte
	b                *bundle.Bundle
	manager, billing ed25519.PrivateKey
}

func newGrantWorld(t *testing.T) *grantWorld {
	w := newWorld(t)
	b := withTree(w.b, &tree.Tree{Groups: []tree.Group{
		{Path: "a", Restrict: true, Limits: tree.Limits{Quota: cameras(20)}},
		{Path: "a/b"},
		{Path: "c", Restrict: true, Limits: tree.Limits{Quota: cameras(5)}},
	}})
	doc, err := bundle.Seal(b, allottest.Key("wallet"))
	if err != nil {
		t.Fatal(err)
	}
	return &grantWorld{world: w, doc: doc, b: b, manager: allottest.Key("manager"), billing: allottest.Key("billing")}
}

func pubKey(k ed25519.PrivateKey, name string) sign.PublicKey {
	return sign.PublicKey{Key: k.Public().(ed25519.PublicKey), Comment: name}
}

func (g *grantWorld) seal(t *testing.T, signer ed25519.PrivateKey, parent []byte, node string, to ed25519.PrivateKey, l tree.Limits) []byte {
	t.Helper()
	gr := &grant.Grant{System: g.b.System, Bundle: g.b.ID, WalletID: g.b.WalletID, Node: node, Delegate: pubKey(to, "delegate"),
		Issued: allottest.Now, Limits: l}
	if parent != nil {
		gr.Parent = grant.Digest(parent)
	}
	if gr.Limits.Quota == nil {
		gr.Limits.Quota = map[string]int{}
	}
	doc, err := grant.Seal(gr, signer)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func (g *grantWorld) verify(chain [][]byte, q *verify.Question) *verify.Report {
	opts := g.opts
	opts.Grants, opts.Question = chain, q
	return verify.Bundle("site.lic", g.doc, opts)
}

func TestGrantChain(t *testing.T) {
	g := newGrantWorld(t)
	wk := allottest.Key("wallet")
	g1 := g.seal(t, wk, nil, "a", g.manager, tree.Limits{Quota: cameras(10)})
	g2 := g.seal(t, g.manager, g1, "a/b", g.billing, tree.Limits{Quota: cameras(4)})
	q := &verify.Question{Node: "a/b", License: "camera"}
	if r := g.verify([][]byte{g1, g2}, q); r.Err != nil || r.Tree.Answer == nil || r.Tree.Answer.Quota.Available != 4 || len(r.Tree.Grants) != 2 {
		t.Fatalf("the chain: %v %+v", r.Err, r.Tree)
	}

	t.Run("a grant that widens the node", func(t *testing.T) {
		wide := g.seal(t, wk, nil, "a", g.manager, tree.Limits{Quota: cameras(21)})
		expectClass(t, g.verify([][]byte{wide}, nil), verify.ErrTrust, "grant 1 (node a): widens the node's limits in the bundle: camera 21, more than 20")
	})
	t.Run("a grant that widens its parent grant", func(t *testing.T) {
		wide := g.seal(t, g.manager, g1, "a/b", g.billing, tree.Limits{Quota: cameras(11)})
		expectClass(t, g.verify([][]byte{g1, wide}, nil), verify.ErrTrust, "grant 2 (node a/b): widens grant 1: camera 11, more than 10")
	})
	t.Run("a grant that names another node", func(t *testing.T) {
		other := g.seal(t, g.manager, g1, "c", g.billing, tree.Limits{Quota: cameras(1)})
		expectClass(t, g.verify([][]byte{g1, other}, nil), verify.ErrTrust, "grant 2 (node c): names node c, outside node a of grant 1")
	})
	t.Run("a grant signed by a key not granted the node", func(t *testing.T) {
		forged := g.seal(t, g.billing, g1, "a/b", g.billing, tree.Limits{Quota: cameras(1)})
		expectClass(t, g.verify([][]byte{g1, forged}, nil), verify.ErrTrust, "which grant 1 does not delegate to")
		byManager := g.seal(t, g.manager, nil, "a", g.billing, tree.Limits{Quota: cameras(1)})
		expectClass(t, g.verify([][]byte{byManager}, nil), verify.ErrTrust, "not by the bundle's wallet")
	})
	t.Run("a grant spliced from another bundle", func(t *testing.T) {
		other := clone(g.b)
		other.ID = "0000000000000001"
		gr := &grant.Grant{System: other.System, Bundle: other.ID, WalletID: other.WalletID, Node: "a",
			Delegate: pubKey(g.manager, "m"), Issued: allottest.Now, Limits: tree.Limits{Quota: cameras(1)}}
		doc, err := grant.Seal(gr, wk)
		if err != nil {
			t.Fatal(err)
		}
		expectClass(t, g.verify([][]byte{doc}, nil), verify.ErrTrust, "is for bundle 0000000000000001")
		// A child grant of another chain, named by another parent.
		g1b := g.seal(t, wk, nil, "a", g.manager, tree.Limits{Quota: cameras(9)})
		expectClass(t, g.verify([][]byte{g1b, g2}, nil), verify.ErrTrust, "does not name grant 1 as its parent")
	})
	t.Run("an expired grant", func(t *testing.T) {
		old := g.seal(t, wk, nil, "a", g.manager, tree.Limits{Quota: cameras(1), Until: g.opts.Now.Add(-time.Hour).Truncate(time.Second)})
		expectClass(t, g.verify([][]byte{old}, nil), verify.ErrExpired, "grant 1 (node a): ended")
	})
	t.Run("a question outside the chain's node", func(t *testing.T) {
		expectClass(t, g.verify([][]byte{g1, g2}, &verify.Question{Node: "c"}), verify.ErrTrust, "the grants end at node a/b")
	})
	t.Run("the grant's quota bounds the subtree", func(t *testing.T) {
		opts := g.opts
		u, err := verify.ParseUsage("u.toml", []byte("version = 1\nsystem = \"site-1\"\nnodes = \"\"\"\na/b camera=4\n\"\"\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		opts.Usage, opts.Grants, opts.Question = u, [][]byte{g1, g2}, q
		r := verify.Bundle("site.lic", g.doc, opts)
		expectClass(t, r, verify.ErrQuota, "grant 2 (node a/b): no camera left: 4 used below a/b, 4 granted")
	})
	if !strings.HasPrefix(string(g1), "# allot grant") {
		t.Errorf("a grant does not start with its comment")
	}
}
