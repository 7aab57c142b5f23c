package verify

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"allot.dev/allot/pkg/atomicfile"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/hwid"
)

// StateFile is the name of the device state file inside the state folder.
const StateFile = "allot.state"

// MaxStateFileSize bounds the state file a reader accepts.
const MaxStateFileSize = 1 << 20

// ErrStateMissing reports a state folder without a state file: a new device
// (initialise it explicitly) or a deleted file (a possible rollback).
var ErrStateMissing = errclass.Sentinel(errclass.Input, "device state is missing")

// State is the device's memory of what it has accepted: the highest bundle
// sequence per system and wallet, and the latest trusted time it has seen.
// It is sealed with a MAC keyed by the machine's hardware identifiers, so it
// cannot be edited, nor copied from another machine, without detection.
type State struct {
	path     string
	key      []byte
	LastSeen time.Time
	Seq      map[string]int // "system wallet-id" → highest sequence accepted
	once                    // the first-day grace and the trial this machine ran (state_once.go)
	changed  bool
}

// DeviceKeyID keys the identifier hashes the device state's MAC key is
// made from. It holds a zero byte, which no system id may, so no system
// file can list these hashes.
const DeviceKeyID = "\x00device-state"

// DeviceKey derives the MAC key of the device state from the machine's
// hardware identifiers.
func DeviceKey(ids []hwid.Identifier) []byte { return StateKey(hwid.HashAll(DeviceKeyID, ids)) }

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

// OpenState reads the state in dir. If there is none, it fails with
// ErrStateMissing unless create is set, in which case it starts an empty
// state that Save will write.
func OpenState(dir string, key []byte, create bool) (*State, error) {
	s := &State{path: filepath.Join(dir, StateFile), key: key, Seq: map[string]int{}}
	data, err := readLimited(s.path, MaxStateFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, fmt.Errorf("%w: %w at %s", ErrRollback, ErrStateMissing, s.path)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		s.changed = true
		return s, nil
	}
	if err != nil {
		// Whatever stops the state from being read stops trusting the clock.
		return nil, errclass.Wrap(ErrRollback, err)
	}
	if err := s.parse(data); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRollback, s.path, err)
	}
	return s, nil
}

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
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "last_seen":
			t, err := time.Parse(time.RFC3339, f[1])
			if err != nil {
				return fmt.Errorf("last_seen: %v", err)
			}
			s.LastSeen = t
		case len(f) == 4 && f[0] == "bundle":
			n, err := strconv.Atoi(f[3])
			if err != nil {
				return fmt.Errorf("bundle sequence: %v", err)
			}
			s.Seq[f[1]+" "+f[2]] = n
		case s.parseOnce(f):
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
// same system and wallet. On success it records b and now.
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
	if seq := s.Seq[k]; b.Sequence < seq {
		return fmt.Errorf("%w: bundle sequence %d is older than sequence %d, already accepted for system %s",
			ErrRollback, b.Sequence, seq, b.System)
	}
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

// Save writes the state if it changed, atomically.
func (s *State) Save() error {
	if !s.changed {
		return nil
	}
	var b bytes.Buffer
	b.WriteString(stateMagic + "\n")
	fmt.Fprintf(&b, "last_seen %s\n", s.LastSeen.UTC().Format(time.RFC3339))
	for _, k := range slices.Sorted(maps.Keys(s.Seq)) {
		sys, wid, _ := strings.Cut(k, " ")
		fmt.Fprintf(&b, "bundle %s %s %d\n", sys, wid, s.Seq[k])
	}
	s.writeOnce(&b)
	fmt.Fprintf(&b, "mac %s\n", hex.EncodeToString(s.mac(b.Bytes())))
	if err := atomicfile.Replace(s.path, b.Bytes(), 0o600); err != nil {
		return err
	}
	s.changed = false
	return nil
}
