package verify

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/payload"
)

// StateFile is the name of the device state file inside the state folder.
const StateFile = "allot.state"

// Limits of the device state.
const (
	// MaxStateFileSize bounds the state file a reader accepts.
	MaxStateFileSize = 1 << 20
	// MaxStateBundles bounds the bundle series (system and wallet) a state
	// remembers. A line takes at most 110 bytes, so a state the device
	// writes always fits in MaxStateFileSize, and is read back.
	MaxStateBundles = 4096
)

// ErrStateMissing reports a state folder without a state file: a new device
// (initialise it explicitly) or a deleted file (a possible rollback).
var ErrStateMissing = errclass.Sentinel(errclass.Input, "device state is missing")

// State is the device's memory of what it has accepted: the highest bundle
// sequence per system and wallet, and the latest trusted time it has seen.
// It is sealed with a MAC keyed by the machine's hardware identifiers, so it
// cannot be edited, nor copied from another machine, without detection.
type State struct {
	key      []byte
	LastSeen time.Time
	Seq      map[string]int // "system wallet-id" → highest sequence accepted
	once                    // the first-day grace and the trial this machine ran (state_once.go)
	Serves   Pin            // the system this machine serves (pin.go)
	changed  bool
}

// DeviceKeyID keys the identifier hashes the device state's MAC key is
// made from. It holds a zero byte, which no system id may, so no system
// file can list these hashes.
const DeviceKeyID = "\x00device-state"

// DeviceKey derives the MAC key of the device state from the machine's
// hardware identifiers: from the ones that stay while the machine does
// (machine-id, the DMI product UUID) where it has any, so that a USB disk
// plugged in or a network card replaced does not make the device's own
// state read as another machine's; from all of them otherwise.
func DeviceKey(ids []hwid.Identifier) []byte {
	var stable []hwid.Identifier
	for _, id := range ids {
		if id.Kind == hwid.MachineID || id.Kind == hwid.ProductUUID {
			stable = append(stable, id)
		}
	}
	if len(stable) > 0 {
		ids = stable
	}
	return StateKey(hwid.HashAll(DeviceKeyID, ids))
}

// StateKey derives the MAC key of the device state from the machine's
// hashed hardware identifiers.
func StateKey(identifiers []string) []byte {
	ids := slices.Clone(identifiers)
	slices.Sort(ids)
	h := sha256.New()
	h.Write([]byte("allot-state-v1\x00"))
	for _, id := range ids {
		h.Write([]byte(id))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// NewState returns the empty state of a new device, sealed with key; it
// counts as changed, so that it is written.
func NewState(key []byte) *State {
	return &State{key: key, Seq: map[string]int{}, changed: true}
}

// ParseState reads a state file's content, checking its MAC with key;
// name is used in errors. A state that does not read is a rollback: a
// device must not be made to forget what it has seen.
func ParseState(name string, data []byte, key []byte) (*State, error) {
	s := &State{key: key, Seq: map[string]int{}}
	if err := s.parse(data); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRollback, name, err)
	}
	return s, nil
}

// Changed reports whether the state has changed since it was read or last
// marshalled for saving.
func (s *State) Changed() bool { return s.changed }

// Saved records that the state as it is has been written.
func (s *State) Saved() { s.changed = false }

const stateMagic = "allot-state v1"

func (s *State) parse(data []byte) error {
	i := bytes.LastIndex(data, []byte("mac "))
	if i < 0 || !bytes.HasSuffix(data, []byte("\n")) {
		return errors.New("the state file is damaged: no MAC line")
	}
	body, macLine := data[:i], strings.TrimSpace(string(data[i+len("mac "):]))
	want, err := hex.DecodeString(macLine)
	if err != nil || !hmac.Equal(want, s.mac(body)) {
		return errors.New("the state file was changed, or comes from another machine: its MAC does not match")
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	if !sc.Scan() || sc.Text() != stateMagic {
		return errors.New("not a state file")
	}
	for n := 2; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "last_seen":
			t, err := time.Parse(time.RFC3339, f[1])
			if err != nil {
				return fmt.Errorf("last_seen: %v", err)
			}
			if !payload.ValidTime(t) {
				return fmt.Errorf("last_seen: date %s: want a year from %d to %d", f[1], payload.MinYear, payload.MaxYear)
			}
			s.LastSeen = t
		case len(f) == 4 && f[0] == "bundle":
			if len(s.Seq) == MaxStateBundles {
				return fmt.Errorf("line %d: more than %d bundle lines", n, MaxStateBundles)
			}
			n, err := strconv.Atoi(f[3])
			if err != nil {
				return fmt.Errorf("bundle sequence: %v", err)
			}
			s.Seq[f[1]+" "+f[2]] = n
		case s.parseOnce(f):
		case len(f) == 4 && f[0] == "serves":
			if err := s.parsePin(f); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown line %q", sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("the state file is damaged: %v", err)
	}
	return nil
}

