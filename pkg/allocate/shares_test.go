package allocate_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allocate"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/wallet"
)

// floatingSite is a floating system of three servers: cameras bound 4, 2
// and 0, one intercom on nvr-2, line crossing (level 1) on two cameras of
// nvr-1 and one of nvr-2, face recognition (level 3) on a camera of nvr-2.
func floatingSite(need map[string]int) *system.System {
	h := func(v string) string { return hwid.Hash("site-f", hwid.Identifier{Kind: hwid.MachineID, Value: v}) }
	sys := &system.System{ID: "site-f", Organization: "Example Housing", Floating: true,
		Binding: system.Binding{Required: 1}, Need: need}
	for _, n := range []string{"nvr-1", "nvr-2", "nvr-3"} {
		sys.Servers = append(sys.Servers, system.Server{Name: n, Identifiers: []string{h(n)}})
	}
	for i, srv := range []string{"nvr-1", "nvr-1", "nvr-1", "nvr-1", "nvr-2", "nvr-2"} {
		sys.Devices = append(sys.Devices, system.Device{Serial: fmt.Sprintf("CAM-%d", i+1), Model: "P3265", Type: system.Camera, Server: srv})
	}
	sys.Devices = append(sys.Devices, system.Device{Serial: "DOOR-1", Model: "AA-12", Type: system.Intercom, Server: "nvr-2"})
	sys.Analytics = []system.Assignment{
		{Type: "line-crossing", Cameras: []string{"CAM-1", "CAM-2", "CAM-5"}},
		{Type: "face-recognition", Cameras: []string{"CAM-6"}},
	}
	return sys
}

// sign runs an allocation or rebalance as the commands do, Plan.Sign and
// its device-side check of the bundle included.
func (f *fixture) sign(req allocate.Request, plan func(*wallet.Wallet, allocate.Request) (*allocate.Plan, error)) (*bundle.Bundle, error) {
	f.t.Helper()
	var doc []byte
	_, err := wallet.Update(f.path, req.Now, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		p, err := plan(w, req)
		if err != nil {
			return nil, err
		}
		var ch *wallet.Change
		doc, ch, err = p.Sign(w, f.wallet)
		return ch, err
	})
	if err != nil {
		return nil, err
	}
	return bundle.Open(doc)
}

// quotas returns the shares of period n as "server:camera/intercom/analytics-l1/analytics-l4".
func quotas(b *bundle.Bundle, n int) []string {
	var out []string
	for _, s := range b.Shares {
		if s.Period == n {
			q := s.Quota
			out = append(out, fmt.Sprintf("%s:%d/%d/%d/%d", s.Server, q["camera"], q["intercom"], q["analytics-l1"], q["analytics-l4"]))
		}
	}
	return out
}

// early issues a key of qty licenses of lic for two years, before t0.
func (f *fixture) early(lic string, qty int) string {
	return f.keyIssued(f.reseller, lic, qty, 24, date(2025, 1, 1))
}

func TestApportion(t *testing.T) {
	for _, c := range []struct {
		q       int
		weights []int64
		want    []int64
	}{
		{10, []int64{4, 2, 0}, []int64{6, 3, 1}}, // what is bound, and 4 more evenly
		{6, []int64{4, 2, 0}, []int64{4, 2, 0}},
		{3, []int64{4, 2, 0}, []int64{2, 1, 0}}, // in proportion: 2, 1, 0
		{5, []int64{4, 2, 0}, []int64{3, 2, 0}}, // 3.33 and 1.67: the one left to the larger remainder
		{4, []int64{1, 1, 1}, []int64{2, 1, 1}}, // the first server first among equals
		{5, []int64{0, 0, 0}, []int64{2, 2, 1}}, // nothing bound: evenly
		{0, []int64{4, 2, 0}, []int64{0, 0, 0}},
		{100_000_000, []int64{1_000_000, 1, 1}, []int64{34_000_000, 33_000_000, 33_000_000}},
		{7, []int64{1_000_000, 1, 1}, []int64{7, 0, 0}},
	} {
		got := allocate.Apportion(int64(c.q), c.weights)
		if !slices.Equal(got, c.want) {
			t.Errorf("apportion(%d, %v) = %v, want %v", c.q, c.weights, got, c.want)
		}
	}
}

