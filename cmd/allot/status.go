package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/input"
	"allot.dev/allot/cmd/internal/ui"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/status"
	"allot.dev/allot/pkg/verify"
)

func (e *env) statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "the licensing page of a site: licenses used and available, servers, end dates",
		UsageText: "allot status BUNDLE...|DIR [--usage F]... [--state DIR] [--trust F] [--now T] [--json] [--html FILE]",
		Description: "Shows what the bundles license, as the VMS Administrator licensing page does: per\n" +
			"license type Used, Available, Total and Shared; face recognition's users and\n" +
			"devices; each server Active, Inactive (expired, not yet valid, or no usage\n" +
			"reported) or No data (no readable bundle), with its last license recheck; and\n" +
			"when the subscription, its grace, support and software updates, and the\n" +
			"analytics data end.\n\n" +
			"A DIR gives its *.lic bundles, its *.usage.toml usage files (matched to bundles\n" +
			"by system id) and the device state of each server, DIR/SERVER/allot.state.\n" +
			"--state DIR adds states laid out the same way, or a device's own state folder.\n" +
			"States are read without checking their MAC, which needs the server's own\n" +
			"identifiers: the last recheck is what the file says.\n\n" +
			"With --trust, each bundle is trusted as allot verify trusts it (its keys chain to\n" +
			"a vendor root); without, only the wallet's signature is checked, and the report\n" +
			"says so. A file that cannot be read or trusted shows No data, the rest is shown\n" +
			"all the same, and the exit code is that of the first such file (3 unreadable,\n" +
			"10 untrusted); 0 when every file could be used, whatever the servers' state.\n\n" +
			"--html FILE writes the same figures as one self-contained page to hand to the\n" +
			"customer; it never overwrites a file. formats/status.md describes the report.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "usage", Usage: "a usage `FILE` (*.usage.toml); may be given more than once"},
			&cli.StringFlag{Name: "state", Usage: "device states: `DIR`/SERVER/allot.state, or a device's state folder"},
			&cli.StringFlag{Name: "trust", Usage: "check bundles as allot verify does against these vendor roots: a trust file or an OpenSSH public key `FILE`", EnvVars: []string{"ALLOT_TRUST"}},
			&cli.StringFlag{Name: "html", Usage: "write the page to `FILE`, a new file ('-' for standard output, instead of the text)"},
			catalogFlag(), nowFlag(), jsonFlag(),
		},
		Action: e.status,
	}
}

// statusResult is the JSON of `allot status`.
type statusResult struct {
	ui.Head
	*status.Report
	HTML string `json:"html,omitempty"` // the page written, if any
}

func (e *env) status(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErrorf("status: give one or more bundles, or a folder of them")
	}
	now, err := now(c)
	if err != nil {
		return err
	}
	html := c.String("html")
	if html == "-" && c.Bool("json") {
		return usageErrorf("status: --html - and --json both print on standard output; give --html a FILE")
	}
	if html != "" {
		if err := checkOut(html); err != nil {
			return err
		}
	}
	cat, err := loadCatalog(c)
	if err != nil {
		return err
	}
	in := status.Input{Now: now, Catalog: cat}
	if p := c.String("trust"); p != "" {
		if in.Trust, err = input.Trust(p); err != nil {
			return &inputError{err}
		}
		in.TrustName = p
	}
	for _, arg := range c.Args().Slice() {
		if st, err := os.Stat(arg); err == nil && st.IsDir() {
			gatherDir(&in, arg)
			continue
		}
		in.Bundles = append(in.Bundles, readFile(arg, bundle.MaxSize))
	}
	for _, p := range c.StringSlice("usage") {
		in.Usages = append(in.Usages, readFile(p, verify.MaxUsageFileSize))
	}
	if dir := c.String("state"); dir != "" {
		gatherStates(&in, dir, true)
	}

	r := status.Build(in)
	if html != "" {
		page, err := statusPage(r)
		if err != nil {
			return err
		}
		if err := e.writeOut(html, page, 0o644); err != nil {
			return err
		}
	}
	switch {
	case html == "-": // the page is the output
	case c.Bool("json"):
		if err := e.out().JSON("status", &statusResult{Report: r, HTML: html}); err != nil {
			return err
		}
	default:
		if err := e.printStatus(r, html); err != nil {
			return err
		}
	}
	// Every file that could not be used is said on stderr; the exit code
	// is the first one's.
	if len(r.Problems) == 0 {
		return nil
	}
	for _, p := range r.Problems {
		e.out().Eprintf("allot: %s\n", p.Error)
	}
	return &exitCodeError{exitCode(r.Problems[0].Err)}
}

