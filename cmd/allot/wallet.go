package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/input"
	"allot.dev/allot/cmd/internal/ui"
	"allot.dev/allot/pkg/gitwallet"
	"allot.dev/allot/pkg/wallet"
)

func (e *env) walletCommand() *cli.Command {
	return &cli.Command{
		Name:  "wallet",
		Usage: "the organization's wallet: redeem keys, see balances and history",
		Subcommands: []*cli.Command{
			{
				Name:      "init",
				Usage:     "create a wallet and its signer; prints the wallet id",
				UsageText: "allot wallet init --org ORG [--trust vendor.pub] [--wallet FILE]",
				Description: "Creates the wallet file (never overwriting one) holding the organization's new\n" +
					"signer, encrypted with age. Resellers issue keys to the wallet id it prints.",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "org", Usage: "the organization's name"},
					&cli.StringFlag{Name: "trust", Usage: "the vendor roots (trust file or public key `FILE`) keys are checked against", EnvVars: []string{"ALLOT_TRUST"}},
					&cli.BoolFlag{Name: "git", Usage: "make a git wallet: --wallet names a new folder whose every change is a signed commit"},
					walletFlag(), nowFlag(), jsonFlag(), asFlag(),
				}, secretFlags()...),
				Action: e.walletInit,
			},
			{
				Name:      "redeem",
				Usage:     "verify license keys and add them to the wallet",
				UsageText: "allot wallet redeem KEY... | --file keys.txt [--cert R.cert]... [--trust vendor.pub] [--skip-invalid]",
				Description: "Each key must verify and chain to a trusted vendor root through the given\n" +
					"certificates (or those already in the wallet). A batch with an invalid key\n" +
					"redeems nothing, unless --skip-invalid is given. In a git wallet the change is\n" +
					"a commit signed by the wallet's key, which needs its passphrase or --identity.",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "file", Usage: "read keys from `FILE`, one a line ('-' for standard input)"},
					&cli.StringSliceFlag{Name: "cert", Usage: "certificate chain `FILE` of the keys' issuer (repeat)"},
					&cli.StringFlag{Name: "trust", Usage: "vendor roots `FILE`, added to the wallet's", EnvVars: []string{"ALLOT_TRUST"}},
					&cli.BoolFlag{Name: "skip-invalid", Usage: "redeem the valid keys and report the others"},
					quietFlag(),
					walletFlag(), nowFlag(), catalogFlag(), jsonFlag(), asFlag(),
				}, secretFlags()...),
				Action: e.walletRedeem,
			},
			e.walletRegisterCommand(),
			{
				Name:      "status",
				Usage:     "show the wallet's licenses, allocations and credits",
				UsageText: "allot wallet status [--wallet FILE]",
				Flags:     []cli.Flag{walletFlag(), nowFlag(), catalogFlag(), jsonFlag()},
				Action:    e.walletStatus,
			},
			{
				Name:      "bundle",
				Usage:     "write a bundle the wallet signed again, from its history",
				UsageText: "allot wallet bundle --system ID [--sequence N] --out ID.lic",
				Description: "Every allocation keeps its signed bundle in the wallet. This writes it out\n" +
					"again, byte for byte: the latest for the system, or the one of --sequence.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "system", Usage: "the system `ID`"},
					&cli.IntFlag{Name: "sequence", Usage: "the bundle's sequence number (default: the latest)"},
					outFlag("the bundle `FILE` (default: ID.lic)"),
					walletFlag(), jsonFlag(),
				},
				Action: e.walletBundle,
			},
			{
				Name:      "history",
				Usage:     "show every change to the wallet: who, when, what",
				UsageText: "allot wallet history [--wallet FILE]",
				Description: "The history is hash-chained: each record names the hash of the one before.\n" +
					"The wallet does not open if the chain is broken.",
				Flags:  []cli.Flag{walletFlag(), jsonFlag()},
				Action: e.walletHistory,
			},
			e.walletMigrateCommand(),
			e.walletSyncCommand(),
		},
	}
}

