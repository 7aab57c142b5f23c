package wallet

import "errors"

// Rebalance prepares the record of a rebalance: the next bundle of a
// system whose devices or servers changed, with the periods and funding of
// the bundle before it. It takes nothing from any key; a record that does
// is refused when the wallet is read.
func (w *Wallet) Rebalance(a *Allocation, note string) *Change {
	return &Change{r: &record{Op: "rebalance", Allocation: a, Note: note}}
}

// checkRebalance checks a rebalance record: it spends nothing.
func checkRebalance(a *Allocation) error {
	if len(a.Taken) > 0 || len(a.Credits) > 0 {
		return errors.New("a rebalance takes nothing from keys and credits nothing")
	}
	return nil
}
