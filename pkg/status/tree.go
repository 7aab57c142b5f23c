package status

import (
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/tree"
)

// treeOf returns the quota tree of a system's bundle under the period in
// force (the nearest one outside the validity), with what the usage file
// reports its nodes use: every node with Used / Available / Total /
// Shared per license type. A bundle without a tree has none.
func treeOf(b *bundle.Bundle, uf *usageFile, now time.Time) []tree.NodeReport {
	if b.Tree == nil {
		return nil
	}
	per, ok := b.Period(now)
	if !ok {
		per = b.Periods[len(b.Periods)-1]
		if now.Before(b.Validity.From) {
			per = b.Periods[0]
		}
	}
	m, err := b.TreeModel(tree.Root{Name: "system " + b.System, Quota: per.Quota, Features: b.Features,
		From: b.Validity.From, Until: b.Validity.GraceUntil})
	if err != nil || m == nil {
		return nil // Open checked the structure
	}
	var use *tree.Usage
	if uf != nil {
		use = uf.u.Tree
	}
	return m.Report(use, "")
}
