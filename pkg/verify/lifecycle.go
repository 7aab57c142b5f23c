package verify

import (
	"fmt"
	"slices"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/licensekey"
)

// The subscription's lifecycle beyond periods paid by keys: credit spent
// on a period, perpetual hardware licenses with their expansions, trials,
// and the first-day grace of a bundle with no period. Every number here is
// written by the wallet; each check below bounds it by what the vendor
// signed: key kinds, issue dates, devices and capacities.

// keyUse says what a bundle uses a key for; one key may pay for periods
// and for credit, but a hardware or expansion license is nothing else.
type keyUse uint8

const (
	useFunding keyUse = 1 << iota
	useCredit
	useHardware
	useExpansion
)

// allows checks that k's kind fits every use the bundle makes of it.
func (u keyUse) allows(k *licensekey.Key) error {
	perpetual := u & (useHardware | useExpansion)
	switch {
	case perpetual != 0 && u != useHardware && u != useExpansion:
		return fmt.Errorf("key %s is used both as a hardware or expansion license and for something else", k.Serial)
	case u == useHardware && k.Kind != licensekey.Hardware:
		return fmt.Errorf("key %s is a %s key; a hardware license needs a hardware key", k.Serial, k.Kind)
	case u == useExpansion && k.Kind != licensekey.Expansion:
		return fmt.Errorf("key %s is a %s key; an expansion of a hardware license needs an expansion key", k.Serial, k.Kind)
	case u&useCredit != 0 && k.Kind != licensekey.Subscription:
		return fmt.Errorf("key %s is a %s key; credit is paid by subscription keys", k.Serial, k.Kind)
	case u&useFunding != 0 && k.Kind != licensekey.Subscription && k.Kind != licensekey.Trial:
		return fmt.Errorf("key %s is a %s key; bundles are funded by subscription keys", k.Serial, k.Kind)
	}
	return nil
}

// lifecycle holds the decoded keys of a bundle's credit and hardware
// sections, in their order.
type lifecycle struct {
	credits    []*licensekey.Key
	hardware   []*licensekey.Key
	expansions [][]*licensekey.Key
}

// lifecycleReport is the part of a Report this file fills in.
type lifecycleReport struct {
	// Hardware lists the bundle's perpetual hardware licenses.
	Hardware []HardwareReport `json:"hardware,omitempty"`

	hw    map[string]map[string]int64 // device serial → license type → units
	paid  []bool                      // per period: paid by a subscription key or credit
	trial []string                    // per period: the key id of the trial key that funds it
}

// HardwareReport is one perpetual hardware license of a bundle.
type HardwareReport struct {
	Device     string           `json:"device"`
	Licenses   map[string]int64 `json:"licenses"`   // units per license type, expansions included
	Expansions int              `json:"expansions"` // expansion keys added to it
	// Status is "not-checked" (no usage file), "in-use" (the usage file
	// reports the device running on it) or "not-reported".
	Status string `json:"status"`
}

// lifecycleTimes is the part of a TimeReport this file fills in.
type lifecycleTimes struct {
	// SupportUntil is when support and software updates end: the end of
	// the last period paid by a subscription key or credit. Perpetual
	// hardware licenses outlive it. Omitted if no period is paid.
	SupportUntil *time.Time `json:"support_until,omitempty"`
	// TrialUntil is the end of the trial period in force, if one is.
	TrialUntil *time.Time `json:"trial_until,omitempty"`
	// FirstGrace is set for a bundle with no period: the first-day grace
	// of a subscription whose licenses are not allocated yet.
	FirstGrace bool `json:"first_grace,omitempty"`
	// Perpetual is set past the subscription and its grace, when only the
	// bundle's perpetual hardware licenses remain.
	Perpetual bool `json:"perpetual,omitempty"`
}

// decodeLifecycle decodes the keys of the credit and hardware sections.
func decodeLifecycle(b *bundle.Bundle, decode func(text string, at field, use keyUse) (*licensekey.Key, error)) (*lifecycle, error) {
	lc := &lifecycle{}
	for i, c := range b.Credits {
		k, err := decode(c.Key, field{"credit[%d].key", i + 1, 0}, useCredit)
		if err != nil {
			return nil, err
		}
		lc.credits = append(lc.credits, k)
	}
	for i, h := range b.Hardware {
		k, err := decode(h.Key, field{"hardware[%d].key", i + 1, 0}, useHardware)
		if err != nil {
			return nil, err
		}
		lc.hardware = append(lc.hardware, k)
		var xs []*licensekey.Key
		for j, x := range h.Expansions {
			xk, err := decode(x, field{"hardware[%d].expansions[%d]", i + 1, j + 1}, useExpansion)
			if err != nil {
				return nil, err
			}
			xs = append(xs, xk)
		}
		lc.expansions = append(lc.expansions, xs)
	}
	return lc, nil
}