// A floating system's bundle divides every period's pool among its
// servers by where the devices are bound, and a device accepts it.
func TestFloatingShares(t *testing.T) {
	f := newFixture(t)
	f.redeem(t0, f.early("camera", 100), f.early("intercom", 10),
		f.early("analytics-l1", 10))
	need := map[string]int{"camera": 10, "intercom": 1, "analytics-l1": 2}
	b, err := f.sign(f.request(floatingSite(need), 1, t0), allocate.Make)
	if err != nil {
		t.Fatal(err)
	}
	// Cameras: 4 and 2 bound, the 4 more spread evenly. The intercom where
	// it is. Line crossing: 2 assignments on nvr-1, 1 on nvr-2, and a pool
	// of 2: in proportion, 1.33 and 0.67, the larger remainder to nvr-2.
	want := []string{"nvr-1:6/0/1/0", "nvr-2:3/1/1/0", "nvr-3:1/0/0/0"}
	if got := quotas(b, 1); !slices.Equal(got, want) {
		t.Errorf("shares %v, want %v", got, want)
	}
	// Only the types a usage file reports per server are divided.
	for _, s := range b.Shares {
		if k := slices.Sorted(maps.Keys(s.Quota)); !slices.Equal(k, []string{"analytics-l1", "camera", "intercom"}) {
			t.Errorf("%s: share of %v", s.Server, k)
		}
	}

	// A system that is not floating has no shares.
	other := siteOf("site-2", map[string]int{"camera": 5})
	b2, err := f.sign(f.request(other, 1, t0), allocate.Make)
	if err != nil || b2.Shared() {
		t.Errorf("a system of two servers, not floating: %v, shares %v", err, b2.Shares)
	}
}

// Level 4 licenses every analytics type: it goes to the servers whose
// assignments their own level 1 to 3 shares leave uncovered.
func TestFloatingSharesLevel4(t *testing.T) {
	f := newFixture(t)
	f.redeem(t0, f.early("camera", 100), f.early("analytics-l4", 10))
	b, err := f.sign(f.request(floatingSite(map[string]int{"camera": 6, "analytics-l4": 3}), 1, t0), allocate.Make)
	if err != nil {
		t.Fatal(err)
	}
	// nvr-1 needs 2, nvr-2 needs 2 (a level 1 and a level 3), nvr-3
	// nothing: 3 in proportion, 1.5 each, the first first.
	want := []string{"nvr-1:4/0/0/2", "nvr-2:2/0/0/1", "nvr-3:0/0/0/0"}
	if got := quotas(b, 1); !slices.Equal(got, want) {
		t.Errorf("shares %v, want %v", got, want)
	}
}

// A rebalance writes the next bundle with the devices where they are now:
// the same periods, quotas and funding, nothing taken from any key.
func TestRebalance(t *testing.T) {
	f := newFixture(t)
	f.redeem(t0, f.early("camera", 100))
	sys := floatingSite(map[string]int{"camera": 6})
	sys.Analytics = nil
	if _, err := f.sign(f.request(sys, 1, t0), allocate.Rebalance); !errors.Is(err, allocate.ErrRequest) ||
		!strings.Contains(err.Error(), "no bundle to rebalance") {
		t.Errorf("rebalance before any allocation: %v", err)
	}
	b1, err := f.sign(f.request(sys, 1, t0), allocate.Make)
	if err != nil {
		t.Fatal(err)
	}
	if got := quotas(b1, 1); !slices.Equal(got, []string{"nvr-1:4/0/0/0", "nvr-2:2/0/0/0", "nvr-3:0/0/0/0"}) {
		t.Fatalf("shares %v", got)
	}
	before := f.open()

	// Two cameras move from nvr-1 to nvr-3.
	sys.Devices[2].Server, sys.Devices[3].Server = "nvr-3", "nvr-3"
	later := t0.AddDate(0, 2, 0)
	req := f.request(sys, 0, later)
	b2, err := f.sign(req, allocate.Rebalance)
	if err != nil {
		t.Fatal(err)
	}
	if got := quotas(b2, 1); !slices.Equal(got, []string{"nvr-1:2/0/0/0", "nvr-2:2/0/0/0", "nvr-3:2/0/0/0"}) {
		t.Errorf("rebalanced shares %v", got)
	}
	if b2.Sequence != b1.Sequence+1 || !slices.EqualFunc(b1.Periods, b2.Periods, equalPeriod) ||
		!slices.Equal(b1.Funding, b2.Funding) || !b2.Validity.Until.Equal(b1.Validity.Until) {
		t.Errorf("rebalanced bundle: sequence %d, periods %v, funding %v", b2.Sequence, b2.Periods, b2.Funding)
	}
	after := f.open()
	if !slices.Equal(before.Balances(later, 5), after.Balances(later, 5)) {
		t.Errorf("balances changed: %v, then %v", before.Balances(later, 5), after.Balances(later, 5))
	}
	if ev := after.History[len(after.History)-1]; ev.Op != "rebalance" || !strings.HasPrefix(ev.Note, "rebalanced bundle 2 of system site-f") {
		t.Errorf("history: %+v", ev)
	}
	// A renewal carries on from the rebalanced bundle.
	b3, err := f.sign(f.request(sys, 1, later), allocate.Make)
	if err != nil || b3.Sequence != 3 || len(b3.Periods) != 2 {
		t.Fatalf("renewal after a rebalance: %v", err)
	}
	// After the grace period there is nothing left to rebalance.
	end := b3.Validity.GraceUntil
	if _, err := f.sign(f.request(sys, 0, end), allocate.Rebalance); !errors.Is(err, allocate.ErrRequest) ||
		!strings.Contains(err.Error(), "renew it") {
		t.Errorf("rebalance after the grace period: %v", err)
	}
}

