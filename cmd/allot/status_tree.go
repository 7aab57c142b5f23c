package main

import (
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/tree"
	"allot.dev/allot/pkg/verify"
)

// statusTree is a bundle's quota tree as `allot status` shows it: every
// node with Used / Available / Total / Shared per license type, the root's
// totals those of the period in force.
type statusTree struct {
	Bundle string            `json:"bundle"`
	Nodes  []tree.NodeReport `json:"nodes"`
}

// bundleTree returns the tree of b at now, with what usage reports the
// nodes use if it is for b's system; nil if b has no tree.
func bundleTree(path string, b *bundle.Bundle, usage *verify.Usage, now time.Time) *statusTree {
	if b.Tree == nil {
		return nil
	}
	per, ok := b.Period(now)
	if !ok {
		per = b.Periods[len(b.Periods)-1]
	}
	m, err := tree.New(b.Tree, tree.Root{Name: "system " + b.System, Quota: per.Quota, Features: b.Features,
		From: b.Validity.From, Until: b.Validity.GraceUntil})
	if err != nil {
		return nil // Open checked the structure
	}
	var use *tree.Usage
	if usage != nil && usage.System == b.System {
		use = usage.Tree
	}
	return &statusTree{Bundle: path, Nodes: m.Report(use, "")}
}

// printTrees prints each bundle's tree below the status table.
func (e *env) printTrees(trees []statusTree) error {
	for _, t := range trees {
		e.out().Printf("\nquota tree of %s:\n", t.Bundle)
		if err := e.out().Table([]string{"node", "license", "used", "available", "total", "shared", "pool"}, treeRows(t.Nodes)); err != nil {
			return err
		}
	}
	return nil
}
