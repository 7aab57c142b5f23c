// Package grant reads, writes and verifies grants: signed documents by
// which the wallet hands a subtree of a bundle's quota tree to another key
// (a building manager, a billing system), and by which that key divides
// its subtree further, to any depth, each grant only narrowing.
//
// A grant is a signed document (package sign) under the namespace
// "allot-grant-v1": a payload naming the bundle it belongs to (its id, its
// system and its wallet), the grant before it (by the SHA-256 of its exact
// bytes), the node, the delegate's public key and the limits, followed by
// an SSHSIG over the payload by the wallet (the first grant of a chain) or
// by the delegate of the grant before it. A chain file holds the grants
// from the wallet's down, one after another, as `allot grant` appends them.
//
// Verify checks a chain against a bundle with nothing but the bundle
// itself, whose wallet key the vendor's chain vouches for: a device
// verifies bundle → grant → grant … with the root key alone.
package grant

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/payload"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/tree"
)

// Namespace is the SSHSIG namespace of grants.
const Namespace = "allot-grant-v1"

// Version is the payload version this package writes and reads.
const Version = 1

// Limits a reader enforces.
const (
	MaxSize  = 64 << 10 // one grant
	MaxChain = 16       // grants in one chain file
)

// Errors by class.
var (
	// ErrMalformed: not a grant, or an invalid one.
	ErrMalformed = errclass.Sentinel(errclass.Input, "malformed grant")
	// ErrTrust: a grant not signed by whom it must be, for another bundle,
	// for another node, or wider than what it narrows.
	ErrTrust = errclass.Sentinel(errclass.Trust, "grant not trusted")
	// ErrExpired and ErrNotYetValid: a grant outside its window now.
	ErrExpired     = errclass.Sentinel(errclass.Validity, "grant expired")
	ErrNotYetValid = errclass.Sentinel(errclass.Validity, "grant not yet valid")
)

// Grant is a parsed grant.
type Grant struct {
	System   string
	Bundle   string // the bundle's id
	WalletID licensekey.WalletID
	Parent   string // "sha256:HEX" of the grant before it; "" for the wallet's
	Node     string // a group path
	Delegate sign.PublicKey
	Issued   time.Time
	// Limits are complete for quotas (a type not listed is 0); features
	// and window bounds not given are those of the grant before it, or
	// of the node.
	Limits tree.Limits

	// Signer is the key that signed the grant (set by Open and Seal).
	Signer ed25519.PublicKey
	doc    []byte
}

// Document returns the signed grant exactly as read or written.
func (g *Grant) Document() []byte { return g.doc }

// Digest returns the reference a child grant names its parent by.
func Digest(doc []byte) string {
	h := sha256.Sum256(doc)
	return "sha256:" + hex.EncodeToString(h[:])
}

