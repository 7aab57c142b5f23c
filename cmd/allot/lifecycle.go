package main

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/input"
	"allot.dev/allot/pkg/allocate"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/wallet"
)

// The subscription's lifecycle on the command line: the first-day grace
// (allot subscription start), preloaded hardware licenses registered to
// the wallet (allot wallet register), and what allocate and wallet status
// show of credit and hardware licenses.

func (e *env) subscriptionCommand() *cli.Command {
	return &cli.Command{
		Name:  "subscription",
		Usage: "start a subscription: a signed bundle for the grace from its first day",
		Subcommands: []*cli.Command{
			{
				Name:      "start",
				Usage:     "write a signed bundle with no license that runs in the grace period from today",
				UsageText: "allot subscription start --system ID.system.toml [--out ID.lic]",
				Description: "Starts a new subscription today: the bundle licenses nothing yet and runs in the\n" +
					"policy's grace (30 days), so the site works while its licenses are bought. It\n" +
					"carries the perpetual hardware licenses the wallet holds for the system's devices.\n" +
					"The first allocation (allot allocate --years N) starts on this day; made after\n" +
					"the grace, the days that could not be used are credited. A device runs a\n" +
					"first-day grace once: with --state it refuses a second one.",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "system", Usage: "the system description `FILE`"},
					outFlag("the bundle `FILE` (default: ID.lic)"),
					walletFlag(), nowFlag(), catalogFlag(), jsonFlag(),
				}, secretFlags()...),
				Action: e.subscriptionStart,
			},
		},
	}
}

func (e *env) subscriptionStart(c *cli.Context) error {
	if c.String("system") == "" {
		return usageErrorf("subscription start: --system is required")
	}
	req, out, err := e.bundleRequest(c)
	if err != nil {
		return err
	}
	return e.signBundle(c, "subscription.start", req, out, func(w *wallet.Wallet) (*allocate.Plan, error) {
		return allocate.Start(w, req)
	})
}

// loadSystemAt reads what a command on a system file needs: the time
// (--now), the catalog and the system file (--system).
func loadSystemAt(c *cli.Context) (time.Time, *catalog.Catalog, *system.System, error) {
	now, err := now(c)
	if err != nil {
		return time.Time{}, nil, nil, err
	}
	cat, err := loadCatalog(c)
	if err != nil {
		return time.Time{}, nil, nil, err
	}
	sys, err := input.System(c.String("system"), cat)
	return now, cat, sys, err
}

// redeemSources reads what redeem and register check keys against beyond
// the wallet: the roots of --trust and the certificates of --cert.
func redeemSources(c *cli.Context) (*cert.Trust, []*cert.Certificate, error) {
	var extra *cert.Trust
	if p := c.String("trust"); p != "" {
		t, err := input.Trust(p)
		if err != nil {
			return nil, nil, err
		}
		extra = &t.Trust
	}
	var certs []*cert.Certificate
	for _, f := range c.StringSlice("cert") {
		chain, err := readChain(f)
		if err != nil {
			return nil, nil, err
		}
		certs = append(certs, chain...)
	}
	return extra, certs, nil
}

type creditSpentJSON struct {
	Credit  int    `json:"credit"`
	License string `json:"license"`
	Days    int    `json:"days"`
}

type hardwareJSON struct {
	Device     string         `json:"device"`
	Key        string         `json:"key"`
	Expansions []string       `json:"expansions"`
	Licenses   map[string]int `json:"licenses"`
}

