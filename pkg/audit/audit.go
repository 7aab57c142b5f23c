// Package audit looks at many bundles and wallets together, where the
// misuse that no single device or wallet can see shows: a key spent beyond
// its quantity across bundles (two installers, or two wallets, allocating
// the same key), the same key redeemed into two wallets (a bearer key
// carried to two sites), and a server bound in two systems. With a trust
// file it also checks every bundle's authority, revocations included.
//
// Bundles are verified on every core, through one verify.Verifier, so a
// certificate chain the bundles share is checked once.
package audit

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync/atomic"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/parallel"
	"allot.dev/allot/pkg/verify"
	"allot.dev/allot/pkg/wallet"
)

// Kinds of finding.
const (
	Overspent       = "overspent"               // a key spent beyond its quantity
	KeyInTwoWallets = "key-in-two-wallets"      // one key redeemed or spent by two wallets
	ServerTwice     = "server-in-two-systems"   // one server's identifiers in two systems' bundles
	HardwareTwice   = "hardware-in-two-systems" // one hardware or expansion key in two systems' bundles
	Revoked         = "revoked"                 // a bundle funded by a revoked key or through a revoked certificate
	Invalid         = "invalid"                 // a bundle that does not verify, or cannot be read
)

// Bundle is a bundle to audit.
type Bundle struct {
	Source string // the file, or "WALLET: bundle N of system S"
	Doc    []byte
	Err    error // the file could not be read
}

// Wallet is a wallet to audit: its keys, and its allocations' bundles.
type Wallet struct {
	Source string
	W      *wallet.Wallet
}

// Options are how the audit checks bundles.
type Options struct {
	// Trust, if not nil, is checked for every bundle: signatures, chains
	// to a root, scope, revocations. Without it only the bundle's own
	// signature (by its wallet) is checked.
	Trust *verify.Trust
	// Workers is the number of goroutines (0: one per core).
	Workers int
	// Progress, if not nil, is told how many bundles are checked; it must
	// be safe for concurrent use.
	Progress func(n int)
}

// Use is one place a key, a server or a bundle shows up.
type Use struct {
	Source   string `json:"source"`
	WalletID string `json:"wallet_id"`
	System   string `json:"system"`
	Sequence int    `json:"sequence"`
	Server   string `json:"server"`
	Months   int    `json:"months"`
}

// Finding is one thing the audit found.
type Finding struct {
	Kind       string `json:"kind"`
	Key        string `json:"key"` // key id, for key findings
	Bearer     bool   `json:"bearer"`
	License    string `json:"license"`
	Capacity   int    `json:"capacity"`
	Spent      int64  `json:"spent"`
	Identifier string `json:"identifier"` // for a server in two systems
	Uses       []Use  `json:"uses"`
	Message    string `json:"message"`
}

// Report is an audit's result.
type Report struct {
	Bundles    int       `json:"bundles"` // distinct bundles, those inside the wallets included
	Wallets    int       `json:"wallets"`
	Signatures int64     `json:"signatures"` // signatures checked
	Findings   []Finding `json:"findings"`
}

// Clean reports whether the audit found nothing.
func (r *Report) Clean() bool { return len(r.Findings) == 0 }

type checked struct {
	b        *bundle.Bundle
	err      error
	sigs     int
	walletID string // b.WalletID.String()
	// The keys of b, decoded beside its signatures rather than after them
	// all, one after another: each of b.Funding, of b.Credits, and of
	// b.Hardware (the key, then its expansions).
	funding, credits []decoded
	hardware         [][]decoded
}

// decoded is a key of a bundle, or nil where its text does not decode.
type decoded struct {
	k *licensekey.Key
}

// decode decodes a key's text, or takes it from known, the keys the trust
// check decoded.
func decode(text string, known map[string]*licensekey.Key) decoded {
	if k := known[text]; k != nil {
		return decoded{k}
	}
	k, err := licensekey.Parse(text)
	if err != nil {
		return decoded{} // a bundle that verified holds keys that decode
	}
	return decoded{k}
}

