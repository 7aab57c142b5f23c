package allocate_test

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allocate"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/wallet"
)

func samePeriod(p wallet.Period, from, until time.Time) bool {
	return p.From.Equal(from) && p.Until.Equal(until)
}

func TestDay(t *testing.T) {
	got := allocate.Day(time.Date(2025, 3, 10, 23, 30, 0, 0, time.FixedZone("EST", -5*3600)))
	if want := date(2025, 3, 11); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("Day = %s, want %s UTC", got, want)
	}
}

func TestFirstAllocationToday(t *testing.T) {
	f := newFixture(t)
	k := f.key(f.reseller, "camera", 10, 12) // 120 camera-months
	f.redeem(t0.AddDate(0, -1, 0), k)
	before := f.read()

	plan, err := allocate.Make(f.open(), f.request(site(map[string]int{"camera": 4}), 1, t0))
	if err != nil {
		t.Fatalf("Make: %v", err)
	}
	if !bytes.Equal(before, f.read()) {
		t.Errorf("Make changed the wallet file")
	}
	if plan.Sequence != 1 {
		t.Errorf("Sequence = %d, want 1", plan.Sequence)
	}
	if len(plan.Periods) != 1 || !samePeriod(plan.Periods[0], date(2025, 3, 10), date(2026, 3, 10)) {
		t.Fatalf("Periods = %+v, want 2025-03-10 to 2026-03-10", plan.Periods)
	}
	if q := plan.Periods[0].Quota; !maps.Equal(q, map[string]int{"camera": 4}) {
		t.Errorf("Quota = %v, want camera=4", q)
	}
	v := plan.Validity
	if !v.From.Equal(date(2025, 3, 10)) || !v.Until.Equal(date(2026, 3, 10)) || !v.GraceUntil.Equal(date(2026, 4, 9)) {
		t.Errorf("Validity = %+v, want 2025-03-10 to 2026-03-10, grace until 2026-04-09", v)
	}
	want := []wallet.KeyFunding{{Key: id(t, k), License: "camera", Months: 48}}
	if !slices.Equal(plan.Taken, want) || !slices.Equal(plan.Periods[0].Funding, want) {
		t.Errorf("Taken = %+v, funding %+v; want %+v", plan.Taken, plan.Periods[0].Funding, want)
	}
	if len(plan.Credits) != 0 {
		t.Errorf("Credits = %+v, want none", plan.Credits)
	}
	if len(plan.Keys) != 1 || plan.Keys[0].Key.ID() != id(t, k) {
		t.Errorf("Keys: %d, want the one funding key", len(plan.Keys))
	}
	if !plan.Issued.Equal(t0) {
		t.Errorf("Issued = %s, want %s", plan.Issued, t0)
	}
	if len(plan.BundleID) != 16 {
		t.Errorf("BundleID = %q, want 16 hexadecimal digits", plan.BundleID)
	}
}

func TestFirstAllocationWithStart(t *testing.T) {
	f := newFixture(t)
	f.redeem(t0.AddDate(0, -1, 0), f.key(f.reseller, "camera", 10, 24))
	for _, c := range []struct {
		name  string
		start time.Time
		from  time.Time
	}{
		{"a date in the grace period", date(2025, 2, 20), date(2025, 2, 20)},
		{"a time of day", time.Date(2025, 3, 1, 17, 45, 0, 0, time.UTC), date(2025, 3, 1)},
		{"in the future", date(2025, 4, 1), date(2025, 4, 1)},
	} {
		req := f.request(site(map[string]int{"camera": 4}), 1, t0)
		req.Start = c.start
		plan, err := allocate.Make(f.open(), req)
		if err != nil {
			t.Errorf("%s: Make: %v", c.name, err)
			continue
		}
		until := c.from.AddDate(1, 0, 0)
		if !samePeriod(plan.Periods[0], c.from, until) || !plan.Validity.From.Equal(c.from) {
			t.Errorf("%s: period %s to %s, want %s to %s", c.name, plan.Periods[0].From, plan.Periods[0].Until, c.from, until)
		}
		if len(plan.Credits) != 0 {
			t.Errorf("%s: credits %+v, want none", c.name, plan.Credits)
		}
	}
}

