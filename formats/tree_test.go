package formats_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/grant"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/tree"
)

// The quota tree's examples: site-42's system file with a tree
// (system-file.md), the bundle that carries it and the device's question
// (bundle.md), what its nodes use (usage-file.md), and a chain of grants
// (grant.md). The tree divides site-42's eight cameras and two intercoms:
// the headquarters (5 cameras, 1 intercom, until 2027-09-01) with its
// lobby, where Ann (1 camera) and the user she created work, and the
// warehouse (2 cameras).

// exampleTree is site-42's quota tree.
func exampleTree() tree.Tree {
	until := time.Date(2027, 9, 1, 0, 0, 0, 0, time.UTC)
	return tree.Tree{
		Groups: []tree.Group{
			{Path: "hq", Restrict: true, RemindDays: 30, RemindEvery: "weekly",
				Limits: tree.Limits{Quota: map[string]int{"camera": 5, "intercom": 1}, Features: []string{"remote-door-opening"}, Until: until}},
			{Path: "hq/lobby"},
			{Path: "warehouse", Restrict: true, Limits: tree.Limits{Quota: map[string]int{"camera": 2}, Features: []string{}}},
		},
		Users: []tree.User{
			{Name: "ann", Groups: []string{"hq/lobby"}, Restrict: true, Limits: tree.Limits{Quota: map[string]int{"camera": 1}}},
			{Name: "ann-ops", CreatedBy: "ann"},
		},
	}
}

// treeBundleID is the id of the bundle that carries the tree: bundle 2 of
// site-42, signed by the wallet when the tree was added.
const treeBundleID = "7e3c0d2a9b6f4158"

