package verify

import (
	"bytes"
	"fmt"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/licensekey"
)

// once is what a device state remembers so that a machine runs a
// first-day grace, and a trial, once: a wallet can sign a bundle with no
// period at any time, and nothing but the device's memory tells a second
// first-day grace from the first.
type once struct {
	FirstGrace time.Time // the start of the first-day grace this machine ran
	Trial      string    // the key id of the trial key this machine ran
}

// parseOnce reads a "first_grace DATE" or "trial KEY-ID" line.
func (s *State) parseOnce(f []string) bool {
	if len(f) != 2 {
		return false
	}
	switch f[0] {
	case "first_grace":
		t, err := time.Parse(time.DateOnly, f[1])
		if err != nil || !s.FirstGrace.IsZero() {
			return false
		}
		s.FirstGrace = t
		return true
	case "trial":
		if _, err := licensekey.ParseRef(f[1]); err != nil || s.Trial != "" {
			return false
		}
		s.Trial = f[1]
		return true
	}
	return false
}

func (s *State) writeOnce(b *bytes.Buffer) {
	if !s.FirstGrace.IsZero() {
		fmt.Fprintf(b, "first_grace %s\n", s.FirstGrace.Format(time.DateOnly))
	}
	if s.Trial != "" {
		fmt.Fprintf(b, "trial %s\n", s.Trial)
	}
}

// checkBundle is Check for a bundle that passed steps 1 to 5, with the
// first-day grace and the trial once per machine: a bundle with no period
// whose start is not the one this machine ran, or a trial period in force
// funded by another trial key than the one it ran, is refused (a validity
// failure: the machine's grace or trial is used up). The clock is checked
// first, and recorded whatever the verdict.
func (s *State) checkBundle(b *bundle.Bundle, r *Report, now time.Time, tolerance time.Duration) error {
	if err := s.CheckClock(now, tolerance); err != nil {
		return err
	}
	trial := ""
	if r.Time != nil && r.Time.TrialUntil != nil {
		for i, p := range b.Periods {
			if i < len(r.trial) && r.trial[i] != "" && !now.Before(p.From) && now.Before(p.Until) {
				trial = r.trial[i]
			}
		}
	}
	switch {
	case b.Start() && !s.FirstGrace.IsZero() && !s.FirstGrace.Equal(b.Validity.From):
		s.Observe(now)
		return fmt.Errorf("%w: this machine already ran the first-day grace of a subscription that started %s; a second one (from %s) is refused",
			ErrExpired, s.FirstGrace.Format(time.DateOnly), b.Validity.From.Format(time.DateOnly))
	case trial != "" && s.Trial != "" && s.Trial != trial:
		s.Observe(now)
		return fmt.Errorf("%w: this machine already ran trial key %s; a trial runs once, and key %s is another", ErrExpired, s.Trial, trial)
	}
	if err := s.Check(b, now, tolerance); err != nil {
		return err
	}
	if b.Start() && s.FirstGrace.IsZero() {
		s.FirstGrace = b.Validity.From
		s.changed = true
	}
	if trial != "" && s.Trial == "" {
		s.Trial = trial
		s.changed = true
	}
	return nil
}
