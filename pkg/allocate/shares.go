package allocate

import (
	"cmp"
	"fmt"
	"slices"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/system"
)

// A floating system (system.System.Floating) has one pool for all its
// servers, and each server verifies the bundle with its own usage against
// its share. The pool of every period is divided among the servers by
// where the devices are bound:
//
//   - camera and intercom: by the cameras and intercoms bound to each
//     server (the system file's devices);
//   - analytics-l1 to analytics-l3: by the camera assignments of each
//     level, counted on the server the camera is bound to;
//   - analytics-l4: by what each server's assignments need beyond its own
//     level 1 to 3 shares, or, if that is nothing, by all its assignments.
//
// A pool that covers what is bound gives each server what it has, and the
// rest evenly; a smaller pool is divided in proportion, by the largest
// remainder (apportion). Other license types are the system's as a whole:
// no usage file reports them per server.

// sharedTypes are the license types divided among the servers, in the
// order they are computed: analytics-l4 last, from the others' shares.
var sharedTypes = [...]string{"camera", "intercom", "analytics-l1", "analytics-l2", "analytics-l3", "analytics-l4"}

// demand counts what is bound to each server of sys: devices by type and
// analytics assignments by level (1 to 3), the weights of the shares.
type demand struct {
	servers []string
	count   map[string][]int64 // license type → per server, in servers' order
}

func newDemand(sys *system.System, cat *catalog.Catalog) (*demand, error) {
	d := &demand{count: map[string][]int64{}}
	at := map[string]int{}
	for i, s := range sys.Servers {
		d.servers = append(d.servers, s.Name)
		at[s.Name] = i
	}
	for _, t := range sharedTypes {
		d.count[t] = make([]int64, len(sys.Servers))
	}
	server := make(map[string]int, len(sys.Devices))
	for _, dev := range sys.Devices {
		server[dev.Serial] = at[dev.Server]
		d.count[dev.Type][at[dev.Server]]++
	}
	for _, a := range sys.Analytics {
		lvl, err := cat.AnalyticsLevel(a.Type)
		if err != nil {
			return nil, fmt.Errorf("%w: system %s: %v", ErrRequest, sys.ID, err)
		}
		for _, c := range a.Cameras {
			d.count[analyticsType(lvl)][server[c]]++
		}
	}
	return d, nil
}

func analyticsType(level int) string { return fmt.Sprintf("analytics-l%d", level) }

// shares divides the quotas of each period among the servers.
func (d *demand) shares(periods []bundle.Period) []bundle.Share {
	var out []bundle.Share
	for i, per := range periods {
		got := map[string][]int64{}
		for _, t := range sharedTypes {
			q, ok := per.Quota[t]
			if !ok {
				continue
			}
			weights := d.count[t]
			if t == "analytics-l4" {
				weights = d.level4(got)
			}
			got[t] = apportion(int64(q), weights)
		}
		for j, name := range d.servers {
			s := bundle.Share{Period: i + 1, Server: name, Quota: map[string]int{}}
			for t, v := range got {
				s.Quota[t] = int(v[j])
			}
			out = append(out, s)
		}
	}
	return out
}

// level4 weighs the servers for analytics-l4, which licenses every level:
// by the assignments each server's level 1 to 3 shares (got) leave
// uncovered, or, if none are, by all its assignments.
func (d *demand) level4(got map[string][]int64) []int64 {
	over := make([]int64, len(d.servers))
	all := make([]int64, len(d.servers))
	var anyOver int64
	for lvl := 1; lvl <= 3; lvl++ {
		t := analyticsType(lvl)
		for j, n := range d.count[t] {
			all[j] += n
			var have int64
			if got[t] != nil {
				have = got[t][j]
			}
			if n > have {
				over[j] += n - have
				anyOver += n - have
			}
		}
	}
	if anyOver > 0 {
		return over
	}
	return all
}

// apportion divides q among servers with the given weights. If q covers
// the weights, each gets its weight and the rest is spread evenly, the
// first servers taking one more where it does not divide; otherwise each
// gets its proportional part rounded down, and what is left goes one by
// one to the largest remainders, the first server first among equals.
// With every weight 0, the weights are equal. The parts add up to q.
func apportion(q int64, weights []int64) []int64 {
	n := int64(len(weights))
	out := make([]int64, n)
	var total int64
	for _, w := range weights {
		total += w
	}
	if total == 0 {
		weights = make([]int64, n)
		for i := range weights {
			weights[i] = 1
		}
		total = n
	}
	if q >= total {
		rest := q - total
		for i, w := range weights {
			out[i] = w + rest/n
			if int64(i) < rest%n {
				out[i]++
			}
		}
		return out
	}
	rem := make([]int64, n)
	order := make([]int, n)
	left := q
	for i, w := range weights {
		out[i] = q * w / total
		rem[i] = q * w % total
		left -= out[i]
		order[i] = i
	}
	// Fewer than n are left; the stable sort keeps the first server first
	// among equal remainders.
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rem[b], rem[a]) })
	for _, i := range order[:left] {
		out[i]++
	}
	return out
}
