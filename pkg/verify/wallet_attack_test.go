package verify_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/verify"
)

// These tests attack the verifier as the holder of a legitimate wallet
// would: every bundle below is validly signed by the wallet its keys are
// issued to, and funded by real keys of a real chain. What the wallet
// writes beyond what the vendor's chain signs and funds must be refused.

func expectClass(t *testing.T, r *verify.Report, class error, says string) {
	t.Helper()
	if !errors.Is(r.Err, class) {
		t.Fatalf("status %s, err %v; want %v", r.Status, r.Err, class)
	}
	if !strings.Contains(r.Error, says) {
		t.Fatalf("error %q does not say %q", r.Error, says)
	}
}

// respell writes a key's text as a person might type it: lower case,
// without dashes.
func respell(key string) string {
	return strings.ToLower(strings.ReplaceAll(key, "-", ""))
}

func TestWalletFundingByIdentity(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	// The typical bundle: 25 cameras for a year from three keys of 10
	// cameras, 120 license-months each. Double the quota and list every
	// key a second time, spelled another way: the text differs, the key
	// does not.
	b := clone(w.b)
	b.Periods = []bundle.Period{{From: b.Periods[0].From, Until: b.Periods[0].Until, Quota: map[string]int{"camera": 50}}}
	for _, f := range w.b.Funding {
		f.Key = respell(f.Key)
		b.Funding = append(b.Funding, f)
	}
	r := w.reseal(t, wk, b, w.opts)
	expectClass(t, r, verify.ErrMalformed, "not canonical")

	// Listed twice in its canonical text, a key still holds what it holds.
	b.Funding = append(b.Funding[:len(w.b.Funding)], w.b.Funding...)
	expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "license-months, the bundle takes")

	// Whitespace and padding are other spellings too.
	for _, spell := range []func(string) string{
		func(s string) string { return " " + s },
		func(s string) string { return s + "\n" },
		func(s string) string { return strings.Replace(s, "-", " - ", 1) },
		func(s string) string { return strings.Replace(s, "0", "O", 1) },
	} {
		b := clone(w.b)
		b.Funding[0].Key = spell(b.Funding[0].Key)
		if b.Funding[0].Key == w.b.Funding[0].Key {
			continue
		}
		r := w.reseal(t, wk, b, w.opts)
		if !errors.Is(r.Err, verify.ErrMalformed) {
			t.Errorf("key spelled %q: %v, want malformed", b.Funding[0].Key, r.Err)
		}
	}
}

func TestWalletNumbersBoundedByPolicy(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	t.Run("a grace of a year", func(t *testing.T) {
		b := clone(w.b)
		b.Validity.GraceUntil = b.Validity.Until.AddDate(1, 0, 0)
		expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "grace_until")
	})
	t.Run("a grace of 31 days", func(t *testing.T) {
		b := clone(w.b)
		b.Validity.GraceUntil = b.Validity.Until.AddDate(0, 0, 31)
		expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "more than 30 days after")
	})
	t.Run("a growth allowance of 10000 %", func(t *testing.T) {
		b := clone(w.b)
		b.GrowthAllowancePercent = 10000
		expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "growth_allowance_percent")
	})
	t.Run("analytics kept for ten years", func(t *testing.T) {
		b := clone(w.b)
		b.AnalyticsRetentionDays = 3650
		expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "analytics_retention_days")
	})
	t.Run("a trust file's policy bounds it", func(t *testing.T) {
		opts := w.opts
		tr := *w.w.Trust
		tr.Policy = cert.Policy{GraceDays: 7, MaxRenewalYears: 5, UnallocatedExpiryYears: 5, AnalyticsRetentionDays: 7, GrowthAllowancePercent: 100}
		opts.Trust = &tr
		expectClass(t, verify.Bundle("site.lic", w.doc, opts), verify.ErrTrust, "more than 7 days after")
	})
	t.Run("a certificate's policy narrows it", func(t *testing.T) {
		strict := &cert.Policy{GraceDays: 30, MaxRenewalYears: 5, UnallocatedExpiryYears: 5, AnalyticsRetentionDays: 7, GrowthAllowancePercent: 20}
		b := clone(w.b)
		b.Certificates = [][]byte{w.w.Chain[0].Document(), reissue(t, w, func(c *cert.Template) { c.Policy = strict }).Document()}
		expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "growth_allowance_percent: 100; the vendor's policy allows 20")
	})
}

