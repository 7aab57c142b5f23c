// Package remind finds what ends soon in bundles, system files and wallets
// (a subscription, the grace period after it, a group's validity window,
// licenses left unallocated in a wallet) and decides which reminders are
// due at a given time: each thing from its reminder's days before its end,
// then again at its frequency (once, daily, weekly, every 30 days) until
// it ends, never more often than that, whatever the number of runs.
//
// What was already said is kept in a state file (State: ParseState,
// Marshal), which the caller reads and replaces under a lock, so that two
// runs at once (two crons) say each reminder once between them. The
// package never prints and opens no file: Due returns the reminders,
// Reminder.Text words them, and Mail makes an RFC 5322 message of one.
// Time is always a parameter.
package remind

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/wallet"
)

// Kind is the kind of thing that ends; its words are those of the
// catalog's [reminders] (catalog.ReminderKinds).
type Kind string

// The kinds.
const (
	Subscription Kind = "subscription" // a system's last paid period ends
	Grace        Kind = "grace"        // the grace period after it ends
	Group        Kind = "group"        // a group's validity window ends
	KeyExpiry    Kind = "key-expiry"   // unallocated licenses in a wallet expire
)

// Item is one thing that ends.
type Item struct {
	Kind         Kind
	Ends         time.Time
	System       string // the system id; empty for KeyExpiry
	Group        string // Group: the group's path in the system's tree
	WalletID     string // the wallet that signed the bundle, or holds the keys; empty for Group
	Organization string
	Source       string // the file it was found in

	// KeyExpiry: license type → license-months left unallocated, in Keys
	// keys that all expire on the day of Ends.
	Licenses map[string]int
	Keys     int

	// Reminder is the item's own setting (a group's); nil means the
	// default for its kind.
	Reminder *catalog.Reminder
}

// ID names the item in the state file: its kind, what ends, and when. A
// renewal moves the end and so makes a new item, reminded afresh.
func (it *Item) ID() string {
	var what string
	switch it.Kind {
	case Subscription, Grace:
		what = it.WalletID + "/" + it.System
	case Group:
		what = it.System + "/" + it.Group
	default:
		what = it.WalletID
	}
	return string(it.Kind) + " " + what + " " + it.Ends.UTC().Format(time.RFC3339)
}

// Window is a group of a system file whose restriction carries a validity
// window: what AddWindow takes from a system file's group tree.
type Window struct {
	System       string
	Organization string
	Path         string    // the group's path, "tower-a/floor-3"
	Until        time.Time // the end of its validity window
	Reminder     *catalog.Reminder
}

// Sources collects the items of many inputs. A system's subscription is
// taken from the newest bundle of it (the highest sequence of its wallet)
// among all the bundles and wallets added, so a bundle superseded by a
// renewal reminds of nothing; an item found twice counts once.
type Sources struct {
	newest map[string]*bundleItems // "wallet/system" → its newest bundle's items
	items  []Item
}

type bundleItems struct {
	sequence int
	items    []Item
}

// AddBundle adds a bundle's subscription end and grace end.
func (s *Sources) AddBundle(source string, b *bundle.Bundle) {
	if s.newest == nil {
		s.newest = map[string]*bundleItems{}
	}
	key := b.WalletID.String() + "/" + b.System
	if cur, ok := s.newest[key]; ok && cur.sequence >= b.Sequence {
		return
	}
	base := Item{System: b.System, WalletID: b.WalletID.String(), Organization: b.Organization, Source: source}
	sub, grace := base, base
	sub.Kind, sub.Ends = Subscription, b.Validity.Until
	grace.Kind, grace.Ends = Grace, b.Validity.GraceUntil
	bi := &bundleItems{sequence: b.Sequence, items: []Item{sub}}
	if b.Validity.GraceUntil.After(b.Validity.Until) {
		bi.items = append(bi.items, grace)
	}
	s.newest[key] = bi
}

// AddWallet adds the subscriptions of the wallet's last bundle for each
// system, and its unallocated subscription licenses by the day they expire
// (wallet.KeyExpiry, expiryYears after each key was issued). Hardware and
// expansion licenses never expire.
func (s *Sources) AddWallet(source string, w *wallet.Wallet, expiryYears int) error {
	last := map[string]*wallet.Allocation{}
	for _, a := range w.Allocations {
		last[a.System] = a
	}
	for _, sys := range slices.Sorted(maps.Keys(last)) {
		b, err := bundle.Open(last[sys].Bundle)
		if err != nil {
			return fmt.Errorf("%s: the bundle of system %s: %w", source, sys, err)
		}
		s.AddBundle(source, b)
	}
	byDay := map[string]*Item{}
	for _, e := range w.Keys {
		if e.Key.Kind != licensekey.Subscription {
			continue
		}
		left := map[string]int{}
		for _, l := range e.Key.Licenses {
			if n := e.Available(l.Type); n > 0 {
				left[l.Type] += n
			}
		}
		if len(left) == 0 {
			continue
		}
		ends := e.Expires(expiryYears).UTC()
		day := ends.Format(time.DateOnly)
		it := byDay[day]
		if it == nil {
			it = &Item{Kind: KeyExpiry, Ends: ends, WalletID: w.ID.String(), Organization: w.Organization,
				Source: source, Licenses: map[string]int{}}
			byDay[day] = it
		}
		if ends.Before(it.Ends) {
			it.Ends = ends
		}
		it.Keys++
		for t, n := range left {
			it.Licenses[t] += n
		}
	}
	for _, day := range slices.Sorted(maps.Keys(byDay)) {
		s.items = append(s.items, *byDay[day])
	}
	return nil
}