func (e *env) walletInit(c *cli.Context) error {
	org := c.String("org")
	if org == "" {
		return usageErrorf("wallet init: --org is required")
	}
	path := walletPath(c)
	if c.Bool("git") {
		path = gitWalletDir(c)
	}
	if err := checkOut(path); err != nil {
		return withHint(inputErrorf("%s: %v", path, wallet.ErrExists), "a wallet is created once; give another --wallet for a new one")
	}
	now, err := now(c)
	if err != nil {
		return err
	}
	var roots []ed25519.PublicKey
	if p := c.String("trust"); p != "" {
		t, err := input.Trust(p)
		if err != nil {
			return err
		}
		roots = t.Roots
	}
	pub, priv, err := ed25519.GenerateKey(e.rand)
	if err != nil {
		return err
	}
	sealed, err := e.sealKey(c, priv, "wallet:"+org, "the wallet of "+org)
	if err != nil {
		return err
	}
	who := e.author(c, path)
	params := wallet.InitParams{Organization: org, PublicKey: pub, EncryptedKey: sealed, Trust: roots, Time: now, Who: who.Name}
	var w *wallet.Wallet
	if c.Bool("git") {
		w, err = gitwallet.Init(path, params, priv, who)
	} else {
		w, err = wallet.Init(path, params)
	}
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return e.out().JSON("wallet.init", &walletInitResult{Wallet: path, Organization: org, WalletID: w.ID.String(),
			PublicKey: w.PublicKey.String()})
	}
	if c.Bool("git") {
		e.out().Printf("created git wallet %s for %q; every change is a commit signed by the wallet's key\n", path, org)
	} else {
		e.out().Printf("created wallet %s for %q\n", path, org)
	}
	e.out().Printf("wallet id: %s\n", w.ID)
	return nil
}