func TestWalletTimeBoundedByKeys(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	shift := func(b *bundle.Bundle, years int) {
		for i := range b.Periods {
			p := &b.Periods[i]
			p.From, p.Until = p.From.AddDate(years, 0, 0), p.Until.AddDate(years, 0, 0)
		}
		b.Validity.From = b.Periods[0].From
		b.Validity.Until = b.Periods[len(b.Periods)-1].Until
		b.Validity.GraceUntil = b.Validity.Until.AddDate(0, 0, 30)
	}
	t.Run("time that ended before the keys were issued", func(t *testing.T) {
		b := clone(w.b)
		b.Periods = append([]bundle.Period(nil), w.b.Periods...)
		shift(b, -20)
		expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "before it was issued")
	})
	t.Run("time beyond what the keys may reach", func(t *testing.T) {
		b := clone(w.b)
		b.Periods = append([]bundle.Period(nil), w.b.Periods...)
		shift(b, 12)
		b.Issued = b.Issued.AddDate(12, 0, 0)
		opts := w.opts
		opts.Now = b.Periods[0].From.AddDate(0, 1, 0)
		expectClass(t, w.reseal(t, wk, b, opts), verify.ErrTrust, "a key funds time until")
	})
	t.Run("signed before its keys were issued", func(t *testing.T) {
		b := clone(w.b)
		b.Issued = b.Issued.AddDate(-1, 0, 0)
		expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "before key")
	})
	t.Run("a key moved to another period", func(t *testing.T) {
		// Two periods: the second funded by an entry taken from the
		// first, which is then short.
		b := clone(w.b)
		appendPeriod(b, 1, map[string]int{"camera": 1})
		b.Funding[len(b.Funding)-1].Period = 2
		expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "period 1: the keys fund")
	})
	t.Run("a period no key funds", func(t *testing.T) {
		b := clone(w.b)
		appendPeriod(b, 5, map[string]int{"camera": 0})
		expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "period 2 (2027-11-22 to 2032-11-22) is funded by no key")
	})
	t.Run("a grace of centuries", func(t *testing.T) {
		// Time.Sub saturates at about 292 years: dates must be compared
		// as dates.
		b := clone(w.b)
		b.Validity.GraceUntil = time.Date(9999, 11, 22, 0, 0, 0, 0, time.UTC)
		expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "grace_until")
	})
}

// appendPeriod adds a period of years with quota after b's last, and
// moves the validity's end and grace with it.
func appendPeriod(b *bundle.Bundle, years int, quota map[string]int) {
	last := b.Periods[len(b.Periods)-1]
	b.Periods = append(b.Periods, bundle.Period{From: last.Until, Until: last.Until.AddDate(years, 0, 0), Quota: quota})
	b.Validity.Until = last.Until.AddDate(years, 0, 0)
	b.Validity.GraceUntil = b.Validity.Until.AddDate(0, 0, 30)
}

// reissue signs the reseller certificate of w again, changed by edit, with
// the distributor's key: what a vendor (or distributor) may legitimately
// sign.
func reissue(t *testing.T, w *world, edit func(*cert.Template)) *cert.Certificate {
	t.Helper()
	old := w.w.Chain[1]
	tpl := cert.Template{Role: old.Role, Subject: old.Subject, ValidFrom: old.ValidFrom, ValidUntil: old.ValidUntil, Scope: old.Scope}
	edit(&tpl)
	c, err := cert.Issue(allottest.Key("signer-0"), w.w.Chain[:1], tpl, w.w.Rand)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWalletBindingBoundedByChain(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	bound := reissue(t, w, func(c *cert.Template) { c.Scope.Binding = map[string]int{"vms": 2} })
	b := clone(w.b)
	b.Certificates = [][]byte{w.w.Chain[0].Document(), bound.Document()}
	if b.Binding.Required != 0 {
		t.Fatalf("the fixture bundle is bound (%d); this test needs an unbound one", b.Binding.Required)
	}
	expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "require 2 for product vms")

	// Bound as the chain asks, it verifies (on a machine that matches).
	b.Binding = bundle.Binding{Required: 2, Servers: []bundle.Server{{Name: "nvr-1",
		Identifiers: []string{"machine-id:" + strings.Repeat("0", 32), "mac:" + strings.Repeat("1", 32)}}}}
	r := w.reseal(t, wk, b, w.opts)
	if r.Err != nil {
		t.Fatalf("a bundle bound as the chain requires: %v", r.Err)
	}

	// Where the chain allows an unbound bundle, it verifies and says so.
	r = verify.Bundle("site.lic", w.doc, w.opts)
	if r.Err != nil || r.Binding == nil || r.Binding.Status != verify.BindingUnbound {
		t.Fatalf("unbound bundle: err %v, binding %+v", r.Err, r.Binding)
	}
}

