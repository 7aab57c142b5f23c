package verifycli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/termtext"
	"allot.dev/allot/pkg/verify"
)

// lifecycleHead is the head of a report licensed in a first-day grace, a
// trial, or by perpetual hardware licenses alone; ok is false otherwise.
func lifecycleHead(r *verify.Report) (string, bool) {
	t := r.Time
	switch {
	case t == nil:
		return "", false
	case t.Perpetual:
		return fmt.Sprintf(" (by its perpetual hardware licenses; the subscription ended %s)", t.Until.Format(time.DateOnly)), true
	case t.FirstGrace:
		return fmt.Sprintf(" (first-day grace until %s, %d day%s left)", t.GraceUntil.Format(time.DateOnly), t.DaysLeft, plural(t.DaysLeft)), true
	case t.TrialUntil != nil:
		return fmt.Sprintf(" (trial until %s, %d day%s left)", t.TrialUntil.Format(time.DateOnly), t.DaysLeft, plural(t.DaysLeft)), true
	}
	return "", false
}

// printLifecycle prints the report's trial, support end and hardware
// licenses, each a line.
func printLifecycle(w io.Writer, r *verify.Report) {
	if t := r.Time; t != nil {
		if t.TrialUntil != nil {
			fmt.Fprintf(w, "  trial\ttrial period until %s, no grace after it\n", t.TrialUntil.Format(time.DateOnly))
		}
		if s := t.SupportUntil; s != nil {
			verb := "until"
			if !t.Now.Before(*s) {
				verb = "ended"
			}
			fmt.Fprintf(w, "  support\tsupport and software updates %s %s\n", verb, s.Format(time.DateOnly))
		}
	}
	for _, h := range r.Hardware {
		var parts []string
		for _, typ := range slices.Sorted(maps.Keys(h.Licenses)) {
			parts = append(parts, fmt.Sprintf("%s=%d", typ, h.Licenses[typ]))
		}
		fmt.Fprintf(w, "  hardware\tdevice %s: %s, perpetual, %d expansion%s, %s\n", termtext.Escape(h.Device),
			strings.Join(parts, ", "), h.Expansions, plural(h.Expansions), h.Status)
	}
}

// analyticsLine says until when analytics data is kept: after the grace if
// the last period carries analytics, else after the period that last did
// (a renewal that dropped analytics).
func analyticsLine(t *verify.TimeReport) string {
	kept := t.AnalyticsRetentionUntil.Format(time.DateOnly)
	if t.AnalyticsRetentionUntil.Before(t.GraceUntil) {
		return "licenses dropped at a renewal: data kept until " + kept
	}
	return "data kept until " + kept + " if not renewed"
}
