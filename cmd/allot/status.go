package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/ui"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/verify"
)

func (e *env) statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show what bundles license: used, available and total per license type",
		UsageText: "allot status BUNDLE... [--usage F]",
		Description: "Reads each bundle (checking that the wallet signed it, not its chain: use\n" +
			"allot verify for that) and shows the quotas of the period in force. A bundle\n" +
			"that cannot be read shows \"No data\".",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "usage", Usage: "what the system uses now (`FILE`.usage.toml)"},
			nowFlag(), jsonFlag(),
		},
		Action: e.status,
	}
}

// statusResult is the JSON of `allot status`.
type statusResult struct {
	ui.Head
	Rows []statusRow `json:"rows"`
}

type statusRow struct {
	Bundle    string `json:"bundle"`
	System    string `json:"system,omitempty"`
	License   string `json:"license,omitempty"`
	Used      *int   `json:"used,omitempty"`
	Available *int   `json:"available,omitempty"`
	Total     int    `json:"total"`
	Until     string `json:"until,omitempty"`
	Error     string `json:"error,omitempty"`
}

func (e *env) status(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErrorf("status: give one or more bundles")
	}
	now, err := now(c)
	if err != nil {
		return err
	}
	var usage *verify.Usage
	if p := c.String("usage"); p != "" {
		if usage, err = verify.LoadUsage(p); err != nil {
			return err
		}
	}
	var rows []statusRow
	var first error
	for _, path := range c.Args().Slice() {
		b, err := openBundle(path)
		if err != nil {
			// The row names the file: keep only what went wrong.
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = &inputError{pe.Err}
			}
			if first == nil {
				first = fmt.Errorf("%s: %w", path, err)
			}
			rows = append(rows, statusRow{Bundle: path, Error: err.Error()})
			continue
		}
		per, ok := b.Period(now)
		if !ok {
			per = b.Periods[len(b.Periods)-1]
		}
		used := map[string]int{}
		if usage != nil && usage.System == b.System {
			for _, s := range usage.Servers {
				used["camera"] += s.Cameras
				used["intercom"] += s.Intercoms
			}
		}
		for _, t := range slices.Sorted(maps.Keys(per.Quota)) {
			r := statusRow{Bundle: path, System: b.System, License: t, Total: per.Quota[t], Until: b.Validity.Until.Format(time.DateOnly)}
			if u, ok := used[t]; ok && usage != nil {
				avail := per.Quota[t] - u
				r.Used, r.Available = &u, &avail
			}
			rows = append(rows, r)
		}
	}
	if c.Bool("json") {
		if err := e.out().JSON("status", &statusResult{Rows: rows}); err != nil {
			return err
		}
		return first
	}
	var table [][]string
	for _, r := range rows {
		if r.Error != "" {
			table = append(table, []string{r.Bundle, "No data", "No data", "No data", "No data", "No data"})
			continue
		}
		used, avail := "-", "-"
		if r.Used != nil {
			used, avail = strconv.Itoa(*r.Used), strconv.Itoa(*r.Available)
		}
		table = append(table, []string{r.Bundle, r.License, used, avail, strconv.Itoa(r.Total), r.Until})
	}
	if err := e.out().Table([]string{"bundle", "license", "used", "available", "total", "until"}, table); err != nil {
		return err
	}
	return first
}

func openBundle(path string) (*bundle.Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, bundle.MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > bundle.MaxSize {
		return nil, fmt.Errorf("%w: larger than %d MiB", bundle.ErrMalformed, bundle.MaxSize>>20)
	}
	return bundle.Open(data)
}