// The analytics data is kept for the retention days after the last period
// that carries analytics: a renewal without analytics ends them with the
// period before it, not with the renewal's grace.
func TestAnalyticsRetention(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	b := &bundle.Bundle{AnalyticsRetentionDays: 7,
		Validity: bundle.Validity{From: day(2026, 1, 1), Until: day(2028, 1, 1), GraceUntil: day(2028, 1, 31)},
		Periods: []bundle.Period{
			{From: day(2026, 1, 1), Until: day(2027, 1, 1), Quota: map[string]int{"camera": 4, "analytics-l3": 2}},
			{From: day(2027, 1, 1), Until: day(2028, 1, 1), Quota: map[string]int{"camera": 4}},
		}}
	if got, ok := verify.AnalyticsRetention(b); !ok || !got.Equal(day(2027, 1, 8)) {
		t.Errorf("analytics dropped at renewal: %v %v, want 2027-01-08", got, ok)
	}
	b.Periods[1].Quota["analytics-l1"] = 1
	if got, ok := verify.AnalyticsRetention(b); !ok || !got.Equal(day(2028, 2, 7)) {
		t.Errorf("analytics to the end: %v %v, want 2028-02-07 (grace end + 7)", got, ok)
	}
	b.Periods[0].Quota, b.Periods[1].Quota = map[string]int{"camera": 1}, map[string]int{"analytics-l2": 0}
	if got, ok := verify.AnalyticsRetention(b); ok {
		t.Errorf("no analytics: %v", got)
	}
}

// signKey signs a key of the world's issuer to the bundle's wallet.
func signKey(t *testing.T, w *world, k licensekey.Key) string {
	t.Helper()
	k.Kind, k.Issued, k.Wallet = licensekey.Subscription, w.b.Periods[0].From, w.b.WalletID
	text, err := k.Sign(w.w.Issuer, w.w.Rand)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// A feature holds in a period only if the keys that carry it pay for the
// period's whole length: one intercom-month does not grant a year.
func TestWalletFeaturesBoundedByFunding(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	usage := &verify.Usage{System: w.b.System, Features: []string{"web-dialer"}}
	for _, c := range []struct {
		months int
		ok     bool
	}{{1, false}, {11, false}, {12, true}} {
		key := signKey(t, w, licensekey.Key{Product: "intercom", TermMonths: c.months,
			Licenses: []licensekey.License{{Type: "intercom", Quantity: 1}}, Features: []string{"web-dialer"}})
		b := clone(w.b)
		b.Features = []string{"web-dialer"}
		b.Funding = append(b.Funding, bundle.Funding{Key: key, Period: 1, License: "intercom", Months: c.months})
		opts := w.opts
		opts.Usage = usage
		r := w.reseal(t, wk, b, opts)
		if c.ok && r.Err != nil {
			t.Errorf("a key paying %d months for the feature: %v", c.months, r.Err)
		}
		if !c.ok && !errors.Is(r.Err, verify.ErrQuota) {
			t.Errorf("a key paying %d months for a 12-month period's feature: %v, want a quota failure", c.months, r.Err)
		}
		// Without a usage file the bundle verifies; its report grants the
		// feature only where the keys pay for it.
		r = w.reseal(t, wk, b, w.opts)
		if r.Err != nil {
			t.Fatalf("%d months, no usage: %v", c.months, r.Err)
		}
		if granted := slices.Contains(r.Bundle.FeaturesGranted, "web-dialer"); granted != c.ok {
			t.Errorf("a key paying %d months: features_granted %v", c.months, r.Bundle.FeaturesGranted)
		}
	}
}

// A key's product is its issuer's word: a vms chain's binding rule binds a
// key that calls itself intercom but carries cameras.
func TestWalletBindingNotEscapedByProduct(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	bound := reissue(t, w, func(c *cert.Template) { c.Scope.Binding = map[string]int{"vms": 2} })
	key := signKey(t, w, licensekey.Key{Product: "intercom", TermMonths: 60,
		Licenses: []licensekey.License{{Type: "camera", Quantity: 100}}})
	b := clone(w.b)
	b.Certificates = [][]byte{w.w.Chain[0].Document(), bound.Document()}
	b.Funding = []bundle.Funding{{Key: key, Period: 1, License: "camera", Months: 25 * 12}}
	expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "require 2 for product vms")
}

// One server entry that lists the identifiers of several machines licenses
// none of them: more than half of a server's identifiers must match.
func TestWalletOneServerForManyMachines(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	id := func(kind string, n int) string { return fmt.Sprintf("%s:%032x", kind, n) }
	machine := func(n int) []string { return []string{id("machine-id", n), id("product-uuid", n), id("mac", n)} }
	b := clone(w.b)
	b.Binding = bundle.Binding{Required: 2, Servers: []bundle.Server{{Name: "nvr-1",
		Identifiers: append(append(machine(1), machine(2)...), machine(3)[:2]...)}}}
	opts := w.opts
	for n := 1; n <= 3; n++ {
		opts.Machines = func(string) ([]verify.Machine, error) {
			return []verify.Machine{{Name: "this machine", Identifiers: machine(n)}}, nil
		}
		r := w.reseal(t, wk, b, opts)
		if !errors.Is(r.Err, verify.ErrBinding) || !strings.Contains(r.Error, "more than half must match") {
			t.Errorf("machine %d of a shared server entry: %v", n, r.Err)
		}
	}
	// The honest entry: one machine, all or most of its identifiers.
	b.Binding.Servers[0].Identifiers = append(machine(1), id("disk", 1))
	opts.Machines = func(string) ([]verify.Machine, error) {
		return []verify.Machine{{Name: "this machine", Identifiers: machine(1)}}, nil
	}
	if r := w.reseal(t, wk, b, opts); r.Err != nil {
		t.Errorf("3 of its 4 identifiers: %v", r.Err)
	}
}