func TestRenewal(t *testing.T) {
	f := newFixture(t)
	k1 := f.key(f.reseller, "camera", 4, 12)
	k2 := f.key(f.direct, "camera", 4, 12)
	f.redeem(t0.AddDate(0, -1, 0), k1, k2)
	sys := site(map[string]int{"camera": 4})
	first, _ := f.mustAllocate(f.request(sys, 1, t0))

	// Half a year on, the renewal continues from where the first ends and
	// keeps the running period.
	now := t0.AddDate(0, 6, 0)
	req := f.request(sys, 1, now)
	plan, err := allocate.Make(f.open(), req)
	if err != nil {
		t.Fatalf("Make: %v", err)
	}
	if plan.Sequence != first.Sequence+1 {
		t.Errorf("Sequence = %d, want %d", plan.Sequence, first.Sequence+1)
	}
	if len(plan.Periods) != 2 ||
		!samePeriod(plan.Periods[0], date(2025, 3, 10), date(2026, 3, 10)) ||
		!samePeriod(plan.Periods[1], date(2026, 3, 10), date(2027, 3, 10)) {
		t.Fatalf("Periods = %+v, want the running 2025-03-10 to 2026-03-10 and 2026-03-10 to 2027-03-10", plan.Periods)
	}
	if !slices.Equal(plan.Periods[0].Funding, first.Periods[0].Funding) {
		t.Errorf("the running period's funding changed: %+v, was %+v", plan.Periods[0].Funding, first.Periods[0].Funding)
	}
	if !plan.Validity.From.Equal(date(2025, 3, 10)) || !plan.Validity.Until.Equal(date(2027, 3, 10)) {
		t.Errorf("Validity = %+v", plan.Validity)
	}
	// Only the new period is taken from the wallet now: k1 was used up by
	// the first allocation, so k2 funds it.
	want := []wallet.KeyFunding{{Key: id(t, k2), License: "camera", Months: 48}}
	if !slices.Equal(plan.Taken, want) {
		t.Errorf("Taken = %+v, want %+v", plan.Taken, want)
	}
	if len(plan.Keys) != 2 {
		t.Errorf("Keys: %d, want both keys (the running and the new period's)", len(plan.Keys))
	}
	if len(plan.Credits) != 0 {
		t.Errorf("Credits = %+v, want none for a renewal ahead of time", plan.Credits)
	}

	// --start may repeat the renewal date, and may not move it.
	req.Start = date(2026, 3, 10)
	if _, err := allocate.Make(f.open(), req); err != nil {
		t.Errorf("renewal with --start on the renewal date: %v", err)
	}
	req.Start = date(2026, 4, 1)
	if _, err := allocate.Make(f.open(), req); !errors.Is(err, allocate.ErrRequest) {
		t.Errorf("renewal with --start on another date: got %v, want ErrRequest", err)
	}
}

func TestRenewalDropsEndedPeriods(t *testing.T) {
	f := newFixture(t)
	f.redeem(t0.AddDate(0, -1, 0), f.key(f.reseller, "camera", 10, 60))
	sys := site(map[string]int{"camera": 2})
	f.mustAllocate(f.request(sys, 1, t0))
	f.mustAllocate(f.request(sys, 1, t0.AddDate(0, 6, 0)))

	// The first period has ended; the second still runs.
	plan, _ := f.mustAllocate(f.request(sys, 1, t0.AddDate(1, 1, 0)))
	if plan.Sequence != 3 {
		t.Errorf("Sequence = %d, want 3", plan.Sequence)
	}
	if len(plan.Periods) != 2 ||
		!samePeriod(plan.Periods[0], date(2026, 3, 10), date(2027, 3, 10)) ||
		!samePeriod(plan.Periods[1], date(2027, 3, 10), date(2028, 3, 10)) {
		t.Errorf("Periods = %+v, want 2026-03-10 to 2027-03-10 and 2027-03-10 to 2028-03-10", plan.Periods)
	}
	if !plan.Validity.From.Equal(date(2026, 3, 10)) {
		t.Errorf("Validity.From = %s, want the start of the first running period", plan.Validity.From)
	}
}

