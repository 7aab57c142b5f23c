// Package wallet is an organization's ledger of licenses: the wallet's own
// signer, the license keys redeemed into it with their certificate chains,
// the allocations made to systems, and the credits owed for time that could
// not be used.
//
// The file is an append-only log of records. A record is a line of JSON,
// followed, for a redemption, by one "key <base64>" line per key (one key a
// line reads fast and diffs well in git). Each record names the SHA-256 of
// the whole record before it, so the history is hash-chained: changing or
// removing any record but the last breaks the chain, and Open refuses the
// file. The state (balances, allocations) is the fold of the records.
//
// Writes are crash-safe and serialised: Update takes an exclusive lock on
// "<wallet>.lock", reads the wallet, appends one record, and replaces the
// file atomically (package atomicfile). A change that returned without error
// is durable; a change that failed leaves the file exactly as it was.
// Readers take no lock and always see a whole wallet.
package wallet

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
	"unicode/utf8"

	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/parallel"
	"allot.dev/allot/pkg/payload"
	"allot.dev/allot/pkg/sign"
)

// Format and Version identify the file.
const (
	Format  = "allot-wallet"
	Version = 1
)

// Limits a reader enforces.
const (
	MaxFileSize   = 1 << 30
	MaxHeaderSize = 16 << 20
	MaxKeyLines   = 10_000_000
	maxKeyLine    = 1024
)

// Errors by class.
var (
	// ErrCorrupt: the file is not a wallet, a record is malformed, or the
	// hash chain is broken.
	ErrCorrupt = errclass.Sentinel(errclass.Input, "wallet is damaged")
	// ErrNotFound: there is no wallet at the path.
	ErrNotFound = errclass.Sentinel(errclass.Input, "no wallet")
	// ErrExists: init found a wallet already there.
	ErrExists = errclass.Sentinel(errclass.Input, "a wallet already exists")
)

// Wallet is the state of a wallet file.
type Wallet struct {
	Path         string
	Organization string
	ID           licensekey.WalletID
	PublicKey    sign.PublicKey
	EncryptedKey []byte              // the signer's private key, age-encrypted
	Trust        []ed25519.PublicKey // vendor roots keys are checked against
	Created      time.Time

	Keys        []*Entry
	Allocations []*Allocation
	Credits     []Credit
	Grants      []Grant      // the grants the wallet signed (grant.go)
	Revocations []Revocation // the grants it revoked (grant.go)
	History     []Event

	byID  map[licensekey.Ref]*Entry
	certs [][]byte // certificate documents, in the order redeemed
	cdocs map[[32]byte]bool

	life lifecycleState // credit spent, hardware licenses allocated (lifecycle.go)

	raw  []byte   // the file as read
	head [32]byte // SHA-256 of the last line
	ends []int    // the offset just past each record, in raw
}

// Entry is a redeemed key and what has been taken from it.
type Entry struct {
	Key      *licensekey.Key
	Redeemed time.Time
	Used     map[string]int // license type → license-months (subscription) or units taken
}

// Available returns what is left of a key for a license type.
func (e *Entry) Available(licenseType string) int {
	return e.Key.Capacity(licenseType) - e.Used[licenseType]
}

// Expires returns when the unallocated rest of the key expires: the
// policy's number of years after the key was issued (KeyExpiry). A key is
// redeemed at the earliest when it is issued, so this is never later than
// that many years after redemption; and the issue date is what the vendor
// signs and a device can check.
func (e *Entry) Expires(years int) time.Time { return KeyExpiry(e.Key, years) }

// KeyExpiry returns the end of a key's redemption window: years after it
// was issued. Unallocated licenses expire then, and a key is refused at
// redemption from then on.
func KeyExpiry(k *licensekey.Key, years int) time.Time { return k.Issued.AddDate(years, 0, 0) }

