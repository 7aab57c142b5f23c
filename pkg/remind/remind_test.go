package remind_test

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/remind"
	"allot.dev/allot/pkg/wallet"
)

// ends is the end of the test items: 2027-11-22T10:00:00Z, a year after
// the fixtures' clock.
var ends = allottest.Now.AddDate(1, 0, 0)

func sub(system string) remind.Item {
	return remind.Item{Kind: remind.Subscription, Ends: ends, System: system, WalletID: "W", Organization: "Org", Source: system + ".lic"}
}

func defaults(r catalog.Reminder) remind.Defaults {
	return func(remind.Kind) catalog.Reminder { return r }
}

// said runs Due at now and returns the IDs said, and their counts.
func said(t *testing.T, items []remind.Item, st *remind.State, now time.Time, d remind.Defaults) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, r := range remind.Due(items, st, now, d) {
		out[r.ID] = r.Count
	}
	return out
}

func TestDueWeekly(t *testing.T) {
	st := remind.NewState()
	items := []remind.Item{sub("site-1")}
	id := items[0].ID()
	d := defaults(catalog.Reminder{Days: 30, Every: "weekly"})
	steps := []struct {
		now  time.Time
		want int // the count said, 0 for nothing
	}{
		{ends.AddDate(0, 0, -31), 0},                // before the window
		{ends.AddDate(0, 0, -30), 1},                // it opens
		{ends.AddDate(0, 0, -30), 0},                // the same clock: nothing new
		{ends.AddDate(0, 0, -30).Add(time.Hour), 0}, // later that day
		{ends.AddDate(0, 0, -24), 0},                // six days on
		{ends.AddDate(0, 0, -23), 2},                // a week on
		{ends.AddDate(0, 0, -16), 3},
		{ends.AddDate(0, 0, -10), 0}, // within a week of the last
		{ends.Add(-time.Second), 4},  // the last second of it
		{ends, 0},                    // it has ended: nothing more
		{ends.AddDate(0, 0, 7), 0},
	}
	for i, s := range steps {
		got := said(t, items, st, s.now, d)
		if s.want == 0 && len(got) != 0 || s.want != 0 && got[id] != s.want {
			t.Fatalf("step %d, at %s: said %v, want count %d", i, s.now, got, s.want)
		}
	}
	e, ok := st.Said(id)
	if !ok || e.Count != 4 || !e.First.Equal(ends.AddDate(0, 0, -30)) || !e.Last.Equal(ends.Add(-time.Second)) || !e.Ends.Equal(ends) {
		t.Errorf("state: %+v, %v", e, ok)
	}
}

func TestDueFrequencies(t *testing.T) {
	start := ends.AddDate(0, 0, -60)
	for _, tt := range []struct {
		every string
		days  []int // days after start at which it is due, checking every 12 hours
	}{
		{"once", []int{0}},
		{"daily", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59}},
		{"weekly", []int{0, 7, 14, 21, 28, 35, 42, 49, 56}},
		{"30d", []int{0, 30}},
	} {
		st := remind.NewState()
		items := []remind.Item{sub("site-1")}
		d := defaults(catalog.Reminder{Days: 60, Every: tt.every})
		var got []int
		for h := 0; h < 61*24; h += 12 {
			now := start.Add(time.Duration(h) * time.Hour)
			if len(remind.Due(items, st, now, d)) > 0 {
				if h%24 != 0 {
					t.Errorf("%s: due at hour %d, not at the start of a day of the window", tt.every, h)
				}
				got = append(got, h/24)
			}
		}
		if !slices.Equal(got, tt.days) {
			t.Errorf("%s: due on days %v, want %v", tt.every, got, tt.days)
		}
	}
}

// A cron at 09:00 every day runs a little early or late: "daily" counts
// calendar days, so a run 23 hours after the last one, on the next day,
// reminds again, and a second run on the same day does not.
func TestDueCalendarDays(t *testing.T) {
	st := remind.NewState()
	items := []remind.Item{sub("site-1")}
	d := defaults(catalog.Reminder{Days: 30, Every: "daily"})
	day1 := time.Date(2027, 11, 1, 9, 0, 30, 0, time.UTC)
	if n := len(remind.Due(items, st, day1, d)); n != 1 {
		t.Fatalf("first run: %d", n)
	}
	if n := len(remind.Due(items, st, day1.Add(14*time.Hour+59*time.Minute), d)); n != 0 {
		t.Fatalf("23:59 the same day: %d", n)
	}
	if n := len(remind.Due(items, st, day1.Add(23*time.Hour+59*time.Minute), d)); n != 1 {
		t.Fatalf("08:59 the next day: %d", n)
	}
}

