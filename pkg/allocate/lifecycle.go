package allocate

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/wallet"
)

// The lifecycle around subscription periods: the first-day grace of a new
// subscription (Start), trials, credit spent before keys and earned from
// keys bought late, and the perpetual hardware licenses of the system's
// devices.

// Start plans the first bundle of a new subscription: no period and no
// license, only the grace the policy gives a subscription from its first
// day, and the perpetual hardware licenses the wallet holds for the
// system's devices. The subscription starts today; the first allocation
// (--years) runs from this day, so an allocation after the grace is
// credited as any late one is.
func Start(w *wallet.Wallet, req Request) (*Plan, error) {
	sys := req.System
	if prev := w.LastAllocation(sys.ID); prev != nil {
		what := fmt.Sprintf("started on %s", prev.Start.Format(time.DateOnly))
		if len(prev.Periods) > 0 {
			what = fmt.Sprintf("runs from %s", prev.Periods[0].From.Format(time.DateOnly))
		}
		return nil, fmt.Errorf("%w: system %s has a subscription already (it %s, bundle %d): a first-day grace opens a new one only",
			ErrRequest, sys.ID, what, prev.Sequence)
	}
	p, err := newPlan(w, req)
	if err != nil {
		return nil, err
	}
	p.Start, p.Sequence = Day(req.Now), 1
	if err := p.hardwareFor(w, req); err != nil {
		return nil, err
	}
	return p, p.finish(w, req)
}

// hardwareFor sets the plan's hardware licenses: those the wallet holds for
// the system's devices, as many as a bundle holds.
func (p *Plan) hardwareFor(w *wallet.Wallet, req Request) error {
	hw, err := w.HardwareFor(req.System.ID, req.System.Serials())
	if err != nil {
		return err
	}
	if len(hw) > bundle.MaxHardware {
		return fmt.Errorf("%w: system %s has %d devices with hardware licenses, and a bundle holds %d at most",
			ErrRequest, req.System.ID, len(hw), bundle.MaxHardware)
	}
	p.Hardware = hw
	return nil
}

// beyondHardware returns the part of the need that the system's perpetual
// hardware licenses do not cover: a device with its own license needs no
// subscription license for what that license holds.
func (p *Plan) beyondHardware(w *wallet.Wallet, need map[string]int, req Request) (map[string]int, error) {
	if len(p.Hardware) == 0 {
		return need, nil
	}
	units := hardwareUnits(w, p.Hardware)
	out := map[string]int{}
	for t, q := range need {
		if q > units[t] {
			out[t] = q - units[t]
		}
	}
	if len(out) == 0 && !req.TopUp {
		return nil, fmt.Errorf("%w: the hardware licenses of system %s cover its whole need (%s): there is nothing to allocate; allot allocate --top-up writes them into a new bundle",
			ErrRequest, p.System.ID, bundle.FormatQuota(need))
	}
	return out, nil
}

// hardwareUnits sums the units of hardware licenses per license type.
func hardwareUnits(w *wallet.Wallet, hw []wallet.HardwareLicense) map[string]int {
	units := map[string]int{}
	for _, h := range hw {
		for _, id := range append([]string{h.Key}, h.Expansions...) {
			if e, ok := w.Key(id); ok {
				for _, l := range e.Key.Licenses {
					units[l.Type] += l.Quantity
				}
			}
		}
	}
	return units
}

// renewalDate returns where the next period of a system starts after its
// latest allocation prev: the end of its last period; the day a first-day
// grace began; or, after a trial that has ended, today (fresh: a trial
// fixes no subscription date, and --start may set one).
func renewalDate(prev *wallet.Allocation, today time.Time) (from time.Time, fresh bool) {
	if len(prev.Periods) == 0 {
		return prev.Start, false
	}
	last := prev.Periods[len(prev.Periods)-1]
	if last.Trial && !last.Until.After(today) {
		return today, true
	}
	return last.Until, false
}

// validity is the plan's validity: from its first period to its last and
// the policy's grace after it (none after a trial), or, with no period,
// the first-day grace alone. Plan.Bundle narrows the grace by the chains.
func (p *Plan) validity() bundle.Validity {
	if len(p.Periods) == 0 {
		return bundle.Validity{From: p.Start, Until: p.Start, GraceUntil: p.Start.AddDate(0, 0, p.Policy.GraceDays)}
	}
	last := p.Periods[len(p.Periods)-1]
	v := bundle.Validity{From: p.Periods[0].From, Until: last.Until, GraceUntil: last.Until.AddDate(0, 0, p.Policy.GraceDays)}
	if last.Trial {
		v.GraceUntil = v.Until
	}
	return v
}