// checkCredits bounds the credit entries by what their keys paid and when
// the keys were issued, adds what the keys paid for earlier periods to
// taken, and returns the license-days of credit per period and license
// type.
//
// A key issued after the grace of a period it pays for could not be used
// from the end of that grace until it was issued: no bundle funded by it
// could be signed before (step 2.8). Of the license-months m it paid for a
// period of M months, those days are worth m × unusable days ÷ M
// license-days. The entries that name one earlier period and license type
// spend, together, at most the sum of that over their keys, rounded down
// once.
func (lc *lifecycle) checkCredits(b *bundle.Bundle, pol cert.Policy, taken map[licensekey.Ref]map[string]int64, funders []*licensekey.Key) ([]map[string]int64, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrTrust, fmt.Sprintf(format, args...))
	}
	days := make([]map[string]int64, len(b.Periods))
	type source struct {
		from, until int64
		license     string
	}
	type spent struct {
		days   int64
		entry  int                     // the first entry, for messages
		months map[*licensekey.Key]int // what each key paid for the period
		keys   []*licensekey.Key
	}
	groups := map[source]*spent{}
	var order []source
	horizon := pol.UnallocatedExpiryYears + pol.MaxRenewalYears
	date := func(t time.Time) string { return t.Format(time.DateOnly) }
	for i, c := range b.Credits {
		k, p := lc.credits[i], b.Periods[c.Period-1]
		field := fmt.Sprintf("credit[%d]", i+1)
		if !c.Until.After(k.Issued) {
			return nil, fail("%s: key %s, issued %s, paid for %s to %s, which ended before it was issued", field, k.Serial, date(k.Issued), date(c.From), date(c.Until))
		}
		if last := k.Issued.AddDate(horizon, 0, 0); c.Until.After(last) || p.Until.After(last) {
			return nil, fail("%s: key %s, issued %s, funds time until %s at most", field, k.Serial, date(k.Issued), date(last))
		}
		if c.Until.After(c.From.AddDate(pol.MaxRenewalYears, 0, 0)) {
			return nil, fail("%s: the period %s to %s is longer than the %d years the vendor's policy allows", field, date(c.From), date(c.Until), pol.MaxRenewalYears)
		}
		if p.From.Before(c.Until) {
			return nil, fail("%s: it pays for period %d, which starts %s, before the period that earned it ends (%s)", field, c.Period, date(p.From), date(c.Until))
		}
		s := source{c.From.Unix(), c.Until.Unix(), c.License}
		g := groups[s]
		if g == nil {
			g = &spent{entry: i, months: map[*licensekey.Key]int{}}
			groups[s] = g
			order = append(order, s)
		}
		if m, ok := g.months[k]; !ok {
			g.months[k] = c.Months
			g.keys = append(g.keys, k)
		} else if m != c.Months {
			return nil, fail("%s: months %d; another entry says key %s paid %d for the same period", field, c.Months, k.Serial, m)
		}
		g.days += int64(c.Days)
		if days[c.Period-1] == nil {
			days[c.Period-1] = map[string]int64{}
		}
		days[c.Period-1][c.License] += int64(c.Days)
	}
	// What each key paid for each period of the bundle and license type,
	// summed once: credit of a period the bundle carries is bounded by it.
	type paidKey struct {
		period  int
		key     *licensekey.Key
		license string
	}
	var paidBy map[paidKey]int64
	for _, s := range order {
		g := groups[s]
		c := b.Credits[g.entry]
		j := periodIndex(b, c.From, c.Until)
		if j >= 0 && paidBy == nil {
			paidBy = map[paidKey]int64{}
			for i, f := range b.Funding {
				paidBy[paidKey{f.Period - 1, funders[i], f.License}] += int64(f.Months)
			}
		}
		graceEnd := c.From.AddDate(0, 0, pol.GraceDays)
		var worth int64 // license-days × months of the period
		for _, k := range g.keys {
			months := int64(g.months[k])
			// What the key paid for the earlier period: if that period is
			// in this bundle its funding entries say it; else it is counted
			// against the key's capacity here, with everything else the
			// bundle takes from the key.
			if j >= 0 {
				if paid := paidBy[paidKey{j, k, c.License}]; months > paid {
					return nil, fail("credit: key %s paid %d %s license-months for period %d, the credit says %d", k.Serial, paid, c.License, j+1, months)
				}
			} else {
				ref := k.Ref()
				if taken[ref] == nil {
					taken[ref] = map[string]int64{}
				}
				taken[ref][c.License] += months
				if have := int64(k.Capacity(c.License)); taken[ref][c.License] > have {
					return nil, fail("key %s holds %d %s license-months, the bundle takes %d", k.Serial, have, c.License, taken[ref][c.License])
				}
			}
			worth += months * bundle.Days(graceEnd, minTime(k.Issued, c.Until))
		}
		if most := worth / int64(bundle.Period{From: c.From, Until: c.Until}.Months()); g.days > most {
			return nil, fail("credit: the keys that paid for %s from %s to %s after its grace could not use %d license-days of it; the bundle spends %d",
				c.License, date(c.From), date(c.Until), most, g.days)
		}
	}
	return days, nil
}