func (g *gen) tree() {
	sys := *g.sys
	sys.Tree = exampleTree()
	g.must(sys.Check(catalog.Default()))
	file := string(sys.Marshal(t0))
	i := strings.Index(file, "\n# The quota tree")
	if i < 0 {
		g.t.Fatal("the system file has no tree")
	}
	g.put("system-file.md", "site-42-tree.system.toml", file[i+1:])
	g.write("site-42-tree.system.toml", []byte(file))

	bad := replaceOnce(g.t, file, "[group.quota]\ncamera = 2\n", "[group.quota]\ncamera = 4\n")
	_, err := system.Parse("site-42-tree.system.toml", []byte(bad), catalog.Default())
	g.put("system-file.md", "site-42-tree.err", damage(`site-42-tree.system.toml with the warehouse's "camera = 2" changed to "camera = 4"`, "system.Parse", err))

	// The bundle: site-42.lic again, with the tree, as the next allocation
	// writes it.
	b, err := bundle.Open(g.bundleDoc)
	g.must(err)
	t := exampleTree()
	for i := range t.Groups {
		t.Groups[i].RemindDays, t.Groups[i].RemindEvery = 0, ""
	}
	b.ID, b.Sequence, b.Tree = treeBundleID, 2, &t
	doc, err := bundle.Seal(b, g.walletPriv)
	g.must(err)
	g.write("site-42-tree.lic", doc)
	body, _, _, err := sign.Split(doc)
	g.must(err)
	from := bytes.Index(body, []byte("\n[[group]]"))
	to := bytes.Index(body, []byte("\n[[funding]]"))
	if from < 0 || to < from {
		g.t.Fatal("the bundle has no tree sections")
	}
	g.put("bundle.md", "site-42-tree.lic.part", string(body[from+1:to]))

	now := verifyNow.Format(time.RFC3339)
	tr := g.transcript()
	tr.export("ALLOT_SYSROOT", "root-nvr-1")
	if code := tr.verify("site-42-tree.lic", "--trust", "vendor.pub", "--node", "hq/lobby", "--user", "ann",
		"--feature", "remote-door-opening", "--license", "camera", "--now", now); code != 0 {
		g.t.Errorf("the question: exit %d\n%s", code, tr)
	}
	tr.verify("site-42-tree.lic", "--trust", "vendor.pub", "--node", "warehouse", "--feature", "remote-door-opening", "--now", now)
	tr.verify("site-42-tree.lic", "--trust", "vendor.pub", "--node", "hq/lobby", "--user", "ann-ops", "--now", "2027-09-01")
	g.put("bundle.md", "verify-node.txt", tr.String())

	// What the nodes use.
	usage := `# What site-42 uses now, server by server and node by node.
version = 1
system = "site-42"
nodes = """
hq camera=2 intercom=1 +remote-door-opening
hq/lobby camera=1
user:ann camera=1
warehouse camera=3
"""

[[server]]
name = "nvr-1"
cameras = 5
intercoms = 1

[[server]]
name = "nvr-2"
cameras = 3
`
	g.write("site-42-tree.usage.toml", []byte(usage))
	g.put("usage-file.md", "site-42-tree.usage.toml", usage)
	tr = g.transcript()
	tr.export("ALLOT_SYSROOT", "root-nvr-1")
	tr.verify("site-42-tree.lic", "--trust", "vendor.pub", "--usage", "site-42-tree.usage.toml", "--now", now)
	g.put("usage-file.md", "verify-nodes.txt", tr.String())

	// A chain of grants: the wallet hands hq to the facility manager, who
	// hands the lobby to the front desk.
	manager, desk := seedKey("manager"), seedKey("front-desk")
	g1 := &grant.Grant{System: b.System, Bundle: b.ID, WalletID: b.WalletID, Node: "hq",
		Delegate: sign.PublicKey{Key: pubOf(manager), Comment: "manager"}, Issued: t0,
		Limits: tree.Limits{Quota: map[string]int{"camera": 4}, Until: time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)}}
	d1, err := grant.Seal(g1, g.walletPriv)
	g.must(err)
	g2 := &grant.Grant{System: b.System, Bundle: b.ID, WalletID: b.WalletID, Parent: grant.Digest(d1), Node: "hq/lobby",
		Delegate: sign.PublicKey{Key: pubOf(desk), Comment: "front-desk"}, Issued: t0,
		Limits: tree.Limits{Quota: map[string]int{"camera": 1}, Features: []string{}}}
	d2, err := grant.Seal(g2, manager)
	g.must(err)
	chain := append(append([]byte(nil), d1...), d2...)
	g.write("lobby.grant", chain)
	g.put("grant.md", "lobby.grant", string(chain))
	tr = g.transcript()
	tr.export("ALLOT_SYSROOT", "root-nvr-1")
	if code := tr.verify("site-42-tree.lic", "--trust", "vendor.pub", "--grant", "lobby.grant", "--node", "hq/lobby", "--license", "camera", "--now", now); code != 0 {
		g.t.Errorf("the grant: exit %d\n%s", code, tr)
	}
	tr.verify("site-42-tree.lic", "--trust", "vendor.pub", "--grant", "lobby.grant", "--node", "hq/lobby", "--now", "2027-06-01")
	g.put("grant.md", "verify-grant.txt", tr.String())

	// Damaged: the front desk widens its grant, signed by itself.
	wide := *g2
	wide.Limits.Quota = map[string]int{"camera": 5}
	dw, err := grant.Seal(&wide, manager)
	g.must(err)
	_, err = grant.Check(b, [][]byte{d1, dw}, verifyNow)
	g.put("grant.md", "lobby-wide.err", damage("lobby.grant with the second grant's quota camera = 5, signed again by the manager", "grant.Verify", err))
	_, err = grant.Check(b, [][]byte{d2}, verifyNow)
	g.put("grant.md", "lobby-alone.err", damage("lobby.grant without its first grant", "grant.Verify", err))
}

func TestTreeExamples(t *testing.T) {
	sys, err := system.Parse("site-42.system.toml", []byte(example(t, "system-file.md", "site-42.system.toml")+"\n"+
		example(t, "system-file.md", "site-42-tree.system.toml")), catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if len(sys.Tree.Groups) != 3 || len(sys.Tree.Users) != 2 {
		t.Fatalf("the example's tree: %+v", sys.Tree)
	}
	docs, err := grant.Split([]byte(example(t, "grant.md", "lobby.grant")))
	if err != nil || len(docs) != 2 {
		t.Fatalf("lobby.grant: %d grants, %v", len(docs), err)
	}
	g1, err := grant.Open(docs[0])
	if err != nil || g1.Bundle != treeBundleID || g1.Node != "hq" {
		t.Fatalf("grant 1: %+v, %v", g1, err)
	}
	if _, want := damaged(t, "grant.md", "lobby-alone.err"); !strings.Contains(want, "not by the bundle's wallet") {
		t.Errorf("lobby-alone.err: %s", want)
	}
}
