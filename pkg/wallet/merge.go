package wallet

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/licensekey"
)

// A ledger merge unites two copies of one wallet that grew apart from a
// common base: two installers, each redeeming and allocating offline. It
// is never a merge of text: the records each side added are put in one
// order (by time, then by their content), keys are united by their id (a
// key both sides redeemed is kept once), and allocations are united; an
// allocation that would take from a key more than the key has left — the
// key spent beyond its quantity by the two sides together — is a
// double-spend, and the merge is refused.
//
// The order depends only on the records, not on which side is "ours", so
// two installers who sync in either order reach the same wallet, byte for
// byte.

// ErrDoubleSpend is the class of a refused merge: exit code 13, as any
// quota exceeded.
var ErrDoubleSpend = errclass.Sentinel(errclass.Quota, "double-spend")

// Spend is one side's allocation in a double-spend.
type Spend struct {
	Record   [32]byte // the record's content id (RecordID)
	Side     string   // "ours" or "theirs"
	System   string
	Sequence int
	BundleID string
	Months   int // what it takes from the key, of the license
	Who      string
	Time     time.Time
	Commit   string // filled in by the caller that knows the history (gitwallet)
}

// DoubleSpendError is a merge refused because the two sides together
// spent a key beyond its quantity.
type DoubleSpendError struct {
	Key      string // key id
	Serial   string
	License  string
	Capacity int
	Before   int     // what allocations both sides share took from it
	Spends   []Spend // the other side's allocations of it, then the one that overflowed
}

func (e *DoubleSpendError) Error() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "key %s spent beyond its quantity (%d of %s", e.Serial, e.Capacity, e.License)
	if e.Before > 0 {
		fmt.Fprintf(&b, ", %d of them taken before", e.Before)
	}
	b.WriteString("): ")
	for i, s := range e.Spends {
		if i > 0 {
			b.WriteString(" and ")
		}
		fmt.Fprintf(&b, "bundle %d of system %s (", s.Sequence, s.System)
		if s.Commit != "" {
			fmt.Fprintf(&b, "commit %s, ", s.Commit)
		}
		fmt.Fprintf(&b, "%s, %s) takes %d", s.Who, s.Time.UTC().Format(time.RFC3339), s.Months)
	}
	return b.String()
}

// Unwrap makes a double-spend of class ErrDoubleSpend.
func (e *DoubleSpendError) Unwrap() error { return ErrDoubleSpend }

// MergeResult says what a merge took from each side.
type MergeResult struct {
	Ours, Theirs int // records only that side had
	KeysUnited   int // keys both sides redeemed, kept once
}

// rawRecord is one record of a wallet file, as bytes.
type rawRecord struct {
	data []byte   // its JSON line and key lines
	body []byte   // data without the line's "seq" and "prev" members
	id   [32]byte // SHA-256 of body: the record's content, wherever it sits
	time time.Time
	op   string
}

// RecordID returns the content id of each record of a wallet file: the
// SHA-256 of the record without its position ("seq" and "prev"), which a
// record keeps when a merge moves it.
func RecordIDs(data []byte) ([][32]byte, error) {
	recs, err := splitRecords(data)
	if err != nil {
		return nil, err
	}
	ids := make([][32]byte, len(recs))
	for i, r := range recs {
		ids[i] = r.id
	}
	return ids, nil
}

// LastRecordID returns the content id of the last record of a wallet file
// without reading the rest.
func LastRecordID(data []byte) ([32]byte, error) {
	i := bytes.LastIndex(data, []byte("\n{"))
	recs, err := splitRecords(data[i+1:])
	if err != nil || len(recs) != 1 {
		return [32]byte{}, fmt.Errorf("%w: the last record is malformed", ErrCorrupt)
	}
	return recs[0].id, nil
}

