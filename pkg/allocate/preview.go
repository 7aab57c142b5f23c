package allocate

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/wallet"
)

// Preview is what allocating req.Years would need, year by year, and how
// much of it the wallet's credit and keys pay: the dry run of Make, so a
// site knows what to buy. It changes nothing.
type Preview struct {
	System  string        `json:"system"`
	From    time.Time     `json:"from"`    // the start of the first coming year
	Renewal bool          `json:"renewal"` // whether it continues a subscription
	Years   []PreviewYear `json:"years"`
}

// PreviewYear is one coming subscription year.
type PreviewYear struct {
	Year  int           `json:"year"` // from 1
	From  time.Time     `json:"from"`
	Until time.Time     `json:"until"`
	Needs []PreviewNeed `json:"needs"`
}

// PreviewNeed is one license type of a coming year: its need in
// license-months, and what pays for it, credit first, then keys in the
// order Make takes them; what neither pays is missing.
type PreviewNeed struct {
	License         string `json:"license"`
	Quota           int    `json:"quota"`
	Need            int    `json:"need_months"`
	Credit          int    `json:"credit_months"`
	Keys            int    `json:"key_months"`
	Missing         int    `json:"missing_months"`
	MissingLicenses int    `json:"missing_licenses"` // licenses of the type to buy for the year
}

// PreviewMake returns the Preview of req against w: the system's current
// need for each of req.Years coming subscription years, from where the
// subscription continues (or --start, or today for a new one).
func PreviewMake(w *wallet.Wallet, req Request) (*Preview, error) {
	pol, sys := req.Policy, req.System
	if req.Years < 1 || req.Years > pol.MaxRenewalYears {
		return nil, fmt.Errorf("%w: --years must be 1 to %d", ErrRequest, pol.MaxRenewalYears)
	}
	today := Day(req.Now)
	pv := &Preview{System: sys.ID, From: today, Years: []PreviewYear{}}
	if !req.Start.IsZero() {
		pv.From = Day(req.Start)
	}
	if prev := w.LastAllocation(sys.ID); prev != nil {
		from, fresh := renewalDate(prev, today)
		if !fresh || req.Start.IsZero() {
			pv.From = from
		}
		pv.Renewal = !fresh && len(prev.Periods) > 0
	}
	// What the system's hardware licenses cover needs no subscription.
	hw, err := w.HardwareFor(sys.ID, sys.Serials())
	if err != nil {
		return nil, err
	}
	units := hardwareUnits(w, hw)
	// What the wallet holds now, per license type: license-months of keys
	// Make would take (subscription keys not expired), and license-days of
	// credit a device accepts for a period from pv.From.
	keys, credit := map[string]int64{}, map[string]int64{}
	for _, e := range w.Keys {
		if e.Key.Kind != licensekey.Subscription || !req.Now.Before(e.Expires(pol.UnallocatedExpiryYears)) {
			continue
		}
		for _, l := range e.Key.Licenses {
			keys[l.Type] += int64(max(e.Available(l.Type), 0))
		}
	}
	for _, c := range w.CreditBalances(req.Now, pol.UnallocatedExpiryYears) {
		if c.Left > 0 && !w.Credits[c.Credit-1].Until.After(pv.From) {
			credit[c.License] += int64(c.Left)
		}
	}
	for y := range req.Years {
		py := PreviewYear{Year: y + 1, From: pv.From.AddDate(y, 0, 0), Until: pv.From.AddDate(y+1, 0, 0)}
		m := int64(bundle.Period{From: py.From, Until: py.Until}.Months())
		d := bundle.Days(py.From, py.Until)
		for _, t := range slices.Sorted(maps.Keys(sys.Need)) {
			q := int64(sys.Need[t] - units[t])
			if q <= 0 {
				continue
			}
			n := PreviewNeed{License: t, Quota: int(q), Need: int(q * m)}
			fromCredit := min(q*m, credit[t]*m/d)
			credit[t] -= (fromCredit*d + m - 1) / m
			fromKeys := min(q*m-fromCredit, keys[t])
			keys[t] -= fromKeys
			n.Credit, n.Keys = int(fromCredit), int(fromKeys)
			n.Missing = n.Need - n.Credit - n.Keys
			n.MissingLicenses = int((int64(n.Missing) + m - 1) / m)
			py.Needs = append(py.Needs, n)
		}
		pv.Years = append(pv.Years, py)
	}
	return pv, nil
}
