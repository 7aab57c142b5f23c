package wallet

import (
	"errors"
	"fmt"
	"time"

	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/licensekey"
)

// The lifecycle beyond subscription keys: credit earned and spent, and
// perpetual hardware licenses tied to device serials (with the expansions
// that add to them) allocated to the system that lists the device.

// ErrHardware reports a hardware or expansion key that cannot be
// registered or allocated as asked; the message names the device serial.
var ErrHardware = errclass.Sentinel(errclass.Input, "hardware license")

// CreditUse is credit that pays for a period: days of one of the wallet's
// credits, by its number (from 1, in the order the wallet earned them).
type CreditUse struct {
	Credit int `json:"credit"`
	Days   int `json:"days"`
	// Key, License and From name the credit by what earned it (the key
	// that paid for the earlier period starting From): a ledger merge
	// renumbers credits, and a use must stay with its own credit. A use
	// written without them is read by its number.
	Key     string    `json:"key,omitempty"`
	License string    `json:"license,omitempty"`
	From    time.Time `json:"from,omitzero"`
}

// resolveCredit returns u's credit number in w: its own if that credit is
// the one u names, else the first credit that is, with days left for u.
func (w *Wallet) resolveCredit(u CreditUse) (int, error) {
	if u.Key == "" {
		return u.Credit, nil
	}
	is := func(i int) bool {
		c := w.Credits[i-1]
		return c.Key == u.Key && c.License == u.License && c.From.Equal(u.From)
	}
	if u.Credit >= 1 && u.Credit <= len(w.Credits) && is(u.Credit) {
		return u.Credit, nil
	}
	for i := 1; i <= len(w.Credits); i++ {
		if is(i) && w.Credits[i-1].Days-w.life.spentOf(i-1) >= u.Days {
			return i, nil
		}
	}
	return 0, fmt.Errorf("a period is paid by credit of key %s for %s from %s, which the wallet does not hold", u.Key, u.License, u.From.Format(time.DateOnly))
}

// HardwareLicense is a perpetual license of one device: its hardware key
// and the expansion keys that add to it, by key id.
type HardwareLicense struct {
	Device     string   `json:"device"`
	Key        string   `json:"key"`
	Expansions []string `json:"expansions"`
}

// lifecycleState is the fold's memory of credit spent and of the system
// each hardware license is allocated to.
type lifecycleState struct {
	spent    []int                     // per credit, the days spent
	hardware map[licensekey.Ref]string // hardware and expansion keys → system
}

func (s *lifecycleState) spentOf(i int) int {
	if i < len(s.spent) {
		return s.spent[i]
	}
	return 0
}