func (e *env) walletRedeem(c *cli.Context) error {
	inputs, err := e.readKeyInputs(c)
	if err != nil {
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
	extra, certs, err := redeemSources(c)
	if err != nil {
		return err
	}
	var res *wallet.RedeemResult
	path := walletPath(c)
	progress := e.out().Progress("keys checked", len(inputs), c.Bool("quiet") || c.Bool("json"))
	_, err = e.updateWallet(c, now, func(w *wallet.Wallet) (*wallet.Change, error) {
		ch, r, err := w.RedeemWith(inputs, wallet.RedeemOptions{Certs: certs, Trust: w.TrustFor(extra),
			SkipInvalid: c.Bool("skip-invalid"), Now: now, ExpiryYears: cat.Policy.UnallocatedExpiryYears, Progress: progress.Set})
		progress.Done()
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
			return withHint(&detailError{err, more}, "fix or remove the invalid keys, or give --skip-invalid to redeem the rest")
		}
		if errors.Is(err, wallet.ErrNotFound) {
			return withHint(err, "create it with allot wallet init --org ORG, or give --wallet")
		}
		if errors.Is(err, wallet.ErrNoTrust) {
			return withHint(err, "give --trust vendor.pub (the wallet remembers it)")
		}
		return err
	}
	for _, inv := range res.Skipped {
		e.out().Eprintf("allot: skipped %s\n", inv.Error())
	}
	if len(res.Redeemed) == 0 {
		return inputErrorf("no valid key to redeem: all %d were skipped", len(res.Skipped))
	}
	if c.Bool("json") {
		out := &walletRedeemResult{Wallet: path}
		for _, s := range res.Skipped {
			out.Skipped = append(out.Skipped, s.Error())
		}
		for _, k := range res.Redeemed {
			out.Redeemed = append(out.Redeemed, redeemedKey{Serial: k.Serial.String(), KeyID: k.ID(), Product: k.Product, Kind: k.Kind.String()})
		}
		return e.out().JSON("wallet.redeem", out)
	}
	e.out().Printf("redeemed %d key%s into %s", len(res.Redeemed), plural(len(res.Redeemed)), path)
	if n := len(res.Skipped); n > 0 {
		e.out().Printf("; skipped %d invalid", n)
	}
	fmt.Fprintln(e.stdout)
	return nil
}

func (e *env) walletStatus(c *cli.Context) error {
	now, err := now(c)
	if err != nil {
		return err
	}
	cat, err := loadCatalog(c)
	if err != nil {
		return err
	}
	w, err := wallet.Open(walletPath(c))
	if err != nil {
		return err
	}
	bal := w.Balances(now, cat.Policy.UnallocatedExpiryYears)
	if c.Bool("json") {
		return e.out().JSON("wallet.status", &walletStatusResult{Wallet: w.Path, Organization: w.Organization,
			WalletID: w.ID.String(), Keys: len(w.Keys), Balances: bal, Allocations: allocationsJSON(w),
			Credits: w.CreditBalances(now, cat.Policy.UnallocatedExpiryYears)})
	}
	e.out().Printf("wallet %s of %q, id %s: %d key%s\n", w.Path, w.Organization, w.ID, len(w.Keys), plural(len(w.Keys)))
	if len(bal) > 0 {
		var rows [][]string
		for _, b := range bal {
			rows = append(rows, []string{b.License, b.Kind, strconv.Itoa(b.Keys), strconv.Itoa(b.Total),
				strconv.Itoa(b.Allocated), strconv.Itoa(b.Available), strconv.Itoa(b.Expired), strconv.Itoa(b.Credits)})
		}
		fmt.Fprintln(e.stdout, "licenses, in license-months (subscription) or units:")
		if err := e.out().Table([]string{"license", "kind", "keys", "total", "allocated", "available", "expired", "credit days"}, rows); err != nil {
			return err
		}
	}
	if err := e.printCredits(w.CreditBalances(now, cat.Policy.UnallocatedExpiryYears)); err != nil {
		return err
	}
	if len(w.Allocations) > 0 {
		var rows [][]string
		for _, a := range w.Allocations {
			rows = append(rows, allocationRow(a))
		}
		fmt.Fprintln(e.stdout, "allocations:")
		return e.out().Table([]string{"system", "bundle", "id", "from", "until", "quota"}, rows)
	}
	return nil
}

// walletInitResult is the JSON of `allot wallet init`.
type walletInitResult struct {
	ui.Head
	Wallet       string `json:"wallet"`
	Organization string `json:"organization"`
	WalletID     string `json:"wallet_id"`
	PublicKey    string `json:"public_key"`
}

// walletRedeemResult is the JSON of `allot wallet redeem`.
type walletRedeemResult struct {
	ui.Head
	Wallet   string        `json:"wallet"`
	Redeemed []redeemedKey `json:"redeemed"`
	Skipped  []string      `json:"skipped"` // with --skip-invalid: why each key was refused
}

type redeemedKey struct {
	Serial  string `json:"serial"`
	KeyID   string `json:"key_id"`
	Product string `json:"product"`
	Kind    string `json:"kind"`
}

// walletStatusResult is the JSON of `allot wallet status`.
type walletStatusResult struct {
	ui.Head
	Wallet       string                 `json:"wallet"`
	Organization string                 `json:"organization"`
	WalletID     string                 `json:"wallet_id"`
	Keys         int                    `json:"keys"`
	Balances     []wallet.Balance       `json:"balances"`
	Allocations  []allocationJSON       `json:"allocations"`
	Credits      []wallet.CreditBalance `json:"credits"`
}

// walletBundleResult is the JSON of `allot wallet bundle`.
type walletBundleResult struct {
	ui.Head
	File     string `json:"file"`
	System   string `json:"system"`
	Sequence int    `json:"sequence"`
	BundleID string `json:"bundle_id"`
}

// walletHistoryResult is the JSON of `allot wallet history`.
type walletHistoryResult struct {
	ui.Head
	Last   string         `json:"head"` // the hash of the last record
	Events []wallet.Event `json:"events"`
}

type allocationJSON struct {
	System   string          `json:"system"`
	Sequence int             `json:"sequence"`
	BundleID string          `json:"bundle_id"`
	Periods  []wallet.Period `json:"periods"`
	Credits  []wallet.Credit `json:"credits"`
}

func allocationsJSON(w *wallet.Wallet) []allocationJSON {
	out := []allocationJSON{}
	for _, a := range w.Allocations {
		out = append(out, allocationJSON{a.System, a.Sequence, a.BundleID, a.Periods, a.Credits})
	}
	return out
}

func (e *env) walletBundle(c *cli.Context) error {
	sys := c.String("system")
	if sys == "" {
		return usageErrorf("wallet bundle: --system is required")
	}
	out := c.String("out")
	if out == "" {
		out = sys + ".lic"
	}
	if err := checkOut(out); err != nil {
		return err
	}
	w, err := wallet.Open(walletPath(c))
	if err != nil {
		return err
	}
	var found *wallet.Allocation
	for _, a := range w.Allocations {
		if a.System == sys && (!c.IsSet("sequence") || a.Sequence == c.Int("sequence")) {
			found = a
		}
	}
	if found == nil {
		return withHint(inputErrorf("%s holds no bundle of system %q with that sequence", w.Path, sys), "allot wallet status lists the allocations")
	}
	if err := e.writeOut(out, found.Bundle, 0o644); err != nil {
		return err
	}
	if c.Bool("json") && out != "-" {
		return e.out().JSON("wallet.bundle", &walletBundleResult{File: out, System: sys, Sequence: found.Sequence, BundleID: found.BundleID})
	}
	if out != "-" {
		e.out().Printf("wrote %s: bundle %d of system %s\n", out, found.Sequence, sys)
	}
	return nil
}

func (e *env) walletHistory(c *cli.Context) error {
	w, err := wallet.Open(walletPath(c))
	if err != nil {
		return err
	}
	head := w.Head()
	if c.Bool("json") {
		return e.out().JSON("wallet.history", &walletHistoryResult{Last: hex.EncodeToString(head[:]), Events: w.History})
	}
	var rows [][]string
	for _, ev := range w.History {
		rows = append(rows, []string{strconv.Itoa(ev.Seq), ev.Time.Format(time.RFC3339), ev.Who, ev.Op, ev.Note})
	}
	if err := e.out().Table([]string{"seq", "time", "who", "operation", "what"}, rows); err != nil {
		return err
	}
	e.out().Printf("%d record%s, hash chain intact; head %s\n", len(w.History), plural(len(w.History)), hex.EncodeToString(head[:]))
	return e.gitHistory(w)
}