func TestDueOwnReminder(t *testing.T) {
	own := catalog.Reminder{Days: 7, Every: "once"}
	g := remind.Item{Kind: remind.Group, Ends: ends, System: "site-1", Group: "tower-a", Reminder: &own}
	st := remind.NewState()
	d := defaults(catalog.Reminder{Days: 30, Every: "daily"})
	if n := len(remind.Due([]remind.Item{g}, st, ends.AddDate(0, 0, -10), d)); n != 0 {
		t.Fatalf("10 days ahead with its own 7: %d due", n)
	}
	r := remind.Due([]remind.Item{g}, st, ends.AddDate(0, 0, -7), d)
	if len(r) != 1 || r[0].Schedule != own || r[0].DaysLeft != 7 {
		t.Fatalf("7 days ahead: %+v", r)
	}
	if n := len(remind.Due([]remind.Item{g}, st, ends.AddDate(0, 0, -1), d)); n != 0 {
		t.Fatalf("once, said again: %d", n)
	}
}

func TestDaysLeftRoundsUp(t *testing.T) {
	st := remind.NewState()
	d := defaults(catalog.Reminder{Days: 30, Every: "daily"})
	r := remind.Due([]remind.Item{sub("site-1")}, st, ends.Add(-time.Minute), d)
	if len(r) != 1 || r[0].DaysLeft != 1 {
		t.Fatalf("a minute before the end: %+v", r)
	}
	if !strings.Contains(r[0].Text(), "in 1 day") {
		t.Errorf("text: %s", r[0].Text())
	}
}

// Entries are forgotten Forget after their end; a renewal is a new item.
func TestForget(t *testing.T) {
	st := remind.NewState()
	d := defaults(catalog.Reminder{Days: 30, Every: "weekly"})
	old := sub("site-1")
	remind.Due([]remind.Item{old}, st, ends.AddDate(0, 0, -1), d)
	renewed := old
	renewed.Ends = ends.AddDate(1, 0, 0)
	if n := len(remind.Due([]remind.Item{renewed}, st, renewed.Ends.AddDate(0, 0, -1), d)); n != 1 {
		t.Fatalf("the renewal's end: %d due", n)
	}
	if _, ok := st.Said(old.ID()); ok {
		t.Errorf("an entry ended a year ago is still remembered")
	}
	if _, ok := st.Said(renewed.ID()); !ok || st.Len() != 1 {
		t.Errorf("the renewal is not remembered: %d entries", st.Len())
	}
}

