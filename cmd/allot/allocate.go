package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/ui"
	"allot.dev/allot/pkg/allocate"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/crashpoint"
	"allot.dev/allot/pkg/wallet"
)

func (e *env) allocateCommand() *cli.Command {
	return &cli.Command{
		Name:      "allocate",
		Usage:     "allocate licenses from the wallet to a system and write its signed bundle",
		UsageText: "allot allocate --system ID.system.toml (--years N [--start DATE] [--dry-run] | --top-up | --trial) --out ID.lic",
		Description: "Takes subscription licenses for the system's current need for N subscription\n" +
			"years, starting on --start (default today) or, for a system that has a\n" +
			"subscription, where it ends. --top-up instead raises the running periods to the\n" +
			"current need (devices or a product added mid-term): dates stay, and the days\n" +
			"already past are credited; it also writes a quota tree changed since the last\n" +
			"bundle (allot group, allot user) into a new bundle, spending nothing if the need\n" +
			"did not grow. Writes the bundle signed by the wallet's signer.\n" +
			"If the wallet holds too few licenses, nothing is written and the wallet is not changed.\n" +
			"Credit the wallet holds pays before any key. The hardware licenses the wallet\n" +
			"holds for the system's devices go into every bundle. --trial writes a trial\n" +
			"period from an unused trial key instead, once per system. --dry-run shows the\n" +
			"need of each coming subscription year and what is missing, and writes nothing.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "system", Usage: "the system description `FILE`"},
			&cli.IntFlag{Name: "years", Usage: "subscription years to allocate"},
			&cli.StringFlag{Name: "start", Usage: "start `DATE` of a first allocation (default: today)"},
			&cli.BoolFlag{Name: "top-up", Usage: "raise the running periods to the current need instead of adding years"},
			&cli.BoolFlag{Name: "trial", Usage: "a trial period from an unused trial key, once per system"},
			&cli.BoolFlag{Name: "dry-run", Usage: "show the need of each coming subscription year and what is missing; write nothing"},
			outFlag("the bundle `FILE` (default: ID.lic)"),
			walletFlag(), nowFlag(), catalogFlag(), jsonFlag(), asFlag(),
		}, secretFlags()...),
		Action: e.allocate,
	}
}

func (e *env) allocate(c *cli.Context) error {
	switch {
	case c.String("system") == "":
		return usageErrorf("allocate: --system is required")
	case c.Bool("top-up") && c.IsSet("years"):
		return usageErrorf("allocate: --top-up adds to the running periods; give it without --years")
	case c.Bool("trial") && (c.IsSet("years") || c.Bool("top-up")):
		return usageErrorf("allocate: --trial runs for its key's term; give it without --years or --top-up")
	case c.Bool("dry-run") && !c.IsSet("years"):
		return usageErrorf("allocate: --dry-run shows coming subscription years: give --years N")
	case !c.Bool("top-up") && !c.Bool("trial") && !c.IsSet("years"):
		return usageErrorf("allocate: --years N is required (or --top-up, or --trial)")
	}
	if c.Bool("dry-run") {
		return e.allocatePreview(c) // allocate_preview.go
	}
	req, out, err := e.bundleRequest(c)
	if err != nil {
		return err
	}
	req.Years, req.TopUp, req.Trial = c.Int("years"), c.Bool("top-up"), c.Bool("trial")
	if req.Start, err = startFlag(c); err != nil {
		return err
	}
	return e.signBundle(c, "allocate", req, out, func(w *wallet.Wallet) (*allocate.Plan, error) { return allocate.Make(w, req) })
}

// bundleRequest reads what allocate and rebalance share: the clock, the
// catalog, the system file, and the bundle file to write (default ID.lic),
// which must not exist yet.
func (e *env) bundleRequest(c *cli.Context) (allocate.Request, string, error) {
	now, cat, sys, err := loadSystemAt(c)
	if err != nil {
		return allocate.Request{}, "", err
	}
	out := c.String("out")
	if out == "" {
		out = sys.ID + ".lic"
	}
	if err := checkOut(out); err != nil {
		return allocate.Request{}, "", err
	}
	return allocate.Request{System: sys, Now: now, Policy: cat.Policy, Catalog: cat, Rand: e.rand}, out, nil
}