// Allocation is a bundle the wallet signed for a system.
type Allocation struct {
	System   string       `json:"system"`
	BundleID string       `json:"bundle_id"`
	Sequence int          `json:"sequence"`
	Periods  []Period     `json:"periods"` // every period the bundle licenses
	Taken    []KeyFunding `json:"taken"`   // what this allocation took from keys
	Credits  []Credit     `json:"credits,omitempty"`
	Bundle   []byte       `json:"bundle"` // the signed bundle
	Time     time.Time    `json:"-"`

	// The lifecycle (lifecycle.go). Start is the day a first-day grace
	// began, for the allocation of `allot subscription start`, which has
	// no period; Spent is the credit the allocation spent; Hardware the
	// bundle's hardware licenses.
	Start    time.Time         `json:"start,omitzero"`
	Spent    []CreditUse       `json:"credits_spent,omitempty"`
	Hardware []HardwareLicense `json:"hardware,omitempty"`
}

// Period is an allocated subscription period and the keys that fund it.
type Period struct {
	From    time.Time      `json:"from"`
	Until   time.Time      `json:"until"`
	Quota   map[string]int `json:"quota"`
	Funding []KeyFunding   `json:"funding"`

	Credit []CreditUse `json:"credit,omitempty"` // credit that pays for it (lifecycle.go)
	Trial  bool        `json:"trial,omitempty"`  // funded by a trial key
}

// KeyFunding is an amount taken from one key.
type KeyFunding struct {
	Key     string `json:"key"` // licensekey.Key.ID
	License string `json:"license"`
	Months  int    `json:"months"`
}

// Credit is compensation owed to the wallet in license-days: time a key
// paid for that could not be used. The key, what it paid and the period
// prove it to a device when the credit is spent (lifecycle.go).
type Credit struct {
	License string `json:"license"`
	Days    int    `json:"days"`
	Reason  string `json:"reason"`

	Key    string    `json:"key,omitempty"`    // the key that paid, licensekey.Key.ID
	Months int       `json:"months,omitempty"` // license-months it paid for the period
	From   time.Time `json:"from,omitzero"`    // the period it paid for
	Until  time.Time `json:"until,omitzero"`
}

// Event is one record of the history.
type Event struct {
	Seq  int       `json:"seq"`
	Time time.Time `json:"time"`
	Who  string    `json:"who"`
	Op   string    `json:"op"`
	Note string    `json:"note"`
	Hash string    `json:"hash"` // SHA-256 of the record's line
}

// record is one line of the file. Fields beyond the common ones depend on
// the operation.
type record struct {
	Format string    `json:"format,omitempty"` // init only
	Seq    int       `json:"seq"`
	Prev   string    `json:"prev"`
	Time   time.Time `json:"time"`
	Who    string    `json:"who"`
	Op     string    `json:"op"`
	Note   string    `json:"note"`

	// init
	Version      int      `json:"version,omitempty"`
	Organization string   `json:"organization,omitempty"`
	WalletID     string   `json:"wallet_id,omitempty"`
	PublicKey    string   `json:"public_key,omitempty"`
	PrivateKey   string   `json:"private_key,omitempty"`
	Trust        []string `json:"trust,omitempty"`

	// init and redeem: vendor roots to trust, as OpenSSH key lines
	// (Trust, above)

	// redeem: the keys follow the header, one "key <base64>" line each
	KeyLines int      `json:"key_lines,omitempty"`
	Certs    []string `json:"certs,omitempty"` // certificate documents, base64

	// allocate
	Allocation *Allocation `json:"allocation,omitempty"`

	// grant: the signed grant document (grant.go)
	Grant []byte `json:"grant,omitempty"`

	// revoke: signed revocations of grants (grant.go)
	Revocations [][]byte `json:"revocations,omitempty"`
}

// Open reads the wallet at path. It takes no lock: the file is only ever
// replaced whole, so a reader sees one complete version.
func Open(path string) (*Wallet, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return parse(path, data)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s", ErrNotFound, path)
		}
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: %w: larger than %d MiB", path, ErrCorrupt, MaxFileSize>>20)
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, err
	}
	return data, nil
}

