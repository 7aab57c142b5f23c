package allocate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allocate"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/wallet"
)

// kindKey issues a key of any kind through the reseller, to the wallet.
func (f *fixture) kindKey(kind licensekey.Kind, device, lic string, qty, months int, issued time.Time) string {
	f.t.Helper()
	k := &licensekey.Key{Kind: kind, Issued: issued, TermMonths: months, Product: "vms", Device: device,
		Licenses: []licensekey.License{{Type: lic, Quantity: qty}}, Wallet: f.walletID}
	text, err := k.Sign(f.reseller.priv, f.rng)
	if err != nil {
		f.t.Fatalf("Sign: %v", err)
	}
	return text
}

// signPlan plans with makePlan and signs as `allot allocate` does: Plan.Sign
// checks the bundle as a device checks its authority before it is kept.
func (f *fixture) signPlan(now time.Time, makePlan func(*wallet.Wallet) (*allocate.Plan, error)) (*allocate.Plan, *bundle.Bundle, error) {
	f.t.Helper()
	var plan *allocate.Plan
	var doc []byte
	_, err := wallet.Update(f.path, now, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		var err error
		if plan, err = makePlan(w); err != nil {
			return nil, err
		}
		var ch *wallet.Change
		doc, ch, err = plan.Sign(w, f.wallet)
		return ch, err
	})
	if err != nil {
		return nil, nil, err
	}
	b, err := bundle.Open(doc)
	if err != nil {
		f.t.Fatal(err)
	}
	return plan, b, nil
}

func (f *fixture) mustSign(now time.Time, makePlan func(*wallet.Wallet) (*allocate.Plan, error)) (*allocate.Plan, *bundle.Bundle) {
	f.t.Helper()
	plan, b, err := f.signPlan(now, makePlan)
	if err != nil {
		f.t.Fatalf("sign: %v", err)
	}
	return plan, b
}

func makeReq(req allocate.Request) func(*wallet.Wallet) (*allocate.Plan, error) {
	return func(w *wallet.Wallet) (*allocate.Plan, error) { return allocate.Make(w, req) }
}

// The first-day grace, an allocation after it, and the credit that allocation
// earns and the renewal spends, each bundle checked as a device checks it.
func TestStartLateCreditSpent(t *testing.T) {
	f := newFixture(t)
	sys := site(map[string]int{"camera": 3})
	start := date(2025, 3, 10)

	// Day one: a bundle with no period, in the grace until 2025-04-09.
	req := f.request(sys, 0, t0)
	plan, b := f.mustSign(t0, func(w *wallet.Wallet) (*allocate.Plan, error) { return allocate.Start(w, req) })
	if !b.Start() || !b.Validity.From.Equal(start) || !b.Validity.GraceUntil.Equal(date(2025, 4, 9)) || plan.Sequence != 1 {
		t.Fatalf("start bundle: validity %+v, sequence %d", b.Validity, plan.Sequence)
	}
	if _, _, err := f.signPlan(t0, func(w *wallet.Wallet) (*allocate.Plan, error) { return allocate.Start(w, req) }); !errors.Is(err, allocate.ErrRequest) {
		t.Errorf("a second start: %v", err)
	}

	// The licenses are bought on 2025-05-01, 22 days after the grace: the
	// subscription still runs from its first day, and 3 cameras × 22 days
	// are credited.
	bought := date(2025, 5, 1)
	f.redeem(bought, f.keyIssued(f.reseller, "camera", 3, 12, bought))
	plan, b = f.mustSign(bought, makeReq(f.request(sys, 1, bought)))
	if !b.Validity.From.Equal(start) || plan.Sequence != 2 {
		t.Errorf("first allocation from %s, sequence %d; want the start day and 2", b.Validity.From, plan.Sequence)
	}
	if len(plan.Credits) != 1 || plan.Credits[0].Days != 66 || plan.Credits[0].Months != 36 {
		t.Fatalf("credits %+v, want 66 camera license-days from 36 license-months", plan.Credits)
	}

	// The renewal, allocated ahead, spends the credit before any key: 66
	// license-days pay 2 license-months (61 days of 2026-03-10 to
	// 2027-03-10); a key of 34 pays the rest.
	f.redeem(bought, f.keyIssued(f.reseller, "camera", 3, 12, bought))
	plan, b = f.mustSign(date(2026, 1, 10), makeReq(f.request(sys, 1, date(2026, 1, 10))))
	if len(plan.Spent) != 1 || plan.Spent[0].Days != 61 || plan.Spent[0].Credit != 1 {
		t.Fatalf("spent %+v, want 61 days of credit 1", plan.Spent)
	}
	if len(b.Credits) != 1 || b.Credits[0].Period != 2 || b.Credits[0].Days != 61 || b.Credits[0].Months != 36 {
		t.Errorf("bundle credits %+v", b.Credits)
	}
	var taken int
	for _, k := range plan.Taken {
		taken += k.Months
	}
	if taken != 34 {
		t.Errorf("keys paid %d license-months, want 34", taken)
	}
	w := f.open()
	cb := w.CreditBalances(date(2026, 1, 10), policy.UnallocatedExpiryYears)
	if len(cb) != 1 || cb[0].Spent != 61 || cb[0].Left != 5 || !cb[0].Expires.Equal(date(2030, 5, 1)) {
		t.Errorf("credit balance %+v: 5 days left, expiring with its key", cb)
	}

	// What is left is never spent twice: the next renewal (a key of its
	// own) spends nothing, since 5 days are not worth a license-month.
	f.redeem(date(2026, 1, 10), f.keyIssued(f.reseller, "camera", 3, 12, date(2026, 1, 10)))
	plan, _ = f.mustSign(date(2026, 1, 11), makeReq(f.request(sys, 1, date(2026, 1, 11))))
	if len(plan.Spent) != 0 {
		t.Errorf("spent %+v of 5 days", plan.Spent)
	}
}

