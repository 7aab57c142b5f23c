package wallet

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/parallel"
	"allot.dev/allot/pkg/sign"
)

// Errors of redemption, each its own class.
var (
	// ErrRedeemed: the key (by issuer and serial) is already in the wallet.
	ErrRedeemed = errclass.Sentinel(errclass.Input, "already redeemed")
	// ErrDuplicate: the same key appears twice in one batch.
	ErrDuplicate = errclass.Sentinel(errclass.Input, "appears twice in this batch")
	// ErrOtherWallet: the key is issued to another wallet.
	ErrOtherWallet = errclass.Sentinel(errclass.Trust, "issued to another wallet")
	// ErrNoTrust: neither the wallet nor the caller names a vendor root.
	ErrNoTrust = errclass.Sentinel(errclass.Input, "no trusted vendor root")
	// ErrExpired: a key's redemption window has closed.
	ErrExpired = errclass.Sentinel(errclass.Input, "expired")
)

// Input is one key to redeem and where it came from.
type Input struct {
	Where string // "keys.txt:3" or "argument 2", for messages
	Text  string
}

// Invalid is a key that cannot be redeemed, and why.
type Invalid struct {
	Input
	Err error
}

func (i Invalid) Error() string { return i.Where + ": " + i.Err.Error() }

// Unwrap exposes the cause, so errors.Is and errors.As see it.
func (i Invalid) Unwrap() error { return i.Err }

// BatchError reports a batch that was refused because some keys are invalid.
// Nothing of the batch was redeemed.
type BatchError struct {
	Invalid []Invalid
	Total   int
}

func (e *BatchError) Error() string {
	msg := e.Invalid[0].Error()
	if n := len(e.Invalid) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more invalid key%s)", n, plural(n))
	}
	return msg + "; nothing was redeemed"
}

// Unwrap returns the first invalid key's error, which decides the class.
func (e *BatchError) Unwrap() error { return e.Invalid[0] }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// RedeemResult is what a redemption did.
type RedeemResult struct {
	Redeemed []*licensekey.Key
	Skipped  []Invalid
}

// Redeem checks every input key and prepares their redemption. Each key
// must decode without a typo, chain to one of trust's roots through the
// wallet's certificates and certs, verify, lie inside every certificate's
// scope, be issued to this wallet (or be a bearer key its chain allows), and
// not be redeemed already. If a key fails and skipInvalid is false, the
// batch is refused with a *BatchError; otherwise the failures are reported
// in the result and the rest is redeemed.
func (w *Wallet) Redeem(inputs []Input, certs []*cert.Certificate, trust *cert.Trust, skipInvalid bool) (*Change, *RedeemResult, error) {
	return w.RedeemWith(inputs, RedeemOptions{Certs: certs, Trust: trust, SkipInvalid: skipInvalid})
}

// RedeemOptions is what RedeemWith checks keys against.
type RedeemOptions struct {
	Certs       []*cert.Certificate // certificates besides the wallet's
	Trust       *cert.Trust
	SkipInvalid bool
	// Now and ExpiryYears, if ExpiryYears is not 0, refuse a key issued
	// more than ExpiryYears before Now: its redemption window has closed.
	Now         time.Time
	ExpiryYears int
	// Progress, if not nil, is told how many keys' signatures have been
	// checked; it must be safe for concurrent use.
	Progress func(n int)
}

