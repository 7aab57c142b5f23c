// Package status computes what the VMS Administrator licensing page shows
// for a site: per system, the licenses used, available, total and shared
// per license type; the users and devices of face recognition; each
// server's state and its last license recheck; and the dates that end the
// subscription, its grace, support and software updates, and the
// analytics data.
//
// It works from files the caller has read (bundles, usage files, device
// states) and never fails as a whole: a file that cannot be read, parsed
// or trusted becomes a Problem, and "no data" where its figures would be.
// A bundle is checked as verify checks its authority when a trust file is
// given (the wallet's signature, then every key's chain to a vendor root),
// else for the wallet's signature only. Time and usage are reported, never
// enforced: that is verify's business.
package status

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/tree"
	"allot.dev/allot/pkg/verify"
)

// File is an input file as the caller read it: its name and content, or
// the error that kept it from being read.
type File struct {
	Name string
	Data []byte
	Err  error
}

// StateFile is a device state file (verify.StateFile) and the server it
// belongs to.
type StateFile struct {
	File
	// Server names the server: the folder that holds the state, as a site
	// collects one folder per server. Empty for a device's own state
	// folder given alone, which belongs to a bundle of one server.
	Server string
}

// Input is what a status is computed from.
type Input struct {
	Bundles []File
	Usages  []File
	States  []StateFile
	Now     time.Time
	// Trust, if not nil, is checked as verify checks it; TrustName names
	// it in the report.
	Trust     *verify.Trust
	TrustName string
	Catalog   *catalog.Catalog // license names, analytics levels; nil: the embedded one
}

// How the bundles were trusted.
const (
	TrustChain  = "chain"            // wallet signature and every key's chain to a root, as verify
	TrustWallet = "wallet-signature" // the wallet's signature only
)

// Statuses of a system.
const (
	SystemActive  = "active"        // in its validity
	SystemGrace   = "grace"         // in the grace after it: licensed, renew now
	SystemExpired = "expired"       // after the grace
	SystemNotYet  = "not-yet-valid" // before its validity
	SystemNoData  = "no-data"       // no readable bundle
)

// Statuses of a server, as the licensing page names them.
const (
	ServerActive   = "active"   // licensed now, and its usage is reported
	ServerInactive = "inactive" // expired, not yet valid, or no usage reported
	ServerNoData   = "no-data"  // its bundle is missing or unreadable
)

// Report is the licensing page of a site.
type Report struct {
	Now       time.Time `json:"now"`
	Trust     string    `json:"trust"` // TrustChain or TrustWallet
	TrustFile string    `json:"trust_file,omitempty"`
	Systems   []System  `json:"systems"`
	// Problems are the files that could not be used, in input order:
	// bundles, then usage files, then states.
	Problems []Problem `json:"problems"`
	Notes    []string  `json:"notes"`
}

// Problem is a file that could not be read, parsed or trusted.
type Problem struct {
	File  string `json:"file"`
	Error string `json:"error"` // one line, naming the file
	Err   error  `json:"-"`
}

// System is the licensing page of one system.
type System struct {
	System       string `json:"system"`
	Organization string `json:"organization,omitempty"`
	Status       string `json:"status"`
	Reason       string `json:"reason,omitempty"` // why the status, where it is not plain
	Bundle       string `json:"bundle,omitempty"` // the file shown
	BundleID     string `json:"bundle_id,omitempty"`
	Sequence     int    `json:"sequence,omitempty"`
	Usage        string `json:"usage,omitempty"` // the usage file, if one reports this system
	Dates        *Dates `json:"dates,omitempty"`
	// Licenses lists every license type of the quota in force (or of the
	// nearest period outside the validity), in catalog order; the four
	// analytics levels where the bundle carries analytics or usage
	// reports it.
	Licenses        []License        `json:"licenses"`
	FaceRecognition *FaceRecognition `json:"face_recognition,omitempty"`
	Servers         []Server         `json:"servers"`
	// Tree is the bundle's quota tree, node by node (tree.go); empty for a
	// bundle without one.
	Tree []tree.NodeReport `json:"tree"`
}