func parse(path string, data []byte) (*Wallet, error) {
	w := &Wallet{Path: path, raw: data, byID: map[licensekey.Ref]*Entry{}, cdocs: map[[32]byte]bool{}}
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: %w: empty file", path, ErrCorrupt)
	}
	if data[len(data)-1] != '\n' {
		return nil, fmt.Errorf("%s: %w: the last record is incomplete", path, ErrCorrupt)
	}
	// Editors and git's core.autocrlf change files in these two ways; say
	// so rather than fail on a character.
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return nil, fmt.Errorf("%s: %w: it starts with a byte order mark, which an editor added", path, ErrCorrupt)
	}
	if bytes.Contains(data, []byte("\r\n")) {
		return nil, fmt.Errorf("%s: %w: CRLF line endings (git's core.autocrlf?); a wallet keeps LF", path, ErrCorrupt)
	}
	rest := data
	for seq := 0; len(rest) > 0; seq++ {
		start := rest
		fail := func(format string, args ...any) error {
			return fmt.Errorf("%s: record %d: %w: %s", path, seq+1, ErrCorrupt, fmt.Sprintf(format, args...))
		}
		i := bytes.IndexByte(rest, '\n')
		header := rest[:i]
		rest = rest[i+1:]
		if len(header) > MaxHeaderSize {
			return nil, fail("longer than %d MiB", MaxHeaderSize>>20)
		}
		if !utf8.Valid(header) {
			return nil, fail("not UTF-8")
		}
		var r record
		dec := json.NewDecoder(bytes.NewReader(header))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fail("%v", err)
		}
		if dec.InputOffset() != int64(len(header)) {
			return nil, fail("text after the record on its line")
		}
		if r.Seq != seq {
			return nil, fail("sequence number %d, want %d", r.Seq, seq)
		}
		if err := validDates(&r); err != nil {
			return nil, fail("%v", err)
		}
		if want := prevString(seq, w.head); r.Prev != want {
			return nil, fail("the hash chain is broken: prev %q, want %q (a record before it was changed or removed)", r.Prev, want)
		}
		if seq == 0 && r.Op != "init" || seq > 0 && r.Op == "init" {
			return nil, fail("operation %q out of place", r.Op)
		}
		if r.KeyLines < 0 || r.KeyLines > MaxKeyLines || r.KeyLines > 0 && r.Op != "redeem" {
			return nil, fail("key_lines %d out of place", r.KeyLines)
		}
		if r.Grant != nil && r.Op != "grant" || r.Revocations != nil && r.Op != "revoke" {
			return nil, fail("grant or revocations out of place")
		}
		// A key line takes five bytes at least: a count the rest of the file
		// cannot hold must not decide the allocation.
		lines := make([][]byte, 0, min(r.KeyLines, len(rest)/len("key \n")))
		for k := range r.KeyLines {
			j := bytes.IndexByte(rest, '\n')
			if j < 0 || j > maxKeyLine || !bytes.HasPrefix(rest, []byte("key ")) {
				return nil, fail("key line %d of %d is missing or malformed", k+1, r.KeyLines)
			}
			lines = append(lines, rest[len("key "):j])
			rest = rest[j+1:]
		}
		keys, err := decodeKeys(lines)
		if err != nil {
			return nil, fail("%v", err)
		}
		if err := w.apply(&r, keys); err != nil {
			var over *OverspendError
			if errors.As(err, &over) {
				over.Record = seq
				return nil, fmt.Errorf("%s: record %d: %w: %w", path, seq+1, ErrCorrupt, over)
			}
			return nil, fail("%v", err)
		}
		w.head = sha256.Sum256(start[:len(start)-len(rest)])
		w.ends = append(w.ends, len(data)-len(rest))
		w.History = append(w.History, Event{Seq: r.Seq, Time: r.Time, Who: r.Who, Op: r.Op, Note: r.Note, Hash: hex.EncodeToString(w.head[:])})
	}
	return w, nil
}