func periodIndex(b *bundle.Bundle, from, until time.Time) int {
	for i, p := range b.Periods {
		if p.From.Equal(from) && p.Until.Equal(until) {
			return i
		}
	}
	return -1
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// covered reports whether months license-months from keys and credit
// license-days pay for need license-months of period p. A license-month of
// the period is worth its days ÷ months license-days, so the test is
// months × days + credit × months ≥ need × days, in 64 bits.
func covered(p bundle.Period, months, credit, need int64) bool {
	if months >= need {
		return true
	}
	if credit == 0 {
		return false
	}
	m, d := int64(p.Months()), bundle.Days(p.From, p.Until)
	return months*d+credit*m >= need*d
}

func creditText(days int64) string {
	if days == 0 {
		return ""
	}
	return fmt.Sprintf(" and credit %d license-days", days)
}

// lifecycleBinding is the binding floor of a bundle with no period: no key
// pays for its grace, so it is bound as strictly as any product of the
// device's catalog requires.
func (v *Verifier) lifecycleBinding(b *bundle.Bundle) (int, string) {
	if !b.Start() {
		return 0, ""
	}
	n, why := 0, ""
	for _, p := range v.catalog().Products {
		if p.BindingRequired > n {
			n, why = p.BindingRequired, fmt.Sprintf("the catalog requires %d for product %s, and a first-day grace is bound as strictly as any product", p.BindingRequired, p.Code)
		}
	}
	return n, why
}

// check runs the lifecycle's checks of step 2 that need every key
// verified: the first-day grace's dates, hardware licenses and their
// devices, and trials.
func (lc *lifecycle) check(r *Report, b *bundle.Bundle, funders []*licensekey.Key, creditDays []map[string]int64) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrTrust, fmt.Sprintf(format, args...))
	}
	if y, m, d := b.Issued.UTC().Date(); b.Start() && b.Validity.From.After(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) {
		return fail("validity.from: %s; a first-day grace starts no later than the day the wallet signs it, %s",
			b.Validity.From.Format(time.DateOnly), b.Issued.Format(time.DateOnly))
	}
	if err := lc.checkHardware(r, b); err != nil {
		return err
	}
	// Which periods are paid (support and software updates run until the
	// last one ends), and which are trials.
	r.paid = make([]bool, len(b.Periods))
	r.trial = make([]string, len(b.Periods))
	trials := make([][]*licensekey.Key, len(b.Periods))
	var trialKey *licensekey.Key
	for i, f := range b.Funding {
		k := funders[i]
		if k.Kind != licensekey.Trial {
			r.paid[f.Period-1] = true
			continue
		}
		if trialKey != nil && trialKey != k {
			return fail("keys %s and %s are both trial keys; a trial is one key, once per system", trialKey.Serial, k.Serial)
		}
		trialKey = k
		if !slices.Contains(trials[f.Period-1], k) {
			trials[f.Period-1] = append(trials[f.Period-1], k)
		}
	}
	for i := range creditDays {
		if creditDays[i] != nil {
			r.paid[i] = true
		}
	}
	// A trial is one period: a trial key that funded several short
	// periods back to back would stretch its term as far as its capacity
	// goes.
	trialPeriods := 0
	for i := range b.Periods {
		if len(trials[i]) > 0 {
			if trialPeriods++; trialPeriods > 1 {
				return fail("period %d is funded by trial key %s too; a trial key funds one period", i+1, trials[i][0].Serial)
			}
		}
	}
	for i, p := range b.Periods {
		if len(trials[i]) == 0 {
			continue
		}
		k := trials[i][0]
		if r.paid[i] {
			return fail("period %d is funded by trial key %s and by paid licenses; a trial period is funded by its trial key only", i+1, k.Serial)
		}
		if m := p.Months(); m > k.TermMonths {
			return fail("period %d runs %d months; trial key %s is for %d", i+1, m, k.Serial, k.TermMonths)
		}
		if p.From.Before(k.Issued) {
			return fail("period %d starts %s, before trial key %s was issued (%s)", i+1, p.From.Format(time.DateOnly), k.Serial, k.Issued.Format(time.DateOnly))
		}
		if i == len(b.Periods)-1 && b.Validity.GraceUntil.After(b.Validity.Until) {
			return fail("validity.grace_until: %s; a trial ends without a grace period, on %s",
				b.Validity.GraceUntil.Format(time.DateOnly), b.Validity.Until.Format(time.DateOnly))
		}
		r.trial[i] = k.ID()
	}
	return nil
}