func TestRenewalHorizon(t *testing.T) {
	f := newFixture(t)
	f.redeem(t0.AddDate(0, -1, 0), f.key(f.reseller, "camera", 10, 60), f.key(f.reseller, "camera", 10, 60))
	sys := site(map[string]int{"camera": 1})

	req := f.request(sys, policy.MaxRenewalYears+1, t0)
	if _, err := allocate.Make(f.open(), req); !errors.Is(err, allocate.ErrRequest) {
		t.Errorf("%d years: got %v, want ErrRequest", req.Years, err)
	}
	// A first allocation starting tomorrow for the maximum reaches one day
	// too far.
	req = f.request(sys, policy.MaxRenewalYears, t0)
	req.Start = t0.AddDate(0, 0, 1)
	if _, err := allocate.Make(f.open(), req); !errors.Is(err, allocate.ErrRequest) {
		t.Errorf("%d years from tomorrow: got %v, want ErrRequest", req.Years, err)
	}
	// The maximum from today is allowed ...
	f.mustAllocate(f.request(sys, policy.MaxRenewalYears, t0))
	// ... and then no renewal fits, not even a year.
	before := f.read()
	if _, _, err := f.allocate(f.request(sys, 1, t0.AddDate(0, 1, 0))); !errors.Is(err, allocate.ErrRequest) {
		t.Errorf("renewal beyond %d years ahead: got %v, want ErrRequest", policy.MaxRenewalYears, err)
	}
	if !bytes.Equal(before, f.read()) {
		t.Errorf("a refused allocation changed the wallet")
	}
	// A year later, one more year fits again.
	if _, err := allocate.Make(f.open(), f.request(sys, 1, t0.AddDate(1, 0, 0))); err != nil {
		t.Errorf("renewal that reaches exactly %d years ahead: %v", policy.MaxRenewalYears, err)
	}
}

func TestRequestValidation(t *testing.T) {
	f := newFixture(t)
	f.redeem(t0, f.key(f.reseller, "camera", 10, 12))
	for name, req := range map[string]allocate.Request{
		"0 years":        f.request(site(map[string]int{"camera": 1}), 0, t0),
		"-1 years":       f.request(site(map[string]int{"camera": 1}), -1, t0),
		"empty need":     f.request(site(map[string]int{}), 1, t0),
		"nil need":       f.request(site(nil), 1, t0),
		"need all zero":  f.request(site(map[string]int{"camera": 0, "intercom": 0}), 1, t0),
		"need, negative": f.request(site(map[string]int{"camera": -3}), 1, t0),
	} {
		if _, err := allocate.Make(f.open(), req); !errors.Is(err, allocate.ErrRequest) {
			t.Errorf("%s: got %v, want ErrRequest", name, err)
		}
	}
}

func TestKeysConsumedOldestRedemptionFirst(t *testing.T) {
	f := newFixture(t)
	// Issued in the opposite order to their redemption: redemption decides.
	newer := f.key(f.reseller, "camera", 10, 12)
	older := f.key(f.direct, "camera", 10, 12)
	f.redeem(t0.AddDate(-2, 0, 0), older)
	f.redeem(t0.AddDate(-1, 0, 0), newer)

	plan, err := allocate.Make(f.open(), f.request(site(map[string]int{"camera": 5}), 1, t0))
	if err != nil {
		t.Fatal(err)
	}
	want := []wallet.KeyFunding{{Key: id(t, older), License: "camera", Months: 60}}
	if !slices.Equal(plan.Taken, want) {
		t.Errorf("need of 60: Taken = %+v, want %+v", plan.Taken, want)
	}

	plan, err = allocate.Make(f.open(), f.request(site(map[string]int{"camera": 15}), 1, t0))
	if err != nil {
		t.Fatal(err)
	}
	want = []wallet.KeyFunding{
		{Key: id(t, older), License: "camera", Months: 120},
		{Key: id(t, newer), License: "camera", Months: 60},
	}
	if !slices.Equal(plan.Taken, want) {
		t.Errorf("need of 180: Taken = %+v, want %+v", plan.Taken, want)
	}

	// What one allocation took is not taken again: a second system gets
	// the rest of the older key first.
	f.mustAllocate(f.request(site(map[string]int{"camera": 5}), 1, t0))
	other := siteOf("site-2", map[string]int{"camera": 10})
	plan, err = allocate.Make(f.open(), f.request(other, 1, t0))
	if err != nil {
		t.Fatal(err)
	}
	want = []wallet.KeyFunding{
		{Key: id(t, older), License: "camera", Months: 60},
		{Key: id(t, newer), License: "camera", Months: 60},
	}
	if !slices.Equal(plan.Taken, want) || plan.Sequence != 1 {
		t.Errorf("second system: Taken = %+v (sequence %d), want %+v (sequence 1)", plan.Taken, plan.Sequence, want)
	}
}

