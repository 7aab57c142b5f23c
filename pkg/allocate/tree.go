package allocate

import (
	"fmt"
	"reflect"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/tree"
	"allot.dev/allot/pkg/verify"
	"allot.dev/allot/pkg/wallet"
)

// bundleTree returns the quota tree a bundle of sys carries: the system
// file's groups and users without their reminders (which concern the
// people who renew, not the device), or nil if it has none.
func bundleTree(sys *system.System) (*tree.Tree, error) {
	t := &sys.Tree
	if t.Len() == 0 {
		return nil, nil
	}
	if len(t.Groups) > bundle.MaxGroups || len(t.Users) > bundle.MaxUsers {
		return nil, fmt.Errorf("%w: system %s has %d groups and %d users; a bundle carries at most %d groups and %d users",
			ErrRequest, sys.ID, len(t.Groups), len(t.Users), bundle.MaxGroups, bundle.MaxUsers)
	}
	out := &tree.Tree{Groups: make([]tree.Group, len(t.Groups)), Users: t.Users}
	for i, g := range t.Groups {
		g.RemindDays, g.RemindEvery = 0, ""
		out.Groups[i] = g
	}
	return out, nil
}

// checkTree checks the bundle's tree as a device checks it, in every
// period of the bundle: a tree that takes more than a period funds, or a
// feature its keys do not pay for, is refused here rather than on the
// device.
func checkTree(v *verify.Verifier, doc []byte) error {
	if err := v.CheckTree(doc); err != nil {
		return errclass.New(ErrRequest, "the system's quota tree does not fit the bundle: %v", err)
	}
	return nil
}

// treeChanged reports whether the system's quota tree differs from the
// one the last bundle carries: a top-up then writes the new tree into a
// new bundle of the running periods, even if it adds no license.
func treeChanged(prev *wallet.Allocation, sys *system.System) bool {
	b, err := bundle.Open(prev.Bundle)
	if err != nil {
		return true
	}
	t, err := bundleTree(sys)
	if err != nil {
		return true
	}
	return !reflect.DeepEqual(normalTree(b.Tree), normalTree(t))
}

// normalTree makes a tree comparable: nil and empty are the same.
func normalTree(t *tree.Tree) *tree.Tree {
	if t == nil || t.Len() == 0 {
		return nil
	}
	c := *t
	if len(c.Groups) == 0 {
		c.Groups = nil
	}
	if len(c.Users) == 0 {
		c.Users = nil
	}
	return &c
}