// checkHardware checks every hardware license: a hardware key tied to the
// device the entry names, and expansions tied to the same device, each key
// once and each device once.
func (lc *lifecycle) checkHardware(r *Report, b *bundle.Bundle) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrTrust, fmt.Sprintf(format, args...))
	}
	if len(b.Hardware) == 0 {
		return nil
	}
	r.hw = map[string]map[string]int64{}
	seen := map[*licensekey.Key]bool{}
	for i, h := range b.Hardware {
		k := lc.hardware[i]
		switch {
		case k.Device == "":
			return fail("hardware[%d]: key %s is tied to no device; a hardware license is tied to its device's serial", i+1, k.Serial)
		case k.Device != h.Device:
			return fail("hardware[%d]: key %s is tied to device %s, not to %s", i+1, k.Serial, k.Device, h.Device)
		case r.hw[h.Device] != nil:
			return fail("hardware[%d]: device %s has a hardware license already", i+1, h.Device)
		case seen[k]:
			return fail("hardware[%d]: key %s licenses two devices", i+1, k.Serial)
		}
		seen[k] = true
		units := map[string]int64{}
		for _, l := range k.Licenses {
			units[l.Type] += int64(l.Quantity)
		}
		for j, x := range lc.expansions[i] {
			switch {
			case x.Device != h.Device:
				device := x.Device
				if device == "" {
					device = "no device"
				}
				return fail("hardware[%d].expansions[%d]: expansion key %s is tied to %s, not to the hardware license of device %s", i+1, j+1, x.Serial, device, h.Device)
			case seen[x]:
				return fail("hardware[%d].expansions[%d]: expansion key %s is listed twice", i+1, j+1, x.Serial)
			}
			seen[x] = true
			for _, l := range x.Licenses {
				units[l.Type] += int64(l.Quantity)
			}
		}
		r.hw[h.Device] = units
		r.Hardware = append(r.Hardware, HardwareReport{Device: h.Device, Licenses: units, Expansions: len(h.Expansions), Status: "not-checked"})
	}
	return nil
}

// lifecycleTime fills in the support end, the trial in force and the
// first-day grace.
func (r *Report) lifecycleTime(b *bundle.Bundle, now time.Time) {
	t := r.Time
	for i := len(b.Periods) - 1; i >= 0 && i < len(r.paid); i-- {
		if r.paid[i] {
			end := b.Periods[i].Until
			t.SupportUntil = &end
			break
		}
	}
	for i, p := range b.Periods {
		if i < len(r.trial) && r.trial[i] != "" && !now.Before(p.From) && now.Before(p.Until) {
			end := p.Until
			t.TrialUntil = &end
		}
	}
	t.FirstGrace = b.Start()
}

