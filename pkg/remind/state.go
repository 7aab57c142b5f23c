package remind

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/payload"
)

// StateType and StateVersion identify a state file.
const (
	StateType    = "allot-remind-state"
	StateVersion = 1
)

// Limits a state reader enforces. MaxEntries keeps a state inside the
// payload reader's own bounds (payload.MaxSections, payload.MaxFields: five
// fields an entry); a state holds only what ends within days of now, so
// thousands of systems fit.
const (
	MaxStateSize = 16 << 20
	MaxEntries   = 8_192
	MaxIDLen     = 1024
	MaxCount     = 1_000_000
)

// ErrTooMany reports a run that would remember more than MaxEntries items.
var ErrTooMany = errclass.Sentinel(errclass.Input, "too many reminders for one state file")

// Forget is how long after an item's end the state still remembers it:
// nothing is said of an item after its end, so the entry only guards
// against a clock that is corrected backwards by less than this.
const Forget = 31 * 24 * time.Hour

// ErrState reports a state file that is not one, or is damaged.
var ErrState = errclass.Sentinel(errclass.Input, "damaged remind state")

// State is what was already said: per item ID, when it was said first and
// last, and how many times.
type State struct {
	said    map[string]*Said
	changed bool
}

// Said is the state file's record of one item.
type Said struct {
	ID          string
	Ends        time.Time
	First, Last time.Time
	Count       int
}

// NewState returns an empty state: nothing said yet.
func NewState() *State { return &State{said: map[string]*Said{}} }

// Said returns the record of an item, if it was said.
func (s *State) Said(id string) (Said, bool) {
	e, ok := s.said[id]
	if !ok {
		return Said{}, false
	}
	return *e, true
}

// Len returns how many items the state remembers.
func (s *State) Len() int { return len(s.said) }

// Changed reports whether Due changed the state since it was read.
func (s *State) Changed() bool { return s.changed }

func (s *State) record(id string, ends, now time.Time) *Said {
	e := s.said[id]
	if e == nil {
		e = &Said{ID: id, Ends: ends.UTC(), First: now}
		s.said[id] = e
	}
	e.Last = now
	e.Count = min(e.Count+1, MaxCount)
	s.changed = true
	return e
}

func (s *State) forget(now time.Time) {
	for id, e := range s.said {
		if now.Sub(e.Ends) > Forget {
			delete(s.said, id)
			s.changed = true
		}
	}
}

// ParseState reads a state file's content. It accepts exactly what
// Marshal writes (formats/remind-state.md): the payload subset of signed
// documents, entries sorted by id, each once.
func ParseState(data []byte) (*State, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrState, fmt.Sprintf(format, args...))
	}
	if len(data) > MaxStateSize {
		return nil, fail("larger than %d MiB", MaxStateSize>>20)
	}
	if len(data) == 0 {
		return nil, fail("empty file")
	}
	secs, err := payload.Parse(data)
	if err != nil {
		return nil, fail("%v", err)
	}
	if v, ok := payload.Version(secs); ok && v != StateVersion {
		return nil, fail("version: %d, want %d", v, StateVersion)
	}
	top := payload.NewTable(&secs[0])
	top.Int("version")
	typ := top.String("type")
	if err := top.Done(); err != nil {
		return nil, fail("%v", err)
	}
	if typ != StateType {
		return nil, fail("type: %q, want %q", typ, StateType)
	}
	if len(secs)-1 > MaxEntries {
		return nil, fail("more than %d entries", MaxEntries)
	}
	s := &State{said: make(map[string]*Said, len(secs)-1)}
	prev := ""
	for i := 1; i < len(secs); i++ {
		sec := &secs[i]
		if sec.Name != "said" || !sec.Array {
			return nil, fail("line %d: unknown table %q", sec.Line, sec.Name)
		}
		t := payload.NewTable(sec)
		e := &Said{ID: t.String("id"), Ends: t.Time("ends"), First: t.Time("first"), Last: t.Time("last"), Count: t.Int("count")}
		if err := t.Done(); err != nil {
			return nil, fail("%v", err)
		}
		// at reports a field's value at the field's line.
		at := func(key, format string, args ...any) error {
			line := sec.Line
			for _, f := range sec.Fields {
				if f.Key == key {
					line = f.Line
				}
			}
			return fail("line %d: %s: %s", line, key, fmt.Sprintf(format, args...))
		}
		if err := validID(e.ID); err != nil {
			return nil, at("id", "%v", err)
		}
		if i > 1 && e.ID <= prev {
			return nil, at("id", "%q is not after %q: the entries are sorted by id, each once", e.ID, prev)
		}
		prev = e.ID
		if e.Count < 1 || e.Count > MaxCount {
			return nil, at("count", "%d is not between 1 and %d", e.Count, MaxCount)
		}
		if e.Last.Before(e.First) {
			return nil, at("last", "%s is before first, %s", e.Last.Format(time.RFC3339), e.First.Format(time.RFC3339))
		}
		s.said[e.ID] = e
	}
	return s, nil
}

// validID accepts an id of 1 to MaxIDLen bytes of UTF-8 with no control
// character: ids are made of system ids, group paths and wallet ids, and
// a reader need not show anything else.
func validID(id string) error {
	if id == "" || len(id) > MaxIDLen {
		return fmt.Errorf("want 1 to %d bytes", MaxIDLen)
	}
	if !utf8.ValidString(id) {
		return errors.New("not UTF-8")
	}
	if i := strings.IndexFunc(id, unicode.IsControl); i >= 0 {
		return fmt.Errorf("a control character at byte %d", i+1)
	}
	return nil
}

// Marshal writes the state: a comment, the type and version, and one
// [[said]] table per item, sorted by id. A state of more than MaxEntries
// items is refused (ErrTooMany): it would be written, then never read.
func (s *State) Marshal() ([]byte, error) {
	if len(s.said) > MaxEntries {
		return nil, fmt.Errorf("%w: %d, at most %d; split the inputs over several state files", ErrTooMany, len(s.said), MaxEntries)
	}
	var w payload.Writer
	w.Comment("allot remind: what it has already said, so that it says nothing again")
	w.Comment("before it is due. Written by allot remind under STATE.lock; do not edit.")
	w.Int("version", StateVersion)
	w.String("type", StateType)
	ids := make([]string, 0, len(s.said))
	for id := range s.said {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		e := s.said[id]
		w.ArrayTable("said")
		w.String("id", e.ID)
		w.Time("ends", e.Ends)
		w.Time("first", e.First)
		w.Time("last", e.Last)
		w.Int("count", e.Count)
	}
	return w.Bytes(), nil
}