func equalPeriod(a, b bundle.Period) bool {
	return a.From.Equal(b.From) && a.Until.Equal(b.Until) && maps.Equal(a.Quota, b.Quota)
}

// A server is licensed by one system at a time: a system with a server
// of another system's bundle is refused until that bundle's grace ends.
func TestServerInTwoSystems(t *testing.T) {
	f := newFixture(t)
	f.redeem(t0, f.early("camera", 100))
	first, err := f.sign(f.request(site(map[string]int{"camera": 2}), 1, t0), allocate.Make)
	if err != nil {
		t.Fatal(err)
	}
	second := siteOf("site-2", map[string]int{"camera": 2})
	second.Servers[1] = site(nil).Servers[1] // nvr-2's entry, copied from site-1
	before := f.read()
	_, err = f.sign(f.request(second, 1, t0), allocate.Make)
	if !errors.Is(err, allocate.ErrRequest) || !strings.Contains(err.Error(),
		"server nvr-2 of system site-2 has identifier "+second.Servers[1].Identifiers[0]+" of server nvr-2 of system site-1, which bundle 1 of this wallet licenses until") {
		t.Errorf("a server of another system: %v", err)
	}
	if string(f.read()) != string(before) {
		t.Error("the refusal changed the wallet")
	}
	// Rebalancing site-1 may keep its own servers; once its grace ended,
	// the server may serve site-2.
	if _, err := f.sign(f.request(site(map[string]int{"camera": 2}), 0, t0.Add(time.Hour)), allocate.Rebalance); err != nil {
		t.Errorf("rebalance of the system itself: %v", err)
	}
	if _, err := f.sign(f.request(second, 1, first.Validity.GraceUntil), allocate.Make); err != nil {
		t.Errorf("after the other system's grace: %v", err)
	}
}

// A bundle holds at most bundle.MaxShares shares: a floating system of
// more servers than periods allow is refused as a request, not as a bug.
func TestFloatingSharesBound(t *testing.T) {
	f := newFixture(t)
	f.redeem(t0, f.early("camera", 1000))
	sys := floatingSite(map[string]int{"camera": 1})
	sys.Analytics = nil
	h := func(v string) string { return hwid.Hash("site-f", hwid.Identifier{Kind: hwid.MachineID, Value: v}) }
	for i := len(sys.Servers); i <= bundle.MaxShares; i++ {
		sys.Servers = append(sys.Servers, system.Server{Name: fmt.Sprintf("nvr-%d", i+1), Identifiers: []string{h(fmt.Sprint(i))}})
	}
	before := f.read()
	_, err := f.sign(f.request(sys, 1, t0), allocate.Make)
	if !errors.Is(err, allocate.ErrRequest) || !strings.Contains(err.Error(), "4097 shares, and a bundle holds 4096 at most") {
		t.Errorf("%d servers: %v", len(sys.Servers), err)
	}
	if string(f.read()) != string(before) {
		t.Error("the refusal changed the wallet")
	}
}
