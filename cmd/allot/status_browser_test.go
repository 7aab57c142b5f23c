package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rogpeppe/go-internal/testscript"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/status"
)

// chromiumNames are the names a Chromium or Chrome binary goes by;
// $ALLOT_CHROMIUM names one elsewhere.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// findChromium returns the browser to test pages in, or "".
func findChromium() string {
	if p := os.Getenv("ALLOT_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range chromiumNames {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// pageFigures is what the status page shows, read from the page as the
// browser renders it (innerText: what a person sees), and, for
// comparison, what the page must show for a JSON document.
type pageFigures struct {
	Systems  []pageSystem  `json:"systems"`
	Problems []pageProblem `json:"problems"`
}

type pageSystem struct {
	System   string            `json:"system"`
	Fields   map[string]string `json:"fields"`
	Licenses []pageRow         `json:"licenses"`
	Face     map[string]string `json:"face"`
	Servers  []pageRow         `json:"servers"`
}

type pageRow struct {
	Key    string            `json:"key"`
	Fields map[string]string `json:"fields"`
}

type pageProblem struct {
	File   string `json:"file"`
	Status string `json:"status"`
}

// pageProbe runs in the page. Besides the figures it reports what would
// make the page less than self-contained or unreadable on a phone: any
// resource loaded, any element that loads or runs something, a missing
// viewport tag, and content wider than the screen.
const pageProbe = `(() => {
  const text = (root, f) => {
    const e = root.querySelector('[data-field="' + f + '"]');
    return e ? e.innerText.trim() : undefined;
  };
  const fields = (root, names) => {
    const out = {};
    for (const n of names) { const v = text(root, n); if (v !== undefined) out[n] = v; }
    return out;
  };
  const figures = {
    systems: [...document.querySelectorAll('section[data-system]')].map(s => ({
      system: s.dataset.system,
      fields: fields(s, ['status', 'reason', 'subscription_until', 'grace_until', 'support_until', 'analytics_data_deleted', 'usage', 'bundle']),
      licenses: [...s.querySelectorAll('table.licenses tr[data-license]')].map(r => ({key: r.dataset.license, fields: fields(r, ['used', 'available', 'total', 'shared'])})),
      face: (r => r ? fields(r, ['users', 'devices']) : null)(s.querySelector('tr[data-license="face-recognition"]')),
      servers: [...s.querySelectorAll('tr[data-server]')].map(r => ({key: r.dataset.server, fields: fields(r, ['status', 'share', 'last_recheck', 'reason'])})),
    })),
    problems: [...document.querySelectorAll('tr[data-file]')].map(r => ({file: r.dataset.file, status: text(r, 'status')})),
  };
  return JSON.stringify({
    figures,
    resources: performance.getEntriesByType('resource').map(e => e.name),
    loaders: document.querySelectorAll('script, link, img, iframe, object, embed, video, audio, source, base').length,
    viewport: (document.querySelector('meta[name="viewport"]') || {}).content || '',
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  });
})()`

type pageProbeResult struct {
	Figures   pageFigures `json:"figures"`
	Resources []string    `json:"resources"`
	Loaders   int         `json:"loaders"`
	Viewport  string      `json:"viewport"`
	Overflow  int         `json:"overflow"`
}

// chromiumCondition is the script condition [chromium]: a Chromium to open
// pages in. A script skips without one, and says why ([!chromium] skip
// ...), except on CI (CI=true), where .ci/run installs it: there its lack
// fails the script.
func chromiumCondition() (bool, error) {
	if findChromium() != "" {
		return true, nil
	}
	if os.Getenv("CI") == "true" {
		return false, fmt.Errorf("no Chromium (%v, or $ALLOT_CHROMIUM) on CI: .ci/run installs the Debian package chromium", chromiumNames)
	}
	return false, nil
}

// cmdPagecheck is `pagecheck PAGE JSON`: PAGE, opened in a real headless
// Chromium at a phone's width, shows the figures of JSON (the --json
// document of the same run), loads nothing and fits the screen.
func cmdPagecheck(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: pagecheck PAGE JSON")
	}
	browser := findChromium()
	if browser == "" {
		ts.Fatalf("no Chromium (%v, or $ALLOT_CHROMIUM): guard the command with [chromium]", chromiumNames)
	}
	var doc status.Report
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[1])), &doc))
	want := expectedFigures(&doc)

	profile, err := os.MkdirTemp("", "allot-chromium-")
	ts.Check(err)
	defer os.RemoveAll(profile)
	// The machine may have no network: these flags keep Chromium from
	// trying to reach anything (updates, sync, field trials, QUIC).
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	page := url.URL{Scheme: "file", Path: ts.MkAbs(args[0])}
	start := time.Now()
	err = chromedp.Do(bctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(page.String()),
	)
	if err != nil {
		ts.Fatalf("chromium %s: opening %s: %v", browser, filepath.Base(args[0]), err)
	}
	raw, err := chromedp.Run(bctx, chromedp.Evaluate[string](pageProbe))
	ts.Check(err)
	ts.Logf("chromium: page opened and read in %s", time.Since(start).Round(time.Millisecond))
	var got pageProbeResult
	ts.Check(json.Unmarshal([]byte(raw), &got))

	if len(got.Resources) > 0 || got.Loaders > 0 {
		ts.Fatalf("the page is not self-contained: it loads %q, and has %d elements that load or run something", got.Resources, got.Loaders)
	}
	if got.Viewport != "width=device-width, initial-scale=1" {
		ts.Fatalf("viewport meta tag %q", got.Viewport)
	}
	if got.Overflow > 0 {
		ts.Fatalf("the page is %d pixels wider than a phone's screen", got.Overflow)
	}
	g, _ := json.MarshalIndent(got.Figures, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	if string(g) != string(w) {
		ts.Logf("the page shows:\n%s\n%s says:\n%s", g, args[1], w)
		ts.Fatalf("the page does not show the figures of %s", args[1])
	}
}

