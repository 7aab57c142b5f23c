package wallet

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/cert"
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

// Revocation is a revocation of a grant that the wallet signed: the
// first grant of a chain, or one a delegate signed below it.
type Revocation struct {
	*cert.Revocation
	Time time.Time // when the wallet recorded it
}

// RecordRevocations prepares the record of revocations the wallet signed,
// of grants of its bundles (`allot revoke --wallet`).
func (w *Wallet) RecordRevocations(revs []*cert.Revocation, note string) (*Change, error) {
	if len(revs) == 0 {
		return nil, errors.New("revoke: nothing to revoke")
	}
	docs := make([][]byte, len(revs))
	for i, r := range revs {
		if err := w.checkRevocation(r); err != nil {
			return nil, err
		}
		docs[i] = r.Document()
	}
	if note == "" {
		var what []string
		for _, r := range revs {
			what = append(what, r.What())
		}
		note = "revoked " + strings.Join(what, ", ")
	}
	return &Change{r: &record{Op: "revoke", Note: note, Revocations: docs}}, nil
}

// checkRevocation checks that r is a revocation of a grant, signed by the
// wallet's key: the only thing a wallet signs that it may revoke.
func (w *Wallet) checkRevocation(r *cert.Revocation) error {
	switch {
	case r.Grant == "":
		return fmt.Errorf("revoke: a wallet revokes grants only, not %s", r.What())
	case !w.PublicKey.Key.Equal(r.Signer):
		return fmt.Errorf("revoke: %s: signed by %s, not by this wallet's key", r.What(), sign.Fingerprint(r.Signer))
	}
	return nil
}

// maxRevocations bounds the revocations of one record, as a trust file
// bounds the ones it holds (verify.MaxRevocations).
const maxRevocations = 1024
