package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/input"
	"allot.dev/allot/cmd/internal/ui"
	"allot.dev/allot/pkg/audit"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/gitwallet"
	"allot.dev/allot/pkg/wallet"
)

func (e *env) auditCommand() *cli.Command {
	return &cli.Command{
		Name:      "audit",
		Usage:     "find keys spent twice, keys in two wallets and servers in two systems",
		UsageText: "allot audit [--trust T] BUNDLE|WALLET|DIR...",
		Description: "Reads bundles (.lic), wallets (a wallet file or a git wallet's folder, with the\n" +
			"bundles they signed) and folders of bundles, and reports keys spent beyond their\n" +
			"quantity across them, the same key in two wallets, and a server whose identifiers\n" +
			"sit in two systems' bundles. With --trust every bundle's authority is checked too,\n" +
			"revocations included. Exit 0 when clean, 13 for what it found, 10 for a bundle\n" +
			"that does not verify or is revoked, 3 for an input it cannot read.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "trust", Usage: "check every bundle against the trust `FILE` (roots, revocations)", EnvVars: []string{"ALLOT_TRUST"}},
			quietFlag(), jsonFlag(),
		},
		Action: e.audit,
	}
}

func (e *env) audit(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErrorf("audit: name bundles, wallets or folders of bundles")
	}
	var opts audit.Options
	if p := c.String("trust"); p != "" {
		t, err := input.Trust(p)
		if err != nil {
			return err
		}
		opts.Trust = t
	}
	var bundles []audit.Bundle
	var wallets []audit.Wallet
	for _, p := range c.Args().Slice() {
		st, err := os.Stat(p)
		if err != nil {
			return inputErrorf("%s: %v", p, errors.Unwrap(err))
		}
		if st.IsDir() {
			if _, err := os.Stat(filepath.Join(p, gitwallet.FileName)); err == nil {
				w, err := wallet.Open(filepath.Join(p, gitwallet.FileName))
				if err != nil {
					return err
				}
				wallets = append(wallets, audit.Wallet{Source: p, W: w})
				continue
			}
			names, err := filepath.Glob(filepath.Join(p, "*.lic"))
			if err != nil {
				return err
			}
			for _, n := range names {
				bundles = append(bundles, readBundle(n))
			}
			continue
		}
		head := make([]byte, 32)
		if f, err := os.Open(p); err == nil {
			n, _ := f.Read(head)
			head = head[:n]
			f.Close()
		}
		if bytes.HasPrefix(head, []byte(`{"format":"`+wallet.Format+`"`)) {
			w, err := wallet.Open(p)
			if err != nil {
				return err
			}
			wallets = append(wallets, audit.Wallet{Source: p, W: w})
			continue
		}
		bundles = append(bundles, readBundle(p))
	}
	total := len(bundles)
	for _, w := range wallets {
		total += len(w.W.Allocations)
	}
	progress := e.out().Progress("bundles checked", total, c.Bool("quiet") || c.Bool("json"))
	opts.Progress = progress.Set
	rep := audit.Run(bundles, wallets, opts)
	progress.Done()

	code := errclass.ExitOK
	for _, f := range rep.Findings {
		switch {
		case f.Kind == audit.Invalid && code != errclass.ExitInput && strings.Contains(f.Message, "cannot be read"):
			code = errclass.ExitInput
		case f.Kind == audit.Invalid || f.Kind == audit.Revoked:
			if code != errclass.ExitInput {
				code = errclass.ExitTrust
			}
		default:
			if code == errclass.ExitOK {
				code = errclass.ExitQuota
			}
		}
	}
	if c.Bool("json") {
		if err := e.out().JSON("audit", &auditResult{Report: *rep, ExitCode: code}); err != nil {
			return err
		}
		return &exitCodeError{code}
	}
	e.out().Printf("audited %d bundle%s and %d wallet%s, %d signature%s checked", rep.Bundles, plural(rep.Bundles),
		rep.Wallets, plural(rep.Wallets), rep.Signatures, plural(int(rep.Signatures)))
	if opts.Trust == nil {
		e.out().Printf(" (each bundle's own; give --trust to check the keys)")
	}
	fmt.Fprintln(e.stdout)
	if rep.Clean() {
		e.out().Printf("clean: no key spent twice, no key in two wallets, no server in two systems\n")
		return nil
	}
	var rows [][]string
	for _, f := range rep.Findings {
		what := f.Key
		if f.Identifier != "" {
			what = f.Identifier
		}
		rows = append(rows, []string{f.Kind, what, f.Message})
	}
	if err := e.out().Table([]string{"finding", "key or server", "what"}, rows); err != nil {
		return err
	}
	for _, f := range rep.Findings {
		e.out().Eprintf("allot: %s\n", f.Message)
	}
	return &exitCodeError{code}
}

// readBundle reads a bundle file for the audit; one it cannot read is
// reported among the findings.
func readBundle(path string) audit.Bundle {
	data, err := input.ReadFile(path, bundle.MaxSize)
	if err != nil {
		return audit.Bundle{Source: path, Err: fmt.Errorf("cannot be read: %v", err)}
	}
	return audit.Bundle{Source: path, Doc: data}
}

// auditResult is the JSON of `allot audit`.
type auditResult struct {
	ui.Head
	audit.Report
	ExitCode int `json:"exit_code"`
}
