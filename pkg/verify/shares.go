package verify

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/bundle"
)

// A floating system's bundle divides each period's pool among its servers
// ([[share]], package bundle), so that each server verifies the one bundle
// with its own identifiers and its own usage. The wallet writes the
// shares; what bounds them on the device is the period's quota, which the
// keys fund: the shares of a period add up to no more than it
// (checkShareSums, a trust failure). A server's usage is then checked
// against its share (checkShares), so servers that each report only their
// own usage together use no more than the pool.

// ShareReport is one server's share of the period in force.
type ShareReport struct {
	Server string `json:"server"`
	// ThisMachine: the server the machine verifying matched.
	ThisMachine bool           `json:"this_machine"`
	Quota       map[string]int `json:"quota"`
}

// checkShareSums checks that no period's shares add up to more than the
// period's quota, license type by license type. Sums are 64-bit: on a
// 32-bit device a thousand shares could wrap an int.
func checkShareSums(b *bundle.Bundle) error {
	sums := make([]map[string]int64, len(b.Periods))
	for _, s := range b.Shares {
		if sums[s.Period-1] == nil {
			sums[s.Period-1] = map[string]int64{}
		}
		for t, q := range s.Quota {
			sums[s.Period-1][t] += int64(q)
		}
	}
	for i, sum := range sums {
		for _, t := range slices.Sorted(maps.Keys(sum)) {
			if q := int64(b.Periods[i].Quota[t]); sum[t] > q {
				return fmt.Errorf("period %d: the servers' shares of %s add up to %d, the period's quota is %d", i+1, t, sum[t], q)
			}
		}
	}
	return nil
}

// reportShares adds the servers' shares of the period in force at now to
// the report.
func (r *Report) reportShares(b *bundle.Bundle, now time.Time) {
	for _, s := range b.SharesAt(now) {
		r.Shares = append(r.Shares, ShareReport{Server: s.Server, ThisMachine: s.Server == r.machineServer, Quota: s.Quota})
	}
}

// checkShares checks a usage file against the shares of the period in
// force: every server it reports uses no more cameras and intercoms than
// its share (with the growth allowance), and, unless it reports every
// server (then the pool bounds them), its analytics assignments fit the
// shares of the servers it reports. It returns the failures; the error is
// a usage file that cannot be checked against shares: one that reports no
// server, or not the server this machine is.
func (r *Report) checkShares(b *bundle.Bundle, now time.Time, u *Usage, need [5]int64) ([]string, error) {
	share := map[string]map[string]int{}
	for _, s := range b.SharesAt(now) {
		share[s.Server] = s.Quota
	}
	if len(share) == 0 {
		// No period is in force (only perpetual hardware licenses remain,
		// or the grace after the last): nothing is divided, and the pool
		// bounds the system's usage.
		return nil, nil
	}
	reported := map[string]ServerUsage{}
	for _, s := range u.Servers {
		reported[s.Name] = s
	}
	n := len(b.Binding.Servers)
	if len(reported) == 0 {
		if n == 1 {
			return nil, nil // the only server's share is the pool's
		}
		return nil, fmt.Errorf("%w: the bundle divides its quotas among %d servers: the usage file must report the servers whose usage it gives",
			ErrQuota, n)
	}
	if m := r.machineServer; m != "" {
		if _, ok := reported[m]; !ok {
			return nil, fmt.Errorf("%w: this machine is server %q of the bundle, and the usage file does not report it", ErrQuota, m)
		}
	}
	var failed []string
	growth := int64(b.GrowthAllowancePercent)
	var names []string
	sum := map[string]int64{}
	for _, srv := range b.Binding.Servers {
		s, ok := reported[srv.Name]
		if !ok {
			continue
		}
		names = append(names, s.Name)
		q := share[s.Name]
		for t, v := range q {
			sum[t] += int64(v)
		}
		for _, c := range []struct {
			t    string
			used int
		}{{"camera", s.Cameras}, {"intercom", s.Intercoms}} {
			if f := r.checkCount(s.Name, c.t, int64(q[c.t]), int64(c.used), growth, int64(q[c.t])); f != "" {
				failed = append(failed, f)
			}
		}
	}
	if len(names) < n {
		if f := r.checkAnalytics(strings.Join(names, "+"), sum, need); f != "" {
			failed = append(failed, f)
		}
	}
	return failed, nil
}
