package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
	e.out().Printf("\nEverything is in %s: vendor.pub, reseller.cert, keys.txt, demo.wallet,\n", dir)
	e.out().Printf("site-1.system.toml, site-1.lic and site-1.usage.toml. The keys' passphrase is in passphrase.txt.\n")
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