// signBundle plans the bundle req asks for with plan under the wallet's
// lock, signs and records it, writes it to out and says what it wrote: the
// common part of allocate and rebalance (typ, the JSON document's type).
func (e *env) signBundle(c *cli.Context, typ string, req allocate.Request, out string, plan func(*wallet.Wallet) (*allocate.Plan, error)) error {
	sys := req.System
	var p *allocate.Plan
	var doc []byte
	var signed *wallet.Wallet
	path := walletPath(c)
	_, err := e.updateWallet(c, req.Now, func(w *wallet.Wallet) (*wallet.Change, error) {
		var err error
		if p, err = plan(w); err != nil {
			return nil, err
		}
		priv, err := e.openKey(c, w.EncryptedKey, path, "the wallet of "+w.Organization)
		if err != nil {
			return nil, err
		}
		var ch *wallet.Change
		doc, ch, err = p.Sign(w, priv)
		signed = w
		return ch, err
	})
	if err != nil {
		if _, ok := err.(*allocate.InsufficientError); ok {
			return withHint(err, "redeem more keys (allot wallet redeem), or allocate fewer --years; allot allocate --dry-run shows what each year needs")
		}
		if errors.Is(err, wallet.ErrHardware) {
			return withHint(err, "register the device's hardware license (allot wallet register --system FILE KEY), or take the device out of the system file")
		}
		return err
	}
	// The wallet holds the bundle, so a failure here loses nothing.
	crashpoint.Here(crashpoint.Recorded)
	if err := e.writeOut(out, doc, 0o644); err != nil {
		return withHint(fmt.Errorf("the allocation is recorded in %s, but writing %s failed: %w", path, out, err),
			"the signed bundle is kept in the wallet: write it with allot wallet bundle --system %s --out FILE", sys.ID)
	}
	// Credit spent and hardware licenses too (lifecycle.go).
	res := newAllocateResult(signed, p, out)
	res.Shares = p.Shares()
	if c.Bool("json") {
		return e.out().JSON(typ, res)
	}
	what := bundle.FormatQuota(res.Quota)
	if typ == "rebalance" {
		what += ", the same periods and quotas, nothing spent"
	}
	if !e.printLifecycleHead(res, p) {
		e.out().Printf("wrote %s: bundle %d of system %s, %s, valid %s to %s (grace until %s)\n",
			out, p.Sequence, sys.ID, what,
			p.Validity.From.Format(time.DateOnly), p.Validity.Until.Format(time.DateOnly),
			p.Validity.GraceUntil.Format(time.DateOnly))
	}
	for _, s := range res.Shares {
		e.out().Printf("share of server %s: %s\n", s.Server, bundle.FormatQuota(s.Quota))
	}
	e.printLifecycle(res)
	return nil
}

// allocateResult is the JSON of `allot allocate` and `allot rebalance`.
type allocateResult struct {
	ui.Head
	File     string         `json:"file"`
	BundleID string         `json:"bundle_id"`
	Sequence int            `json:"sequence"`
	System   string         `json:"system"`
	Quota    map[string]int `json:"quota"` // of the last period
	// Shares: a floating system's servers' shares of the last period.
	Shares   []bundle.Share  `json:"shares,omitempty"`
	Validity bundle.Validity `json:"validity"`
	Credits  []wallet.Credit `json:"credits"`

	// The lifecycle (lifecycle.go): a trial, the support end, credit
	// spent and hardware licenses.
	Trial        bool              `json:"trial"`
	SupportUntil string            `json:"support_until,omitempty"`
	CreditsSpent []creditSpentJSON `json:"credits_spent"`
	Hardware     []hardwareJSON    `json:"hardware"`
}