func TestExpiredKeysSkipped(t *testing.T) {
	f := newFixture(t)
	expired := f.keyIssued(f.reseller, "camera", 10, 12, allocate.Day(t0).AddDate(-policy.UnallocatedExpiryYears, 0, -1))
	fresh := f.keyIssued(f.reseller, "camera", 10, 12, allocate.Day(t0).AddDate(-1, 0, 0))
	f.redeem(t0.AddDate(-policy.UnallocatedExpiryYears, 0, -1), expired)
	f.redeem(t0.AddDate(-1, 0, 0), fresh)

	plan, err := allocate.Make(f.open(), f.request(site(map[string]int{"camera": 5}), 1, t0))
	if err != nil {
		t.Fatal(err)
	}
	want := []wallet.KeyFunding{{Key: id(t, fresh), License: "camera", Months: 60}}
	if !slices.Equal(plan.Taken, want) {
		t.Errorf("Taken = %+v, want only the key that has not expired: %+v", plan.Taken, want)
	}

	// The expired key does not count towards what the wallet has.
	_, err = allocate.Make(f.open(), f.request(site(map[string]int{"camera": 15}), 1, t0))
	var ie *allocate.InsufficientError
	if !errors.As(err, &ie) {
		t.Fatalf("need of 180 with 120 unexpired: got %v, want *InsufficientError", err)
	}
	if want := []allocate.Shortfall{{License: "camera", Need: 180, Have: 120, Months: 12}}; !slices.Equal(ie.Missing, want) {
		t.Errorf("Missing = %+v, want %+v", ie.Missing, want)
	}
}

// TestExpiryCountsFromTheIssueDate: a key's unallocated licenses expire
// the policy's years after the key was issued, the date its issuer signed,
// however late it was redeemed: issued five years ago today, it has
// expired; a day later, it has not.
func TestExpiryCountsFromTheIssueDate(t *testing.T) {
	f := newFixture(t)
	day := allocate.Day(t0)
	expired := f.keyIssued(f.reseller, "camera", 10, 12, day.AddDate(-policy.UnallocatedExpiryYears, 0, 0))
	fresh := f.keyIssued(f.reseller, "camera", 10, 12, day.AddDate(-policy.UnallocatedExpiryYears, 0, 1))
	f.redeem(t0.AddDate(0, 0, -2), expired, fresh) // both redeemed two days ago
	w := f.open()
	e, _ := w.Key(id(t, expired))
	if now := t0; now.Before(e.Expires(policy.UnallocatedExpiryYears)) {
		t.Fatalf("key issued %s expires %s, after now %s", e.Key.Issued, e.Expires(policy.UnallocatedExpiryYears), now)
	}
	for _, b := range w.Balances(t0, policy.UnallocatedExpiryYears) {
		if b.License == "camera" && b.Expired != 120 {
			t.Errorf("Balances: %d camera-months expired, want 120", b.Expired)
		}
	}
	plan, err := allocate.Make(w, f.request(site(map[string]int{"camera": 5}), 1, t0))
	if err != nil {
		t.Fatal(err)
	}
	want := []wallet.KeyFunding{{Key: id(t, fresh), License: "camera", Months: 60}}
	if !slices.Equal(plan.Taken, want) {
		t.Errorf("Taken = %+v, want only the key that has not expired: %+v", plan.Taken, want)
	}
}

