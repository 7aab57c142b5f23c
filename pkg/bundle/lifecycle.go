package bundle

import (
	"errors"
	"fmt"
	"time"

	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/payload"
)

// Limits of the lifecycle sections.
const (
	// MaxCredits and MaxHardware keep a bundle of every other section at
	// its most inside the payload's section limit (payload.MaxSections).
	MaxCredits    = 1024
	MaxHardware   = 1024
	MaxExpansions = 64 // per hardware license
	// MaxKeys bounds the entries naming a key, of every section together,
	// so that a device verifies any bundle within its memory budget.
	MaxKeys = 3072
	// MaxCreditDays bounds one credit entry: far more than any key can
	// pay for, and inside a 32-bit int.
	MaxCreditDays = 1_000_000_000
)

// Lifecycle holds what a bundle carries beyond subscription periods paid
// by keys: license-days of credit that pay for a period, and perpetual
// hardware licenses tied to device serials. A bundle with no period is
// the first-day grace of a new subscription (Start).
type Lifecycle struct {
	Credits  []Credit
	Hardware []Hardware
}

// Credit is license-days that a key paid for an earlier period but that
// could not be used (the period was allocated after its grace, or raised
// mid-term), spent on a period of this bundle. It names the key and what
// the key paid for the earlier period, so that a device recomputes the
// unused days from the key's signed issue date (package verify).
type Credit struct {
	Key     string    `json:"key"`     // the key that paid for the earlier period, canonical text
	License string    `json:"license"` // the license type, of both periods
	From    time.Time `json:"from"`    // the earlier period
	Until   time.Time `json:"until"`
	Months  int       `json:"months"` // license-months the key paid for the earlier period
	Period  int       `json:"period"` // the period of this bundle it pays for, 1-based
	Days    int       `json:"days"`   // license-days it pays
}

// Hardware is a perpetual license tied to one device (a camera, an
// intercom): its hardware key and the expansion keys that add to it.
type Hardware struct {
	Device     string   `json:"device"`     // the device serial the keys are tied to
	Key        string   `json:"key"`        // the hardware key, canonical text
	Expansions []string `json:"expansions"` // expansion keys, canonical text
}

// Start reports whether b is the first-day grace of a subscription: a
// bundle with no period, whose validity is only its grace.
func (b *Bundle) Start() bool { return len(b.Periods) == 0 }

func isLifecycle(sec *payload.Section) bool {
	return sec.Array && (sec.Name == "credit" || sec.Name == "hardware")
}

func (b *Bundle) parseLifecycle(sec *payload.Section, t *payload.Table) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: line %d: %s", ErrMalformed, sec.Line, fmt.Sprintf(format, args...))
	}
	switch sec.Name {
	case "credit":
		if len(b.Credits) == MaxCredits {
			return fail("more than %d credit entries", MaxCredits)
		}
		b.Credits = append(b.Credits, Credit{Key: t.String("key"), License: t.String("license"),
			From: t.Time("from"), Until: t.Time("until"), Months: t.Int("months"),
			Period: t.Int("period"), Days: t.Int("days")})
	case "hardware":
		if len(b.Hardware) == MaxHardware {
			return fail("more than %d hardware licenses", MaxHardware)
		}
		b.Hardware = append(b.Hardware, Hardware{Device: t.String("device"), Key: t.String("key"),
			Expansions: t.Strings("expansions")})
	}
	return nil
}

func (b *Bundle) writeLifecycle(w *payload.Writer) {
	for _, c := range b.Credits {
		w.ArrayTable("credit")
		w.String("key", c.Key)
		w.String("license", c.License)
		w.Time("from", c.From)
		w.Time("until", c.Until)
		w.Int("months", c.Months)
		w.Int("period", c.Period)
		w.Int("days", c.Days)
	}
	for _, h := range b.Hardware {
		w.ArrayTable("hardware")
		w.String("device", h.Device)
		w.String("key", h.Key)
		w.Strings("expansions", h.Expansions)
	}
}

