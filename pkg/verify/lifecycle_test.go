package verify_test

import (
	"crypto/ed25519"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/audit"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/verify"
)

// These tests attack the lifecycle checks as the holder of a legitimate
// wallet would: every bundle is signed by the wallet its keys are issued
// to, and every key is real. What the wallet writes about credit, hardware
// licenses, trials and the first-day grace must be bounded by what the
// vendor signed.

type lifeWorld struct {
	w    *allottest.World
	wk   ed25519.PrivateKey
	wid  licensekey.WalletID
	opts verify.Options
}

func newLifeWorld(t *testing.T) *lifeWorld {
	t.Helper()
	w, err := allottest.NewWorld(1)
	if err != nil {
		t.Fatal(err)
	}
	wk := allottest.Key("wallet")
	return &lifeWorld{w: w, wk: wk, wid: licensekey.WalletIDOf(wk.Public().(ed25519.PublicKey)),
		opts: verify.Options{Trust: w.Trust, Workers: 1}}
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// key signs a key of the world's issuer, issued to the wallet.
func (l *lifeWorld) key(t *testing.T, kind licensekey.Kind, issued time.Time, term int, device string, lic ...licensekey.License) string {
	t.Helper()
	k := &licensekey.Key{Kind: kind, Product: "vms", Issued: issued, TermMonths: term, Licenses: lic, Wallet: l.wid, Device: device}
	s, err := k.Sign(l.w.Issuer, l.w.Rand)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func cams(n int) licensekey.License { return licensekey.License{Type: "camera", Quantity: n} }

// base returns a bundle of the world with no period: callers add them.
func (l *lifeWorld) base(issued time.Time) *bundle.Bundle {
	return &bundle.Bundle{ID: "b1", Sequence: 1, Organization: "Fixture Org", System: "site-1", Issued: issued,
		AnalyticsRetentionDays: 7, GrowthAllowancePercent: 100,
		Binding:      bundle.Binding{Servers: []bundle.Server{{Name: "nvr-1", Identifiers: []string{}}}},
		Certificates: [][]byte{l.w.Chain[0].Document()}, Features: []string{}}
}

// period appends a period and sets the validity to cover every period.
func period(b *bundle.Bundle, from, until time.Time, quota map[string]int) {
	b.Periods = append(b.Periods, bundle.Period{From: from, Until: until, Quota: quota})
	b.Validity = bundle.Validity{From: b.Periods[0].From, Until: until, GraceUntil: until.AddDate(0, 0, 30)}
}

func (l *lifeWorld) check(t *testing.T, b *bundle.Bundle, now time.Time) *verify.Report {
	t.Helper()
	doc, err := bundle.Seal(b, l.wk)
	if err != nil {
		t.Fatal(err)
	}
	opts := l.opts
	opts.Now = now
	return verify.Bundle("site.lic", doc, opts)
}

// withState returns a verification of a bundle at a time with one device
// state, kept between calls as a device keeps it.
func (l *lifeWorld) withState(t *testing.T) func(*bundle.Bundle, time.Time) *verify.Report {
	key := verify.StateKey([]string{"machine-id:00"})
	var saved []byte
	return func(b *bundle.Bundle, now time.Time) *verify.Report {
		t.Helper()
		st := verify.NewState(key)
		if saved != nil {
			var err error
			if st, err = verify.ParseState("allot.state", saved, key); err != nil {
				t.Fatal(err)
			}
		}
		doc, _ := bundle.Seal(b, l.wk)
		opts := l.opts
		opts.Now, opts.State = now, st
		r := verify.Bundle("site.lic", doc, opts)
		saved = st.Marshal()
		return r
	}
}

func expectOK(t *testing.T, r *verify.Report) {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("refused: %v", r.Err)
	}
}

// The credit of a period allocated late: the subscription started
// 2026-09-01, its grace ended 2026-10-01, and the key that paid for it (3
// cameras, 36 license-months) was bought 2026-11-22: 52 days of 3 cameras
// could not be used, 156 license-days. The renewal from 2027-09-01 spends
// them before a key: a license-month of that year is worth 366 ÷ 12
// license-days, so 153 of them and 31 license-months of another key pay
// for 3 cameras.
func TestWalletCreditBoundedByKeys(t *testing.T) {
	l := newLifeWorld(t)
	late := l.key(t, licensekey.Subscription, day(2026, 11, 22), 12, "", cams(3))
	renewal := l.key(t, licensekey.Subscription, day(2026, 11, 22), 12, "", cams(10))
	early := l.key(t, licensekey.Subscription, day(2026, 9, 1), 12, "", cams(3))
	trial := l.key(t, licensekey.Trial, day(2026, 11, 22), 1, "", cams(3))
	src := bundle.Credit{Key: late, License: "camera", From: day(2026, 9, 1), Until: day(2027, 9, 1), Months: 36, Period: 1, Days: 153}
	mk := func(credits ...bundle.Credit) *bundle.Bundle {
		b := l.base(day(2027, 8, 1))
		period(b, day(2027, 9, 1), day(2028, 9, 1), map[string]int{"camera": 3})
		b.Funding = []bundle.Funding{{Key: renewal, Period: 1, License: "camera", Months: 31}}
		b.Credits = credits
		return b
	}
	now := day(2027, 10, 1)
	t.Run("credit the keys' dates prove", func(t *testing.T) {
		r := l.check(t, mk(src), now)
		expectOK(t, r)
		if r.Time.SupportUntil == nil || !r.Time.SupportUntil.Equal(day(2028, 9, 1)) {
			t.Errorf("support until %v, want 2028-09-01: a period paid partly by credit is paid", r.Time.SupportUntil)
		}
	})
	t.Run("without the credit the period is not paid", func(t *testing.T) {
		expectClass(t, l.check(t, mk(), now), verify.ErrTrust, "its quota needs 36")
	})
	t.Run("a day of credit short", func(t *testing.T) {
		c := src
		c.Days = 152
		expectClass(t, l.check(t, mk(c), now), verify.ErrTrust, "and credit 152 license-days, its quota needs 36")
	})
	t.Run("more days than the key's date proves", func(t *testing.T) {
		c := src
		c.Days = 157
		expectClass(t, l.check(t, mk(c), now), verify.ErrTrust, "could not use 156 license-days of it; the bundle spends 157")
	})
	t.Run("one credit spent twice in one bundle", func(t *testing.T) {
		c := src
		c.Days = 100
		expectClass(t, l.check(t, mk(c, c), now), verify.ErrTrust, "the bundle spends 200")
	})
	t.Run("a key bought before the grace ended proves nothing", func(t *testing.T) {
		c := src
		c.Key = early
		expectClass(t, l.check(t, mk(c), now), verify.ErrTrust, "could not use 0 license-days")
	})
	t.Run("a period the key never paid for", func(t *testing.T) {
		c := src
		c.Months = 360 // the key holds 36
		expectClass(t, l.check(t, mk(c), now), verify.ErrTrust, "holds 36 camera license-months, the bundle takes 360")
	})
	t.Run("the same key paying two amounts for one period", func(t *testing.T) {
		a, b := src, src
		a.Days, b.Days, b.Months = 50, 50, 30
		expectClass(t, l.check(t, mk(a, b), now), verify.ErrTrust, "another entry says key")
	})
	t.Run("credit paying for the period that earned it", func(t *testing.T) {
		c := src
		c.From, c.Until = day(2027, 9, 1), day(2028, 9, 1)
		expectClass(t, l.check(t, mk(c), now), verify.ErrTrust, "before the period that earned it ends")
	})
	t.Run("credit of a period that ended before its key existed", func(t *testing.T) {
		c := src
		c.From, c.Until = day(2025, 9, 1), day(2026, 9, 1)
		expectClass(t, l.check(t, mk(c), now), verify.ErrTrust, "which ended before it was issued")
	})
	t.Run("credit paid by a trial key", func(t *testing.T) {
		c := src
		c.Key, c.Months = trial, 3
		expectClass(t, l.check(t, mk(c), now), verify.ErrTrust, "credit is paid by subscription keys")
	})
	t.Run("credit of a period of the bundle beyond what its funding paid", func(t *testing.T) {
		// The late period is still running (renewed ahead): it is in the
		// bundle, and its funding entries say what the key paid.
		b := l.base(day(2027, 8, 1))
		period(b, day(2026, 9, 1), day(2027, 9, 1), map[string]int{"camera": 3})
		period(b, day(2027, 9, 1), day(2028, 9, 1), map[string]int{"camera": 3})
		b.Funding = []bundle.Funding{
			{Key: late, Period: 1, License: "camera", Months: 36},
			{Key: renewal, Period: 2, License: "camera", Months: 31},
		}
		c := src
		c.Period = 2
		b.Credits = []bundle.Credit{c}
		expectOK(t, l.check(t, b, now.AddDate(0, -3, 0)))
		c.Months = 48
		b.Credits = []bundle.Credit{c}
		expectClass(t, l.check(t, b, now), verify.ErrTrust, "paid 36 camera license-months for period 1, the credit says 48")
	})
}

func TestWalletHardwareBoundedByKeys(t *testing.T) {
	l := newLifeWorld(t)
	issued := day(2026, 11, 22)
	sub := l.key(t, licensekey.Subscription, issued, 12, "", cams(4))
	hw := l.key(t, licensekey.Hardware, issued, 0, "CAM-7", cams(1))
	exp := l.key(t, licensekey.Expansion, issued, 0, "CAM-7", licensekey.License{Type: "analytics-l1", Quantity: 1})
	expOther := l.key(t, licensekey.Expansion, issued, 0, "CAM-9", cams(1))
	hwUntied := l.key(t, licensekey.Hardware, issued, 0, "", cams(1))
	mk := func(hws ...bundle.Hardware) *bundle.Bundle {
		b := l.base(issued)
		period(b, issued, issued.AddDate(1, 0, 0), map[string]int{"camera": 4})
		b.Funding = []bundle.Funding{{Key: sub, Period: 1, License: "camera", Months: 48}}
		b.Hardware = hws
		return b
	}
	good := bundle.Hardware{Device: "CAM-7", Key: hw, Expansions: []string{exp}}
	now := issued.AddDate(0, 1, 0)
	t.Run("a hardware license with its expansion", func(t *testing.T) {
		r := l.check(t, mk(good), now)
		expectOK(t, r)
		if len(r.Hardware) != 1 || r.Hardware[0].Licenses["camera"] != 1 || r.Hardware[0].Licenses["analytics-l1"] != 1 {
			t.Errorf("hardware %+v", r.Hardware)
		}
	})
	for _, c := range []struct {
		name string
		h    bundle.Hardware
		says string
	}{
		{"a key tied to another device", bundle.Hardware{Device: "CAM-8", Key: hw, Expansions: []string{}}, "tied to device CAM-7, not to CAM-8"},
		{"an expansion of another device", bundle.Hardware{Device: "CAM-7", Key: hw, Expansions: []string{expOther}}, "is tied to CAM-9, not to the hardware license of device CAM-7"},
		{"an expansion as the hardware key", bundle.Hardware{Device: "CAM-9", Key: expOther, Expansions: []string{}}, "a hardware license needs a hardware key"},
		{"a subscription key as the hardware key", bundle.Hardware{Device: "CAM-7", Key: sub, Expansions: []string{}}, "used both as a hardware or expansion license and for something else"},
		{"a key tied to no device", bundle.Hardware{Device: "CAM-7", Key: hwUntied, Expansions: []string{}}, "is tied to no device"},
		{"one expansion twice", bundle.Hardware{Device: "CAM-7", Key: hw, Expansions: []string{exp, exp}}, "listed twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			expectClass(t, l.check(t, mk(c.h), now), verify.ErrTrust, c.says)
		})
	}
	t.Run("one device licensed twice", func(t *testing.T) {
		other := l.key(t, licensekey.Hardware, issued, 0, "CAM-7", cams(1))
		expectClass(t, l.check(t, mk(good, bundle.Hardware{Device: "CAM-7", Key: other, Expansions: []string{}}), now),
			verify.ErrTrust, "device CAM-7 has a hardware license already")
	})
	t.Run("a hardware key funding a period", func(t *testing.T) {
		b := mk()
		b.Funding = append(b.Funding, bundle.Funding{Key: hw, Period: 1, License: "camera", Months: 1})
		expectClass(t, l.check(t, b, now), verify.ErrTrust, "bundles are funded by subscription keys")
	})
	usage := func(t *testing.T, cameras int, hardware ...string) *verify.Usage {
		u, err := verify.ParseUsage("site.usage.toml", []byte(usageTOML(cameras, hardware)))
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	t.Run("the device reports CAM-7 on its license: 4 + 1 cameras", func(t *testing.T) {
		doc, _ := bundle.Seal(mk(good), l.wk)
		opts := l.opts
		opts.Now, opts.Usage = now, usage(t, 5, "CAM-7")
		r := verify.Bundle("site.lic", doc, opts)
		expectOK(t, r)
		if r.Quotas[0].Allowed != 5 || r.Quotas[0].Status != "ok" || r.Hardware[0].Status != "in-use" {
			t.Errorf("quotas %+v, hardware %+v", r.Quotas, r.Hardware)
		}
	})
	t.Run("a device reported on a hardware license the bundle lacks", func(t *testing.T) {
		doc, _ := bundle.Seal(mk(good), l.wk)
		opts := l.opts
		opts.Now, opts.Usage = now, usage(t, 5, "CAM-9")
		expectClass(t, verify.Bundle("site.lic", doc, opts), verify.ErrBinding, "device CAM-9 reports running on a hardware license")
	})
	t.Run("a hardware license counts only for its device", func(t *testing.T) {
		doc, _ := bundle.Seal(mk(good), l.wk)
		opts := l.opts
		opts.Now, opts.Usage = now, usage(t, 9)
		r := verify.Bundle("site.lic", doc, opts)
		if r.Quotas[0].Allowed != 4 || r.Hardware[0].Status != "not-reported" {
			t.Errorf("quotas %+v, hardware %+v: CAM-7 is not reported, its license does not count", r.Quotas, r.Hardware)
		}
	})
	t.Run("a perpetual license outlives the subscription", func(t *testing.T) {
		after := issued.AddDate(2, 0, 0)
		r := l.check(t, mk(good), after)
		expectOK(t, r)
		if !r.Time.Perpetual || r.Status != verify.StatusLicensed || r.Time.SupportUntil == nil || !r.Time.SupportUntil.Equal(issued.AddDate(1, 0, 0)) {
			t.Errorf("time %+v, status %s", r.Time, r.Status)
		}
		if len(r.Quotas) != 2 || r.Quotas[0].License != "analytics-l1" || r.Quotas[1].Allowed != 1 {
			t.Errorf("quotas %+v: after the subscription only the hardware licenses remain", r.Quotas)
		}
		// Without it, the same bundle has expired.
		expectClass(t, l.check(t, mk(), after), verify.ErrExpired, "the subscription ended")
	})
}

func usageTOML(cameras int, hardware []string) string {
	s := "version = 1\nsystem = \"site-1\"\n"
	if len(hardware) > 0 {
		s += "hardware = [\"" + strings.Join(hardware, "\", \"") + "\"]\n"
	}
	return s + "[[server]]\nname = \"nvr-1\"\ncameras = " + strconv.Itoa(cameras) + "\n"
}

// A bundle with no period: the first day's grace, funded by nothing. Its
// grace is bounded by the policy from its start, its start by the day it
// was signed, its binding by the catalog, and, with a device state, a
// machine runs one.
func TestFirstDayGraceBounded(t *testing.T) {
	l := newLifeWorld(t)
	start := day(2026, 11, 22)
	mk := func(from time.Time, graceDays int) *bundle.Bundle {
		b := l.base(start.Add(10 * time.Hour))
		b.Certificates = nil
		b.Validity = bundle.Validity{From: from, Until: from, GraceUntil: from.AddDate(0, 0, graceDays)}
		return b
	}
	t.Run("in its grace, then expired", func(t *testing.T) {
		r := l.check(t, mk(start, 30), start.AddDate(0, 0, 10))
		expectOK(t, r)
		if r.Status != verify.StatusGrace || !r.Time.FirstGrace || r.Time.DaysLeft != 20 || r.Time.SupportUntil != nil {
			t.Errorf("status %s, time %+v", r.Status, r.Time)
		}
		expectClass(t, l.check(t, mk(start, 30), start.AddDate(0, 0, 30)), verify.ErrExpired, "no licenses were allocated")
	})
	t.Run("a grace longer than the policy's", func(t *testing.T) {
		expectClass(t, l.check(t, mk(start, 31), start), verify.ErrTrust, "more than 30 days after")
	})
	t.Run("a grace that starts after it was signed", func(t *testing.T) {
		expectClass(t, l.check(t, mk(start.AddDate(0, 0, 20), 30), start.AddDate(0, 0, 25)), verify.ErrTrust, "a first-day grace starts no later than the day the wallet signs it")
	})
	t.Run("unbound where the catalog binds a product", func(t *testing.T) {
		cat := *catalog.Default()
		cat.Products = append([]catalog.Product(nil), cat.Products...)
		cat.Products[0].BindingRequired = 2
		doc, _ := bundle.Seal(mk(start, 30), l.wk)
		opts := l.opts
		opts.Now, opts.Catalog = start, &cat
		expectClass(t, verify.Bundle("site.lic", doc, opts), verify.ErrTrust, "a first-day grace is bound as strictly as any product")
	})
	t.Run("it limits no quota", func(t *testing.T) {
		doc, _ := bundle.Seal(mk(start, 30), l.wk)
		opts := l.opts
		u, err := verify.ParseUsage("u", []byte(usageTOML(40, nil)))
		if err != nil {
			t.Fatal(err)
		}
		opts.Now, opts.Usage = start.AddDate(0, 0, 1), u
		r := verify.Bundle("site.lic", doc, opts)
		expectOK(t, r)
		if len(r.Quotas) != 1 || r.Quotas[0].Status != "first-grace" {
			t.Errorf("quotas %+v", r.Quotas)
		}
	})
	t.Run("once per machine with a device state", func(t *testing.T) {
		run := l.withState(t)
		expectOK(t, run(mk(start, 30), start.AddDate(0, 0, 1)))
		expectOK(t, run(mk(start, 30), start.AddDate(0, 0, 2))) // the same grace, again
		// A month later the wallet signs another: its start is its day.
		next := start.AddDate(0, 1, 0)
		b := mk(next, 30)
		b.Issued = next.Add(time.Hour)
		expectClass(t, run(b, next.AddDate(0, 0, 1)), verify.ErrExpired, "this machine already ran the first-day grace of a subscription that started 2026-11-22")
	})
}

// A trial is one trial key's term, with no grace after it, and a machine
// with a device state runs one.
func TestTrialBoundedByKey(t *testing.T) {
	l := newLifeWorld(t)
	issued := day(2026, 11, 22)
	trial := l.key(t, licensekey.Trial, issued, 1, "", cams(4))
	other := l.key(t, licensekey.Trial, issued, 1, "", cams(4))
	sub := l.key(t, licensekey.Subscription, issued, 12, "", cams(4))
	mk := func(key string, from time.Time, months int) *bundle.Bundle {
		b := l.base(from.Add(time.Hour))
		period(b, from, bundle.AddMonths(from, months), map[string]int{"camera": 4})
		b.Validity.GraceUntil = b.Validity.Until
		b.Funding = []bundle.Funding{{Key: key, Period: 1, License: "camera", Months: 4 * months}}
		return b
	}
	t.Run("a month's trial", func(t *testing.T) {
		r := l.check(t, mk(trial, issued, 1), issued.AddDate(0, 0, 10))
		expectOK(t, r)
		if r.Time.TrialUntil == nil || !r.Time.TrialUntil.Equal(day(2026, 12, 22)) || r.Time.SupportUntil != nil {
			t.Errorf("time %+v", r.Time)
		}
	})
	t.Run("longer than its key", func(t *testing.T) {
		b := mk(trial, issued, 2)
		b.Funding[0].Months = 4
		b.Funding = append(b.Funding, bundle.Funding{Key: other, Period: 1, License: "camera", Months: 4})
		expectClass(t, l.check(t, b, issued), verify.ErrTrust, "are both trial keys")
	})
	t.Run("with a grace after it", func(t *testing.T) {
		b := mk(trial, issued, 1)
		b.Validity.GraceUntil = b.Validity.Until.AddDate(0, 0, 30)
		expectClass(t, l.check(t, b, issued), verify.ErrTrust, "a trial ends without a grace period")
	})
	t.Run("before its key was issued", func(t *testing.T) {
		b := mk(trial, issued.AddDate(0, 0, -10), 1)
		b.Issued = issued
		expectClass(t, l.check(t, b, issued), verify.ErrTrust, "before trial key")
	})
	t.Run("mixed with paid licenses", func(t *testing.T) {
		b := mk(trial, issued, 1)
		b.Funding = append(b.Funding, bundle.Funding{Key: sub, Period: 1, License: "camera", Months: 1})
		expectClass(t, l.check(t, b, issued), verify.ErrTrust, "funded by its trial key only")
	})
	t.Run("one trial key stretched over periods back to back", func(t *testing.T) {
		// 16 cameras for 3 months would fund 16 periods of 3 months of
		// one camera: four years of a three-month trial.
		long := l.key(t, licensekey.Trial, issued, 3, "", cams(16))
		b := l.base(issued.Add(time.Hour))
		from := issued
		for i := 1; i <= 4; i++ {
			until := bundle.AddMonths(from, 3)
			period(b, from, until, map[string]int{"camera": 1})
			b.Funding = append(b.Funding, bundle.Funding{Key: long, Period: i, License: "camera", Months: 3})
			from = until
		}
		b.Validity.GraceUntil = b.Validity.Until
		expectClass(t, l.check(t, b, issued.AddDate(0, 10, 0)), verify.ErrTrust, "a trial key funds one period")
	})
	t.Run("two trial keys on one machine with a device state", func(t *testing.T) {
		run := l.withState(t)
		expectOK(t, run(mk(trial, issued, 1), issued.AddDate(0, 0, 1)))
		b := mk(other, day(2026, 12, 22), 1)
		b.Sequence = 2
		expectClass(t, run(b, day(2026, 12, 23)), verify.ErrExpired, "already ran trial key")
	})
}

// SupportEnd is what status shows without verifying: the end of the last
// period a subscription key or credit pays.
func TestSupportEnd(t *testing.T) {
	l := newLifeWorld(t)
	issued := day(2026, 11, 22)
	b := l.base(issued)
	period(b, issued, issued.AddDate(1, 0, 0), map[string]int{"camera": 1})
	b.Funding = []bundle.Funding{{Key: l.key(t, licensekey.Subscription, issued, 12, "", cams(1)), Period: 1, License: "camera", Months: 12}}
	if end, ok := verify.SupportEnd(b); !ok || !end.Equal(issued.AddDate(1, 0, 0)) {
		t.Errorf("SupportEnd = %v, %v", end, ok)
	}
	b.Funding[0].Key = l.key(t, licensekey.Trial, issued, 1, "", cams(12))
	if _, ok := verify.SupportEnd(b); ok {
		t.Error("a trial pays no support")
	}
}

// Once the subscription and its grace are over, no share is in force: a
// floating system licensed by its perpetual hardware licenses is bounded
// by them as a whole, and a hardware camera on one server is licensed.
func TestSharesEndWithTheSubscription(t *testing.T) {
	l := newLifeWorld(t)
	issued := day(2026, 11, 22)
	sub := l.key(t, licensekey.Subscription, issued, 12, "", cams(4))
	hw := l.key(t, licensekey.Hardware, issued, 0, "CAM-7", cams(1))
	b := l.base(issued)
	b.Binding.Servers = []bundle.Server{{Name: "nvr-1", Identifiers: []string{}}, {Name: "nvr-2", Identifiers: []string{}}}
	period(b, issued, issued.AddDate(1, 0, 0), map[string]int{"camera": 4})
	b.Funding = []bundle.Funding{{Key: sub, Period: 1, License: "camera", Months: 48}}
	b.Shares = []bundle.Share{{Period: 1, Server: "nvr-1", Quota: map[string]int{"camera": 2}}, {Period: 1, Server: "nvr-2", Quota: map[string]int{"camera": 2}}}
	b.Hardware = []bundle.Hardware{{Device: "CAM-7", Key: hw, Expansions: []string{}}}
	doc, err := bundle.Seal(b, l.wk)
	if err != nil {
		t.Fatal(err)
	}
	u, err := verify.ParseUsage("u", []byte("version = 1\nsystem = \"site-1\"\nhardware = [\"CAM-7\"]\n[[server]]\nname = \"nvr-1\"\ncameras = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	opts := l.opts
	opts.Usage, opts.Now = u, issued.AddDate(3, 0, 0)
	if r := verify.Bundle("site.lic", doc, opts); r.Err != nil {
		t.Errorf("three years on, one hardware camera: %v", r.Err)
	}
	u.Servers[0].Cameras = 2
	if r := verify.Bundle("site.lic", doc, opts); !errors.Is(r.Err, verify.ErrQuota) {
		t.Errorf("three years on, two cameras on one hardware license: %v, want a quota failure", r.Err)
	}
}

// Bundles meeting in an audit: one hardware license in two systems, and
// one key's months for an earlier period spent as credit in both, are
// reported, though each bundle verifies on its own.
func TestAuditSeesHardwareAndCredit(t *testing.T) {
	l := newLifeWorld(t)
	issued := day(2026, 11, 22)
	hw := l.key(t, licensekey.Hardware, issued, 0, "CAM-7", cams(1))
	late := l.key(t, licensekey.Subscription, issued, 12, "", cams(3))
	mk := func(sys string) []byte {
		sub := l.key(t, licensekey.Subscription, issued, 12, "", cams(4))
		b := l.base(issued.Add(time.Hour))
		b.System = sys
		period(b, day(2027, 9, 1), day(2028, 9, 1), map[string]int{"camera": 3})
		b.Funding = []bundle.Funding{{Key: sub, Period: 1, License: "camera", Months: 31}}
		b.Credits = []bundle.Credit{{Key: late, License: "camera", From: day(2026, 9, 1), Until: day(2027, 9, 1), Months: 36, Period: 1, Days: 153}}
		b.Hardware = []bundle.Hardware{{Device: "CAM-7", Key: hw, Expansions: []string{}}}
		doc, err := bundle.Seal(b, l.wk)
		if err != nil {
			t.Fatal(err)
		}
		expectOK(t, verify.Bundle(sys, doc, verify.Options{Trust: l.w.Trust, Now: day(2027, 10, 1)}))
		return doc
	}
	rep := audit.Run([]audit.Bundle{{Source: "a.lic", Doc: mk("site-a")}, {Source: "b.lic", Doc: mk("site-b")}}, nil, audit.Options{Trust: l.w.Trust})
	kinds := map[string]bool{}
	for _, f := range rep.Findings {
		kinds[f.Kind] = true
	}
	if !kinds[audit.HardwareTwice] || !kinds[audit.Overspent] {
		t.Errorf("audit findings %+v, want %s and %s", rep.Findings, audit.HardwareTwice, audit.Overspent)
	}
}
