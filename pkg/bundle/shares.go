package bundle

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/payload"
)

// MaxShares bounds the [[share]] tables of a bundle, one per period and
// server: 1,024 servers for 4 periods, or 256 for 16. Each is two tables
// of the payload, whose reader takes 16,384 tables in all
// (payload.MaxSections), funding and servers included.
const MaxShares = 4096

// Share is one server's share of a period's quotas: a floating system's
// pool divided among its servers, so that each server can check its own
// usage against its share without the others' reports. The wallet writes
// the shares; a verifier bounds them by the period's quotas, which the
// keys fund.
type Share struct {
	Period int            `json:"period"` // 1-based index into Periods
	Server string         `json:"server"` // a [[binding.server]] name
	Quota  map[string]int `json:"quota"`
}

// Shared reports whether the bundle divides its pool among its servers.
func (b *Bundle) Shared() bool { return len(b.Shares) > 0 }

// PeriodIndex returns the 0-based index of the period in force at t, as
// Period finds it: the one containing t, or the last one in the grace
// after it. ok is false outside the validity.
func (b *Bundle) PeriodIndex(t time.Time) (int, bool) {
	for i, p := range b.Periods {
		if !t.Before(p.From) && t.Before(p.Until) {
			return i, true
		}
	}
	if !t.Before(b.Validity.Until) && t.Before(b.Validity.GraceUntil) && len(b.Periods) > 0 {
		return len(b.Periods) - 1, true
	}
	return 0, false
}

// SharesAt returns the servers' shares of the period in force at t, in the
// order of the bundle's servers; nil if the bundle has none or t is
// outside the validity.
func (b *Bundle) SharesAt(t time.Time) []Share {
	i, ok := b.PeriodIndex(t)
	if !ok || !b.Shared() {
		return nil
	}
	return b.sharesOf(i + 1)
}

// sharesOf returns the shares of period n (1-based), in server order; a
// share of a server the binding does not list is left out. It looks at
// each share once: a bundle may hold 16,384 of them.
func (b *Bundle) sharesOf(n int) []Share {
	at := make(map[string]int, len(b.Binding.Servers))
	for i, s := range b.Binding.Servers {
		at[s.Name] = i
	}
	found := make([]*Share, len(b.Binding.Servers))
	for i := range b.Shares {
		sh := &b.Shares[i]
		if j, ok := at[sh.Server]; ok && sh.Period == n && found[j] == nil {
			found[j] = sh
		}
	}
	var out []Share
	for _, sh := range found {
		if sh != nil {
			out = append(out, *sh)
		}
	}
	return out
}

// parseShare reads a [[share]] table or the [share.quota] that follows it.
func (b *Bundle) parseShare(sec *payload.Section, t *payload.Table) error {
	if sec.Name == "share.quota" {
		if len(b.Shares) == 0 || b.Shares[len(b.Shares)-1].Quota != nil {
			return fmt.Errorf("line %d: unexpected [share.quota]", sec.Line)
		}
		b.Shares[len(b.Shares)-1].Quota = t.IntMap()
		return nil
	}
	if len(b.Shares) == MaxShares {
		return fmt.Errorf("line %d: more than %d shares", sec.Line, MaxShares)
	}
	b.Shares = append(b.Shares, Share{Period: t.Int("period"), Server: t.String("server")})
	return nil
}

// checkSharesParsed reports a [[share]] without its [share.quota].
func (b *Bundle) checkSharesParsed() error {
	for i, s := range b.Shares {
		if s.Quota == nil {
			return fmt.Errorf("share[%d]: no [share.quota]", i+1)
		}
	}
	return nil
}

// validateShares checks the form of the shares: none, or exactly one for
// every period and server. What they add up to is the verifier's
// business: it bounds them by the quotas the keys fund.
func (b *Bundle) validateShares() error {
	if len(b.Shares) == 0 {
		return nil
	}
	if len(b.Shares) > MaxShares {
		return fmt.Errorf("share: more than %d", MaxShares)
	}
	servers := make(map[string]bool, len(b.Binding.Servers))
	for _, s := range b.Binding.Servers {
		servers[s.Name] = true
	}
	seen := make(map[[2]string]bool, len(b.Shares))
	for i, s := range b.Shares {
		field := fmt.Sprintf("share[%d]", i+1)
		if s.Period < 1 || s.Period > len(b.Periods) {
			return fmt.Errorf("%s.period: %d, want 1 to %d", field, s.Period, len(b.Periods))
		}
		if !servers[s.Server] {
			return fmt.Errorf("%s.server: %q is not a server of [binding]", field, s.Server)
		}
		k := [2]string{fmt.Sprint(s.Period), s.Server}
		if seen[k] {
			return fmt.Errorf("%s: period %d has two shares for server %s", field, s.Period, s.Server)
		}
		seen[k] = true
		for t, q := range s.Quota {
			if err := licensekey.ValidName(t); err != nil {
				return fmt.Errorf("%s.quota: %v", field, err)
			}
			if q < 0 || q > licensekey.MaxQuantity*100 {
				return fmt.Errorf("%s.quota.%s: %d out of range", field, t, q)
			}
		}
	}
	// With the pairs distinct, the count says that every period has a
	// share for every server: a server without one would have no bound.
	if len(b.Shares) != len(b.Periods)*len(b.Binding.Servers) {
		return errors.New("share: want one for every period and server, or none")
	}
	return nil
}

// writeShares writes the shares, period by period in server order.
func (b *Bundle) writeShares(w *payload.Writer) {
	for n := 1; n <= len(b.Periods); n++ {
		for _, s := range b.sharesOf(n) {
			w.ArrayTable("share")
			w.Int("period", s.Period)
			w.String("server", s.Server)
			w.SubTable("share.quota")
			for _, t := range slices.Sorted(maps.Keys(s.Quota)) {
				w.Int(t, s.Quota[t])
			}
		}
	}
}
