package grant

import (
	"crypto/ed25519"
	"fmt"
	"maps"
	"slices"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/tree"
)

// Anchor is the bundle a chain of grants hangs from: its identity, the
// wallet key that signed it (which the vendor's chain vouches for), and
// the effective limits of the nodes of its tree.
type Anchor struct {
	Bundle    string
	System    string
	WalletID  licensekey.WalletID
	WalletKey ed25519.PublicKey
	// Node returns the effective limits of a group of the bundle's tree,
	// or false if there is none at path.
	Node func(path string) (tree.Limits, bool)
	// Revoked returns the signed revocations of a grant's digest the
	// device holds (its trust file's), and IsRoot tells a root of the
	// trust file: a revocation counts if a root signed it, or the signer
	// of the revoked grant or of one above it in the chain (the first of
	// which is the wallet's). Nil: no revocations.
	Revoked func(digest string) []*cert.Revocation
	IsRoot  func(ed25519.PublicKey) bool
}

// Verify checks a chain of grants, outermost first, against the bundle it
// hangs from, and then against the time:
//
//   - every grant names this bundle: its id, system and wallet (else it
//     was spliced from another bundle);
//   - the first is signed by the bundle's wallet and names no parent; each
//     other is signed by the delegate of the grant before it and names
//     that grant by its digest;
//   - the first names a group of the bundle's tree, each other that group
//     or one below the node of the grant before it;
//   - each only narrows: its quotas, features and window lie inside the
//     node's effective limits (the first) or the grant before it;
//
// all of which fail as ErrTrust, and then every grant's window holds now
// (ErrNotYetValid, ErrExpired). Every error names the grant by its place
// in the chain and its node.
func Verify(chain [][]byte, a Anchor, now time.Time) ([]*Grant, error) {
	gs := make([]*Grant, 0, len(chain))
	var eff []tree.Limits // each grant's effective limits
	for i, doc := range chain {
		name := fmt.Sprintf("grant %d", i+1)
		g, err := Open(doc)
		if err != nil {
			return nil, errclass.Wrap(err, fmt.Errorf("%s: %v", name, err))
		}
		name = fmt.Sprintf("grant %d (node %s)", i+1, g.Node)
		fail := func(format string, args ...any) error {
			return errclass.New(ErrTrust, "%s: %s", name, fmt.Sprintf(format, args...))
		}
		if g.Bundle != a.Bundle || g.System != a.System || g.WalletID != a.WalletID {
			return nil, fail("is for bundle %s of system %s (wallet %s), not this bundle %s of system %s",
				g.Bundle, g.System, g.WalletID, a.Bundle, a.System)
		}
		var parent tree.Limits
		if i == 0 {
			if !g.Signer.Equal(a.WalletKey) {
				return nil, fail("is signed by key %s, not by the bundle's wallet", sign.Fingerprint(g.Signer))
			}
			if g.Parent != "" {
				return nil, fail("names a parent grant, but is the first of the chain")
			}
			l, ok := a.Node(g.Node)
			if !ok {
				return nil, fail("names a node that is not a group of the bundle's tree")
			}
			parent = l
		} else {
			prev := gs[i-1]
			if !g.Signer.Equal(prev.Delegate.Key) {
				return nil, fail("is signed by key %s, which grant %d does not delegate to (it delegates to %s)",
					sign.Fingerprint(g.Signer), i, sign.Fingerprint(prev.Delegate.Key))
			}
			if g.Parent != Digest(prev.doc) {
				return nil, fail("does not name grant %d as its parent", i)
			}
			if !tree.Within(g.Node, prev.Node) {
				return nil, fail("names node %s, outside node %s of grant %d", g.Node, prev.Node, i)
			}
			parent = eff[i-1]
		}
		if err := narrows(g.Limits, parent); err != nil {
			what := "the node's limits in the bundle"
			if i > 0 {
				what = fmt.Sprintf("grant %d", i)
			}
			return nil, fail("widens %s: %v", what, err)
		}
		gs = append(gs, g)
		eff = append(eff, inherit(g.Limits, parent))
	}
	if err := revoked(gs, a); err != nil {
		return nil, err
	}
	for i, g := range gs {
		from, until := eff[i].From, eff[i].Until
		name := fmt.Sprintf("grant %d (node %s)", i+1, g.Node)
		if !from.IsZero() && now.Before(from) {
			return nil, errclass.New(ErrNotYetValid, "%s: valid from %s, it is %s", name, from.Format(time.DateOnly), now.UTC().Format(time.DateOnly))
		}
		if !until.IsZero() && !now.Before(until) {
			return nil, errclass.New(ErrExpired, "%s: ended %s", name, until.Format(time.DateOnly))
		}
	}
	return gs, nil
}

