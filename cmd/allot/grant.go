package main

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/input"
	"allot.dev/allot/cmd/internal/ui"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/grant"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/tree"
	"allot.dev/allot/pkg/wallet"
)

func (e *env) grantCommand() *cli.Command {
	return &cli.Command{
		Name:  "grant",
		Usage: "hand a subtree of a bundle's quota tree to another key, with narrower limits",
		UsageText: "allot grant --bundle ID.lic [--grant PARENT.grant --signer D.key] --node PATH --to D.pub\n" +
			"    [--quota TYPE=N]... [--feature F]... [--no-features] [--from D] [--until D] --out PATH.grant",
		Description: "Without --grant, the wallet that signed the bundle signs the grant: the delegate\n" +
			"(--to) may then use the node's subtree within the grant's limits. With --grant,\n" +
			"the delegate of that chain's last grant divides its subtree further, signing with\n" +
			"its own key (--signer), without the wallet. Each grant only narrows: its quotas,\n" +
			"features and dates lie inside the node's, or the grant's before it; a quota it\n" +
			"does not give is 0, features and dates it does not give are inherited. The\n" +
			"file written holds the whole chain, the new grant last: a device verifies it\n" +
			"with allot verify BUNDLE --grant FILE --node PATH.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "bundle", Usage: "the bundle `FILE` whose tree the grant divides"},
			&cli.StringFlag{Name: "grant", Usage: "the chain `FILE` of the grant to divide further (default: grant from the wallet)"},
			&cli.StringFlag{Name: "signer", Usage: "the delegate's private key `FILE`, with --grant"},
			&cli.StringFlag{Name: "node", Usage: "the group `PATH` handed over"},
			&cli.StringFlag{Name: "to", Usage: "the delegate's public key `FILE` (allot signer new writes one)"},
			&cli.StringSliceFlag{Name: "quota", Usage: "a quota of the grant, `TYPE=N` (repeat)"},
			&cli.StringSliceFlag{Name: "feature", Usage: "a feature of the grant, `F` (repeat; default: the node's)"},
			&cli.BoolFlag{Name: "no-features", Usage: "the grant has no feature"},
			&cli.StringFlag{Name: "from", Usage: "valid from `DATE`"},
			&cli.StringFlag{Name: "until", Usage: "valid until `DATE`, the first day no longer valid"},
			outFlag("the grant chain `FILE`"),
			walletFlag(), asFlag(), nowFlag(), catalogFlag(), jsonFlag(),
		}, secretFlags()...),
		Action: e.grant,
	}
}

// grantResult is the JSON of `allot grant`.
type grantResult struct {
	ui.Head
	File     string         `json:"file"`
	Bundle   string         `json:"bundle"`
	System   string         `json:"system"`
	Node     string         `json:"node"`
	Delegate string         `json:"delegate"`
	SignedBy string         `json:"signed_by"` // the signer's fingerprint
	Chain    int            `json:"chain_length"`
	Quota    map[string]int `json:"quota"`
	Features []string       `json:"features"` // the grant's own
	// InheritsFeatures says the grant lists none: it has those of the
	// node, or of the grant before it.
	InheritsFeatures bool   `json:"inherits_features"`
	From             string `json:"from,omitempty"`
	Until            string `json:"until,omitempty"`
}