// validDates refuses a record with a date outside the years every date
// allot reads must lie in (payload.ValidTime): date arithmetic on them,
// such as expiry five years after redemption, can then neither overflow
// nor saturate.
func validDates(r *record) error {
	check := func(field string, t time.Time) error {
		if !payload.ValidTime(t) {
			return fmt.Errorf("%s: date %s: want a year from %d to %d", field, t.UTC().Format(time.RFC3339), payload.MinYear, payload.MaxYear)
		}
		return nil
	}
	if err := check("time", r.Time); err != nil {
		return err
	}
	if a := r.Allocation; a != nil {
		for i, p := range a.Periods {
			if err := check(fmt.Sprintf("allocation.periods[%d].from", i+1), p.From); err != nil {
				return err
			}
			if err := check(fmt.Sprintf("allocation.periods[%d].until", i+1), p.Until); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeKeys decodes key lines, on every core for large redemptions: a
// wallet with a hundred thousand keys must open in a fraction of a second.
func decodeKeys(lines [][]byte) ([]*licensekey.Key, error) {
	keys := make([]*licensekey.Key, len(lines))
	errs := make([]error, len(lines))
	workers := 1 // a small wallet opens faster on one goroutine
	if len(lines) >= 1024 {
		workers = 0
	}
	parallel.For(len(lines), workers, func(i int) {
		raw := make([]byte, base64.StdEncoding.DecodedLen(len(lines[i])))
		n, err := base64.StdEncoding.Strict().Decode(raw, lines[i])
		if err != nil {
			errs[i] = fmt.Errorf("key line %d: not base64", i+1)
			return
		}
		if keys[i], err = licensekey.ParseRaw(raw[:n]); err != nil {
			errs[i] = fmt.Errorf("key line %d: %v", i+1, err)
		}
	})
	// The first bad line is the error: errors.Join would make it several lines.
	for _, err := range errs {
		if err != nil {
			return keys, err
		}
	}
	return keys, nil
}

func prevString(seq int, head [32]byte) string {
	if seq == 0 {
		return ""
	}
	return hex.EncodeToString(head[:])
}

// apply folds one record into the state.
func (w *Wallet) apply(r *record, keys []*licensekey.Key) error {
	switch r.Op {
	case "init":
		if r.Format != Format || r.Version != Version {
			return fmt.Errorf("not an %s version %d file", Format, Version)
		}
		pub, err := sign.ParseAuthorized(r.PublicKey)
		if err != nil {
			return err
		}
		if licensekey.WalletIDOf(pub.Key).String() != r.WalletID {
			return errors.New("wallet_id does not match public_key")
		}
		w.Organization, w.PublicKey, w.ID = r.Organization, pub, licensekey.WalletIDOf(pub.Key)
		w.EncryptedKey, w.Created = []byte(r.PrivateKey), r.Time
		if err := w.addTrust(r.Trust); err != nil {
			return err
		}
	case "redeem":
		if err := w.addTrust(r.Trust); err != nil {
			return err
		}
		for _, c := range r.Certs {
			doc, err := base64.StdEncoding.DecodeString(c)
			if err != nil {
				return errors.New("certs: not base64")
			}
			w.addCert(doc)
		}
		for _, k := range keys {
			ref := k.Ref()
			if _, dup := w.byID[ref]; dup {
				return fmt.Errorf("key %s is redeemed twice", ref)
			}
			e := &Entry{Key: k, Redeemed: r.Time, Used: map[string]int{}}
			w.Keys = append(w.Keys, e)
			w.byID[ref] = e
		}
	case "allocate", "rebalance":
		a := r.Allocation
		if a == nil {
			return errors.New("allocate record without allocation")
		}
		if r.Op == "rebalance" {
			if err := checkRebalance(a); err != nil {
				return err
			}
		}
		for _, f := range a.Taken {
			e, ok := w.Key(f.Key)
			if !ok {
				return fmt.Errorf("allocation funded by key %s, which was never redeemed", f.Key)
			}
			if f.Months < 1 {
				return fmt.Errorf("allocation takes %d of %s from key %s", f.Months, f.License, f.Key)
			}
			if e.Available(f.License) < f.Months {
				return &OverspendError{Key: f.Key, License: f.License, Want: f.Months, Left: e.Available(f.License),
					System: a.System, Sequence: a.Sequence}
			}
			e.Used[f.License] += f.Months
		}
		if err := w.applyLifecycle(a); err != nil {
			return err
		}
		a.Time = r.Time
		w.Allocations = append(w.Allocations, a)
		w.Credits = append(w.Credits, a.Credits...)
	case "grant":
		g, err := w.checkGrant(r.Grant)
		if err != nil {
			return err
		}
		w.Grants = append(w.Grants, Grant{Grant: g, Time: r.Time})
	case "revoke":
		if len(r.Revocations) == 0 || len(r.Revocations) > maxRevocations {
			return fmt.Errorf("revoke record with %d revocations, want 1 to %d", len(r.Revocations), maxRevocations)
		}
		for _, doc := range r.Revocations {
			rev, err := cert.ParseRevocation(doc)
			if err != nil {
				return err
			}
			if err := w.checkRevocation(rev); err != nil {
				return err
			}
			w.Revocations = append(w.Revocations, Revocation{Revocation: rev, Time: r.Time})
		}
	default:
		return fmt.Errorf("unknown operation %q", r.Op)
	}
	return nil
}

func (w *Wallet) addTrust(lines []string) error {
	for _, t := range lines {
		k, err := sign.ParseAuthorized(t)
		if err != nil {
			return fmt.Errorf("trust: %v", err)
		}
		if !sign.ContainsKey(w.Trust, k.Key) {
			w.Trust = append(w.Trust, k.Key)
		}
	}
	return nil
}

func (w *Wallet) addCert(doc []byte) bool {
	h := sha256.Sum256(doc)
	if w.cdocs[h] {
		return false
	}
	w.cdocs[h] = true
	w.certs = append(w.certs, doc)
	return true
}

// Certificates parses the certificates the wallet holds. Each one's
// signature is checked as it is parsed.
func (w *Wallet) Certificates() ([]*cert.Certificate, error) {
	var cs []*cert.Certificate
	for _, d := range w.certs {
		c, err := cert.Parse(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: stored certificate: %v", w.Path, ErrCorrupt, err)
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// Key returns the entry of a redeemed key by its ID ("issuer:serial").
func (w *Wallet) Key(id string) (*Entry, bool) {
	ref, err := licensekey.ParseRef(id)
	if err != nil {
		return nil, false
	}
	e, ok := w.byID[ref]
	return e, ok
}

// LastAllocation returns the latest allocation for a system, or nil.
func (w *Wallet) LastAllocation(system string) *Allocation {
	for i := len(w.Allocations) - 1; i >= 0; i-- {
		if w.Allocations[i].System == system {
			return w.Allocations[i]
		}
	}
	return nil
}

// Balance summarises one license type of a wallet.
type Balance struct {
	License   string `json:"license"`
	Kind      string `json:"kind"`
	Keys      int    `json:"keys"`
	Total     int    `json:"total"`     // license-months (subscription) or units
	Allocated int    `json:"allocated"` // taken by allocations
	Expired   int    `json:"expired"`   // unallocated, past the expiry
	Available int    `json:"available"`
	Credits   int    `json:"credit_days"` // credit left to spend, not expired
}

// Balances returns the balance of every license type and kind, sorted.
func (w *Wallet) Balances(now time.Time, expiryYears int) []Balance {
	type k struct{ lic, kind string }
	m := map[k]*Balance{}
	for _, e := range w.Keys {
		for _, l := range e.Key.Licenses {
			key := k{l.Type, e.Key.Kind.String()}
			b := m[key]
			if b == nil {
				b = &Balance{License: l.Type, Kind: key.kind}
				m[key] = b
			}
			total := e.Key.Capacity(l.Type)
			used := e.Used[l.Type]
			b.Keys++
			b.Total += total
			b.Allocated += used
			// Only subscriptions and trials expire unallocated; hardware
			// and expansion licenses are perpetual.
			if !e.Key.Kind.Perpetual() && !now.Before(e.Expires(expiryYears)) {
				b.Expired += total - used
			} else {
				b.Available += total - used
			}
		}
	}
	for _, c := range w.CreditBalances(now, expiryYears) {
		key := k{c.License, licensekey.Subscription.String()}
		b := m[key]
		if b == nil {
			b = &Balance{License: c.License, Kind: key.kind}
			m[key] = b
		}
		b.Credits += c.Left
	}
	var out []Balance
	for _, b := range m {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b Balance) int {
		if a.License != b.License {
			return cmpString(a.License, b.License)
		}
		return cmpString(a.Kind, b.Kind)
	})
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Allocate prepares the record of an allocation: the bundle the wallet
// signed and what it took from which keys.
func (w *Wallet) Allocate(a *Allocation, note string) *Change {
	return &Change{r: &record{Op: "allocate", Allocation: a, Note: note}}
}