// Open verifies a grant's signature and parses it; whose signature it must
// be is Verify's business. A grant is named by its digest, so its
// signature must be in the one text form Seal writes (sign.OpenCanonical):
// a re-wrapped copy would escape a revocation of the original.
func Open(doc []byte) (*Grant, error) {
	if len(doc) > MaxSize {
		return nil, fmt.Errorf("%w: larger than %d KiB", ErrMalformed, MaxSize>>10)
	}
	body, signer, err := sign.OpenCanonical(doc, Namespace)
	if err != nil {
		if errors.Is(err, sign.ErrSignature) {
			return nil, errclass.Wrap(ErrTrust, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	g, err := parse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	g.Signer, g.doc = signer, doc
	return g, nil
}

func parse(body []byte) (*Grant, error) {
	secs, err := payload.Parse(body)
	if err != nil {
		return nil, err
	}
	if v, ok := payload.Version(secs); ok && v != Version {
		return nil, fmt.Errorf("version: %d, want %d", v, Version)
	}
	g := &Grant{}
	top := payload.NewTable(&secs[0])
	top.Int("version")
	g.System = top.String("system")
	g.Bundle = top.String("bundle")
	wid := top.String("wallet_id")
	if top.Has("parent") {
		g.Parent = top.String("parent")
	}
	g.Node = top.String("node")
	delegate := top.String("delegate")
	g.Issued = top.Time("issued")
	if top.Has("features") {
		g.Limits.Features = top.Strings("features")
	}
	if top.Has("from") {
		g.Limits.From = top.Time("from")
	}
	if top.Has("until") {
		g.Limits.Until = top.Time("until")
	}
	if err := top.Done(); err != nil {
		return nil, err
	}
	g.Limits.Quota = map[string]int{}
	for i := 1; i < len(secs); i++ {
		sec := &secs[i]
		if sec.Name != "quota" || sec.Array || i != 1 {
			return nil, fmt.Errorf("line %d: unexpected [%s]", sec.Line, sec.Name)
		}
		t := payload.NewTable(sec)
		g.Limits.Quota = t.IntMap()
		if err := t.Done(); err != nil {
			return nil, err
		}
	}
	if g.WalletID, err = licensekey.ParseWalletID(wid); err != nil {
		return nil, fmt.Errorf("wallet_id: %v", err)
	}
	if g.Delegate, err = sign.ParseAuthorized(delegate); err != nil {
		return nil, fmt.Errorf("delegate: %v", err)
	}
	return g, g.validate()
}

func (g *Grant) validate() error {
	if g.System == "" || len(g.System) > 64 || g.Bundle == "" || len(g.Bundle) > 64 {
		return errors.New("system and bundle: want 1 to 64 characters")
	}
	if g.Parent != "" && (len(g.Parent) != len("sha256:")+64 || g.Parent[:7] != "sha256:") {
		return fmt.Errorf("parent: %q is not sha256:HEX", g.Parent)
	}
	if err := tree.ValidPath(g.Node); err != nil {
		return fmt.Errorf("node: %v", err)
	}
	for _, t := range []time.Time{g.Issued, g.Limits.From, g.Limits.Until} {
		if !t.IsZero() && !payload.ValidTime(t) {
			return fmt.Errorf("date %s: want a year from %d to %d", t.UTC().Format(time.RFC3339), payload.MinYear, payload.MaxYear)
		}
	}
	if g.Issued.IsZero() {
		return errors.New("issued: missing")
	}
	t := &tree.Tree{Groups: []tree.Group{{Path: "grant", Restrict: true, Limits: g.Limits}}}
	if _, err := tree.New(t, tree.Root{}); err != nil {
		var te *tree.Error
		if errors.As(err, &te) {
			return errors.New(te.Msg)
		}
		return err
	}
	return nil
}

// Seal writes g's payload, signs it with priv, and returns the document;
// g.Signer is set from priv.
func Seal(g *Grant, priv ed25519.PrivateKey) ([]byte, error) {
	if err := g.validate(); err != nil {
		return nil, err
	}
	var w payload.Writer
	w.Comment(fmt.Sprintf("allot grant: node %q of system %q, delegated to key %s.", g.Node, g.System, sign.Fingerprint(g.Delegate.Key)))
	w.Comment("Signed below by the wallet, or by the delegate of the grant before it.")
	w.Int("version", Version)
	w.String("system", g.System)
	w.String("bundle", g.Bundle)
	w.String("wallet_id", g.WalletID.String())
	if g.Parent != "" {
		w.String("parent", g.Parent)
	}
	w.String("node", g.Node)
	w.String("delegate", g.Delegate.String())
	w.Time("issued", g.Issued)
	if g.Limits.Features != nil {
		w.Strings("features", g.Limits.Features)
	}
	if !g.Limits.From.IsZero() {
		w.Time("from", g.Limits.From)
	}
	if !g.Limits.Until.IsZero() {
		w.Time("until", g.Limits.Until)
	}
	if len(g.Limits.Quota) > 0 {
		w.Table("quota")
		for _, t := range slices.Sorted(maps.Keys(g.Limits.Quota)) {
			w.Int(t, g.Limits.Quota[t])
		}
	}
	doc, err := sign.Seal(priv, Namespace, w.Bytes())
	if err != nil {
		return nil, err
	}
	g.Signer, g.doc = priv.Public().(ed25519.PublicKey), doc
	return doc, nil
}

// Split cuts a chain file into its grant documents, in order.
func Split(data []byte) ([][]byte, error) {
	var docs [][]byte
	for len(bytes.TrimSpace(data)) > 0 {
		if len(docs) == MaxChain {
			return nil, fmt.Errorf("%w: more than %d grants in one chain", ErrMalformed, MaxChain)
		}
		p, a, rest, err := sign.Split(data)
		if err != nil {
			return nil, fmt.Errorf("%w: grant %d: %v", ErrMalformed, len(docs)+1, err)
		}
		docs = append(docs, data[:len(p)+len(a)])
		data = rest
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%w: no grant in the file", ErrMalformed)
	}
	return docs, nil
}
