package verify

import (
	"bytes"
	"fmt"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/payload"
)

// Pin is the system a device serves: a server is licensed by one system
// at a time. The device state records the system id and wallet of the
// bound bundles it accepts, and until when they license it (the grace end
// of the latest); until then, a bundle of another system or wallet is
// refused, however well it matches this machine. Unbound bundles
// (binding.required 0) are tied to no machine, and neither pin nor meet
// the pin.
type Pin struct {
	System string
	Wallet string
	Until  time.Time
}

// checkPin refuses a bound bundle of another system than the one the
// device serves, until that system's licence ends.
func (s *State) checkPin(b *bundle.Bundle, now time.Time) error {
	p := s.Serves
	if b.Binding.Required == 0 || p.System == "" || p.System == b.System && p.Wallet == b.WalletID.String() || !now.Before(p.Until) {
		return nil
	}
	return fmt.Errorf("%w: this machine serves system %s (wallet %s) until %s; a server is licensed by one system at a time, and this bundle is for system %s (wallet %s)",
		ErrBinding, p.System, p.Wallet, p.Until.Format(time.DateOnly), b.System, b.WalletID)
}

// recordPin records that the device serves b's system: checkPin passed.
func (s *State) recordPin(b *bundle.Bundle) {
	if b.Binding.Required == 0 {
		return
	}
	p := Pin{System: b.System, Wallet: b.WalletID.String(), Until: b.Validity.GraceUntil.UTC().Truncate(time.Second)}
	if s.Serves.System == p.System && s.Serves.Wallet == p.Wallet && !p.Until.After(s.Serves.Until) {
		return
	}
	s.Serves = p
	s.changed = true
}

// parsePin reads a "serves SYSTEM WALLET UNTIL" line, split into fields.
func (s *State) parsePin(f []string) error {
	t, err := time.Parse(time.RFC3339, f[3])
	if err != nil {
		return fmt.Errorf("serves: %v", err)
	}
	if !payload.ValidTime(t) {
		return fmt.Errorf("serves: date %s: want a year from %d to %d", f[3], payload.MinYear, payload.MaxYear)
	}
	s.Serves = Pin{System: f[1], Wallet: f[2], Until: t}
	return nil
}

// writePin writes the "serves" line, if the device serves a system.
func (s *State) writePin(b *bytes.Buffer) {
	if p := s.Serves; p.System != "" {
		fmt.Fprintf(b, "serves %s %s %s\n", p.System, p.Wallet, p.Until.UTC().Format(time.RFC3339))
	}
}