func (e *env) grant(c *cli.Context) error {
	switch {
	case c.String("bundle") == "":
		return usageErrorf("grant: --bundle FILE is required: the bundle whose tree the grant divides")
	case c.String("node") == "" || c.String("to") == "":
		return usageErrorf("grant: --node PATH and --to D.pub are required")
	case c.String("out") == "":
		return usageErrorf("grant: --out FILE is required")
	case c.IsSet("grant") != c.IsSet("signer"):
		return usageErrorf("grant: --grant and --signer go together: a delegate signs a grant of its chain with its own key")
	}
	node := c.String("node")
	if err := tree.ValidPath(node); err != nil {
		return usageErrorf("--node: %v", err)
	}
	out := c.String("out")
	if err := checkOut(out); err != nil {
		return err
	}
	now, err := now(c)
	if err != nil {
		return err
	}
	cat, err := loadCatalog(c)
	if err != nil {
		return err
	}
	doc, err := input.ReadFile(c.String("bundle"), bundle.MaxSize)
	if err != nil {
		return err
	}
	b, err := bundle.Open(doc)
	if err != nil {
		return fmt.Errorf("%s: %w", c.String("bundle"), err)
	}
	pubData, err := input.ReadFile(c.String("to"), maxPubFile)
	if err != nil {
		return err
	}
	to, err := sign.ParseAuthorized(string(pubData))
	if err != nil {
		return inputErrorf("%s: %v", c.String("to"), err)
	}
	g := &grant.Grant{System: b.System, Bundle: b.ID, WalletID: b.WalletID, Node: node, Delegate: to, Issued: now.UTC().Truncate(time.Second)}
	var restrict bool
	if err := limitsFromFlags(c, cat, &g.Limits, &restrict); err != nil {
		return err
	}
	if g.Limits.Quota == nil {
		g.Limits.Quota = map[string]int{}
	}
	var chain [][]byte
	var parentDoc []byte
	var priv ed25519.PrivateKey
	if p := c.String("grant"); p != "" {
		if parentDoc, err = input.ReadFile(p, grant.MaxChain*grant.MaxSize); err != nil {
			return err
		}
		if chain, err = grant.Split(parentDoc); err != nil {
			return inputErrorf("%s: %v", p, err)
		}
		gs, err := grant.Check(b, chain, now)
		if err != nil {
			return err
		}
		last := gs[len(gs)-1]
		g.Parent = grant.Digest(last.Document())
		if priv, err = e.openKeyFile(c, c.String("signer")); err != nil {
			return err
		}
		if pub := priv.Public().(ed25519.PublicKey); !pub.Equal(last.Delegate.Key) {
			return withHint(usageErrorf("--signer %s is key %s; the last grant of %s delegates to %s",
				c.String("signer"), sign.Fingerprint(pub), p, sign.Fingerprint(last.Delegate.Key)),
				"the delegate named by the grant signs the grants below it")
		}
	} else {
		path := walletPath(c)
		w, err := wallet.Open(path)
		if err != nil {
			return err
		}
		if !w.PublicKey.Key.Equal(b.WalletKey.Key) {
			return withHint(usageErrorf("%s is signed by wallet %s, not by %s (%s)", c.String("bundle"), b.WalletID, path, w.ID),
				"grant from the wallet that signed the bundle, or divide a grant with --grant and --signer")
		}
		if priv, err = e.openKey(c, w.EncryptedKey, path, "the wallet of "+w.Organization); err != nil {
			return err
		}
	}
	gdoc, err := grant.Seal(g, priv)
	if err != nil {
		return usageErrorf("grant: %v", err)
	}
	// What a device would refuse is never written.
	if _, err := grant.Check(b, append(chain, gdoc), now); err != nil {
		if errors.Is(err, grant.ErrTrust) {
			// The chain was checked above: the flags ask for more.
			return withHint(usageErrorf("%v", err), "a grant only narrows the node's limits in the bundle, or the grant it divides")
		}
		return err
	}
	file := append(bytes.Clone(parentDoc), gdoc...)
	if len(chain) == 0 {
		// The wallet keeps every grant it signs: in its history, and in a
		// git wallet as a commit. A delegate's grant is its own business.
		path := walletPath(c)
		if _, err := e.updateWallet(c, now, func(w *wallet.Wallet) (*wallet.Change, error) {
			return w.RecordGrant(gdoc, "")
		}); err != nil {
			return err
		}
		if err := e.writeOut(out, file, 0o644); err != nil {
			return withHint(fmt.Errorf("the grant is recorded in %s, but writing %s failed: %w", path, out, err),
				"grant again with another --out: the wallet records each grant it signs")
		}
	} else if err := e.writeOut(out, file, 0o644); err != nil {
		return err
	}
	res := &grantResult{File: out, Bundle: b.ID, System: b.System, Node: node, Delegate: to.String(),
		SignedBy: sign.Fingerprint(g.Signer), Chain: len(chain) + 1, Quota: g.Limits.Quota, Features: g.Limits.Features,
		InheritsFeatures: g.Limits.Features == nil,
		From:             dateOrEmpty(g.Limits.From), Until: dateOrEmpty(g.Limits.Until)}
	if c.Bool("json") {
		return e.out().JSON("grant", res)
	}
	if out != "-" {
		e.out().Printf("wrote %s: grant %d of node %s of system %s to %s, %s\n", out, res.Chain, node, b.System,
			sign.Fingerprint(to.Key), describeLimits(true, &g.Limits))
	}
	return nil
}
