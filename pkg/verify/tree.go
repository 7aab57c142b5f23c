package verify

import (
	"errors"
	"fmt"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/grant"
	"allot.dev/allot/pkg/tree"
)

// Question is what a device asks of the quota tree: may this user at this
// node use this feature, or one more of this license type, now?
type Question struct {
	Node    string // a group's path; "" is the system
	User    string
	Feature string
	License string
}

// TreeReport is what the verifier found of a bundle's quota tree.
type TreeReport struct {
	Groups int           `json:"groups"`
	Users  int           `json:"users"`
	Grants []GrantReport `json:"grants"`
	// Answer is the answer to the question asked, if it is allowed.
	Answer *tree.Answer `json:"answer,omitempty"`
}

// GrantReport describes one grant of a verified chain.
type GrantReport struct {
	Node     string     `json:"node"`
	Delegate string     `json:"delegate"` // the delegate key's fingerprint
	From     *time.Time `json:"from,omitempty"`
	Until    *time.Time `json:"until,omitempty"`
}

// checkTree checks the bundle's quota tree against the period in force, as
// the root of the tree: its quotas, the features it grants now and the
// bundle's validity. The rules of package tree bound every node by what
// the keys fund; then the tree's usage, the grants and the question.
// Failures are quota (13) or validity (11) errors naming the node; a grant
// that is not the wallet's to give, or its delegate's, is a trust failure
// (10).
func (v *Verifier) checkTree(r *Report, b *bundle.Bundle, opts Options) error {
	var nodes *tree.Usage
	if opts.Usage != nil {
		nodes = opts.Usage.Tree
	}
	if b.Tree == nil && opts.Question == nil && opts.Grants == nil && nodes == nil {
		return nil
	}
	per, _ := b.Period(opts.Now)
	root := tree.Root{Name: "system " + b.System, Quota: per.Quota,
		Features: r.featuresAt(b, opts.Now), From: b.Validity.From, Until: b.Validity.GraceUntil}
	m, err := b.TreeModel(root)
	if err == nil && m == nil {
		m, err = tree.New(nil, root)
	}
	if err != nil {
		return errclass.Wrap(ErrMalformed, err)
	}
	tr := &TreeReport{Groups: len(m.Tree.Groups), Users: len(m.Tree.Users), Grants: []GrantReport{}}
	r.Tree = tr
	if err := m.Check(); err != nil {
		return treeError(err)
	}
	if err := m.CheckUsage(nodes, opts.Now); err != nil {
		if tree.IsKind(err, tree.Structure) {
			return errclass.New(ErrMalformed, "usage file: %v", err)
		}
		return treeError(err)
	}
	var bounds []tree.Bound
	if opts.Grants != nil {
		a := grant.Anchor{Bundle: b.ID, System: b.System, WalletID: b.WalletID, WalletKey: b.WalletKey.Key, Node: m.Effective}
		if t := opts.Trust; t != nil {
			a.Revoked = func(digest string) []*cert.Revocation { return t.Revocations[digest] }
			a.IsRoot = t.IsRoot
		}
		gs, err := grant.Verify(opts.Grants, a, opts.Now)
		if err != nil {
			return grantError(err)
		}
		for _, g := range gs {
			gr := GrantReport{Node: g.Node, Delegate: g.Delegate.String()}
			if !g.Limits.From.IsZero() {
				gr.From = &g.Limits.From
			}
			if !g.Limits.Until.IsZero() {
				gr.Until = &g.Limits.Until
			}
			tr.Grants = append(tr.Grants, gr)
		}
		bounds = grant.Bounds(gs)
		if q := opts.Question; q != nil && len(gs) > 0 && !tree.Within(q.Node, gs[len(gs)-1].Node) {
			return fmt.Errorf("%w: the grants end at node %s, and node %s lies outside it", ErrTrust, gs[len(gs)-1].Node, q.Node)
		}
	}
	if q := opts.Question; q != nil {
		a, err := m.Ask(tree.Question{Node: q.Node, User: q.User, Feature: q.Feature, License: q.License,
			Now: opts.Now, Usage: nodes, Bounds: bounds})
		if err != nil {
			return treeError(err)
		}
		tr.Answer = a
	}
	return nil
}

// treeError classes a tree's error: quota, validity, or malformed.
func treeError(err error) error {
	var te *tree.Error
	if !errors.As(err, &te) {
		return err
	}
	switch te.Kind {
	case tree.Quota:
		return fmt.Errorf("%w: %w", ErrQuota, err)
	case tree.Validity:
		if te.NotYet {
			return fmt.Errorf("%w: %w", ErrNotYetValid, err)
		}
		return fmt.Errorf("%w: %w", ErrExpired, err)
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}

// grantError classes a grant's error as the verifier's error of the same
// class, so the report's status says it.
func grantError(err error) error {
	switch {
	case errors.Is(err, grant.ErrExpired):
		return fmt.Errorf("%w: %w", ErrExpired, err)
	case errors.Is(err, grant.ErrNotYetValid):
		return fmt.Errorf("%w: %w", ErrNotYetValid, err)
	case errors.Is(err, grant.ErrTrust):
		return fmt.Errorf("%w: %w", ErrTrust, err)
	}
	return errclass.Wrap(ErrMalformed, err)
}

// CheckTree checks the quota tree of the bundle doc against every one of
// its periods, as a device checks it in each: what `allot allocate` checks
// before it writes a bundle, so that no period of it fails on a device.
// The bundle's authority must have been checked (Authority).
func (v *Verifier) CheckTree(doc []byte) error {
	r := &Report{}
	b, err := v.check(r, doc, true)
	if err != nil || b.Tree == nil {
		return err
	}
	for i, p := range b.Periods {
		m, err := b.TreeModel(tree.Root{Name: "system " + b.System, Quota: p.Quota,
			Features: r.periodFeatures[i], From: b.Validity.From, Until: b.Validity.GraceUntil})
		if err == nil {
			err = m.Check()
		}
		if err != nil {
			return fmt.Errorf("period %d (%s to %s): %w", i+1, p.From.Format(time.DateOnly), p.Until.Format(time.DateOnly), err)
		}
	}
	return nil
}