// validateLifecycle checks the lifecycle sections on their own; whether
// the keys may pay for them is package verify's business.
func (b *Bundle) validateLifecycle() error {
	if b.Start() {
		switch {
		case len(b.Funding) > 0 || len(b.Credits) > 0:
			return errors.New("funding and credit: a bundle without a period pays for nothing")
		case !b.Validity.Until.Equal(b.Validity.From):
			return errors.New("validity: a bundle without a period has until = from: its validity is its grace")
		case !b.Validity.GraceUntil.After(b.Validity.Until):
			return errors.New("validity: a bundle without a period needs grace_until after from")
		}
	}
	if len(b.Credits) > MaxCredits {
		return fmt.Errorf("credit: more than %d entries", MaxCredits)
	}
	for i, c := range b.Credits {
		field := fmt.Sprintf("credit[%d]", i+1)
		if len(c.Key) > licensekey.MaxTextLen {
			return fmt.Errorf("%s.key: too long", field)
		}
		if err := licensekey.ValidName(c.License); err != nil {
			return fmt.Errorf("%s.license: %v", field, err)
		}
		if !payload.ValidTime(c.From) || !payload.ValidTime(c.Until) || !c.Until.After(c.From) {
			return fmt.Errorf("%s: want from < until, in the years %d to %d", field, payload.MinYear, payload.MaxYear)
		}
		if c.Months < 1 || c.Months > licensekey.MaxQuantity*licensekey.MaxTermMonths {
			return fmt.Errorf("%s.months: %d, want 1 to %d", field, c.Months, licensekey.MaxQuantity*licensekey.MaxTermMonths)
		}
		if c.Period < 1 || c.Period > len(b.Periods) {
			return fmt.Errorf("%s.period: %d, want 1 to %d", field, c.Period, len(b.Periods))
		}
		if c.Days < 1 || c.Days > MaxCreditDays {
			return fmt.Errorf("%s.days: %d, want 1 to %d", field, c.Days, MaxCreditDays)
		}
	}
	if len(b.Hardware) > MaxHardware {
		return fmt.Errorf("hardware: more than %d licenses", MaxHardware)
	}
	// Every key a bundle carries costs a device its decoding and
	// signature: all of them together, funding, credits, hardware and
	// expansions, are at most MaxKeys.
	keys := len(b.Funding) + len(b.Credits)
	for _, h := range b.Hardware {
		keys += 1 + len(h.Expansions)
	}
	if keys > MaxKeys {
		return fmt.Errorf("keys: %d funding, credit, hardware and expansion entries, more than %d", keys, MaxKeys)
	}
	for i, h := range b.Hardware {
		field := fmt.Sprintf("hardware[%d]", i+1)
		if err := licensekey.ValidDevice(h.Device); err != nil || h.Device == "" {
			return fmt.Errorf("%s.device: %q is not a device serial", field, h.Device)
		}
		if len(h.Key) > licensekey.MaxTextLen {
			return fmt.Errorf("%s.key: too long", field)
		}
		if len(h.Expansions) > MaxExpansions {
			return fmt.Errorf("%s.expansions: more than %d", field, MaxExpansions)
		}
		for _, x := range h.Expansions {
			if len(x) > licensekey.MaxTextLen {
				return fmt.Errorf("%s.expansions: a key too long", field)
			}
		}
	}
	return nil
}

// Days returns the whole days from a to b, at least 0: what license-days
// count. Dates are compared as dates, so a span of centuries does not
// saturate a Duration.
func Days(a, b time.Time) int64 {
	if !b.After(a) {
		return 0
	}
	a, b = a.UTC(), b.UTC()
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	// Whole days between the dates, from the proleptic day numbers.
	n := dayNumber(db) - dayNumber(da)
	// A part of a day does not count: b earlier in its day than a.
	if b.Sub(db) < a.Sub(da) {
		n--
	}
	return max(n, 0)
}

// dayNumber counts days from 0001-01-01, without time.Duration.
func dayNumber(t time.Time) int64 {
	y := int64(t.Year()) - 1
	return y*365 + y/4 - y/100 + y/400 + int64(t.YearDay()) - 1
}