// applyLifecycle folds an allocation's credit spent and hardware licenses:
// a credit is never spent beyond what it holds, credit without a key that
// proves it is never spent, and a hardware license belongs to one system.
func (w *Wallet) applyLifecycle(a *Allocation) error {
	// Credit uses name their credit by what earned it: find its number
	// in this wallet, which a merge may have renumbered.
	for i := range a.Periods {
		for j := range a.Periods[i].Credit {
			n, err := w.resolveCredit(a.Periods[i].Credit[j])
			if err != nil {
				return err
			}
			a.Periods[i].Credit[j].Credit = n
		}
	}
	for j := range a.Spent {
		n, err := w.resolveCredit(a.Spent[j])
		if err != nil {
			return err
		}
		a.Spent[j].Credit = n
	}
	for _, per := range a.Periods {
		for _, u := range per.Credit {
			if u.Credit < 1 || u.Credit > len(w.Credits) || u.Days < 1 {
				return fmt.Errorf("a period is paid by credit %d of %d, %d days", u.Credit, len(w.Credits), u.Days)
			}
		}
	}
	for _, u := range a.Spent {
		if u.Credit < 1 || u.Credit > len(w.Credits) {
			return fmt.Errorf("allocation spends credit %d; the wallet has %d", u.Credit, len(w.Credits))
		}
		c := w.Credits[u.Credit-1]
		if c.Key == "" {
			return fmt.Errorf("allocation spends credit %d, which names no key to prove it", u.Credit)
		}
		for len(w.life.spent) < u.Credit {
			w.life.spent = append(w.life.spent, 0)
		}
		if u.Days < 1 || w.life.spent[u.Credit-1]+u.Days > c.Days {
			return fmt.Errorf("allocation spends %d days of credit %d, which has %d left", u.Days, u.Credit, c.Days-w.life.spent[u.Credit-1])
		}
		w.life.spent[u.Credit-1] += u.Days
	}
	for _, h := range a.Hardware {
		for _, id := range append([]string{h.Key}, h.Expansions...) {
			e, ok := w.Key(id)
			if !ok {
				return fmt.Errorf("hardware license of device %s: key %s was never redeemed", h.Device, id)
			}
			if !e.Key.Kind.Perpetual() || e.Key.Device != h.Device {
				return fmt.Errorf("hardware license of device %s: key %s is not a hardware or expansion key of that device", h.Device, id)
			}
			if w.life.hardware == nil {
				w.life.hardware = map[licensekey.Ref]string{}
			}
			ref := e.Key.Ref()
			switch sys, ok := w.life.hardware[ref]; {
			case ok && sys != a.System:
				return fmt.Errorf("hardware license of device %s: key %s is allocated to system %s already", h.Device, id, sys)
			case !ok:
				w.life.hardware[ref] = a.System
				for _, l := range e.Key.Licenses {
					e.Used[l.Type] = e.Key.Capacity(l.Type)
				}
			}
		}
	}
	return nil
}

// CreditBalance is one credit of the wallet and what is left of it.
type CreditBalance struct {
	Credit  int       `json:"credit"` // its number, from 1
	License string    `json:"license"`
	Days    int       `json:"days"`  // license-days earned
	Spent   int       `json:"spent"` // license-days spent by allocations
	Left    int       `json:"left"`  // what can still be spent: 0 once expired
	Expires time.Time `json:"expires,omitzero"`
	Key     string    `json:"key,omitempty"`
	Reason  string    `json:"reason"`
}

// CreditBalances returns every credit of the wallet, oldest first. A
// credit expires with the key that paid for it, when the key's
// redemption window closes (KeyExpiry): a device accepts it only as far as
// it accepts the key. A credit that names no key (written by an earlier
// version) cannot be proved to a device, and is never spendable.
func (w *Wallet) CreditBalances(now time.Time, expiryYears int) []CreditBalance {
	out := []CreditBalance{}
	for i, c := range w.Credits {
		b := CreditBalance{Credit: i + 1, License: c.License, Days: c.Days, Spent: w.life.spentOf(i), Key: c.Key, Reason: c.Reason}
		if e, ok := w.Key(c.Key); ok {
			b.Expires = e.Expires(expiryYears)
			if now.Before(b.Expires) {
				b.Left = c.Days - b.Spent
			}
		}
		out = append(out, b)
	}
	return out
}

// HardwareFor returns the hardware licenses the wallet holds for the
// devices of a system (serials, in the system's order): each device's
// hardware key and the expansion keys tied to the same serial. A device
// with expansions but no hardware key, with two hardware keys, or whose
// hardware license is allocated to another system is an error naming the
// serial.
func (w *Wallet) HardwareFor(system string, serials []string) ([]HardwareLicense, error) {
	type keys struct{ hw, exp []*licensekey.Key }
	by := map[string]*keys{}
	for _, e := range w.Keys {
		if !e.Key.Kind.Perpetual() || e.Key.Device == "" {
			continue
		}
		k := by[e.Key.Device]
		if k == nil {
			k = &keys{}
			by[e.Key.Device] = k
		}
		if e.Key.Kind == licensekey.Hardware {
			k.hw = append(k.hw, e.Key)
		} else {
			k.exp = append(k.exp, e.Key)
		}
	}
	var out []HardwareLicense
	for _, serial := range serials {
		k := by[serial]
		switch {
		case k == nil:
			continue
		case len(k.hw) == 0:
			return nil, fmt.Errorf("%w: expansion key %s for device %s: the wallet holds no hardware license for %s", ErrHardware, k.exp[0].Serial, serial, serial)
		case len(k.hw) > 1:
			return nil, fmt.Errorf("%w: device %s has two hardware keys, %s and %s", ErrHardware, serial, k.hw[0].Serial, k.hw[1].Serial)
		}
		h := HardwareLicense{Device: serial, Key: k.hw[0].ID(), Expansions: []string{}}
		for _, x := range append([]*licensekey.Key{k.hw[0]}, k.exp...) {
			if sys, ok := w.life.hardware[x.Ref()]; ok && sys != system {
				return nil, fmt.Errorf("%w: device %s: key %s is allocated to system %s", ErrHardware, serial, x.Serial, sys)
			}
		}
		for _, x := range k.exp {
			h.Expansions = append(h.Expansions, x.ID())
		}
		out = append(out, h)
	}
	return out, nil
}