// gatherDir adds a folder's bundles, usage files and device states to in,
// in name order; a folder it cannot list is a bundle it cannot read.
func gatherDir(in *status.Input, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		in.Bundles = append(in.Bundles, status.File{Name: dir, Err: err})
		return
	}
	for _, de := range entries {
		p := filepath.Join(dir, de.Name())
		switch {
		case de.IsDir():
		case strings.HasSuffix(de.Name(), ".usage.toml"):
			in.Usages = append(in.Usages, readFile(p, verify.MaxUsageFileSize))
		case strings.HasSuffix(de.Name(), ".lic"):
			in.Bundles = append(in.Bundles, readFile(p, bundle.MaxSize))
		}
	}
	gatherStates(in, dir, false)
}

// gatherStates adds the device states of dir: dir/SERVER/allot.state for
// each server, and dir/allot.state, a device's own state folder. With
// required, a dir that holds neither is a problem.
func gatherStates(in *status.Input, dir string, required bool) {
	n := len(in.States)
	own := filepath.Join(dir, verify.StateFile)
	if _, err := os.Stat(own); err == nil {
		in.States = append(in.States, status.StateFile{File: readFile(own, verify.MaxStateFileSize)})
	}
	entries, err := os.ReadDir(dir)
	if err != nil && required {
		in.States = append(in.States, status.StateFile{File: status.File{Name: dir, Err: err}})
		return
	}
	for _, de := range entries {
		p := filepath.Join(dir, de.Name(), verify.StateFile)
		if _, err := os.Stat(p); err == nil && de.IsDir() {
			in.States = append(in.States, status.StateFile{File: readFile(p, verify.MaxStateFileSize), Server: de.Name()})
		}
	}
	if required && len(in.States) == n {
		in.States = append(in.States, status.StateFile{File: status.File{Name: dir,
			Err: &inputError{fmt.Errorf("no device state: neither %s nor SERVER/%s", verify.StateFile, verify.StateFile)}}})
	}
}

// readFile reads an input of at most limit bytes for status, which reports
// what it could not read rather than stopping at it. A file too large is
// refused as allot verify refuses it.
func readFile(path string, limit int64) status.File {
	data, err := input.ReadFile(path, limit)
	return status.File{Name: path, Data: data, Err: err}
}

// Words of the page for the statuses of package status.
var (
	systemWords = map[string]string{
		status.SystemActive: "Active", status.SystemGrace: "Active, in grace", status.SystemExpired: "Expired",
		status.SystemNotYet: "Not yet valid", status.SystemNoData: "No data",
	}
	serverWords = map[string]string{status.ServerActive: "Active", status.ServerInactive: "Inactive", status.ServerNoData: "No data"}
)

// recheckLayout is how the page shows a last recheck: to the minute, in UTC.
const recheckLayout = "2006-01-02 15:04 UTC"

func count(n *int64) string {
	if n == nil {
		return "-"
	}
	return strconv.FormatInt(*n, 10)
}

