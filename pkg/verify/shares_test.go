package verify_test

import (
	"fmt"
	"strings"
	"testing"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/verify"
)

// machineIDs returns the hashed identifiers of fixture machine n.
func machineIDs(n int) []string {
	id := func(kind string) string { return fmt.Sprintf("%s:%032x", kind, n) }
	return []string{id("machine-id"), id("product-uuid"), id("mac")}
}

// floating returns the typical bundle's 25 cameras as the pool of three
// servers, bound to fixture machines 1 to 3, with the shares given (the
// cameras of nvr-1, nvr-2 and nvr-3), or none if shares is nil.
func floating(w *world, shares []int) *bundle.Bundle {
	b := clone(w.b)
	b.Binding = bundle.Binding{Required: 2}
	for n := 1; n <= 3; n++ {
		b.Binding.Servers = append(b.Binding.Servers, bundle.Server{Name: fmt.Sprintf("nvr-%d", n), Identifiers: machineIDs(n)})
	}
	for i, c := range shares {
		b.Shares = append(b.Shares, bundle.Share{Period: 1, Server: fmt.Sprintf("nvr-%d", i+1), Quota: map[string]int{"camera": c}})
	}
	return b
}

// on returns opts for verifying on fixture machine n with usage u.
func on(opts verify.Options, n int, u *verify.Usage) verify.Options {
	opts.Machines = func(string) ([]verify.Machine, error) {
		return []verify.Machine{{Name: "this machine", Identifiers: machineIDs(n)}}, nil
	}
	opts.Usage = u
	return opts
}

// usage returns a usage file of the fixture system reporting the cameras
// of the servers given as name=count.
func usage(w *world, servers ...string) *verify.Usage {
	u := &verify.Usage{System: w.b.System}
	for _, s := range servers {
		name, n, _ := strings.Cut(s, "=")
		var c int
		fmt.Sscan(n, &c)
		u.Servers = append(u.Servers, verify.ServerUsage{Name: name, Cameras: c})
	}
	return u
}

// The wallet writes the shares; the pool bounds them: the shares of a
// period add up to no more than its quota, which the keys fund.
func TestWalletSharesBoundedByPool(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	if r := w.reseal(t, wk, floating(w, []int{10, 10, 5}), on(w.opts, 1, nil)); r.Err != nil {
		t.Fatalf("shares adding up to the pool: %v", r.Err)
	}
	expectClass(t, w.reseal(t, wk, floating(w, []int{10, 10, 6}), w.opts), verify.ErrTrust,
		"the servers' shares of camera add up to 26, the period's quota is 25")
	// Each server its whole pool: the N-pools attack, in shares.
	expectClass(t, w.reseal(t, wk, floating(w, []int{25, 25, 25}), w.opts), verify.ErrTrust, "add up to 75")
	// A share of a type the period has no quota of.
	b := floating(w, []int{10, 10, 5})
	b.Shares[0].Quota["analytics-l1"] = 1
	expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "shares of analytics-l1 add up to 1, the period's quota is 0")
}

// Shares are summed in 64 bits: on a 32-bit device, 43 shares that add up
// to 2^32 + 10 must not pass as 10.
func TestWalletShareSumsDoNotWrap(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	b := clone(w.b)
	b.Binding = bundle.Binding{}
	rest := int64(1) << 32
	for i := range 43 {
		q := int64(100_000_000)
		if i == 42 {
			q = rest + 10
		}
		rest -= q
		name := fmt.Sprintf("nvr-%d", i+1)
		b.Binding.Servers = append(b.Binding.Servers, bundle.Server{Name: name, Identifiers: []string{}})
		b.Shares = append(b.Shares, bundle.Share{Period: 1, Server: name, Quota: map[string]int{"camera": int(q)}})
	}
	expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "add up to 4294967306")
}