func (s *State) mac(body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(body)
	return m.Sum(nil)
}

// Check detects rollback: the clock behind the latest trusted time seen by
// more than tolerance, or a bundle older than one already accepted for the
// same system and wallet; and it refuses a bound bundle of another system
// than the one this machine serves (ErrBinding, Pin). On success it
// records b and now.
func (s *State) Check(b *bundle.Bundle, now time.Time, tolerance time.Duration) error {
	if err := s.CheckClock(now, tolerance); err != nil {
		return err
	}
	// The bundle was signed at its issue time, so the real time is later.
	if now.Add(tolerance).Before(b.Issued) {
		return fmt.Errorf("%w: the clock says %s, but the bundle was signed at %s",
			ErrRollback, now.UTC().Format(time.RFC3339), b.Issued.UTC().Format(time.RFC3339))
	}
	k := b.System + " " + b.WalletID.String()
	if _, ok := s.Seq[k]; !ok && len(s.Seq) >= MaxStateBundles {
		// Forgetting a series to make room would let its bundles roll back.
		return fmt.Errorf("%w: the device state already remembers %d bundle series (system and wallet), the most it may; system %s would be one more",
			ErrRollback, len(s.Seq), b.System)
	}
	if seq := s.Seq[k]; b.Sequence < seq {
		return fmt.Errorf("%w: bundle sequence %d is older than sequence %d, already accepted for system %s",
			ErrRollback, b.Sequence, seq, b.System)
	}
	if err := s.checkPin(b, now); err != nil {
		return err
	}
	s.recordPin(b)
	if b.Sequence > s.Seq[k] {
		s.Seq[k] = b.Sequence
		s.changed = true
	}
	if latest := maxTime(now, b.Issued).UTC().Truncate(time.Second); latest.After(s.LastSeen) {
		s.LastSeen = latest
		s.changed = true
	}
	return nil
}

// CheckClock detects a clock set back: now behind the latest time seen by
// more than tolerance.
func (s *State) CheckClock(now time.Time, tolerance time.Duration) error {
	if now.Add(tolerance).Before(s.LastSeen) {
		return fmt.Errorf("%w: the clock says %s, but this device has already seen %s",
			ErrRollback, now.UTC().Format(time.RFC3339), s.LastSeen.Format(time.RFC3339))
	}
	return nil
}

// Observe records now as seen, if it is later than any time seen: every
// run with a readable state does, whatever its bundle's verdict, so that a
// device that saw its bundle expire cannot be turned back to a time when
// it was valid.
func (s *State) Observe(now time.Time) {
	if t := now.UTC().Truncate(time.Second); t.After(s.LastSeen) {
		s.LastSeen = t
		s.changed = true
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Marshal returns the state file's content, sealed with its MAC.
func (s *State) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(stateMagic + "\n")
	fmt.Fprintf(&b, "last_seen %s\n", s.LastSeen.UTC().Format(time.RFC3339))
	for _, k := range slices.Sorted(maps.Keys(s.Seq)) {
		sys, wid, _ := strings.Cut(k, " ")
		fmt.Fprintf(&b, "bundle %s %s %d\n", sys, wid, s.Seq[k])
	}
	s.writeOnce(&b)
	s.writePin(&b)
	fmt.Fprintf(&b, "mac %s\n", hex.EncodeToString(s.mac(b.Bytes())))
	return b.Bytes()
}

// ReadStateUnverified parses a state file without checking its MAC: for a
// reader that lacks the machine's identifiers the MAC key is made from,
// such as `allot status` on an administrator's laptop reading the states
// collected from a site's servers. What it returns is what the file says,
// not what the device vouches for; it is never used to accept a bundle.
func ReadStateUnverified(data []byte) (*State, error) {
	i := bytes.LastIndex(data, []byte("mac "))
	if i < 0 || !bytes.HasSuffix(data, []byte("\n")) {
		return nil, errclass.New(ErrMalformed, "the state file is damaged: no MAC line")
	}
	// Seal the body again under a key of this reader's own, so that it is
	// read by the device's own parser, every rule but the MAC's included.
	s := &State{Seq: map[string]int{}}
	body := data[:i]
	resealed := fmt.Appendf(bytes.Clone(body), "mac %x\n", s.mac(body))
	if err := s.parse(resealed); err != nil {
		return nil, errclass.New(ErrMalformed, "%v", err)
	}
	return s, nil
}