func newAllocateResult(w *wallet.Wallet, plan *allocate.Plan, out string) *allocateResult {
	res := &allocateResult{File: out, BundleID: plan.BundleID, Sequence: plan.Sequence, System: plan.System.ID,
		Quota: map[string]int{}, Validity: plan.Validity, Credits: plan.Credits}
	if n := len(plan.Periods); n > 0 {
		last := plan.Periods[n-1]
		res.Quota, res.Trial = last.Quota, last.Trial
	}
	for i := len(plan.Periods) - 1; i >= 0; i-- {
		if p := plan.Periods[i]; !p.Trial {
			res.SupportUntil = p.Until.Format(time.DateOnly)
			break
		}
	}
	for _, u := range plan.Spent {
		res.CreditsSpent = append(res.CreditsSpent, creditSpentJSON{Credit: u.Credit, License: w.Credits[u.Credit-1].License, Days: u.Days})
	}
	for _, h := range plan.Hardware {
		hj := hardwareJSON{Device: h.Device, Key: h.Key, Expansions: h.Expansions, Licenses: map[string]int{}}
		for _, id := range append([]string{h.Key}, h.Expansions...) {
			if e, ok := w.Key(id); ok {
				for _, l := range e.Key.Licenses {
					hj.Licenses[l.Type] += l.Quantity
				}
			}
		}
		res.Hardware = append(res.Hardware, hj)
	}
	return res
}

// printLifecycleHead prints the first line for a bundle with no period or
// a trial, and reports whether it did; other bundles get signBundle's.
func (e *env) printLifecycleHead(res *allocateResult, plan *allocate.Plan) bool {
	v := res.Validity
	switch {
	case len(plan.Periods) == 0:
		e.out().Printf("wrote %s: bundle %d of system %s, no license yet: first-day grace from %s until %s\n",
			res.File, res.Sequence, res.System, v.From.Format(time.DateOnly), v.GraceUntil.Format(time.DateOnly))
	case res.Trial:
		e.out().Printf("wrote %s: bundle %d of system %s, trial %s, valid %s to %s (no grace after a trial)\n",
			res.File, res.Sequence, res.System, bundle.FormatQuota(res.Quota), v.From.Format(time.DateOnly), v.Until.Format(time.DateOnly))
	default:
		return false
	}
	return true
}

// printLifecycle prints the credit spent and earned, and the hardware
// licenses, a line each.
func (e *env) printLifecycle(res *allocateResult) {
	for _, s := range res.CreditsSpent {
		e.out().Printf("spent %d %s license-days of credit %d\n", s.Days, s.License, s.Credit)
	}
	for _, cr := range res.Credits {
		e.out().Printf("credited %d %s license-days to the wallet: %s\n", cr.Days, cr.License, cr.Reason)
	}
	for _, h := range res.Hardware {
		e.out().Printf("hardware license of device %s: %s (%d expansion%s)\n", h.Device, formatNeed(h.Licenses), len(h.Expansions), plural(len(h.Expansions)))
	}
}

func (e *env) walletRegisterCommand() *cli.Command {
	return &cli.Command{
		Name:      "register",
		Usage:     "register a device's preloaded hardware license, or an expansion, to the wallet",
		UsageText: "allot wallet register --system ID.system.toml KEY... | --file keys.txt [--cert R.cert]... [--trust vendor.pub]",
		Description: "Hardware that ships with a tied-to-hardware license carries a vendor-signed key\n" +
			"for its serial. Registering it checks the key as redeem does, and that it is a\n" +
			"hardware or expansion key tied to a device the system file lists; an expansion\n" +
			"needs its device's hardware license. Allocation then puts the license into the\n" +
			"system's bundles. One key that fails refuses the batch.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "system", Usage: "the system description `FILE` whose devices the keys belong to"},
			&cli.StringFlag{Name: "file", Usage: "read keys from `FILE`, one a line ('-' for standard input)"},
			&cli.StringSliceFlag{Name: "cert", Usage: "certificate chain `FILE` of the keys' issuer (repeat)"},
			&cli.StringFlag{Name: "trust", Usage: "vendor roots `FILE`, added to the wallet's", EnvVars: []string{"ALLOT_TRUST"}},
			walletFlag(), nowFlag(), catalogFlag(), jsonFlag(), asFlag(),
		}, secretFlags()...),
		Action: e.walletRegister,
	}
}