// RedeemWith is Redeem with every option.
func (w *Wallet) RedeemWith(inputs []Input, o RedeemOptions) (*Change, *RedeemResult, error) {
	certs, trust, skipInvalid, done := o.Certs, o.Trust, o.SkipInvalid, o.Progress
	if len(trust.Roots) == 0 {
		return nil, nil, errclass.New(ErrNoTrust, "%s knows no vendor root to check keys against", w.Path)
	}
	held, err := w.Certificates()
	if err != nil {
		return nil, nil, err
	}
	pool := cert.NewPool(trust)
	pool.Add(held...)
	pool.Add(certs...)

	type item struct {
		in    Input
		key   *licensekey.Key
		chain cert.Chain
		err   error
	}
	items := make([]item, len(inputs))
	for i, in := range inputs {
		it := &items[i]
		it.in = in
		k, err := licensekey.Parse(in.Text)
		if err != nil {
			it.err = err
			continue
		}
		it.key = k
		switch {
		case w.byID[k.Ref()] != nil:
			it.err = fmt.Errorf("key %s: %w", k.Serial, ErrRedeemed)
		case o.ExpiryYears > 0 && !o.Now.Before(KeyExpiry(k, o.ExpiryYears)):
			it.err = fmt.Errorf("key %s: %w on %s: issued %s, its licenses had to be allocated within %d years",
				k.Serial, ErrExpired, KeyExpiry(k, o.ExpiryYears).Format(time.DateOnly), k.Issued.Format(time.DateOnly), o.ExpiryYears)
		case !k.Bearer && k.Wallet != w.ID:
			it.err = fmt.Errorf("key %s: %w (%s), not to this wallet (%s)", k.Serial, ErrOtherWallet, k.Wallet, w.ID)
		default:
			// Builds the pool's chains once, before the parallel checks,
			// which only read them.
			if _, err := pool.ChainFor(k.Issuer); err != nil {
				it.err = fmt.Errorf("key %s: %w", k.Serial, err)
			}
		}
	}

	// Signatures are the expensive part: check them on every core, once
	// there are enough of them to be worth a goroutine each 64.
	var checked atomic.Int64
	parallel.For(len(items), max(1, len(items)/64), func(i int) {
		if items[i].err == nil {
			items[i].chain, items[i].err = pool.Authorize(items[i].key)
		}
		if n := checked.Add(1); done != nil && (n%256 == 0 || int(n) == len(items)) {
			done(int(n))
		}
	})

	// Duplicates are decided among genuine keys only, so that a forged
	// copy of a key (same issuer and serial, bad signature) cannot block
	// the real one.
	seen := map[string]string{}
	for i := range items {
		it := &items[i]
		if it.err != nil {
			continue
		}
		if first, dup := seen[it.key.ID()]; dup {
			it.err = fmt.Errorf("key %s: %w (first at %s)", it.key.Serial, ErrDuplicate, first)
			continue
		}
		seen[it.key.ID()] = it.in.Where
	}

	res := &RedeemResult{}
	r := &record{Op: "redeem"}
	var keys [][]byte
	used := map[string]bool{}
	for _, it := range items {
		if it.err != nil {
			res.Skipped = append(res.Skipped, Invalid{Input: it.in, Err: it.err})
			continue
		}
		res.Redeemed = append(res.Redeemed, it.key)
		keys = append(keys, it.key.Raw())
		for _, c := range it.chain {
			used[string(c.Document())] = true
		}
	}
	if len(res.Skipped) > 0 && !skipInvalid {
		return nil, nil, &BatchError{Invalid: res.Skipped, Total: len(inputs)}
	}
	if len(res.Redeemed) == 0 {
		return nil, res, nil
	}
	// Keep the certificates the redeemed keys need, in chain order, so the
	// wallet can prove every key later without the files they came with.
	for _, it := range items {
		if it.err != nil {
			continue
		}
		for _, c := range it.chain {
			doc := c.Document()
			if used[string(doc)] && !w.hasCert(doc) {
				r.Certs = append(r.Certs, base64.StdEncoding.EncodeToString(doc))
				used[string(doc)] = false
			}
		}
	}
	// Remember the roots the keys were checked against, so allocations can
	// rebuild their chains.
	for _, root := range trust.Roots {
		if !sign.ContainsKey(w.Trust, root) {
			r.Trust = append(r.Trust, sign.MarshalAuthorized(root, ""))
		}
	}
	r.Note = redeemNote(res.Redeemed)
	return &Change{r: r, keys: keys}, res, nil
}

func (w *Wallet) hasCert(doc []byte) bool { return w.cdocs[sha256.Sum256(doc)] }

// redeemNote summarises a redemption for the history: key count and the
// license-months or units per license type.
func redeemNote(keys []*licensekey.Key) string {
	totals := map[string]int{}
	var order []string
	for _, k := range keys {
		for _, l := range k.Licenses {
			name := l.Type + " " + unit(k.Kind)
			if _, ok := totals[name]; !ok {
				order = append(order, name)
			}
			totals[name] += k.Capacity(l.Type)
		}
	}
	parts := make([]string, len(order))
	for i, n := range order {
		parts[i] = fmt.Sprintf("%d %s", totals[n], n)
	}
	return fmt.Sprintf("redeemed %d key%s: %s", len(keys), plural(len(keys)), strings.Join(parts, ", "))
}

func unit(k licensekey.Kind) string {
	if k == licensekey.Subscription {
		return "license-months"
	}
	if k == licensekey.Trial {
		return "trial license-months"
	}
	return k.String() + " units"
}

// TrustFor returns the trust a redemption checks against: the wallet's own
// roots plus extra.
func (w *Wallet) TrustFor(extra *cert.Trust) *cert.Trust {
	t := &cert.Trust{Revoked: map[string]bool{}}
	t.Roots = append(t.Roots, w.Trust...)
	if extra != nil {
		for _, r := range extra.Roots {
			if !t.IsRoot(r) {
				t.Roots = append(t.Roots, r)
			}
		}
		for s := range extra.Revoked {
			t.Revoked[s] = true
		}
	}
	return t
}