// SupportEnd returns when support and software updates end for a bundle:
// the end of its last period paid by a subscription key or credit, which
// its perpetual hardware licenses outlive. ok is false if no period is
// paid (a first-day grace, a trial). It decodes the funding keys but does
// not verify them (a key that does not decode counts as paid): a verified bundle's report has it as
// TimeReport.SupportUntil.
func SupportEnd(b *bundle.Bundle) (time.Time, bool) {
	paid := make([]bool, len(b.Periods))
	for _, f := range b.Funding {
		// A key that does not decode is not known to be a trial: status
		// shows bundles it does not verify.
		if k, err := licensekey.ParseCanonical(f.Key); err != nil || k.Kind != licensekey.Trial {
			paid[f.Period-1] = true
		}
	}
	for _, c := range b.Credits {
		paid[c.Period-1] = true
	}
	for i := len(paid) - 1; i >= 0; i-- {
		if paid[i] {
			return b.Periods[i].Until, true
		}
	}
	return time.Time{}, false
}

func graceWarning(b *bundle.Bundle) string {
	v := b.Validity
	if b.Start() {
		return fmt.Sprintf("first-day grace: the subscription started %s and no licenses are allocated yet; allocate before %s",
			v.From.Format(time.DateOnly), v.GraceUntil.Format(time.DateOnly))
	}
	return fmt.Sprintf("in the grace period: the subscription ended %s; renew before %s",
		v.Until.Format(time.DateOnly), v.GraceUntil.Format(time.DateOnly))
}

// afterGrace decides a bundle past its grace that has no subscription left:
// licensed by its perpetual hardware licenses, or expired.
func afterGrace(r *Report, b *bundle.Bundle) error {
	v := b.Validity
	if len(b.Hardware) == 0 {
		return fmt.Errorf("%w: the first-day grace of the subscription that started %s ended %s, and no licenses were allocated",
			ErrExpired, v.From.Format(time.DateOnly), v.GraceUntil.Format(time.DateOnly))
	}
	r.Time.Perpetual = true
	if b.Start() {
		r.Warnings = append(r.Warnings, fmt.Sprintf("the first-day grace ended %s: only the perpetual hardware licenses remain",
			v.GraceUntil.Format(time.DateOnly)))
		return nil
	}
	msg := fmt.Sprintf("the subscription ended %s and its grace period %s: only the perpetual hardware licenses remain",
		v.Until.Format(time.DateOnly), v.GraceUntil.Format(time.DateOnly))
	if s := r.Time.SupportUntil; s != nil {
		msg += "; support and software updates ended " + s.Format(time.DateOnly)
	}
	r.Warnings = append(r.Warnings, msg)
	return nil
}

// quotaInForce returns the quotas in force: the period's, plus the units of
// the hardware licenses of the devices the usage file reports running on
// them (every one, without a usage file). A device reported on a hardware
// license the bundle does not hold is a binding failure: the license is
// tied to a device serial.
func (r *Report) quotaInForce(b *bundle.Bundle, per bundle.Period, u *Usage) (map[string]int64, error) {
	q := quota64(per.Quota)
	add := func(units map[string]int64) {
		for t, n := range units {
			q[t] += n
		}
	}
	if u == nil {
		for _, units := range r.hw {
			add(units)
		}
		return q, nil
	}
	inUse := map[string]bool{}
	for _, serial := range u.Hardware {
		units, ok := r.hw[serial]
		if !ok {
			return nil, fmt.Errorf("%w: device %s reports running on a hardware license, and the bundle holds none for it", ErrBinding, serial)
		}
		add(units)
		inUse[serial] = true
	}
	for i := range r.Hardware {
		r.Hardware[i].Status = "not-reported"
		if inUse[r.Hardware[i].Device] {
			r.Hardware[i].Status = "in-use"
		}
	}
	return q, nil
}

// unlimited reports whether the bundle is in its first-day grace now: it
// licenses no quota, and limits none, for the grace days the policy
// allows, once per machine with a device state.
func (r *Report) unlimited() bool {
	t := r.Time
	if t == nil || !t.FirstGrace || !t.Now.Before(t.GraceUntil) {
		return false
	}
	for i := range r.Quotas {
		if r.Quotas[i].Status == "exceeded" {
			r.Quotas[i].Status = "first-grace"
		}
	}
	return true
}