// expectedFigures is what the page must show for doc, as a person reads
// it: numbers, "-" for unknown, dates as YYYY-MM-DD, the page's words for
// statuses.
func expectedFigures(doc *status.Report) pageFigures {
	words := map[string]string{
		"active": "Active", "grace": "Active, in grace", "expired": "Expired", "not-yet-valid": "Not yet valid",
		"inactive": "Inactive", "no-data": "No data",
	}
	n := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return strconv.FormatInt(*p, 10)
	}
	d := func(t time.Time) string { return t.UTC().Format(time.DateOnly) }
	f := pageFigures{Systems: []pageSystem{}, Problems: []pageProblem{}}
	for _, s := range doc.Systems {
		ps := pageSystem{System: s.System, Fields: map[string]string{"status": words[s.Status]}, Licenses: []pageRow{}, Servers: []pageRow{}}
		set := func(k, v string) {
			if v != "" {
				ps.Fields[k] = v
			}
		}
		set("reason", s.Reason)
		set("usage", s.Usage)
		set("bundle", s.Bundle)
		if s.Dates != nil {
			set("subscription_until", d(s.Dates.SubscriptionUntil))
			set("grace_until", d(s.Dates.GraceUntil))
			set("support_until", d(s.Dates.SupportUntil))
			if s.Dates.AnalyticsDataDeleted != nil {
				set("analytics_data_deleted", d(*s.Dates.AnalyticsDataDeleted))
			}
		}
		for _, l := range s.Licenses {
			ps.Licenses = append(ps.Licenses, pageRow{Key: l.Type, Fields: map[string]string{
				"used": n(l.Used), "available": n(l.Available), "total": fmt.Sprint(l.Total), "shared": fmt.Sprint(l.Shared)}})
		}
		if fr := s.FaceRecognition; fr != nil {
			ps.Face = map[string]string{"users": fmt.Sprint(fr.Users), "devices": fmt.Sprint(fr.Devices)}
		}
		shares := slices.ContainsFunc(s.Servers, func(sv status.Server) bool { return sv.Share != nil })
		for _, sv := range s.Servers {
			recheck := "-"
			if sv.LastRecheck != nil {
				recheck = sv.LastRecheck.UTC().Format("2006-01-02 15:04") + " UTC"
			}
			fields := map[string]string{"status": words[sv.Status], "last_recheck": recheck}
			// A floating system's page shows each server's share.
			if shares {
				fields["share"] = "-"
				if sv.Share != nil {
					fields["share"] = bundle.FormatQuota(sv.Share)
				}
			}
			// An empty cell reads as "", like a missing reason.
			fields["reason"] = sv.Reason
			ps.Servers = append(ps.Servers, pageRow{Key: sv.Name, Fields: fields})
		}
		f.Systems = append(f.Systems, ps)
	}
	for _, p := range doc.Problems {
		f.Problems = append(f.Problems, pageProblem{File: p.File, Status: "No data"})
	}
	return f
}
