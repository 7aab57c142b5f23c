package main

import (
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/ui"
	"allot.dev/allot/cmd/internal/verifycli"
	"allot.dev/allot/pkg/allocate"
	"allot.dev/allot/pkg/wallet"
)

// allocatePreviewResult is the JSON of `allot allocate --dry-run`.
type allocatePreviewResult struct {
	ui.Head
	*allocate.Preview
}

// allocatePreview prints what allocating --years would need, year by year,
// and what is missing. It reads the wallet and writes nothing: no
// passphrase, no --out.
func (e *env) allocatePreview(c *cli.Context) error {
	now, cat, sys, err := loadSystemAt(c)
	if err != nil {
		return err
	}
	req := allocate.Request{System: sys, Years: c.Int("years"), Now: now, Policy: cat.Policy, Catalog: cat}
	if req.Start, err = startFlag(c); err != nil {
		return err
	}
	w, err := wallet.Open(walletPath(c))
	if err != nil {
		return err
	}
	pv, err := allocate.PreviewMake(w, req)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return e.out().JSON("allocate.preview", &allocatePreviewResult{Preview: pv})
	}
	what := "a new subscription"
	if pv.Renewal {
		what = "the renewal"
	}
	e.out().Printf("dry run: %d subscription year%s of system %s from %s (%s); nothing is written\n",
		len(pv.Years), plural(len(pv.Years)), pv.System, pv.From.Format(time.DateOnly), what)
	var rows [][]string
	missing := false
	for _, y := range pv.Years {
		for _, n := range y.Needs {
			miss := "-"
			if n.Missing > 0 {
				missing = true
				miss = strconv.Itoa(n.Missing) + " (" + strconv.Itoa(n.MissingLicenses) + " license" + plural(n.MissingLicenses) + ")"
			}
			rows = append(rows, []string{strconv.Itoa(y.Year), y.From.Format(time.DateOnly), y.Until.Format(time.DateOnly),
				n.License, strconv.Itoa(n.Quota), strconv.Itoa(n.Need), strconv.Itoa(n.Credit), strconv.Itoa(n.Keys), miss})
		}
	}
	if err := e.out().Table([]string{"year", "from", "until", "license", "quota", "need", "credit", "keys", "missing"}, rows); err != nil {
		return err
	}
	if missing {
		e.out().Printf("amounts in license-months; buy the missing licenses before allocating\n")
	} else {
		e.out().Printf("amounts in license-months; the wallet holds enough\n")
	}
	return nil
}

// startFlag parses --start, if given.
func startFlag(c *cli.Context) (time.Time, error) {
	s := c.String("start")
	if s == "" {
		return time.Time{}, nil
	}
	t, err := verifycli.ParseTime(s)
	if err != nil {
		return time.Time{}, usageErrorf("--start: %v", err)
	}
	return t, nil
}
