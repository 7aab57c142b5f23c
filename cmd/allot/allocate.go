package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/verifycli"
	"allot.dev/allot/pkg/allocate"
	"allot.dev/allot/pkg/crashpoint"
	"allot.dev/allot/pkg/system"
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
			"already past are credited. Writes the bundle signed by the wallet's signer.\n" +
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
			walletFlag(), nowFlag(), catalogFlag(), jsonFlag(),
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
	now, cat, sys, err := loadSystemAt(c)
	if err != nil {
		return err
	}
	req := allocate.Request{System: sys, Years: c.Int("years"), TopUp: c.Bool("top-up"), Trial: c.Bool("trial"),
		Now: now, Policy: cat.Policy, Rand: e.rand}
	if s := c.String("start"); s != "" {
		if req.Start, err = verifycli.ParseTime(s); err != nil {
			return usageErrorf("--start: %v", err)
		}
	}
	if c.Bool("dry-run") {
		return e.allocatePreview(c, req) // allocate_preview.go
	}
	return e.signBundle(c, "allocate", sys, now, func(w *wallet.Wallet) (*allocate.Plan, error) {
		return allocate.Make(w, req)
	})
}

// signBundle makes a plan against the wallet, signs its bundle with the
// wallet's key, records it, writes the bundle to --out (default ID.lic)
// and prints the result as a document of type typ: what allocate and
// subscription start share.
func (e *env) signBundle(c *cli.Context, typ string, sys *system.System, now time.Time, makePlan func(*wallet.Wallet) (*allocate.Plan, error)) error {
	out := c.String("out")
	if out == "" {
		out = sys.ID + ".lic"
	}
	if err := checkOut(out); err != nil {
		return err
	}
	var plan *allocate.Plan
	var doc []byte
	var w *wallet.Wallet
	path := walletPath(c)
	_, err := wallet.Update(path, now, e.who(), func(wl *wallet.Wallet) (*wallet.Change, error) {
		var err error
		if plan, err = makePlan(wl); err != nil {
			return nil, err
		}
		priv, err := e.openKey(c, wl.EncryptedKey, path, "the wallet of "+wl.Organization)
		if err != nil {
			return nil, err
		}
		var ch *wallet.Change
		doc, ch, err = plan.Sign(wl, priv)
		w = wl
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
	res := newAllocateResult(w, plan, out)
	if c.Bool("json") {
		return e.out().JSON(typ, res)
	}
	e.printAllocation(res, plan)
	return nil
}