// Dates are what ends when, for a system.
type Dates struct {
	From              time.Time `json:"from"`
	SubscriptionUntil time.Time `json:"subscription_until"`
	GraceUntil        time.Time `json:"grace_until"`
	// SupportUntil ends support and software updates: the end of the
	// last paid subscription period.
	SupportUntil time.Time `json:"support_until"`
	// TrialUntil ends the trial in force, where a trial key funds the
	// period in force: AXIS's overview shows trials beside grace periods.
	TrialUntil *time.Time `json:"trial_until,omitempty"`
	// FirstDayGrace is set for a subscription started with no licenses
	// allocated yet (allot subscription start): it runs in its grace.
	FirstDayGrace bool `json:"first_day_grace,omitempty"`
	// AnalyticsDataDeleted is when the device deletes analytics data if
	// its analytics licenses are not renewed (verify.AnalyticsRetention);
	// absent when the bundle carries no analytics.
	AnalyticsDataDeleted *time.Time `json:"analytics_data_deleted,omitempty"`
}

// License is one row of the licensing page. Used and Available are absent
// where no usage file reports the type.
type License struct {
	Type      string `json:"type"`
	Name      string `json:"name"`
	Used      *int64 `json:"used,omitempty"`
	Available *int64 `json:"available,omitempty"` // Total − Shared − Used
	Total     int64  `json:"total"`               // the quota of the period in force
	// Shared is what the system's restricted groups and users take from
	// it: 0 until bundles carry a quota tree.
	Shared int64 `json:"shared"`
}

// FaceRecognition splits face recognition as the page does: the users
// enrolled, and the devices (cameras) assigned to it.
type FaceRecognition struct {
	Users   int64 `json:"users"`
	Devices int64 `json:"devices"`
}

// Server is one server of a system.
type Server struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// LastRecheck is the device state's last_seen: when the server last
	// verified its license. It is read without the state's MAC
	// (verify.ReadStateUnverified): the file's word, for display.
	LastRecheck *time.Time `json:"last_recheck,omitempty"`
	State       string     `json:"state,omitempty"` // the state file read
	// Share is a floating system's share of this server in the period in
	// force (bundle.SharesAt); absent for a bundle without shares.
	Share map[string]int `json:"share,omitempty"`
}

type bundleFile struct {
	name string
	b    *bundle.Bundle
}

type usageFile struct {
	name string
	u    *verify.Usage
	need [5]int64 // analytics assignments per level (verify.AnalyticsNeed)
}

type stateFile struct {
	StateFile
	lastSeen time.Time
	systems  []string // the systems the device accepted a bundle of
}

// Build computes the report of in.
func Build(in Input) *Report {
	cat := in.Catalog
	if cat == nil {
		cat = catalog.Default()
	}
	r := &Report{Now: in.Now.UTC(), Trust: TrustWallet, Systems: []System{}, Problems: []Problem{}, Notes: []string{}}
	problem := func(name string, err error) {
		r.Problems = append(r.Problems, Problem{File: name, Error: err.Error(), Err: err})
	}
	// fileErr names the file in an error that does not: a read error
	// (fs.PathError) by its name as given, a parse error in front.
	fileErr := func(name string, err error) error {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return &namedError{name + ": " + pe.Err.Error(), err}
		}
		if strings.HasPrefix(err.Error(), name+":") {
			return err
		}
		return &namedError{name + ": " + err.Error(), err}
	}

	var verifier *verify.Verifier
	if in.Trust != nil {
		r.Trust, r.TrustFile = TrustChain, in.TrustName
		verifier = verify.NewVerifier(verify.Options{Trust: in.Trust, Now: in.Now, Catalog: in.Catalog, Workers: 1})
	}
	bundles := map[string]bundleFile{}
	for _, f := range in.Bundles {
		b, err := openBundle(f, verifier)
		if err != nil {
			problem(f.Name, fileErr(f.Name, err))
			continue
		}
		// Of two bundles of one system, the later one is the system's
		// (a renewal, a rebalance), else the first given: the other is a
		// note.
		if prev, ok := bundles[b.System]; ok {
			newer, older := prev, bundleFile{f.Name, b}
			if later(prev.b, b) {
				newer, older = older, newer
			}
			bundles[b.System] = newer
			note := fmt.Sprintf("%s: superseded by %s (sequence %d of system %s)", older.name, newer.name, newer.b.Sequence, b.System)
			if older.b.ID == newer.b.ID {
				note = fmt.Sprintf("%s: the same bundle as %s", older.name, newer.name)
			}
			r.Notes = append(r.Notes, note)
			continue
		}
		bundles[b.System] = bundleFile{f.Name, b}
	}

	usages := map[string]usageFile{}
	for _, f := range in.Usages {
		if f.Err != nil {
			problem(f.Name, fileErr(f.Name, f.Err))
			continue
		}
		u, err := verify.ParseUsage(f.Name, f.Data)
		if err == nil {
			var need [5]int64
			if prev, ok := usages[u.System]; ok {
				err = fmt.Errorf("a second usage file for system %s (the first is %s): one file reports a whole system", u.System, prev.name)
			} else if need, err = verify.AnalyticsNeed(u, cat); err == nil {
				usages[u.System] = usageFile{f.Name, u, need}
				continue
			}
		}
		problem(f.Name, fileErr(f.Name, err))
	}

	var states []stateFile
	for _, f := range in.States {
		if f.Err != nil {
			problem(f.Name, fileErr(f.Name, f.Err))
			continue
		}
		st, err := verify.ReadStateUnverified(f.Data)
		if err != nil {
			problem(f.Name, fileErr(f.Name, err))
			continue
		}
		sf := stateFile{StateFile: f, lastSeen: st.LastSeen}
		for k := range st.Seq {
			sys, _, _ := strings.Cut(k, " ")
			sf.systems = append(sf.systems, sys)
		}
		slices.Sort(sf.systems)
		sf.systems = slices.Compact(sf.systems) // one system, several wallets
		states = append(states, sf)
	}

	ids := map[string]bool{}
	for id := range bundles {
		ids[id] = true
	}
	for id := range usages {
		ids[id] = true
	}
	// A server's state names the systems its device accepted bundles of:
	// a system with no readable bundle here shows as No data. A device's
	// own state folder, named for no server, only adds to a bundle's.
	for _, st := range states {
		for _, id := range st.systems {
			ids[id] = ids[id] || st.Server != ""
		}
	}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		if !ids[id] {
			continue
		}
		var bf *bundleFile
		if b, ok := bundles[id]; ok {
			bf = &b
		}
		var uf *usageFile
		if u, ok := usages[id]; ok {
			uf = &u
		}
		r.Systems = append(r.Systems, system(id, bf, uf, in.Now, cat))
	}
	r.placeStates(states)
	return r
}