// trial plans a trial: one period from today for the term of an unused
// trial key, licensing the system's need as far as the key holds it, with
// no grace after it. A system has one trial.
func (p *Plan) trial(w *wallet.Wallet, req Request, need map[string]int) error {
	sys, today := req.System, Day(req.Now)
	for _, a := range w.Allocations {
		for _, per := range a.Periods {
			if a.System == sys.ID && per.Trial {
				return fmt.Errorf("%w: system %s had its trial already (%s to %s): a trial runs once per system",
					ErrRequest, sys.ID, per.From.Format(time.DateOnly), per.Until.Format(time.DateOnly))
			}
		}
	}
	prev := w.LastAllocation(sys.ID)
	if prev != nil {
		for _, per := range prev.Periods {
			if per.Until.After(today) {
				return fmt.Errorf("%w: system %s has a subscription until %s: a trial comes before a subscription",
					ErrRequest, sys.ID, prev.Periods[len(prev.Periods)-1].Until.Format(time.DateOnly))
			}
		}
		p.Sequence = prev.Sequence + 1
	} else {
		p.Sequence = 1
	}
	var key *wallet.Entry
	for _, e := range w.Keys {
		if e.Key.Kind == licensekey.Trial && len(e.Used) == 0 && req.Now.Before(e.Expires(req.Policy.UnallocatedExpiryYears)) {
			key = e
			break
		}
	}
	if key == nil {
		return fmt.Errorf("%w: the wallet holds no unused trial key", ErrRequest)
	}
	per := wallet.Period{From: today, Until: bundle.AddMonths(today, key.Key.TermMonths), Quota: map[string]int{}, Trial: true}
	months := bundle.Period{From: per.From, Until: per.Until}.Months()
	for _, l := range key.Key.Licenses {
		if q := min(need[l.Type], l.Quantity); q > 0 {
			per.Quota[l.Type] = q
			per.Funding = append(per.Funding, wallet.KeyFunding{Key: key.Key.ID(), License: l.Type, Months: q * months})
		}
	}
	if len(per.Funding) == 0 {
		return fmt.Errorf("%w: trial key %s licenses %s, none of which system %s needs", ErrRequest, key.Key.Serial, licenseTypes(key.Key), sys.ID)
	}
	p.Periods = []wallet.Period{per}
	p.Taken = per.Funding
	return nil
}

func licenseTypes(k *licensekey.Key) string {
	var ts []string
	for _, l := range k.Licenses {
		ts = append(ts, l.Type)
	}
	return strings.Join(ts, ", ")
}

// spendCredit pays what it can of per's quotas with the wallet's credit,
// before any key: credit of each license type, the credit expiring first
// spent first. It spends only credit a device will accept for per (the
// period that earned it ended before per starts, and per ends within its
// key's horizon), and only whole license-months' worth of it: a
// license-month of per is worth its days ÷ months license-days. It records
// the credit in per.Credit and returns what it spent.
func spendCredit(w *wallet.Wallet, per *wallet.Period, req Request) []wallet.CreditUse {
	pol := req.Policy
	bp := bundle.Period{From: per.From, Until: per.Until}
	m, d := int64(bp.Months()), bundle.Days(per.From, per.Until)
	if d == 0 {
		return nil
	}
	balances := w.CreditBalances(req.Now, pol.UnallocatedExpiryYears)
	slices.SortStableFunc(balances, func(a, b wallet.CreditBalance) int { return a.Expires.Compare(b.Expires) })
	var spent []wallet.CreditUse
	for _, t := range slices.Sorted(maps.Keys(per.Quota)) {
		var usable []wallet.CreditBalance
		var avail int64
		for _, c := range balances {
			src := w.Credits[c.Credit-1]
			e, ok := w.Key(c.Key)
			if c.License != t || c.Left <= 0 || !ok || src.Until.After(per.From) ||
				per.Until.After(e.Key.Issued.AddDate(pol.UnallocatedExpiryYears+pol.MaxRenewalYears, 0, 0)) {
				continue
			}
			usable = append(usable, c)
			avail += int64(c.Left)
		}
		x := min(avail, int64(per.Quota[t])*d)
		months := x * m / d
		if months == 0 {
			continue
		}
		days := (months*d + m - 1) / m // the fewest days worth those months
		for _, c := range usable {
			n := min(int64(c.Left), days)
			if n <= 0 {
				break
			}
			src := w.Credits[c.Credit-1]
			u := wallet.CreditUse{Credit: c.Credit, Days: int(n), Key: src.Key, License: src.License, From: src.From}
			per.Credit = append(per.Credit, u)
			spent = append(spent, u)
			days -= n
		}
	}
	return spent
}

// creditMonths returns the license-months of type t that per's credit pays.
func creditMonths(per wallet.Period, t string, w *wallet.Wallet) int {
	var days int64
	for _, u := range per.Credit {
		if w.Credits[u.Credit-1].License == t {
			days += int64(u.Days)
		}
	}
	if days == 0 {
		return 0
	}
	bp := bundle.Period{From: per.From, Until: per.Until}
	return int(days * int64(bp.Months()) / bundle.Days(per.From, per.Until))
}