func TestInsufficient(t *testing.T) {
	f := newFixture(t)
	f.redeem(t0, f.key(f.reseller, "camera", 10, 12), f.key(f.reseller, "intercom", 1, 12))
	before := f.read()
	sys := site(map[string]int{"camera": 20, "intercom": 2, "analytics-l1": 3})
	_, _, err := f.allocate(f.request(sys, 2, t0))
	var ie *allocate.InsufficientError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want *InsufficientError", err)
	}
	want := []allocate.Shortfall{
		{License: "analytics-l1", Need: 72, Have: 0, Months: 24},
		{License: "camera", Need: 480, Have: 120, Months: 24},
		{License: "intercom", Need: 48, Have: 12, Months: 24},
	}
	if !slices.Equal(ie.Missing, want) {
		t.Errorf("Missing = %+v, want %+v", ie.Missing, want)
	}
	msg := err.Error()
	for _, s := range []string{"analytics-l1", "camera", "intercom", "need 480, have 120", "need 48, have 12", "need 72, have 0"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not mention %q", msg, s)
		}
	}
	if !bytes.Equal(before, f.read()) {
		t.Errorf("a refused allocation changed the wallet")
	}

	// A type the wallet covers is not reported missing.
	_, err = allocate.Make(f.open(), f.request(site(map[string]int{"camera": 10, "intercom": 2}), 1, t0))
	if !errors.As(err, &ie) || len(ie.Missing) != 1 || ie.Missing[0].License != "intercom" {
		t.Errorf("got %v, want only intercom missing", err)
	}
}

func TestCompensationFirstAllocation(t *testing.T) {
	need := map[string]int{"camera": 4, "intercom": 2}
	for _, c := range []struct {
		name  string
		start time.Time
		days  int // after the grace period; 0: no credit
	}{
		{"start today", t0, 0},
		{"start within the grace period", t0.AddDate(0, 0, -10), 0},
		{"grace period ends today", t0.AddDate(0, 0, -policy.GraceDays), 0},
		{"grace period ended yesterday", t0.AddDate(0, 0, -policy.GraceDays-1), 1},
		{"start 68 days ago", t0.AddDate(0, 0, -68), 68 - policy.GraceDays},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.redeem(t0.AddDate(0, -1, 0), f.key(f.reseller, "camera", 10, 12), f.key(f.reseller, "intercom", 5, 12))
			req := f.request(site(need), 1, t0)
			req.Start = c.start
			plan, _ := f.mustAllocate(req)
			if !plan.Periods[0].From.Equal(allocate.Day(c.start)) {
				t.Errorf("the subscription moved: from %s, want %s", plan.Periods[0].From, allocate.Day(c.start))
			}
			if c.days == 0 {
				if len(plan.Credits) != 0 {
					t.Errorf("Credits = %+v, want none", plan.Credits)
				}
				return
			}
			if len(plan.Credits) != 2 {
				t.Fatalf("Credits = %+v, want one per license type", plan.Credits)
			}
			got := map[string]int{}
			for _, cr := range plan.Credits {
				got[cr.License] = cr.Days
				if cr.Reason == "" {
					t.Errorf("credit %+v has no reason", cr)
				}
			}
			want := map[string]int{"camera": 4 * c.days, "intercom": 2 * c.days}
			if !maps.Equal(got, want) {
				t.Errorf("credited license-days %v, want %v", got, want)
			}
			// The credit is recorded in the wallet.
			w := f.open()
			if !slices.Equal(w.Credits, plan.Credits) {
				t.Errorf("wallet credits %+v, want %+v", w.Credits, plan.Credits)
			}
			for _, b := range w.Balances(t0, policy.UnallocatedExpiryYears) {
				if b.Kind == "subscription" && b.Credits != want[b.License] {
					t.Errorf("balance %s: %d credit days, want %d", b.License, b.Credits, want[b.License])
				}
			}
		})
	}
}

