package wallet

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"allot.dev/allot/pkg/grant"
	"allot.dev/allot/pkg/sign"
)

// Grant is a grant the wallet signed (package grant): a subtree of the
// quota tree of one of its bundles, handed to a delegate's key. The wallet
// keeps the signed document, so its history shows who was given what,
// and a git wallet commits it like any other change.
type Grant struct {
	*grant.Grant
	Time time.Time // when the wallet recorded it
}

// RecordGrant prepares the record of a grant the wallet signed: doc is the
// signed grant, as grant.Seal wrote it.
func (w *Wallet) RecordGrant(doc []byte, note string) (*Change, error) {
	g, err := w.checkGrant(doc)
	if err != nil {
		return nil, err
	}
	if note == "" {
		note = fmt.Sprintf("granted node %s of system %s (bundle %s) to %s", g.Node, g.System, g.Bundle, sign.Fingerprint(g.Delegate.Key))
	}
	return &Change{r: &record{Op: "grant", Note: note, Grant: doc}}, nil
}

// checkGrant checks that doc is a grant this wallet signed, of one of its
// bundles: the first of a chain, which only the wallet signs.
func (w *Wallet) checkGrant(doc []byte) (*grant.Grant, error) {
	g, err := grant.Open(doc)
	if err != nil {
		return nil, err
	}
	switch {
	case !w.PublicKey.Key.Equal(g.Signer):
		return nil, fmt.Errorf("grant: signed by %s, not by this wallet's key", sign.Fingerprint(g.Signer))
	case g.WalletID != w.ID:
		return nil, fmt.Errorf("grant: of wallet %s, not of this wallet", g.WalletID)
	case g.Parent != "":
		return nil, errors.New("grant: divides another grant: only the first of a chain is the wallet's")
	case !slices.ContainsFunc(w.Allocations, func(a *Allocation) bool { return a.BundleID == g.Bundle && a.System == g.System }):
		return nil, fmt.Errorf("grant: of bundle %s of system %s, which this wallet did not allocate", g.Bundle, g.System)
	}
	return g, nil
}