// splitRecords cuts a wallet file into its records: each starts with a
// JSON line, and key lines follow it. It checks the framing only.
func splitRecords(data []byte) ([]rawRecord, error) {
	var recs []rawRecord
	for len(data) > 0 {
		if data[0] != '{' {
			return nil, fmt.Errorf("%w: record %d does not start with a JSON line", ErrCorrupt, len(recs)+1)
		}
		end := 0
		for {
			j := bytes.IndexByte(data[end:], '\n')
			if j < 0 {
				return nil, fmt.Errorf("%w: the last record is incomplete", ErrCorrupt)
			}
			end += j + 1
			if end == len(data) || data[end] == '{' {
				break
			}
		}
		r := rawRecord{data: data[:end]}
		line := r.data[:bytes.IndexByte(r.data, '\n')]
		var h struct {
			Op   string    `json:"op"`
			Time time.Time `json:"time"`
		}
		if err := json.Unmarshal(line, &h); err != nil {
			return nil, fmt.Errorf("%w: record %d: %v", ErrCorrupt, len(recs)+1, err)
		}
		r.op, r.time = h.Op, h.Time
		r.body = r.data
		if rest, ok := cutPosition(r.data); ok {
			r.body = rest
		}
		r.id = sha256.Sum256(r.body)
		recs = append(recs, r)
		data = data[end:]
	}
	return recs, nil
}

// cutPosition returns a record without its leading `{"seq":N,"prev":"…",`.
func cutPosition(rec []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(rec, []byte(`{"seq":`))
	if !ok {
		return nil, false
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	rest, ok = bytes.CutPrefix(rest[i:], []byte(`,"prev":"`))
	if !ok {
		return nil, false
	}
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil, false
	}
	return bytes.CutPrefix(rest[j:], []byte(`",`))
}

// Merge unites ours and theirs, two wallet files that both begin with base
// (their last common version), into one wallet file: base, then the
// records only one side has, in one order. It returns a
// *DoubleSpendError if the sides together spend a key beyond its
// quantity; name is the wallet's name in errors.
func Merge(name string, base, ours, theirs []byte) ([]byte, *MergeResult, error) {
	if !bytes.HasPrefix(ours, base) || !bytes.HasPrefix(theirs, base) {
		return nil, nil, fmt.Errorf("%s: %w: the two copies do not share their history up to the common commit", name, ErrCorrupt)
	}
	baseW, err := parse(name, base)
	if err != nil {
		return nil, nil, err
	}
	baseRecs, err := splitRecords(base)
	if err != nil {
		return nil, nil, err
	}
	tailO, err := splitRecords(ours[len(base):])
	if err != nil {
		return nil, nil, fmt.Errorf("%s (ours): %w", name, err)
	}
	tailT, err := splitRecords(theirs[len(base):])
	if err != nil {
		return nil, nil, fmt.Errorf("%s (theirs): %w", name, err)
	}
	seen := map[[32]byte]bool{}
	for _, r := range baseRecs {
		seen[r.id] = true
	}
	side := map[[32]byte]string{}
	for _, r := range tailO {
		side[r.id] = "ours"
	}
	for _, r := range tailT {
		if side[r.id] == "ours" {
			side[r.id] = "both"
		} else {
			side[r.id] = "theirs"
		}
	}
	before := func(a, b rawRecord) bool {
		if !a.time.Equal(b.time) {
			return a.time.Before(b.time)
		}
		return bytes.Compare(a.id[:], b.id[:]) < 0
	}
	var order []rawRecord
	i, j := 0, 0
	for i < len(tailO) || j < len(tailT) {
		var r rawRecord
		if j == len(tailT) || i < len(tailO) && before(tailO[i], tailT[j]) {
			r, i = tailO[i], i+1
		} else {
			r, j = tailT[j], j+1
		}
		if !seen[r.id] {
			seen[r.id] = true
			order = append(order, r)
		}
	}

	res := &MergeResult{}
	held := map[licensekey.Ref]bool{}
	for ref := range baseW.byID {
		held[ref] = true
	}
	out := bytes.NewBuffer(make([]byte, 0, len(ours)+len(theirs)-len(base)))
	out.Write(base)
	head := sha256.Sum256(baseRecs[len(baseRecs)-1].data)
	seq := len(baseRecs)
	var placed []rawRecord // the tail records, as written, by position
	var starts []int       // where each of them starts in out
	for _, r := range order {
		switch side[r.id] {
		case "ours":
			res.Ours++
		case "theirs":
			res.Theirs++
		}
		body := r.body
		if r.op == "redeem" {
			var n int
			if body, n, err = uniteKeys(r, held); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
			res.KeysUnited += n
			if body == nil {
				continue // every key of it is in the wallet already
			}
		}
		starts = append(starts, out.Len())
		rec := append([]byte(`{"seq":`+strconv.Itoa(seq)+`,"prev":"`+hex.EncodeToString(head[:])+`",`), body...)
		out.Write(rec)
		head = sha256.Sum256(rec)
		seq++
		placed = append(placed, r)
	}
	merged := out.Bytes()
	if _, err := parse(name, merged); err != nil {
		var over *OverspendError
		if errors.As(err, &over) {
			k := over.Record - len(baseRecs)
			capacity := 0
			if w, err := parse(name, merged[:starts[k]]); err == nil {
				if e, ok := w.Key(over.Key); ok {
					capacity = e.Key.Capacity(over.License)
				}
			}
			earlier := map[[32]byte]bool{}
			for _, r := range placed[:k] {
				earlier[r.id] = true
			}
			return nil, nil, doubleSpend(over, capacity, placed[k], side, earlier, tailO, tailT)
		}
		return nil, nil, err
	}
	return merged, res, nil
}