// revoked fails if a revocation that counts names a grant of the chain:
// one signed by a root, or by the signer of that grant or of a grant
// above it. A delegate cannot revoke the grant that made it one, nor its
// parent's; the wallet can revoke any grant of its bundle's chains.
func revoked(gs []*Grant, a Anchor) error {
	if a.Revoked == nil {
		return nil
	}
	for i, g := range gs {
		for _, r := range a.Revoked(Digest(g.doc)) {
			counts := a.IsRoot != nil && a.IsRoot(r.Signer)
			for _, above := range gs[:i+1] {
				counts = counts || r.Signer.Equal(above.Signer)
			}
			if !counts {
				continue
			}
			msg := fmt.Sprintf("grant %d (node %s): revoked by %s on %s", i+1, g.Node, sign.Fingerprint(r.Signer), r.Issued.Format(time.DateOnly))
			if r.Reason != "" {
				msg += " (" + r.Reason + ")"
			}
			return errclass.New(ErrTrust, "%s", msg)
		}
	}
	return nil
}

// inherit returns l with the features and window bounds it does not give
// taken from parent.
func inherit(l, parent tree.Limits) tree.Limits {
	if l.Features == nil {
		l.Features = parent.Features
	}
	if l.From.IsZero() {
		l.From = parent.From
	}
	if l.Until.IsZero() {
		l.Until = parent.Until
	}
	return l
}

// narrows reports how l is wider than parent, or nil. parent's features
// are nil when any feature is allowed.
func narrows(l, parent tree.Limits) error {
	for _, t := range slices.Sorted(maps.Keys(l.Quota)) {
		if q, p := l.Quota[t], parent.Quota[t]; q > p {
			return fmt.Errorf("%s %d, more than %d", t, q, p)
		}
	}
	if parent.Features != nil {
		for _, f := range l.Features {
			if !slices.Contains(parent.Features, f) {
				return fmt.Errorf("feature %s, which it does not have", f)
			}
		}
	}
	if !parent.From.IsZero() && !l.From.IsZero() && l.From.Before(parent.From) {
		return fmt.Errorf("valid from %s, before %s", l.From.Format(time.DateOnly), parent.From.Format(time.DateOnly))
	}
	if !parent.Until.IsZero() && !l.Until.IsZero() && l.Until.After(parent.Until) {
		return fmt.Errorf("valid until %s, after %s", l.Until.Format(time.DateOnly), parent.Until.Format(time.DateOnly))
	}
	return nil
}

// Bounds turns a verified chain into the bounds a tree question applies:
// each grant's own limits over its node's subtree.
func Bounds(gs []*Grant) []tree.Bound {
	bs := make([]tree.Bound, len(gs))
	for i, g := range gs {
		bs[i] = tree.Bound{Name: fmt.Sprintf("grant %d (node %s)", i+1, g.Node), Path: g.Node, Limits: g.Limits}
	}
	return bs
}

// Check verifies a chain against the bundle b as a device would at now,
// with the period in force as the root of the tree: what `allot grant`
// checks before it writes a grant, so that it never writes one a device
// refuses. The bundle's own authority is not checked here.
func Check(b *bundle.Bundle, chain [][]byte, now time.Time) ([]*Grant, error) {
	per, ok := b.Period(now)
	if !ok {
		return nil, errclass.New(ErrExpired, "bundle %s is not valid on %s (%s to %s)", b.ID, now.UTC().Format(time.DateOnly),
			b.Validity.From.Format(time.DateOnly), b.Validity.GraceUntil.Format(time.DateOnly))
	}
	m, err := tree.New(b.Tree, tree.Root{Name: "system " + b.System, Quota: per.Quota, Features: b.Features,
		From: b.Validity.From, Until: b.Validity.GraceUntil})
	if err != nil {
		return nil, errclass.Wrap(ErrMalformed, err)
	}
	return Verify(chain, Anchor{Bundle: b.ID, System: b.System, WalletID: b.WalletID, WalletKey: b.WalletKey.Key, Node: m.Effective}, now)
}
