package formats_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/remind"
	"allot.dev/allot/pkg/wallet"
)

// remindDays are the runs of remind-state.md's cron: 09:00 on each day.
var remindDays = []time.Time{
	time.Date(2027, 10, 22, 9, 0, 0, 0, time.UTC),
	time.Date(2027, 10, 23, 9, 0, 0, 0, time.UTC), // the first reminder
	time.Date(2027, 10, 24, 9, 0, 0, 0, time.UTC),
	time.Date(2027, 10, 30, 9, 0, 0, 0, time.UTC), // a week later
}

func (g *gen) remindState() {
	const spec = "remind-state.md"
	b, err := bundle.Open(g.bundleDoc)
	g.must(err)
	w, err := wallet.Open("acme.wallet")
	g.must(err)
	var src remind.Sources
	src.AddBundle("site-42.lic", b)
	g.must(src.AddWallet("acme.wallet", w, catalog.Default().Policy.UnallocatedExpiryYears))
	defaults := func(k remind.Kind) catalog.Reminder { return catalog.Default().Reminder(string(k)) }
	st := remind.NewState()
	var said []int
	var last []remind.Reminder
	for _, now := range remindDays {
		last = remind.Due(src.Items(), st, now, defaults)
		said = append(said, len(last))
	}
	if want := []int{0, 1, 0, 1}; !equalInts(said, want) {
		g.t.Fatalf("reminders said on %v: %v, want %v", remindDays, said, want)
	}
	state, err := st.Marshal()
	g.must(err)
	g.put(spec, "remind.state", string(state))

	m, err := remind.ParseMail("allot <allot@acme.example>", []string{"ops@acme.example"})
	g.must(err)
	_, msg := m.Message(&last[0], remindDays[3])
	g.put(spec, "reminder.eml", strings.ReplaceAll(string(msg), "\r\n", "\n"))

	bad := replaceOnce(g.t, string(state), "count = 2\n", "count = 0\n")
	_, err = remind.ParseState([]byte(bad))
	g.put(spec, "remind.state.err", damage("remind.state with count 2 changed to 0", "remind.ParseState", err))
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRemindStateExample(t *testing.T) {
	st, err := remind.ParseState([]byte(example(t, "remind-state.md", "remind.state")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open([]byte(example(t, "bundle.md", "site-42.lic")))
	if err != nil {
		t.Fatal(err)
	}
	var src remind.Sources
	src.AddBundle("site-42.lic", b)
	items := src.Items()
	e, ok := st.Said(items[0].ID())
	if !ok || e.Count != 2 || !e.Last.Equal(remindDays[3]) || !e.Ends.Equal(b.Validity.Until) {
		t.Fatalf("the subscription's entry: %+v, %v", e, ok)
	}
	// The next run, the day after, says nothing; a week after the last, it
	// reminds again.
	defaults := func(k remind.Kind) catalog.Reminder { return catalog.Default().Reminder(string(k)) }
	if n := len(remind.Due(items, st, remindDays[3].AddDate(0, 0, 1), defaults)); n != 0 {
		t.Errorf("the day after: %d due", n)
	}
	if n := len(remind.Due(items, st, remindDays[3].AddDate(0, 0, 7), defaults)); n != 1 {
		t.Errorf("a week after: %d due", n)
	}
	if _, err := remind.ParseState([]byte(strings.Replace(example(t, "remind-state.md", "remind.state"), "count = 2", "count = 0", 1))); !errors.Is(err, remind.ErrState) {
		t.Errorf("the damaged example: %v", err)
	}
}