// uniteKeys drops from a redeem record the keys already held, and adds the
// rest to held. It returns the record's body (nil if no key is left) and
// how many keys it dropped.
func uniteKeys(r rawRecord, held map[licensekey.Ref]bool) ([]byte, int, error) {
	lines := bytes.Split(bytes.TrimSuffix(r.data, []byte("\n")), []byte("\n"))
	var keep [][]byte
	dropped := 0
	for _, l := range lines[1:] {
		raw, err := base64.StdEncoding.Strict().DecodeString(string(bytes.TrimPrefix(l, []byte("key "))))
		if err != nil {
			return nil, 0, fmt.Errorf("%w: a key line is not base64", ErrCorrupt)
		}
		k, err := licensekey.ParseRaw(raw)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if held[k.Ref()] {
			dropped++
			continue
		}
		held[k.Ref()] = true
		keep = append(keep, raw)
	}
	if dropped == 0 {
		return r.body, 0, nil
	}
	if len(keep) == 0 {
		return nil, dropped, nil
	}
	var rec record
	dec := json.NewDecoder(bytes.NewReader(lines[0]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	rec.Seq, rec.Prev = 0, ""
	data, err := marshalRecord(&rec, keep)
	if err != nil {
		return nil, 0, err
	}
	body, ok := cutPosition(data)
	if !ok {
		return nil, 0, errors.New("internal error: a re-encoded record has no position")
	}
	return body, dropped, nil
}

// doubleSpend describes an overspent key: the allocation that overflowed
// and the other side's allocations of the same key and license.
func doubleSpend(over *OverspendError, capacity int, last rawRecord, side map[[32]byte]string, earlier map[[32]byte]bool, tailO, tailT []rawRecord) error {
	e := &DoubleSpendError{Key: over.Key, Serial: over.Key, License: over.License, Capacity: capacity}
	if _, serial, ok := strings.Cut(over.Key, ":"); ok {
		e.Serial = serial
	}
	spendOf := func(r rawRecord) (Spend, bool) {
		var h struct {
			Who        string      `json:"who"`
			Allocation *Allocation `json:"allocation"`
		}
		if r.op != "allocate" || json.Unmarshal(r.data[:bytes.IndexByte(r.data, '\n')], &h) != nil || h.Allocation == nil {
			return Spend{}, false
		}
		s := Spend{Record: r.id, Side: side[r.id], System: h.Allocation.System, Sequence: h.Allocation.Sequence,
			BundleID: h.Allocation.BundleID, Who: h.Who, Time: r.time}
		for _, f := range h.Allocation.Taken {
			if f.Key == over.Key && f.License == over.License {
				s.Months += f.Months
			}
		}
		return s, s.Months > 0
	}
	other := tailT
	if side[last.id] == "theirs" {
		other = tailO
	}
	e.Before = capacity - over.Left
	for _, r := range other {
		if s, ok := spendOf(r); ok && earlier[r.id] {
			e.Spends = append(e.Spends, s)
			e.Before -= s.Months
		}
	}
	if s, ok := spendOf(last); ok {
		e.Spends = append(e.Spends, s)
	}
	return e
}