func TestCompensationRenewal(t *testing.T) {
	need := map[string]int{"camera": 4}
	for _, c := range []struct {
		name string
		now  time.Time
		days int
	}{
		{"renewed on the renewal date", date(2026, 3, 10), 0},
		{"renewed in the grace period", date(2026, 4, 9), 0},
		{"renewed 22 days after the grace period", date(2026, 5, 1), 22},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The first year is paid by a key the wallet held; the renewal
			// by one bought on the day it is allocated: the days between
			// the grace and that day could not be used.
			f := newFixture(t)
			f.redeem(t0.AddDate(0, -1, 0), f.key(f.reseller, "camera", 4, 12))
			f.mustAllocate(f.request(site(need), 1, t0))
			f.redeem(c.now, f.keyIssued(f.reseller, "camera", 4, 12, allocate.Day(c.now)))
			plan, _ := f.mustAllocate(f.request(site(need), 1, c.now))
			if !samePeriod(plan.Periods[len(plan.Periods)-1], date(2026, 3, 10), date(2027, 3, 10)) {
				t.Errorf("the renewal moved the subscription: %+v", plan.Periods)
			}
			var want []wallet.Credit
			if c.days > 0 {
				want = []wallet.Credit{{License: "camera", Days: 4 * c.days}}
			}
			if len(plan.Credits) != len(want) || len(want) > 0 &&
				(plan.Credits[0].License != want[0].License || plan.Credits[0].Days != want[0].Days) {
				t.Errorf("Credits = %+v, want %+v", plan.Credits, want)
			}
		})
	}
}

// TestCompensationNeverExceedsTheAllocation: the credit compensates the
// part of an allocated period that could not be used. It can never be more
// than the period itself, however late the allocation is made.
func TestCompensationNeverExceedsTheAllocation(t *testing.T) {
	need := map[string]int{"camera": 4}
	t.Run("first allocation", func(t *testing.T) {
		f := newFixture(t)
		f.redeem(t0.AddDate(0, -1, 0), f.key(f.reseller, "camera", 10, 12))
		req := f.request(site(need), 1, t0)
		req.Start = t0.AddDate(-2, 0, 0)
		checkCredit(t, f, req)
	})
	t.Run("renewal", func(t *testing.T) {
		f := newFixture(t)
		f.redeem(t0.AddDate(0, -1, 0), f.key(f.reseller, "camera", 10, 24))
		f.mustAllocate(f.request(site(need), 1, t0))
		checkCredit(t, f, f.request(site(need), 1, t0.AddDate(3, 0, 0)))
	})
}

// checkCredit allocates req, which lies entirely in the past, and checks
// that it is refused, or that its credit is no more than the period paid.
func checkCredit(t *testing.T, f *fixture, req allocate.Request) {
	t.Helper()
	plan, err := allocate.Make(f.open(), req)
	if errors.Is(err, allocate.ErrRequest) {
		return // refusing a period that has already ended is fine
	}
	if err != nil {
		t.Fatalf("Make: %v", err)
	}
	last := plan.Periods[len(plan.Periods)-1]
	days := int(last.Until.Sub(last.From).Hours() / 24)
	for _, c := range plan.Credits {
		if limit := last.Quota[c.License] * days; c.Days > limit {
			t.Errorf("period %s to %s (ended before %s): credited %d %s license-days, more than the %d the period holds",
				last.From.Format(time.DateOnly), last.Until.Format(time.DateOnly), req.Now.Format(time.DateOnly), c.Days, c.License, limit)
		}
	}
}

func TestPlanBundle(t *testing.T) {
	f := newFixture(t)
	// Keys through both chains, and an intercom key with a feature.
	f.redeem(t0.AddDate(0, -2, 0), f.key(f.reseller, "camera", 10, 12), f.key(f.reseller, "intercom", 2, 24))
	f.redeem(t0.AddDate(0, -1, 0), f.key(f.direct, "camera", 10, 24))
	sys := site(map[string]int{"camera": 15, "intercom": 2})

	_, doc1 := f.mustAllocate(f.request(sys, 1, t0))
	checkBundle(t, f, doc1, 1)

	plan, doc2 := f.mustAllocate(f.request(sys, 1, t0.AddDate(0, 6, 0)))
	if len(plan.Periods) != 2 {
		t.Fatalf("renewal: %d periods, want 2", len(plan.Periods))
	}
	checkBundle(t, f, doc2, 2)

	// The wallet keeps the signed bundle it recorded.
	w := f.open()
	if a := w.LastAllocation(sys.ID); a == nil || !bytes.Equal(a.Bundle, doc2) || a.Sequence != 2 {
		t.Errorf("the wallet's last allocation does not hold the bundle")
	}
}