// Quotas times months are summed without wrapping: make test runs this
// package on a 32-bit platform too, where an int is 32 bits. (A funding
// entry of more months than any key holds is malformed: package bundle's
// tests.)
func TestWalletArithmeticDoesNotWrap(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	b := clone(w.b)
	p := &b.Periods[0]
	p.Until = bundle.AddMonths(p.From, 43)
	p.Quota = map[string]int{"camera": 99_882_961} // × 43 months is 2^32 + 27
	b.Validity.Until, b.Validity.GraceUntil = p.Until, p.Until.AddDate(0, 0, 30)
	expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "its quota needs 4294967323")
}

// The catalog's binding rule, like the chain's, binds a key by what it
// carries: a key labelled intercom that carries cameras is bound as a vms
// key where the catalog asks vms bundles to be bound.
func TestWalletCatalogBindingNotEscapedByProduct(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	src := strings.Replace(string(catalog.DefaultSource()), `code = "vms"`, "code = \"vms\"\nbinding_required = 2", 1)
	cat, err := catalog.Parse("strict.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	key := signKey(t, w, licensekey.Key{Product: "intercom", TermMonths: 60,
		Licenses: []licensekey.License{{Type: "camera", Quantity: 100}}})
	b := clone(w.b)
	b.Funding = []bundle.Funding{{Key: key, Period: 1, License: "camera", Months: 25 * 12}}
	opts := w.opts
	opts.Catalog = cat
	expectClass(t, w.reseal(t, wk, b, opts), verify.ErrTrust, "the catalog requires 2 for product vms")
}

// The device state's key comes from the identifiers that stay with the
// machine: a USB disk plugged in does not make its own state another
// machine's.
func TestDeviceKeyStable(t *testing.T) {
	base := []hwid.Identifier{{Kind: hwid.MachineID, Value: "0123456789abcdef0123456789abcdef"}, {Kind: hwid.MAC, Value: "00:1a:2b:3c:4d:5e"}}
	plugged := append(slices.Clone(base), hwid.Identifier{Kind: hwid.Disk, Value: "USB-STICK-1"})
	if !bytes.Equal(verify.DeviceKey(base), verify.DeviceKey(plugged)) {
		t.Error("a disk plugged in changes the device state's key")
	}
	other := []hwid.Identifier{{Kind: hwid.MachineID, Value: "ffffffffffffffffffffffffffffffff"}, {Kind: hwid.MAC, Value: "00:1a:2b:3c:4d:5e"}}
	if bytes.Equal(verify.DeviceKey(base), verify.DeviceKey(other)) {
		t.Error("another machine-id gives the same key")
	}
	macOnly := []hwid.Identifier{{Kind: hwid.MAC, Value: "00:1a:2b:3c:4d:5e"}}
	if bytes.Equal(verify.DeviceKey(macOnly), verify.DeviceKey(append(macOnly, hwid.Identifier{Kind: hwid.MAC, Value: "00:1a:2b:3c:4d:5f"}))) {
		t.Error("without stable identifiers, the key does not cover the others")
	}
}

// A key is tried against every chain of its signer, so a bundle may carry
// at most MaxCertificatesPerSigner certificates of one signer: hundreds of
// them times thousands of keys cost a device seconds.
func TestWalletCertificatesPerSigner(t *testing.T) {
	w := newWorld(t)
	wk := allottest.Key("wallet")
	b := clone(w.b)
	b.Certificates = [][]byte{w.w.Chain[0].Document()}
	for range verify.MaxCertificatesPerSigner {
		b.Certificates = append(b.Certificates, reissue(t, w, func(*cert.Template) {}).Document())
	}
	if r := w.reseal(t, wk, b, w.opts); r.Err != nil {
		t.Fatalf("%d certificates of one signer: %v", verify.MaxCertificatesPerSigner, r.Err)
	}
	b.Certificates = append(b.Certificates, reissue(t, w, func(*cert.Template) {}).Document())
	expectClass(t, w.reseal(t, wk, b, w.opts), verify.ErrTrust, "more than 8 certificates for signer")
}