// The wallet refuses an allocation record that spends more credit than is
// left, or credit no key proves: a credit is never negative.
func TestCreditNeverOverspent(t *testing.T) {
	f := newFixture(t)
	k := f.keyIssued(f.reseller, "camera", 3, 12, date(2025, 5, 1))
	f.redeem(t0, k)
	credit := wallet.Credit{License: "camera", Days: 10, Reason: "late", Key: id(t, k), Months: 36, From: date(2025, 3, 10), Until: date(2026, 3, 10)}
	record := func(spent []wallet.CreditUse, credits ...wallet.Credit) error {
		_, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
			return w.Allocate(&wallet.Allocation{System: "site-1", BundleID: "b", Sequence: 1, Credits: credits, Spent: spent, Bundle: []byte("b\n")}, "x"), nil
		})
		return err
	}
	if err := record(nil, credit, wallet.Credit{License: "camera", Days: 10, Reason: "old"}); err != nil {
		t.Fatal(err)
	}
	before := f.read()
	for _, c := range []struct {
		spent []wallet.CreditUse
		says  string
	}{
		{[]wallet.CreditUse{{Credit: 1, Days: 11}}, "which has 10 left"},
		{[]wallet.CreditUse{{Credit: 1, Days: 6}, {Credit: 1, Days: 5}}, "which has 4 left"},
		{[]wallet.CreditUse{{Credit: 2, Days: 1}}, "names no key"},
		{[]wallet.CreditUse{{Credit: 3, Days: 1}}, "the wallet has 2"},
		{[]wallet.CreditUse{{Credit: 1, Days: 0}}, "which has 10 left"},
	} {
		if err := record(c.spent); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("spending %+v: %v, want %q", c.spent, err, c.says)
		}
		if string(f.read()) != string(before) {
			t.Fatal("a refused record changed the wallet")
		}
	}
}

// A camera that came with its own license: the bundle carries the hardware
// license and its expansion, and the subscription pays for the rest of the
// need.
func TestHardwareLicenses(t *testing.T) {
	f := newFixture(t)
	sys := site(map[string]int{"camera": 3, "analytics-l1": 1})
	sys.Devices = []system.Device{{Serial: "CAM-1", Model: "P", Type: "camera", Server: "nvr-1"},
		{Serial: "CAM-7", Model: "Q", Type: "camera", Server: "nvr-1"}}
	f.redeem(t0, f.keyIssued(f.reseller, "camera", 10, 12, date(2025, 1, 1)), f.keyIssued(f.reseller, "analytics-l1", 1, 12, date(2025, 1, 1)))

	// An expansion without its hardware license is refused, naming the
	// serial.
	exp := f.kindKey(licensekey.Expansion, "CAM-7", "analytics-l1", 1, 0, date(2025, 1, 1))
	f.redeem(t0, exp)
	if _, _, err := f.signPlan(t0, makeReq(f.request(sys, 1, t0))); !errors.Is(err, wallet.ErrHardware) || !strings.Contains(err.Error(), "device CAM-7: the wallet holds no hardware license for CAM-7") {
		t.Fatalf("expansion alone: %v", err)
	}
	f.redeem(t0, f.kindKey(licensekey.Hardware, "CAM-7", "camera", 1, 0, date(2025, 1, 1)))
	plan, b := f.mustSign(t0, makeReq(f.request(sys, 1, t0)))
	if len(b.Hardware) != 1 || b.Hardware[0].Device != "CAM-7" || len(b.Hardware[0].Expansions) != 1 {
		t.Fatalf("hardware %+v", b.Hardware)
	}
	// CAM-7's license holds a camera and an analytics-l1: the subscription
	// pays for 2 cameras and no analytics.
	if q := plan.Periods[0].Quota; q["camera"] != 2 || q["analytics-l1"] != 0 {
		t.Errorf("quota %v, want camera=2 and no analytics-l1", q)
	}
	// The license belongs to this system now.
	other := site(map[string]int{"camera": 1})
	other.ID = "site-2"
	other.Servers = []system.Server{{Name: "nvr-9", Identifiers: []string{hwid.Hash("site-2", hwid.Identifier{Kind: hwid.MachineID, Value: "nine"})}}}
	other.Devices = []system.Device{{Serial: "CAM-7", Model: "Q", Type: "camera", Server: "nvr-9"}}
	if _, _, err := f.signPlan(t0, makeReq(f.request(other, 1, t0))); !errors.Is(err, wallet.ErrHardware) || !strings.Contains(err.Error(), "allocated to system site-1") {
		t.Errorf("the same device in another system: %v", err)
	}
}