// namedError is an error, of its class still, whose message names the
// file.
type namedError struct {
	msg string
	err error
}

func (e *namedError) Error() string { return e.msg }
func (e *namedError) Unwrap() error { return e.err }

// openBundle opens a bundle: its authority checked by v as verify checks
// it, or only the wallet's signature if v is nil.
func openBundle(f File, v *verify.Verifier) (*bundle.Bundle, error) {
	if f.Err != nil {
		return nil, f.Err
	}
	if v != nil {
		if err := v.Authority(f.Data); err != nil {
			return nil, err
		}
	}
	return bundle.Open(f.Data)
}

// later reports whether b is a later bundle than a: signed later, or of a
// higher sequence when signed at the same time.
func later(a, b *bundle.Bundle) bool {
	if !b.Issued.Equal(a.Issued) {
		return b.Issued.After(a.Issued)
	}
	return b.Sequence > a.Sequence
}

// system computes the page of one system, from its bundle and its usage
// file, either of which may be missing.
func system(id string, bf *bundleFile, uf *usageFile, now time.Time, cat *catalog.Catalog) System {
	s := System{System: id, Licenses: []License{}, Servers: []Server{}}
	if uf != nil {
		s.Usage = uf.name
	}
	if bf == nil {
		s.Status, s.Reason = SystemNoData, "no readable bundle licenses this system"
		if uf != nil {
			for _, sv := range uf.u.Servers {
				s.Servers = append(s.Servers, Server{Name: sv.Name, Status: ServerNoData, Reason: "no readable bundle licenses it"})
			}
		}
		return s
	}
	b := bf.b
	v := b.Validity
	s.Organization, s.Bundle, s.BundleID, s.Sequence = b.Organization, bf.name, b.ID, b.Sequence
	s.Dates = &Dates{From: v.From, SubscriptionUntil: v.Until, GraceUntil: v.GraceUntil, SupportUntil: SupportUntil(b)}
	carriesAnalytics := false
	if t, ok := verify.AnalyticsRetention(b); ok {
		s.Dates.AnalyticsDataDeleted, carriesAnalytics = &t, true
	}
	// Servers are inactive for the reason the system is, or for lack of
	// usage.
	var inactive string
	trialUntil, trial := trialInForce(b, now)
	switch {
	case now.Before(v.From):
		s.Status = SystemNotYet
		inactive = "not yet valid: from " + v.From.Format(time.DateOnly)
	case len(b.Periods) == 0 && now.Before(v.GraceUntil):
		// A first-day grace: a subscription started, nothing allocated.
		s.Status, s.Dates.FirstDayGrace = SystemGrace, true
		s.Reason = "first-day grace until " + v.GraceUntil.Format(time.DateOnly) + ": allocate licenses"
	case trial:
		s.Status, s.Dates.TrialUntil = SystemActive, &trialUntil
		s.Reason = "trial until " + trialUntil.Format(time.DateOnly)
	case now.Before(v.Until):
		s.Status = SystemActive
	case now.Before(v.GraceUntil):
		s.Status = SystemGrace
		s.Reason = "in the grace period until " + v.GraceUntil.Format(time.DateOnly) + ": renew the subscription"
	case len(b.Hardware) > 0:
		// Perpetual hardware licenses outlive the subscription.
		s.Status = SystemActive
		s.Reason = "licensed by its perpetual hardware licenses; the subscription ended " + v.Until.Format(time.DateOnly)
	default:
		s.Status = SystemExpired
		inactive = "expired: the grace period ended " + v.GraceUntil.Format(time.DateOnly)
	}
	if inactive != "" {
		s.Reason = inactive
	}

	// Total is the quota in force; outside the validity nothing is in
	// force, and the rows are those of the nearest period, at 0.
	quota, inForce := b.Period(now)
	rowsOf := quota.Quota
	if !inForce && len(b.Periods) > 0 { // a first-day grace has no period
		rowsOf = b.Periods[len(b.Periods)-1].Quota
		if now.Before(v.From) {
			rowsOf = b.Periods[0].Quota
		}
	}
	total := func(t string) int64 { return int64(quota.Quota[t]) }
	types := map[string]bool{}
	for t := range rowsOf {
		types[t] = true
	}
	used := map[string]int64{}
	reported := map[string]bool{}
	if uf != nil {
		u := uf.u
		for _, sv := range u.Servers {
			used["camera"] += int64(sv.Cameras)
			used["intercom"] += int64(sv.Intercoms)
		}
		// Levels 1 to 3 use their own licenses first; what those cannot
		// cover counts against level 4, as verify counts it.
		need := uf.need
		var overflow int64
		for lvl := 1; lvl <= 3; lvl++ {
			t := analyticsType(lvl)
			used[t] = min(need[lvl], total(t))
			overflow += need[lvl] - used[t]
			carriesAnalytics = carriesAnalytics || need[lvl] > 0
		}
		used[analyticsType(4)] = overflow
		for t := range used {
			reported[t] = true
		}
		for _, t := range []string{"camera", "intercom"} {
			if used[t] > 0 {
				types[t] = true
			}
		}
		// Face recognition is licensed at level 3 or 4: shown where the
		// bundle has either, or the usage reports it.
		if total(analyticsType(3)) > 0 || total(analyticsType(4)) > 0 {
			s.FaceRecognition = &FaceRecognition{}
		}
		for _, a := range u.Analytics {
			if a.Type == verify.FaceRecognition {
				s.FaceRecognition = &FaceRecognition{Users: int64(a.Users), Devices: int64(a.Cameras)}
			}
		}
	}
	for lvl := 1; lvl <= 4; lvl++ {
		if carriesAnalytics {
			types[analyticsType(lvl)] = true
		}
	}
	for _, t := range ordered(types, cat) {
		l := License{Type: t, Name: t, Total: total(t)}
		if lt, _, err := cat.LicenseType(t); err == nil && lt.Name != "" {
			l.Name = lt.Name
		}
		if reported[t] {
			u, avail := used[t], l.Total-l.Shared-used[t]
			l.Used, l.Available = &u, &avail
		}
		s.Licenses = append(s.Licenses, l)
	}

	reportedServer := map[string]bool{}
	if uf != nil {
		for _, sv := range uf.u.Servers {
			reportedServer[sv.Name] = true
		}
	}
	licensed := map[string]bool{}
	share := map[string]map[string]int{}
	for _, sh := range b.SharesAt(now) {
		share[sh.Server] = sh.Quota
	}
	for _, bs := range b.Binding.Servers {
		licensed[bs.Name] = true
		sv := Server{Name: bs.Name, Status: ServerActive, Share: share[bs.Name]}
		switch {
		case inactive != "":
			sv.Status, sv.Reason = ServerInactive, inactive
		case uf == nil:
			sv.Status, sv.Reason = ServerInactive, "no usage reported: no usage file for this system"
		case !reportedServer[bs.Name]:
			sv.Status, sv.Reason = ServerInactive, "no usage reported: not in "+uf.name
		case s.Status == SystemGrace:
			sv.Reason = "in the grace period until " + v.GraceUntil.Format(time.DateOnly)
		}
		s.Servers = append(s.Servers, sv)
	}
	if uf != nil {
		for _, sv := range uf.u.Servers {
			if !licensed[sv.Name] {
				s.Servers = append(s.Servers, Server{Name: sv.Name, Status: ServerNoData, Reason: "not a server of " + bf.name})
			}
		}
	}
	s.Tree = treeOf(b, uf, now)
	if len(s.Tree) > 0 {
		// The system's Shared: what its restricted nodes reserved.
		for i := range s.Licenses {
			l := &s.Licenses[i]
			for _, lu := range s.Tree[0].Licenses {
				if lu.License == l.Type {
					l.Shared = lu.Shared
				}
			}
			if l.Used != nil {
				avail := l.Total - l.Shared - *l.Used
				l.Available = &avail
			}
		}
	}
	return s
}