// Register checks and redeems hardware and expansion keys for the devices
// of a system: a preloaded key shipped with a device, or an expansion
// bought for it. Each key must pass Redeem's checks, be a hardware or
// expansion key tied to a device serial that hasDevice accepts, and an
// expansion needs its device's hardware key in the wallet or in the same
// batch. One key that fails refuses the batch, and the error names the
// device serial.
func (w *Wallet) Register(inputs []Input, o RedeemOptions, system string, hasDevice func(serial string) bool) (*Change, *RedeemResult, error) {
	o.SkipInvalid = false
	ch, res, err := w.RedeemWith(inputs, o)
	if err != nil {
		return nil, nil, err
	}
	hardware := map[string]bool{}
	for _, e := range w.Keys {
		if e.Key.Kind == licensekey.Hardware {
			hardware[e.Key.Device] = true
		}
	}
	for _, k := range res.Redeemed {
		if k.Kind == licensekey.Hardware {
			hardware[k.Device] = true
		}
	}
	var invalid []Invalid
	for i, k := range res.Redeemed {
		var err error
		switch {
		case !k.Kind.Perpetual():
			err = fmt.Errorf("%w: key %s is a %s key, not a hardware or expansion key: redeem it with allot wallet redeem", ErrHardware, k.Serial, k.Kind)
		case k.Device == "":
			err = fmt.Errorf("%w: key %s is tied to no device serial", ErrHardware, k.Serial)
		case !hasDevice(k.Device):
			err = fmt.Errorf("%w: key %s is tied to device %s, which system %s does not list", ErrHardware, k.Serial, k.Device, system)
		case k.Kind == licensekey.Expansion && !hardware[k.Device]:
			err = fmt.Errorf("%w: expansion key %s for device %s: the wallet holds no hardware license for %s", ErrHardware, k.Serial, k.Device, k.Device)
		}
		if err != nil {
			invalid = append(invalid, Invalid{Input: Input{Where: whereOf(inputs, k, i), Text: k.Text()}, Err: err})
		}
	}
	if len(invalid) > 0 {
		return nil, nil, &BatchError{Invalid: invalid, Total: len(inputs)}
	}
	return ch, res, nil
}

// whereOf finds where a redeemed key came from, for messages.
func whereOf(inputs []Input, k *licensekey.Key, i int) string {
	for _, in := range inputs {
		if p, err := licensekey.Parse(in.Text); err == nil && p.Ref() == k.Ref() {
			return in.Where
		}
	}
	return fmt.Sprintf("key %d", i+1)
}

// errNoKey is returned for a credit whose key the wallet does not hold.
var errNoKey = errors.New("the wallet does not hold the key")

// CreditKey returns the key that proves a credit, by the credit's number.
func (w *Wallet) CreditKey(n int) (*Entry, error) {
	if n < 1 || n > len(w.Credits) {
		return nil, fmt.Errorf("credit %d: the wallet has %d", n, len(w.Credits))
	}
	e, ok := w.Key(w.Credits[n-1].Key)
	if !ok {
		return nil, fmt.Errorf("credit %d: %w", n, errNoKey)
	}
	return e, nil
}