func TestRegister(t *testing.T) {
	f := newFixture(t)
	hw := f.kindKey(licensekey.Hardware, "CAM-7", "camera", 1, 0, date(2025, 1, 1))
	exp := f.kindKey(licensekey.Expansion, "CAM-7", "analytics-l1", 1, 0, date(2025, 1, 1))
	lost := f.kindKey(licensekey.Hardware, "CAM-9", "camera", 1, 0, date(2025, 1, 1))
	sub := f.key(f.reseller, "camera", 1, 12)
	devices := func(s string) bool { return s == "CAM-7" }
	register := func(texts ...string) error {
		var in []wallet.Input
		for i, s := range texts {
			in = append(in, wallet.Input{Where: "argument " + string(rune('1'+i)), Text: s})
		}
		_, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
			ch, _, err := w.Register(in, wallet.RedeemOptions{Certs: f.reseller.chain, Trust: w.TrustFor(nil)}, "site-1", devices)
			return ch, err
		})
		return err
	}
	before := f.read()
	for _, c := range []struct {
		keys []string
		says string
	}{
		{[]string{exp}, "argument 1: hardware license: expansion key"},
		{[]string{lost}, "tied to device CAM-9, which system site-1 does not list"},
		{[]string{sub}, "is a subscription key, not a hardware or expansion key"},
	} {
		if err := register(c.keys...); !errors.Is(err, wallet.ErrHardware) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%v, want %q", err, c.says)
		}
		if string(f.read()) != string(before) {
			t.Fatal("a refused registration changed the wallet")
		}
	}
	// The hardware key and its expansion in one batch.
	if err := register(hw, exp); err != nil {
		t.Fatal(err)
	}
	if n := len(f.open().Keys); n != 2 {
		t.Errorf("%d keys, want 2", n)
	}
}

// A trial: one per system, the key's term, no grace; the subscription
// bought after it starts that day.
func TestTrial(t *testing.T) {
	f := newFixture(t)
	sys := site(map[string]int{"camera": 5})
	f.redeem(t0, f.kindKey(licensekey.Trial, "", "camera", 4, 1, allocate.Day(t0)), f.kindKey(licensekey.Trial, "", "camera", 4, 1, allocate.Day(t0)))
	req := f.request(sys, 0, t0)
	req.Trial = true
	plan, b := f.mustSign(t0, makeReq(req))
	if !plan.Periods[0].Trial || plan.Periods[0].Quota["camera"] != 4 || !b.Validity.GraceUntil.Equal(date(2025, 4, 10)) || !b.Validity.Until.Equal(date(2025, 4, 10)) {
		t.Fatalf("trial period %+v, validity %+v", plan.Periods[0], b.Validity)
	}
	if _, _, err := f.signPlan(t0, makeReq(req)); !errors.Is(err, allocate.ErrRequest) || !strings.Contains(err.Error(), "a trial runs once per system") {
		t.Errorf("a second trial: %v", err)
	}
	// Bought after the trial ended: a subscription from that day.
	later := date(2025, 5, 2)
	f.redeem(later, f.keyIssued(f.reseller, "camera", 5, 12, later))
	plan, b = f.mustSign(later, makeReq(f.request(sys, 1, later)))
	if len(plan.Periods) != 1 || !plan.Periods[0].From.Equal(later) || len(plan.Credits) != 0 {
		t.Errorf("after the trial: %+v, credits %+v", plan.Periods, plan.Credits)
	}
	_ = b
}

func TestPreview(t *testing.T) {
	f := newFixture(t)
	sys := site(map[string]int{"camera": 10})
	f.redeem(t0, f.key(f.reseller, "camera", 10, 12), f.key(f.reseller, "camera", 5, 12))
	before := f.read()
	pv, err := allocate.PreviewMake(f.open(), f.request(sys, 2, t0))
	if err != nil {
		t.Fatal(err)
	}
	if len(pv.Years) != 2 || pv.Renewal {
		t.Fatalf("preview %+v", pv)
	}
	y1, y2 := pv.Years[0].Needs[0], pv.Years[1].Needs[0]
	if y1.Need != 120 || y1.Keys != 120 || y1.Missing != 0 || y2.Keys != 60 || y2.Missing != 60 || y2.MissingLicenses != 5 {
		t.Errorf("year 1 %+v, year 2 %+v", y1, y2)
	}
	if string(f.read()) != string(before) {
		t.Error("a preview changed the wallet")
	}
}
