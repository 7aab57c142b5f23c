package licensekey

import (
	"errors"
	"fmt"
)

// MaxTrialMonths is the longest term a trial key may have: a trial is an
// evaluation, not a subscription at a discount.
const MaxTrialMonths = 3

func (k *Key) validateTrial() error {
	if k.TermMonths < 1 || k.TermMonths > MaxTrialMonths {
		return fmt.Errorf("a trial key needs a term of 1 to %d months", MaxTrialMonths)
	}
	if k.Device != "" {
		return errors.New("a trial key cannot be tied to a device")
	}
	return nil
}

// Perpetual reports whether licenses of kind k never end: hardware and
// expansion licenses. Subscription and trial licenses run for a term and
// are counted in license-months.
func (k Kind) Perpetual() bool { return k == Hardware || k == Expansion }