// Each server of a floating system verifies the one bundle with its own
// usage against its share; a usage file of the whole system is checked
// against the pool and every server against its share.
func TestShareUsage(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	b := floating(w, []int{10, 10, 5})

	// Server by server: each its own usage, all of its share.
	for n, cams := range []int{10, 10, 5} {
		name := fmt.Sprintf("nvr-%d", n+1)
		r := w.reseal(t, wk, b, on(w.opts, n+1, usage(w, fmt.Sprintf("%s=%d", name, cams))))
		if r.Err != nil {
			t.Fatalf("%s with its own usage: %v", name, r.Err)
		}
		if len(r.Shares) != 3 || !r.Shares[n].ThisMachine || r.Shares[n].Quota["camera"] != cams {
			t.Errorf("%s: shares reported %+v", name, r.Shares)
		}
		if q := r.Quotas[len(r.Quotas)-1]; q.Server != name || q.Allowed != int64(cams) || q.Status != "ok" {
			t.Errorf("%s: quota row %+v", name, q)
		}
	}
	// Beyond its share and its growth allowance: a quota failure, though
	// the pool would hold it.
	expectClass(t, w.reseal(t, wk, b, on(w.opts, 3, usage(w, "nvr-3=11"))), verify.ErrQuota,
		"server nvr-3: camera: 11 used, 5 allowed (10 with the growth allowance)")
	// Within the growth allowance: a warning that names the server.
	r := w.reseal(t, wk, b, on(w.opts, 3, usage(w, "nvr-3=7")))
	if r.Err != nil || len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0], "server nvr-3: camera: 7 used, 5 allocated") {
		t.Errorf("growth on a share: %v, %q", r.Err, r.Warnings)
	}
	// The usage of another server, or of none, is not this machine's.
	expectClass(t, w.reseal(t, wk, b, on(w.opts, 2, usage(w, "nvr-1=1"))), verify.ErrQuota,
		`this machine is server "nvr-2" of the bundle, and the usage file does not report it`)
	expectClass(t, w.reseal(t, wk, b, on(w.opts, 2, usage(w))), verify.ErrQuota, "must report the servers whose usage it gives")

	// The whole system: the pool, and every server against its share.
	if r := w.reseal(t, wk, b, on(w.opts, 1, usage(w, "nvr-1=10", "nvr-2=10", "nvr-3=5"))); r.Err != nil {
		t.Errorf("the whole system within its shares: %v", r.Err)
	}
	expectClass(t, w.reseal(t, wk, b, on(w.opts, 1, usage(w, "nvr-1=1", "nvr-2=1", "nvr-3=11"))), verify.ErrQuota,
		"server nvr-3: camera: 11 used, 5 allowed")

	// Without shares a bundle of several servers still needs every
	// server's usage: each server's own would let each use the pool.
	expectClass(t, w.reseal(t, wk, floating(w, nil), on(w.opts, 2, usage(w, "nvr-2=25"))), verify.ErrQuota,
		`the usage file must report every one of them, and lacks server "nvr-1"`)
}

