package main

import (
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/remind"
	"allot.dev/allot/pkg/system"
)

// groupWindows returns the groups of a system file's quota tree that have
// a validity window of their own, each with its reminder settings
// (remind_days, remind_every) where it gives them, else the catalog's for
// groups.
func groupWindows(sys *system.System) []remind.Window {
	var ws []remind.Window
	for _, g := range sys.Tree.Groups {
		if !g.Restrict || g.Until.IsZero() {
			continue
		}
		w := remind.Window{System: sys.ID, Organization: sys.Organization, Path: g.Path, Until: g.Until}
		if g.RemindDays > 0 || g.RemindEvery != "" {
			r := catalog.DefaultReminder
			if g.RemindDays > 0 {
				r.Days = g.RemindDays
			}
			if g.RemindEvery != "" {
				r.Every = g.RemindEvery
			}
			w.Reminder = &r
		}
		ws = append(ws, w)
	}
	return ws
}