func (e *env) walletRegister(c *cli.Context) error {
	if c.String("system") == "" {
		return usageErrorf("wallet register: --system is required")
	}
	inputs, err := e.readKeyInputs(c)
	if err != nil {
		return err
	}
	now, cat, sys, err := loadSystemAt(c)
	if err != nil {
		return err
	}
	devices := map[string]bool{}
	for _, s := range sys.Serials() {
		devices[s] = true
	}
	extra, certs, err := redeemSources(c)
	if err != nil {
		return err
	}
	var res *wallet.RedeemResult
	_, err = e.updateWallet(c, now, func(w *wallet.Wallet) (*wallet.Change, error) {
		ch, r, err := w.Register(inputs, wallet.RedeemOptions{Certs: certs, Trust: w.TrustFor(extra), Now: now,
			ExpiryYears: cat.Policy.UnallocatedExpiryYears}, sys.ID, func(s string) bool { return devices[s] })
		res = r
		return ch, err
	})
	if err != nil {
		var be *wallet.BatchError
		if errors.As(err, &be) {
			var more []string
			for _, inv := range be.Invalid[1:] {
				more = append(more, inv.Error())
			}
			hint := "fix or remove the invalid keys"
			if errors.Is(err, wallet.ErrHardware) {
				hint = "add the device to the system file's devices, or register the device's hardware license first"
			}
			return withHint(&detailError{err, more}, "%s", hint)
		}
		if errors.Is(err, wallet.ErrNoTrust) {
			return withHint(err, "give --trust vendor.pub (the wallet remembers it)")
		}
		return err
	}
	if c.Bool("json") {
		out := &walletRedeemResult{Wallet: walletPath(c), Skipped: []string{}}
		for _, k := range res.Redeemed {
			out.Redeemed = append(out.Redeemed, redeemedKey{Serial: k.Serial.String(), KeyID: k.ID(), Product: k.Product, Kind: k.Kind.String()})
		}
		return e.out().JSON("wallet.register", out)
	}
	for _, k := range res.Redeemed {
		e.out().Printf("registered %s key %s for device %s of system %s (%s)\n", k.Kind, k.Serial, k.Device, sys.ID, licenseList(k.Licenses))
	}
	return nil
}

// printCredits prints the wallet's credits: what each earned, spent and
// has left, and when it expires.
func (e *env) printCredits(credits []wallet.CreditBalance) error {
	if len(credits) == 0 {
		return nil
	}
	var rows [][]string
	for _, c := range credits {
		expires := "-"
		if !c.Expires.IsZero() {
			expires = c.Expires.Format(time.DateOnly)
		}
		rows = append(rows, []string{strconv.Itoa(c.Credit), c.License, strconv.Itoa(c.Days), strconv.Itoa(c.Spent),
			strconv.Itoa(c.Left), expires})
	}
	e.out().Printf("credits, in license-days (spent by allocate before any key):\n")
	return e.out().Table([]string{"credit", "license", "earned", "spent", "left", "expires"}, rows)
}

// allocationRow is a row of wallet status's allocations table.
func allocationRow(a *wallet.Allocation) []string {
	if len(a.Periods) == 0 {
		what := "first-day grace"
		if len(a.Hardware) > 0 {
			var ds []string
			for _, h := range a.Hardware {
				ds = append(ds, h.Device)
			}
			what += ", hardware " + strings.Join(ds, " ")
		}
		return []string{a.System, strconv.Itoa(a.Sequence), a.BundleID, a.Start.Format(time.DateOnly), "-", what}
	}
	last := a.Periods[len(a.Periods)-1]
	quota := formatNeed(last.Quota)
	if last.Trial {
		quota = "trial " + quota
	}
	return []string{a.System, strconv.Itoa(a.Sequence), a.BundleID,
		a.Periods[0].From.Format(time.DateOnly), last.Until.Format(time.DateOnly), quota}
}