// earnCredit credits what funding paid for per that could not be used: of
// the license-months m a key paid for a period of M months, the days
// after the period's grace and before the key was bought (its issue date,
// and no later than today) are worth m × days ÷ M license-days. A device
// recomputes this from the keys' signed issue dates when the credit is
// spent (verify, checkCredits): per license type, the sum over the keys,
// rounded down once. The wallet credits each key its share, rounded down,
// and the first key the rest of the sum, so that nothing is lost to
// rounding and a device never refuses what the wallet credited. reason
// says why.
func earnCredit(w *wallet.Wallet, per wallet.Period, funding []wallet.KeyFunding, today time.Time, graceDays int, reason string) []wallet.Credit {
	type kl struct{ key, license string }
	paid := map[kl]int{}
	var order []kl
	for _, f := range funding {
		x := kl{f.Key, f.License}
		if _, ok := paid[x]; !ok {
			order = append(order, x)
		}
		paid[x] += f.Months
	}
	m := int64(bundle.Period{From: per.From, Until: per.Until}.Months())
	graceEnd := per.From.AddDate(0, 0, graceDays)
	var out []wallet.Credit
	first := map[string]int{}   // license → index in out of its first credit
	worth := map[string]int64{} // license → license-days × m, over every key
	for _, x := range order {
		e, ok := w.Key(x.key)
		if !ok {
			continue
		}
		unusable := bundle.Days(graceEnd, minTime(today, e.Key.Issued, per.Until))
		if unusable <= 0 {
			continue
		}
		worth[x.license] += int64(paid[x]) * unusable
		if _, ok := first[x.license]; !ok {
			first[x.license] = len(out)
		}
		out = append(out, wallet.Credit{License: x.license, Days: int(int64(paid[x]) * unusable / m),
			Reason: fmt.Sprintf("%s, %d days after the grace period of %s ended", reason, unusable, per.From.Format(time.DateOnly)),
			Key:    x.key, Months: paid[x], From: per.From, Until: per.Until})
	}
	for license, i := range first {
		sum := 0
		for _, c := range out {
			if c.License == license {
				sum += c.Days
			}
		}
		out[i].Days += int(worth[license]/m) - sum
	}
	return slices.DeleteFunc(out, func(c wallet.Credit) bool { return c.Days <= 0 })
}

func minTime(ts ...time.Time) time.Time {
	m := ts[0]
	for _, t := range ts[1:] {
		if t.Before(m) {
			m = t
		}
	}
	return m
}

// lifecycleKeys adds to p.Keys the keys of the plan's credit and hardware
// licenses, each once (seen holds the key ids already there).
func (p *Plan) lifecycleKeys(w *wallet.Wallet, seen map[string]bool) error {
	var ids []string
	for _, per := range p.Periods {
		for _, u := range per.Credit {
			ids = append(ids, w.Credits[u.Credit-1].Key)
		}
	}
	for _, h := range p.Hardware {
		ids = append(append(ids, h.Key), h.Expansions...)
	}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		e, ok := w.Key(id)
		if !ok {
			return fmt.Errorf("wallet: allocation names unknown key %s", id)
		}
		p.Keys = append(p.Keys, e)
	}
	return nil
}

// lifecycleSections writes the plan's credit and hardware licenses into b,
// whose keys' texts are text (by key id), and ends a trial without grace.
func (p *Plan) lifecycleSections(w *wallet.Wallet, b *bundle.Bundle, text map[string]string) {
	for i, per := range p.Periods {
		for _, u := range per.Credit {
			c := w.Credits[u.Credit-1]
			// One entry holds at most bundle.MaxCreditDays; a device sums
			// the entries of one key and period.
			for left := u.Days; left > 0; left -= bundle.MaxCreditDays {
				b.Credits = append(b.Credits, bundle.Credit{Key: text[c.Key], License: c.License, From: c.From, Until: c.Until,
					Months: c.Months, Period: i + 1, Days: min(left, bundle.MaxCreditDays)})
			}
		}
	}
	for _, h := range p.Hardware {
		bh := bundle.Hardware{Device: h.Device, Key: text[h.Key], Expansions: []string{}}
		for _, x := range h.Expansions {
			bh.Expansions = append(bh.Expansions, text[x])
		}
		b.Hardware = append(b.Hardware, bh)
	}
	if n := len(p.Periods); n > 0 && p.Periods[n-1].Trial {
		b.Validity.GraceUntil = b.Validity.Until
	}
}

// hardwareChanged reports whether the plan's hardware licenses differ from
// those of prev.
func (p *Plan) hardwareChanged(prev *wallet.Allocation) bool {
	return !slices.EqualFunc(p.Hardware, prev.Hardware, func(a, b wallet.HardwareLicense) bool {
		return a.Device == b.Device && a.Key == b.Key && slices.Equal(a.Expansions, b.Expansions)
	})
}

func (p *Plan) startNote() string {
	s := fmt.Sprintf("started the subscription of system %s on %s: first-day grace until %s, bundle %d",
		p.System.ID, p.Start.Format(time.DateOnly), p.Validity.GraceUntil.Format(time.DateOnly), p.Sequence)
	return s + p.lifecycleNote()
}

func (p *Plan) lifecycleNote() string {
	s := ""
	for _, u := range p.Spent {
		s += fmt.Sprintf("; spent %d license-days of credit %d", u.Days, u.Credit)
	}
	if len(p.Hardware) > 0 {
		var ds []string
		for _, h := range p.Hardware {
			ds = append(ds, h.Device)
		}
		s += "; hardware licenses of " + strings.Join(ds, ", ")
	}
	return s
}
