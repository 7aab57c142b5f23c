package wallet_test

import (
	"strings"
	"testing"

	"allot.dev/allot/pkg/wallet"
)

// A rebalance spends nothing: a rebalance record that takes from a key is
// a damaged wallet, and Update refuses to write one.
func TestRebalanceTakesNothing(t *testing.T) {
	f := newFixture(t)
	w := f.mustRedeem(t0, f.keys(1)...)
	id := w.Keys[0].Key.ID()
	for _, c := range []struct {
		name  string
		taken []wallet.KeyFunding
		ok    bool
	}{
		{"nothing taken", nil, true},
		{"a month taken", []wallet.KeyFunding{{Key: id, License: "camera", Months: 1}}, false},
	} {
		before := f.read()
		_, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
			return w.Rebalance(&wallet.Allocation{System: "site-1", BundleID: "b", Sequence: 2, Taken: c.taken}, "rebalanced"), nil
		})
		if c.ok {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			} else if w := f.open(); w.History[len(w.History)-1].Op != "rebalance" || w.Keys[0].Used["camera"] != 0 {
				t.Errorf("%s: history %+v, used %v", c.name, w.History[len(w.History)-1], w.Keys[0].Used)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "a rebalance takes nothing from keys") {
			t.Errorf("%s: %v", c.name, err)
		}
		f.unchanged(before)
	}
}