// Analytics assignments are not reported per server: a usage file that
// reports some servers has its analytics checked against their shares
// together; one of the whole system, against the pool.
func TestShareAnalytics(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	key := signKey(t, w, licensekey.Key{Product: "vms", TermMonths: 12,
		Licenses: []licensekey.License{{Type: "analytics-l1", Quantity: 3}}})
	b := floating(w, []int{10, 10, 5})
	b.Periods[0].Quota["analytics-l1"] = 3
	b.Funding = append(b.Funding, bundle.Funding{Key: key, Period: 1, License: "analytics-l1", Months: 36})
	for i, q := range []int{2, 1, 0} {
		b.Shares[i].Quota["analytics-l1"] = q
	}
	line := func(n int, servers ...string) *verify.Usage {
		u := usage(w, servers...)
		u.Analytics = []verify.AnalyticsUsage{{Type: "line-crossing", Cameras: n}}
		return u
	}
	if r := w.reseal(t, wk, b, on(w.opts, 1, line(2, "nvr-1=1"))); r.Err != nil {
		t.Errorf("two assignments on a share of two: %v", r.Err)
	}
	expectClass(t, w.reseal(t, wk, b, on(w.opts, 2, line(2, "nvr-2=1"))), verify.ErrQuota,
		"server nvr-2: analytics: 1 camera assignments are not covered")
	if r := w.reseal(t, wk, b, on(w.opts, 2, line(3, "nvr-1=1", "nvr-2=1"))); r.Err != nil {
		t.Errorf("three assignments on nvr-1 and nvr-2's shares together: %v", r.Err)
	}
	expectClass(t, w.reseal(t, wk, b, on(w.opts, 1, line(3, "nvr-1=1", "nvr-3=1"))), verify.ErrQuota,
		"server nvr-1+nvr-3: analytics")
	if r := w.reseal(t, wk, b, on(w.opts, 3, line(3, "nvr-1=1", "nvr-2=1", "nvr-3=1"))); r.Err != nil {
		t.Errorf("the whole system's three assignments on a pool of three: %v", r.Err)
	}
	expectClass(t, w.reseal(t, wk, b, on(w.opts, 3, line(4, "nvr-1=1", "nvr-2=1", "nvr-3=1"))), verify.ErrQuota,
		"analytics: 1 camera assignments are not covered")
}

// The device state pins the system the machine serves: once it accepted a
// bound bundle of one system, a bundle of another system or wallet for
// this machine is refused until the first one's licence ends.
func TestStatePinsSystem(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	// site-1 for a month, then 30 days of grace; site-2 for the year.
	a := floating(w, []int{10, 10, 5})
	p := &a.Periods[0]
	p.Until = bundle.AddMonths(p.From, 1)
	a.Validity.Until, a.Validity.GraceUntil = p.Until, p.Until.AddDate(0, 0, 30)
	other := floating(w, []int{10, 10, 5})
	other.System = "site-2"
	unbound := clone(w.b)
	unbound.System = "site-3"

	// The state is written and read back between runs, as a device does.
	var data []byte
	verifyAt := func(b *bundle.Bundle, days int) *verify.Report {
		t.Helper()
		s := verify.NewState(stateKey)
		if data != nil {
			var err error
			if s, err = verify.ParseState("allot.state", data, stateKey); err != nil {
				t.Fatal(err)
			}
		}
		opts := on(w.opts, 1, nil)
		opts.State = s
		opts.Now = w.opts.Now.AddDate(0, 0, days)
		r := w.reseal(t, wk, b, opts)
		data = s.Marshal()
		return r
	}
	if r := verifyAt(a, 0); r.Err != nil {
		t.Fatal(r.Err)
	}
	r := verifyAt(other, 1)
	expectClass(t, r, verify.ErrBinding, "this machine serves system site-1")
	if r.Status != verify.StatusBinding {
		t.Errorf("status %s", r.Status)
	}
	// The same system again, and an unbound bundle of any system: accepted.
	for _, b := range []*bundle.Bundle{a, unbound} {
		if r := verifyAt(b, 2); r.Err != nil {
			t.Errorf("%s: %v", b.System, r.Err)
		}
	}
	// Once site-1's grace has ended, the machine may serve another system,
	// and then no longer site-1.
	if r := verifyAt(other, 70); r.Err != nil {
		t.Errorf("after site-1's grace: %v", r.Err)
	}
	s, err := verify.ParseState("allot.state", data, stateKey)
	if err != nil || s.Serves.System != "site-2" || !s.Serves.Until.Equal(other.Validity.GraceUntil) {
		t.Errorf("the state serves %+v (%v)", s.Serves, err)
	}
	long := floating(w, []int{10, 10, 5})
	expectClass(t, verifyAt(long, 71), verify.ErrBinding, "this machine serves system site-2")
}