// checkBundle opens a sealed bundle and checks it against the wallet: its
// funding covers every period, and its own certificates chain every funding
// key to the root.
func checkBundle(t *testing.T, f *fixture, doc []byte, seq int) {
	t.Helper()
	b, err := bundle.Open(doc)
	if err != nil {
		t.Fatalf("bundle.Open: %v", err)
	}
	w := f.open()
	if b.Sequence != seq || b.System != "site-1" || b.Organization != "Example Housing" || b.WalletID != w.ID {
		t.Errorf("bundle: sequence %d, system %q, organization %q, wallet %s", b.Sequence, b.System, b.Organization, b.WalletID)
	}
	if len(b.Binding.Servers) != 2 || b.Binding.Required != 1 || b.Binding.Servers[0].Name != "nvr-1" {
		t.Errorf("binding: %+v", b.Binding)
	}
	if b.AnalyticsRetentionDays != policy.AnalyticsRetentionDays || b.GrowthAllowancePercent != policy.GrowthAllowancePercent {
		t.Errorf("policy numbers: %d, %d", b.AnalyticsRetentionDays, b.GrowthAllowancePercent)
	}
	if !slices.Equal(b.Features, []string{"mobile-app"}) {
		t.Errorf("features %v, want those of the funding keys", b.Features)
	}

	// Funding covers quota × months of every period, per license type, and
	// takes from no key more than it holds.
	need := map[string]int{}
	for _, p := range b.Periods {
		for lic, q := range p.Quota {
			need[lic] += q * p.Months()
		}
	}
	funded := map[string]int{}
	perKey := map[string]int{}
	keys := map[string]*licensekey.Key{}
	for _, fu := range b.Funding {
		k, err := licensekey.Parse(fu.Key)
		if err != nil {
			t.Fatalf("funding key %q: %v", fu.Key, err)
		}
		keys[k.ID()] = k
		funded[fu.License] += fu.Months
		perKey[k.ID()+" "+fu.License] += fu.Months
		if perKey[k.ID()+" "+fu.License] > k.Capacity(fu.License) {
			t.Errorf("key %s: the bundle takes %d %s license-months, it holds %d", k.ID(), perKey[k.ID()+" "+fu.License], fu.License, k.Capacity(fu.License))
		}
		if _, ok := w.Key(k.ID()); !ok {
			t.Errorf("funding key %s is not in the wallet", k.ID())
		}
		if k.Bearer || k.Wallet != b.WalletID {
			t.Errorf("funding key %s is not issued to the bundle's wallet", k.ID())
		}
	}
	for lic, n := range need {
		if funded[lic] < n {
			t.Errorf("%s: funded %d license-months, the periods need %d", lic, funded[lic], n)
		}
	}

	// The bundle's certificates alone chain every key to the root.
	trust := &cert.Trust{Roots: w.Trust}
	p := cert.NewPool(trust)
	for i, d := range b.Certificates {
		c, err := cert.Parse(d)
		if err != nil {
			t.Fatalf("certificate %d: %v", i+1, err)
		}
		p.Add(c)
	}
	for _, k := range keys {
		chain, err := p.ChainFor(k.Issuer)
		if err != nil {
			t.Errorf("key %s: no chain from the bundle's certificates: %v", k.ID(), err)
			continue
		}
		if err := chain.Authorize(k, trust); err != nil {
			t.Errorf("key %s: %v", k.ID(), err)
		}
	}
	// Each certificate once.
	seen := map[string]bool{}
	for _, d := range b.Certificates {
		if seen[string(d)] {
			t.Errorf("a certificate appears twice in the bundle")
		}
		seen[string(d)] = true
	}
}