// decodeKeys decodes the keys of c.b, those in known as they are.
func (c *checked) decodeKeys(known map[string]*licensekey.Key) {
	b := c.b
	c.funding = make([]decoded, len(b.Funding))
	for i, f := range b.Funding {
		c.funding[i] = decode(f.Key, known)
	}
	c.credits = make([]decoded, len(b.Credits))
	for i, cr := range b.Credits {
		c.credits[i] = decode(cr.Key, known)
	}
	c.hardware = make([][]decoded, len(b.Hardware))
	for i, h := range b.Hardware {
		ks := make([]decoded, 0, 1+len(h.Expansions))
		ks = append(ks, decode(h.Key, known))
		for _, text := range h.Expansions {
			ks = append(ks, decode(text, known))
		}
		c.hardware[i] = ks
	}
}

// check checks one bundle, with v if there is a trust file, and decodes
// its keys.
func check(v *verify.Verifier, b *Bundle) checked {
	var c checked
	var known map[string]*licensekey.Key
	switch {
	case b.Err != nil:
		c.err = b.Err
		return c
	case v != nil:
		a, err := v.AuthorityKeys(b.Doc)
		if err != nil {
			c.err = err
			return c
		}
		c.b, known, c.sigs = a.Bundle, a.Keys, a.Signatures
	default:
		c.b, c.err = bundle.Open(b.Doc)
		c.sigs = 1
	}
	if c.err == nil {
		c.walletID = c.b.WalletID.String()
		c.decodeKeys(known)
	}
	return c
}

// Run audits bundles and wallets.
func Run(bundles []Bundle, wallets []Wallet, opts Options) *Report {
	// Every bundle once: the wallets hold the bundles they signed, which
	// may be given as files too. The bundles are kept in order, the first
	// of each content: found by a fast hash, and compared byte for byte
	// with those of the same hash.
	given := slices.Clone(bundles)
	for _, w := range wallets {
		for _, a := range w.W.Allocations {
			given = append(given, Bundle{Source: fmt.Sprintf("%s: bundle %d of system %s", w.Source, a.Sequence, a.System), Doc: a.Bundle})
		}
	}
	seed := maphash.MakeSeed()
	sums := make([]uint64, len(given))
	parallel.For(len(given), opts.Workers, func(i int) {
		sums[i] = maphash.Bytes(seed, given[i].Doc)
	})
	seen := make(map[uint64][]int, len(given)) // hash → indexes in all
	all := make([]Bundle, 0, len(given))
	for i, b := range given {
		if b.Err == nil {
			if slices.ContainsFunc(seen[sums[i]], func(j int) bool { return bytes.Equal(all[j].Doc, b.Doc) }) {
				continue
			}
			seen[sums[i]] = append(seen[sums[i]], len(all))
		}
		all = append(all, b)
	}

	// Bundles are checked side by side, each on one goroutine: a bundle's
	// handful of signatures spread over the cores too would only add
	// goroutines that wait on each other. This goroutine tallies them, in
	// order, as they come: what it does takes no core from the checks
	// once they are done, and the checks' last bundles keep the cores
	// busy while it works.
	var v *verify.Verifier
	if opts.Trust != nil {
		v = verify.NewVerifier(verify.Options{Trust: opts.Trust, Workers: 1})
	}
	res := make([]checked, len(all))
	finished := make(chan int, len(all))
	go func() {
		var done atomic.Int64
		parallel.For(len(all), opts.Workers, func(i int) {
			res[i] = check(v, &all[i])
			finished <- i
			if n := done.Add(1); opts.Progress != nil && (n%64 == 0 || int(n) == len(all)) {
				opts.Progress(int(n))
			}
		})
		close(finished)
	}()

	rep := &Report{Bundles: len(all), Wallets: len(wallets), Findings: []Finding{}}
	t := newTally(2*len(all) + walletKeys(wallets))
	ready := make([]bool, len(all))
	next := 0
	for i := range finished {
		ready[i] = true
		for ; next < len(all) && ready[next]; next++ {
			c := &res[next]
			rep.Signatures += int64(c.sigs)
			if c.err == nil {
				t.add(all[next].Source, c)
			} else {
				kind := Invalid
				if errors.Is(c.err, cert.ErrRevoked) {
					kind = Revoked
				}
				rep.Findings = append(rep.Findings, Finding{Kind: kind, Uses: []Use{{Source: all[next].Source}},
					Message: fmt.Sprintf("%s: %v", all[next].Source, c.err)})
			}
			*c = checked{} // the bundle is tallied: let it go
		}
	}
	for _, w := range wallets {
		t.addWallet(w)
	}
	rep.Findings = append(rep.Findings, t.findings()...)
	return rep
}