// SupportUntil returns when support and software updates end: the end of
// the last paid subscription period (verify.SupportEnd: a trial is not
// paid), which a perpetual hardware license outlives. A bundle with no paid
// period (a first-day grace, a trial) has had none: its start.
func SupportUntil(b *bundle.Bundle) time.Time {
	if t, ok := verify.SupportEnd(b); ok {
		return t
	}
	return b.Validity.From
}

func analyticsType(level int) string { return fmt.Sprintf("analytics-l%d", level) }

// ordered returns the types in the catalog's order, then the others by
// name.
func ordered(types map[string]bool, cat *catalog.Catalog) []string {
	rank := map[string]int{}
	for i, t := range cat.LicenseTypes() {
		rank[t] = i + 1
	}
	out := slices.Collect(maps.Keys(types))
	slices.SortFunc(out, func(a, b string) int {
		ra, rb := rank[a], rank[b]
		if ra == 0 {
			ra = len(rank) + 1
		}
		if rb == 0 {
			rb = len(rank) + 1
		}
		return cmp.Or(cmp.Compare(ra, rb), strings.Compare(a, b))
	})
	return out
}

// placeStates gives each server the last recheck its device state
// records. A state belongs to the server its folder names (or, given
// alone, to a system of one server) of a system whose bundle its device
// accepted, if it accepted any; a state that fits no server, or several,
// is a note.
func (r *Report) placeStates(states []stateFile) {
	for _, st := range states {
		type at struct{ sys, srv int }
		var fits []at
		for i := range r.Systems {
			s := &r.Systems[i]
			if len(st.systems) > 0 && !slices.Contains(st.systems, s.System) {
				continue
			}
			for j, sv := range s.Servers {
				if sv.Name == st.Server || st.Server == "" && len(s.Servers) == 1 {
					fits = append(fits, at{i, j})
				}
			}
		}
		switch {
		case len(fits) == 1:
			sv := &r.Systems[fits[0].sys].Servers[fits[0].srv]
			t := st.lastSeen
			sv.LastRecheck, sv.State = &t, st.Name
		case len(fits) == 0 && st.Server != "" && len(st.systems) > 0:
			// The device accepted a bundle of a system whose bundle here
			// does not list it, or that has no readable bundle here: show
			// it, without data.
			for _, id := range st.systems {
				s := &r.Systems[slices.IndexFunc(r.Systems, func(s System) bool { return s.System == id })]
				why := "no readable bundle licenses it"
				if s.Bundle != "" {
					why = "not a server of " + s.Bundle
				}
				t := st.lastSeen
				s.Servers = append(s.Servers, Server{Name: st.Server, Status: ServerNoData, Reason: why, LastRecheck: &t, State: st.Name})
			}
		case len(fits) == 0:
			r.Notes = append(r.Notes, fmt.Sprintf("%s: the state of no server here: name its folder after a server of a bundle", st.Name))
		default:
			var where []string
			for _, f := range fits {
				where = append(where, r.Systems[f.sys].Servers[f.srv].Name+" of "+r.Systems[f.sys].System)
			}
			r.Notes = append(r.Notes, fmt.Sprintf("%s: fits servers %s: not shown", st.Name, strings.Join(where, ", ")))
		}
	}
}

// trialInForce reports whether the period in force at now is a trial's:
// funded by a trial key. It returns the trial's end.
func trialInForce(b *bundle.Bundle, now time.Time) (time.Time, bool) {
	for i, p := range b.Periods {
		if now.Before(p.From) || !now.Before(p.Until) {
			continue
		}
		for _, f := range b.Funding {
			if f.Period != i+1 {
				continue
			}
			if k, err := licensekey.ParseCanonical(f.Key); err == nil && k.Kind == licensekey.Trial {
				return p.Until, true
			}
		}
	}
	return time.Time{}, false
}