func TestPlanNote(t *testing.T) {
	f := newFixture(t)
	f.redeem(t0.AddDate(0, -1, 0), f.key(f.reseller, "camera", 10, 12))
	req := f.request(site(map[string]int{"camera": 4}), 1, t0)
	req.Start = t0.AddDate(0, 0, -40)
	plan, err := allocate.Make(f.open(), req)
	if err != nil {
		t.Fatal(err)
	}
	note := plan.Note()
	for _, s := range []string{"site-1", "camera=4", "2025-01-29", "2026-01-29", "credited 40 camera license-days"} {
		if !strings.Contains(note, s) {
			t.Errorf("note %q does not mention %q", note, s)
		}
	}
}

func TestWalletRefusesOvertaking(t *testing.T) {
	f := newFixture(t)
	k := f.key(f.reseller, "camera", 10, 12) // 120 camera-months
	f.redeem(t0, k)
	kid := id(t, k)
	for name, taken := range map[string][]wallet.KeyFunding{
		"more than the key holds":            {{Key: kid, License: "camera", Months: 121}},
		"more than the key holds, in pieces": {{Key: kid, License: "camera", Months: 100}, {Key: kid, License: "camera", Months: 21}},
		"a type the key does not hold":       {{Key: kid, License: "intercom", Months: 1}},
		"a key never redeemed":               {{Key: "0000000000000000:0000000000000000", License: "camera", Months: 1}},
		"nothing":                            {{Key: kid, License: "camera", Months: 0}},
	} {
		before := f.read()
		_, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
			return w.Allocate(&wallet.Allocation{System: "site-1", BundleID: "b", Sequence: 1, Taken: taken, Bundle: []byte("x\n")}, "note"), nil
		})
		if err == nil {
			t.Errorf("%s: the wallet accepted the allocation", name)
		}
		if !bytes.Equal(before, f.read()) {
			t.Errorf("%s: the wallet file changed", name)
		}
	}

	// Exactly what it holds is fine, and then nothing more.
	all := []wallet.KeyFunding{{Key: kid, License: "camera", Months: 120}}
	if _, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		return w.Allocate(&wallet.Allocation{System: "site-1", BundleID: "b", Sequence: 1, Taken: all, Bundle: []byte("x\n")}, "note"), nil
	}); err != nil {
		t.Fatalf("taking all of a key: %v", err)
	}
	one := []wallet.KeyFunding{{Key: kid, License: "camera", Months: 1}}
	if _, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		return w.Allocate(&wallet.Allocation{System: "site-2", BundleID: "c", Sequence: 1, Taken: one, Bundle: []byte("x\n")}, "note"), nil
	}); err == nil {
		t.Errorf("taking from a used-up key: accepted")
	}
	if e, _ := f.open().Key(kid); e.Available("camera") != 0 {
		t.Errorf("available after taking all: %d", e.Available("camera"))
	}
}

// A subscription that starts on 29 February runs whole years to 28
// February: twelve months a year, not a thirteenth for the day AddDate
// would carry into March.
func TestLeapDayStart(t *testing.T) {
	f := newFixture(t)
	now := date(2028, 2, 29)
	f.redeem(now.AddDate(0, 0, -1), f.keyIssued(f.reseller, "camera", 10, 24, date(2028, 2, 1)))
	for years, until := range map[int]time.Time{1: date(2029, 2, 28), 2: date(2030, 2, 28)} {
		plan, err := allocate.Make(f.open(), f.request(site(map[string]int{"camera": 9}), years, now))
		if err != nil {
			t.Fatalf("%d years: %v", years, err)
		}
		p := plan.Periods[0]
		months := bundle.Period{From: p.From, Until: p.Until}.Months()
		if !p.Until.Equal(until) || months != 12*years {
			t.Errorf("%d years from 2028-02-29: until %s, %d months; want %s, %d", years, p.Until.Format(time.DateOnly), months, until.Format(time.DateOnly), 12*years)
		}
	}
}
