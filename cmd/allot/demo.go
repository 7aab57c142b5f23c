package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/verifycli"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/wallet"
)

func (e *env) demoCommand() *cli.Command {
	return &cli.Command{
		Name:      "demo",
		Usage:     "run the whole flow on the embedded catalog, in a fresh folder",
		UsageText: "allot demo [--dir D]",
		Description: "vendor signer → reseller certificate → license keys → system file → wallet →\n" +
			"redeem → allocate → verify, each step a real allot command, leaving every\n" +
			"artifact in D (default: a new folder under the temporary directory).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "the folder to work in: new or empty"},
			nowFlag(),
		},
		Action: e.demo,
	}
}

// demoPassphrase protects the demo's keys; it is written to a file so the
// steps can be repeated by hand.
const demoPassphrase = "correct horse battery staple"

func (e *env) demo(c *cli.Context) error {
	dir := c.String("dir")
	if dir == "" {
		d, err := os.MkdirTemp("", "allot-demo-")
		if err != nil {
			return err
		}
		dir = d
	} else {
		if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
			return withHint(inputErrorf("%s is not empty", dir), "the demo runs in a new or empty folder")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	var extra []string
	if s := c.String("now"); s != "" {
		extra = []string{"--now", s}
	}
	step := 0
	run := func(what string, args ...string) error {
		step++
		e.out().Printf("\n== %d. %s\n$ allot %s\n", step, what, quoteArgs(args))
		if hasFlag(e.newApp(), args, "now") {
			args = append(args, extra...)
		}
		sub := *e
		if code := sub.run(append([]string{"allot"}, args...)); code != 0 {
			return &exitCodeError{code}
		}
		return nil
	}
	write := func(name, content string) error {
		e.out().Printf("\n-- wrote %s\n", p(name))
		return os.WriteFile(p(name), []byte(content), 0o644)
	}
	pass := []string{"--passphrase-file", p("passphrase.txt")}
	e.out().Printf("allot demo in %s\n", dir)
	if err := write("passphrase.txt", demoPassphrase+"\n"); err != nil {
		return err
	}
	if err := run("the vendor creates its root signer",
		append([]string{"signer", "new", "--name", "vendor", "--out", p("vendor.key")}, pass...)...); err != nil {
		return err
	}
	if err := run("a reseller creates its signer",
		append([]string{"signer", "new", "--name", "reseller", "--out", p("reseller.key")}, pass...)...); err != nil {
		return err
	}
	if err := run("the vendor certifies the reseller within a scope",
		append([]string{"signer", "certify", "--signer", p("vendor.key"), "--pub", p("reseller.pub"), "--role", "reseller",
			"--product", "vms", "--license", "camera=64", "--license", "analytics-l1=16",
			"--product", "intercom", "--license", "sip-number=64", "--license", "mobile-app=64",
			"--feature", "remote-door-opening", "--feature", "guest-access",
			"--kind", "subscription", "--max-term", "3y", "--out", p("reseller.cert")}, pass...)...); err != nil {
		return err
	}
	if err := run("the site creates its organization's wallet",
		append([]string{"wallet", "init", "--org", "Demo Security Ltd", "--trust", p("vendor.pub"), "--wallet", p("demo.wallet")}, pass...)...); err != nil {
		return err
	}
	w, err := wallet.Open(p("demo.wallet"))
	if err != nil {
		return err
	}
	if err := run("the reseller issues keys to that wallet",
		append([]string{"key", "issue", "--signer", p("reseller.key"), "--cert", p("reseller.cert"),
			"--product", "vms", "--kind", "subscription", "--license", "camera=16", "--license", "analytics-l1=4",
			"--term", "1y", "--count", "3", "--wallet-id", w.ID.String(), "--out", p("keys.txt")}, pass...)...); err != nil {
		return err
	}
	var devices strings.Builder
	for i := 1; i <= 24; i++ {
		fmt.Fprintf(&devices, "CAM-%04d, AXIS P3265-LVE, camera, demo-server\n", i)
	}
	if err := write("devices.txt", devices.String()); err != nil {
		return err
	}
	server := []string{"--collect", "--name", "demo-server"}
	if _, err := hwid.Collect(verifycli.Sysroot(e.getenv)); err != nil {
		e.out().Printf("(this machine shows no hardware identifiers: the demo system is not bound to hardware)\n")
		server = []string{"--server", "demo-server"}
	}
	if err := run("the installer describes the site's system",
		append(append([]string{"system", "create", "--id", "site-1", "--org", "Demo Security Ltd"}, server...),
			"--devices", p("devices.txt"), "--need", "camera=24", "--need", "analytics-l1=4",
			"--out", p("site-1.system.toml"))...); err != nil {
		return err
	}
	if err := run("the installer redeems the keys into the wallet",
		"wallet", "redeem", "--file", p("keys.txt"), "--cert", p("reseller.cert"), "--wallet", p("demo.wallet")); err != nil {
		return err
	}
	if err := run("the installer allocates a subscription year to the system",
		append([]string{"allocate", "--system", p("site-1.system.toml"), "--years", "1", "--wallet", p("demo.wallet"),
			"--out", p("site-1.lic")}, pass...)...); err != nil {
		return err
	}
	if err := write("site-1.usage.toml", `# What the system uses now, as the device software reports it.
version = 1
system = "site-1"

[[server]]
name = "demo-server"
cameras = 20

[[analytics]]
type = "line-crossing"
cameras = 4
`); err != nil {
		return err
	}
	if err := run("the device verifies its bundle",
		"verify", p("site-1.lic"), "--trust", p("vendor.pub"), "--usage", p("site-1.usage.toml")); err != nil {
		return err
	}
	if err := run("the wallet after the allocation", "wallet", "status", "--wallet", p("demo.wallet")); err != nil {
		return err
	}
	today, err := now(c)
	if err != nil {
		return err
	}
	// The building's intercom server is another machine: a server is
	// licensed by one system at a time. Its identifiers are made up, and
	// the device's question is checked against its system file.
	intercom := []string{"--server", "intercom-1"}
	if server[0] == "--collect" {
		intercom = []string{"--server", "intercom-1:machine-id=5f1d0c2b9a8e7d6c5b4a39281706f5e4,disk=DEMO-INTERCOM-0001"}
	}
	if err := e.demoBuilding(run, p, pass, intercom, w.ID.String(), today.AddDate(0, 6, 0).Format(time.DateOnly)); err != nil {
		return err
	}
	e.out().Printf("\nEverything is in %s: vendor.pub, reseller.cert, keys.txt, demo.wallet,\n", dir)
	e.out().Printf("site-1.system.toml, site-1.lic and site-1.usage.toml; the building's tower-1.system.toml\n")
	e.out().Printf("and tower-1.lic. The keys' passphrase is in passphrase.txt.\n")
	e.out().Printf("Try: allot verify %s --trust %s --json\n", p("site-1.lic"), p("vendor.pub"))
	return nil
}

// hasFlag reports whether the command args names has the flag name.
func hasFlag(app *cli.App, args []string, name string) bool {
	cmds := app.Commands
	var cmd *cli.Command
	for _, a := range args {
		var found *cli.Command
		for _, c := range cmds {
			if c.HasName(a) {
				found = c
			}
		}
		if found == nil {
			break
		}
		cmd, cmds = found, found.Subcommands
	}
	if cmd == nil {
		return false
	}
	for _, f := range cmd.Flags {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// demoBuilding is the demo's small building: a tower of two floors and
// three apartments, users in two groups, a sub-user, allocated and asked
// the device's question, so that a new user sees the quota tree at once.
func (e *env) demoBuilding(run func(string, ...string) error, p func(string) string, pass, server []string, walletID, summer string) error {
	sys := p("tower-1.system.toml")
	steps := []struct {
		what string
		args []string
	}{
		{"the reseller issues an intercom key: SIP numbers, mobile apps, two features",
			append([]string{"key", "issue", "--signer", p("reseller.key"), "--cert", p("reseller.cert"),
				"--product", "intercom", "--license", "sip-number=12", "--license", "mobile-app=10",
				"--feature", "remote-door-opening", "--feature", "guest-access",
				"--term", "1y", "--wallet-id", walletID, "--out", p("keys-intercom.txt")}, pass...)},
		{"the installer redeems it", []string{"wallet", "redeem", "--file", p("keys-intercom.txt"), "--cert", p("reseller.cert"), "--wallet", p("demo.wallet")}},
		{"the installer describes a building's system",
			append(append([]string{"system", "create", "--id", "tower-1", "--org", "Demo Security Ltd"}, server...),
				"--need", "sip-number=12", "--need", "mobile-app=10", "--out", sys)},
		{"the tower: its own quotas and features", []string{"group", "add", "tower", "--system", sys,
			"--quota", "sip-number=12", "--quota", "mobile-app=10", "--feature", "remote-door-opening", "--feature", "guest-access"}},
		{"floor 1 uses the tower's pool", []string{"group", "add", "tower/floor-1", "--system", sys}},
		{"floor 2 is let until the summer, without guest access", []string{"group", "add", "tower/floor-2", "--system", sys,
			"--quota", "sip-number=4", "--quota", "mobile-app=3", "--feature", "remote-door-opening", "--until", summer}},
		{"three apartments", []string{"group", "add", "tower/floor-1/apt-101", "--system", sys}},
		{"", []string{"group", "add", "tower/floor-1/apt-102", "--system", sys}},
		{"", []string{"group", "add", "tower/floor-2/apt-201", "--system", sys}},
		{"Anna, in apartment 101, with two mobile apps", []string{"user", "add", "anna", "--system", sys,
			"--group", "tower/floor-1/apt-101", "--quota", "sip-number=2", "--quota", "mobile-app=2"}},
		{"the user Anna creates for her son: never more than hers", []string{"user", "add", "anna-son", "--system", sys,
			"--created-by", "anna", "--quota", "sip-number=1", "--quota", "mobile-app=1"}},
		{"Ben, in apartments 102 and 201: the strictest of both applies", []string{"user", "add", "ben", "--system", sys,
			"--group", "tower/floor-1/apt-102", "--group", "tower/floor-2/apt-201"}},
		{"the tree: Used / Available / Total / Shared per node", []string{"group", "list", "--system", sys}},
		{"the installer allocates a year to the building: the bundle carries the tree",
			append([]string{"allocate", "--system", sys, "--years", "1", "--wallet", p("demo.wallet"), "--out", p("tower-1.lic")}, pass...)},
		{"the intercom server asks: may Anna open the door and add a mobile app?", []string{"verify", p("tower-1.lic"), "--trust", p("vendor.pub"),
			"--system", sys, "--node", "tower/floor-1/apt-101", "--user", "anna", "--feature", "remote-door-opening", "--license", "mobile-app"}},
		{"the building as allot status shows it", []string{"status", p("tower-1.lic")}},
	}
	for _, st := range steps {
		what := st.what
		if what == "" {
			what = "and another"
		}
		if err := run(what, st.args...); err != nil {
			return err
		}
	}
	return nil
}