func TestText(t *testing.T) {
	st := remind.NewState()
	d := defaults(catalog.Reminder{Days: 30, Every: "weekly"})
	items := []remind.Item{
		sub("site-1"),
		{Kind: remind.Grace, Ends: ends.Add(time.Hour), System: "site-1", WalletID: "W", Organization: "Org"},
		{Kind: remind.Group, Ends: ends.Add(2 * time.Hour), System: "site-1", Group: "tower-a/floor-3"},
		{Kind: remind.KeyExpiry, Ends: ends.Add(3 * time.Hour), WalletID: "W", Organization: "Org",
			Licenses: map[string]int{"camera": 60, "analytics-l1": 12}, Keys: 2},
	}
	var got []string
	for _, r := range remind.Due(items, st, ends.AddDate(0, 0, -10), d) {
		got = append(got, r.Text())
	}
	want := []string{
		"system site-1 (Org): the subscription ends on 2027-11-22, in 10 days",
		"system site-1 (Org): the grace period ends on 2027-11-22, in 11 days; then the system is no longer licensed",
		"system site-1, group tower-a/floor-3: its validity window ends on 2027-11-22, in 11 days",
		"wallet W (Org): 12 analytics-l1 license-months, 60 camera license-months in 2 keys, not allocated, expire on 2027-11-22, in 11 days",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// world is a wallet with four keys of 10 cameras for a year (480
// license-months) and the bundles of two allocations of 5 cameras for a
// year to site-1: the first year, then its renewal.
func world(t *testing.T) (dir string, w *wallet.Wallet, first, renewal *bundle.Bundle) {
	t.Helper()
	dir = t.TempDir()
	wd, err := allottest.NewWorld(1)
	if err != nil {
		t.Fatal(err)
	}
	wk := allottest.Key("wallet")
	path := filepath.Join(dir, "org.wallet")
	wl, err := wd.Wallet(path, wk)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := wd.Keys(4, 10, 12, wl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wd.Redeem(path, keys); err != nil {
		t.Fatal(err)
	}
	var bs []*bundle.Bundle
	for range 2 {
		doc, err := wd.Allocate(path, wk, allottest.System("site-1", 5), 1)
		if err != nil {
			t.Fatal(err)
		}
		b, err := bundle.Open(doc)
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	if w, err = wallet.Open(path); err != nil {
		t.Fatal(err)
	}
	return dir, w, bs[0], bs[1]
}

func TestSources(t *testing.T) {
	_, w, first, renewal := world(t)
	var s remind.Sources
	s.AddBundle("site-1.lic", first)
	if err := s.AddWallet("org.wallet", w, 5); err != nil {
		t.Fatal(err)
	}
	s.AddBundle("site-1-2.lic", renewal) // the same bundle the wallet holds
	s.AddWindow("site-1.system.toml", remind.Window{System: "site-1", Path: "tower-a", Until: ends})
	items := s.Items()
	type row struct {
		kind   remind.Kind
		ends   string
		source string
	}
	var got []row
	for _, it := range items {
		got = append(got, row{it.Kind, it.Ends.Format(time.RFC3339), it.Source})
	}
	// The first bundle is superseded by the renewal, which the wallet gave
	// first; the unallocated rest (480 − 120 license-months, in the three
	// keys the two years left something of) expires five years after the
	// keys' issue day.
	want := []row{
		{remind.Group, "2027-11-22T10:00:00Z", "site-1.system.toml"},
		{remind.Subscription, "2028-11-22T00:00:00Z", "org.wallet"},
		{remind.Grace, "2028-12-22T00:00:00Z", "org.wallet"},
		{remind.KeyExpiry, "2031-11-22T00:00:00Z", "org.wallet"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("items:\n%v\nwant\n%v", got, want)
	}
	k := items[3]
	if k.Keys != 3 || !maps.Equal(k.Licenses, map[string]int{"camera": 360}) || k.WalletID != w.ID.String() || k.Organization != "Fixture Org" {
		t.Errorf("key expiry: %+v", k)
	}
	if id := items[1].ID(); id != "subscription "+w.ID.String()+"/site-1 2028-11-22T00:00:00Z" {
		t.Errorf("ID: %s", id)
	}

	// From the bundles alone, the renewal wins whatever the order.
	var s2 remind.Sources
	s2.AddBundle("site-1-2.lic", renewal)
	s2.AddBundle("site-1.lic", first)
	if items := s2.Items(); len(items) != 2 || items[0].Source != "site-1-2.lic" || !items[0].Ends.Equal(renewal.Validity.Until) {
		t.Errorf("bundles alone: %+v", items)
	}
}

// A fully allocated key reminds of nothing; nor do hardware keys.
func TestSourcesNothingLeft(t *testing.T) {
	dir := t.TempDir()
	_, _, err := allottest.TypicalBundle(dir, 1, 1) // one key of 10 cameras, 5 allocated
	if err != nil {
		t.Fatal(err)
	}
	w, err := wallet.Open(filepath.Join(dir, "fixture.wallet"))
	if err != nil {
		t.Fatal(err)
	}
	var s remind.Sources
	if err := s.AddWallet("w", w, 5); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Items()); n != 3 {
		t.Fatalf("half a key left: %d items", n)
	}
	for _, e := range w.Keys {
		for _, l := range e.Key.Licenses {
			e.Used[l.Type] = e.Key.Capacity(l.Type)
		}
	}
	s = remind.Sources{}
	if err := s.AddWallet("w", w, 5); err != nil {
		t.Fatal(err)
	}
	for _, it := range s.Items() {
		if it.Kind == remind.KeyExpiry {
			t.Errorf("a fully allocated key: %+v", it)
		}
	}
}