// AddWindow adds the end of a group's validity window.
func (s *Sources) AddWindow(source string, w Window) {
	s.items = append(s.items, Item{Kind: Group, Ends: w.Until, System: w.System, Group: w.Path,
		Organization: w.Organization, Source: source, Reminder: w.Reminder})
}

// Items returns every item collected, each once, by end and then ID.
func (s *Sources) Items() []Item {
	all := slices.Clone(s.items)
	for _, key := range slices.Sorted(maps.Keys(s.newest)) {
		all = append(all, s.newest[key].items...)
	}
	seen := map[string]bool{}
	var out []Item
	for _, it := range all {
		if id := it.ID(); !seen[id] {
			seen[id] = true
			out = append(out, it)
		}
	}
	sortItems(out, func(it *Item) *Item { return it })
	return out
}

func sortItems[T any](xs []T, item func(*T) *Item) {
	slices.SortStableFunc(xs, func(a, b T) int {
		x, y := item(&a), item(&b)
		if c := x.Ends.Compare(y.Ends); c != 0 {
			return c
		}
		return cmp.Compare(x.ID(), y.ID())
	})
}

// Reminder is a reminder that is due.
type Reminder struct {
	Item
	ID       string
	Schedule catalog.Reminder // the setting that made it due
	DaysLeft int              // whole days until the end, rounded up
	Count    int              // how many times it was said, this one included
}

// Defaults returns the reminder setting of a kind, for items that carry
// none of their own.
type Defaults func(Kind) catalog.Reminder

// day is the number of a calendar day in UTC: frequencies count calendar
// days, so a cron that runs at 09:00 every day is never a second short of
// "daily".
func day(t time.Time) int64 { return t.Unix() / 86400 }

// Due returns the items whose reminder is due at now, and records them in
// st as said at now. An item is due from Days before its end until its
// end, if it was never said, or if it was last said at least its
// frequency's days ago (calendar days in UTC; "once" never again). It
// also forgets what ended more than Forget ago.
func Due(items []Item, st *State, now time.Time, defaults Defaults) []Reminder {
	now = now.UTC().Truncate(time.Second)
	var due []Reminder
	for _, it := range items {
		sched := defaults(it.Kind)
		if it.Reminder != nil {
			sched = *it.Reminder
		}
		interval, ok := catalog.ReminderInterval(sched.Every)
		if !ok || sched.Days < 1 {
			continue
		}
		if !now.Before(it.Ends) || now.Before(it.Ends.AddDate(0, 0, -sched.Days)) {
			continue
		}
		id := it.ID()
		prev, said := st.said[id]
		if said && (interval == 0 || day(now)-day(prev.Last) < int64(interval)) {
			continue
		}
		e := st.record(id, it.Ends, now)
		left := int((it.Ends.Sub(now) + 24*time.Hour - 1) / (24 * time.Hour))
		due = append(due, Reminder{Item: it, ID: id, Schedule: sched, DaysLeft: left, Count: e.Count})
	}
	st.forget(now)
	sortItems(due, func(r *Reminder) *Item { return &r.Item })
	return due
}

// Text words the reminder in one line.
func (r *Reminder) Text() string {
	on := fmt.Sprintf("on %s, %s", r.Ends.UTC().Format(time.DateOnly), inDays(r.DaysLeft))
	switch r.Kind {
	case Subscription:
		return fmt.Sprintf("%s: the subscription ends %s", r.system(), on)
	case Grace:
		return fmt.Sprintf("%s: the grace period ends %s; then the system is no longer licensed", r.system(), on)
	case Group:
		return fmt.Sprintf("%s, group %s: its validity window ends %s", r.system(), r.Group, on)
	default:
		return fmt.Sprintf("wallet %s%s: %s in %d %s, not allocated, expire %s",
			r.WalletID, r.org(), r.licenses(), r.Keys, plural(r.Keys, "key", "keys"), on)
	}
}

// Advice says what to do about it, for the body of a message.
func (r *Reminder) Advice() string {
	switch r.Kind {
	case Subscription:
		return fmt.Sprintf("Renew it before then: redeem keys for it and run allot allocate --system %s.system.toml --years 1. A renewal keeps the subscription's dates.", r.System)
	case Grace:
		return fmt.Sprintf("After it, devices refuse the bundle (allot verify exits 11). Allocate a renewal now: allot allocate --system %s.system.toml --years 1.", r.System)
	case Group:
		return "After it, the group's users and devices lose what it grants them. Extend the window in the system file and allocate again."
	default:
		return "Allocate them to a system before then (allot allocate), or they are lost."
	}
}

func (r *Reminder) system() string { return "system " + r.System + r.org() }

func (r *Reminder) org() string {
	if r.Organization == "" {
		return ""
	}
	return " (" + r.Organization + ")"
}

func (r *Reminder) licenses() string {
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(r.Licenses)) {
		parts = append(parts, fmt.Sprintf("%d %s license-months", r.Licenses[t], t))
	}
	return strings.Join(parts, ", ")
}

func inDays(n int) string {
	return fmt.Sprintf("in %d %s", n, plural(n, "day", "days"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