func (e *env) printStatus(r *status.Report, html string) error {
	p := e.out()
	p.Printf("licensing status at %s\n", r.Now.Format(recheckLayout))
	if r.Trust == status.TrustChain {
		p.Printf("trust: every bundle is checked as allot verify checks it, against %s\n", r.TrustFile)
	} else {
		p.Printf("trust: only the wallet's signature of each bundle is checked; give --trust FILE to check its keys up to the vendor\n")
	}
	for _, s := range r.Systems {
		p.Printf("\n")
		head := s.System
		if s.Organization != "" {
			head += " (" + s.Organization + ")"
		}
		p.Printf("system %s: %s\n", head, systemWords[s.Status])
		kv := func(k, format string, args ...any) { p.Printf("  %-17s "+format+"\n", append([]any{k}, args...)...) }
		if s.Reason != "" {
			kv("why", "%s", s.Reason)
		}
		if s.Bundle != "" {
			kv("bundle", "%s, sequence %d", s.Bundle, s.Sequence)
		}
		if d := s.Dates; d != nil {
			kv("subscription", "%s to %s, grace until %s", d.From.Format(time.DateOnly), d.SubscriptionUntil.Format(time.DateOnly), d.GraceUntil.Format(time.DateOnly))
			kv("support", "software updates until %s", d.SupportUntil.Format(time.DateOnly))
			if d.TrialUntil != nil {
				kv("trial", "until %s", d.TrialUntil.Format(time.DateOnly))
			}
			if d.FirstDayGrace {
				kv("grace", "first-day grace: no licenses allocated yet")
			}
			if d.AnalyticsDataDeleted != nil {
				kv("analytics", "data deleted on %s unless renewed", d.AnalyticsDataDeleted.Format(time.DateOnly))
			}
		}
		if s.Usage != "" {
			kv("usage", "%s", s.Usage)
		} else if s.Bundle != "" {
			kv("usage", "no usage file: used and available unknown")
		}
		if f := s.FaceRecognition; f != nil {
			kv("face recognition", "%d user%s, %d device%s", f.Users, plural(int(f.Users)), f.Devices, plural(int(f.Devices)))
		}
		if len(s.Licenses) > 0 {
			p.Printf("\n")
			var rows [][]string
			for _, l := range s.Licenses {
				rows = append(rows, []string{l.Type, count(l.Used), count(l.Available), strconv.FormatInt(l.Total, 10), strconv.FormatInt(l.Shared, 10)})
			}
			if err := p.Table([]string{"license", "used", "available", "total", "shared"}, rows); err != nil {
				return err
			}
		}
		if len(s.Servers) > 0 {
			p.Printf("\n")
			var rows [][]string
			head := []string{"server", "status", "last recheck", "why"}
			shared := slices.ContainsFunc(s.Servers, func(sv status.Server) bool { return sv.Share != nil })
			if shared {
				head = append(head, "share")
			}
			for _, sv := range s.Servers {
				recheck := "-"
				if sv.LastRecheck != nil {
					recheck = sv.LastRecheck.UTC().Format(recheckLayout)
				}
				row := []string{sv.Name, serverWords[sv.Status], recheck, sv.Reason}
				if shared {
					row = append(row, bundle.FormatQuota(sv.Share))
				}
				rows = append(rows, row)
			}
			if err := p.Table(head, rows); err != nil {
				return err
			}
		}
		if len(s.Tree) > 0 {
			p.Printf("\nquota tree:\n")
			if err := p.Table([]string{"node", "license", "used", "available", "total", "shared", "pool"}, treeRows(s.Tree)); err != nil {
				return err
			}
		}
	}
	if len(r.Problems) > 0 {
		p.Printf("\n")
		var rows [][]string
		for _, pr := range r.Problems {
			rows = append(rows, []string{pr.File, "No data", problemWhy(pr.File, pr.Error)})
		}
		if err := p.Table([]string{"file", "status", "why"}, rows); err != nil {
			return err
		}
	}
	if slices.ContainsFunc(r.Systems, func(s status.System) bool {
		return slices.ContainsFunc(s.Servers, func(sv status.Server) bool { return sv.LastRecheck != nil })
	}) {
		p.Printf("\nlast recheck: as each server's device state says; its MAC is not checked here\n")
	}
	for _, n := range r.Notes {
		p.Printf("note: %s\n", n)
	}
	if html != "" {
		p.Printf("wrote %s\n", html)
	}
	return nil
}
