package allocate_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"allot.dev/allot/pkg/allocate"
	"allot.dev/allot/pkg/wallet"
)

// A product added mid-term: the running periods' quotas rise to the current
// need, dates stay, each added license is paid for its whole period, and
// the days already past are credited.
func TestTopUp(t *testing.T) {
	f := newFixture(t)
	k := f.key(f.reseller, "camera", 10, 60)
	f.redeem(t0.AddDate(0, -1, 0), k)
	f.mustAllocate(f.request(site(map[string]int{"camera": 2}), 2, t0))

	// 100 days into the first year, 3 more cameras.
	now := t0.AddDate(0, 0, 100)
	req := f.request(site(map[string]int{"camera": 5}), 0, now)
	req.TopUp = true
	plan, doc := f.mustAllocate(req)
	if plan.Sequence != 2 {
		t.Errorf("Sequence = %d, want 2", plan.Sequence)
	}
	if len(plan.Periods) != 1 || !samePeriod(plan.Periods[0], date(2025, 3, 10), date(2027, 3, 10)) {
		t.Fatalf("Periods = %+v, want the running 2025-03-10 to 2027-03-10, dates unchanged", plan.Periods)
	}
	if q := plan.Periods[0].Quota["camera"]; q != 5 {
		t.Errorf("camera quota %d, want 5", q)
	}
	// 3 cameras × 24 months taken now; the period's funding keeps the first
	// allocation's 2 × 24 and adds these.
	want := []wallet.KeyFunding{{Key: id(t, k), License: "camera", Months: 72}}
	if !slices.Equal(plan.Taken, want) {
		t.Errorf("Taken = %+v, want %+v", plan.Taken, want)
	}
	if got := plan.Periods[0].Funding; len(got) != 2 || got[0].Months != 48 || got[1].Months != 72 {
		t.Errorf("period funding = %+v, want the first 48 and the added 72 license-months", got)
	}
	// The added cameras are paid from the period's start; they could not
	// be used from the end of its 30-day grace (2025-04-09) until the key
	// paying for them was bought (2025-06-01): 53 days.
	if len(plan.Credits) != 1 || plan.Credits[0].License != "camera" || plan.Credits[0].Days != 3*53 {
		t.Errorf("Credits = %+v, want 159 camera license-days (3 cameras × 53 days)", plan.Credits)
	}
	if !strings.Contains(plan.Credits[0].Reason, "mid-term") {
		t.Errorf("credit reason %q", plan.Credits[0].Reason)
	}
	if len(doc) == 0 {
		t.Error("no bundle")
	}
	w := f.open()
	if e, _ := w.Key(id(t, k)); e.Available("camera") != 600-48-72 {
		t.Errorf("the key has %d license-months left, want %d", e.Available("camera"), 600-48-72)
	}
	// The first allocation's record is untouched by the copy the plan made.
	if q := w.Allocations[0].Periods[0].Quota["camera"]; q != 2 {
		t.Errorf("the first allocation's quota changed to %d", q)
	}
}

func TestTopUpRefusals(t *testing.T) {
	f := newFixture(t)
	f.redeem(t0.AddDate(0, -1, 0), f.key(f.reseller, "camera", 10, 60))
	sys := site(map[string]int{"camera": 2})
	topUp := func(now int, years int, need int) error {
		req := f.request(site(map[string]int{"camera": need}), years, t0.AddDate(0, 0, now))
		req.TopUp = true
		_, err := allocate.Make(f.open(), req)
		return err
	}
	if err := topUp(0, 0, 3); !errors.Is(err, allocate.ErrRequest) || !strings.Contains(err.Error(), "no subscription") {
		t.Errorf("no subscription yet: %v", err)
	}
	f.mustAllocate(f.request(sys, 1, t0))
	if err := topUp(10, 1, 3); !errors.Is(err, allocate.ErrRequest) {
		t.Errorf("top-up with years: %v", err)
	}
	if err := topUp(10, 0, 2); !errors.Is(err, allocate.ErrRequest) || !strings.Contains(err.Error(), "already has its need") {
		t.Errorf("nothing to add: %v", err)
	}
	if err := topUp(400, 0, 3); !errors.Is(err, allocate.ErrRequest) || !strings.Contains(err.Error(), "has ended") {
		t.Errorf("after the subscription ended: %v", err)
	}
	var short *allocate.InsufficientError
	if err := topUp(10, 0, 100); !errors.As(err, &short) {
		t.Errorf("more than the wallet holds: %v", err)
	}
}
