package remind_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/remind"
)

// sampleState is a state with two entries, as Marshal writes it.
func sampleState(t testing.TB) []byte {
	t.Helper()
	st := remind.NewState()
	d := defaults(catalog.Reminder{Days: 30, Every: "weekly"})
	remind.Due([]remind.Item{sub("site-1"), sub("site-2")}, st, ends.AddDate(0, 0, -30), d)
	remind.Due([]remind.Item{sub("site-1")}, st, ends.AddDate(0, 0, -23), d)
	return st.Marshal()
}

func TestStateRoundTrip(t *testing.T) {
	data := sampleState(t)
	want := `# allot remind: what it has already said, so that it says nothing again
# before it is due. Written by allot remind under STATE.lock; do not edit.
version = 1
type = "allot-remind-state"

[[said]]
id = "subscription W/site-1 2027-11-22T10:00:00Z"
ends = 2027-11-22T10:00:00Z
first = 2027-10-23T10:00:00Z
last = 2027-10-30T10:00:00Z
count = 2

[[said]]
id = "subscription W/site-2 2027-11-22T10:00:00Z"
ends = 2027-11-22T10:00:00Z
first = 2027-10-23T10:00:00Z
last = 2027-10-23T10:00:00Z
count = 1
`
	if string(data) != want {
		t.Fatalf("Marshal:\n%s\nwant\n%s", data, want)
	}
	st, err := remind.ParseState(data)
	if err != nil {
		t.Fatal(err)
	}
	if st.Len() != 2 || st.Changed() {
		t.Fatalf("%d entries, changed %v", st.Len(), st.Changed())
	}
	if again := st.Marshal(); !bytes.Equal(again, data) {
		t.Fatalf("Marshal(ParseState(x)) != x:\n%s", again)
	}
	// An empty state is a valid file too.
	if _, err := remind.ParseState(remind.NewState().Marshal()); err != nil {
		t.Fatal(err)
	}
}

// TestParseStateRejects is formats/remind-state.md's list of what a reader
// MUST reject, one case each.
func TestParseStateRejects(t *testing.T) {
	good := string(sampleState(t))
	first := `id = "subscription W/site-1 2027-11-22T10:00:00Z"`
	tests := []struct {
		name, old, new, msg string
	}{
		{"empty", good, "", "empty file"},
		{"not the subset", "count = 1\n", "count = 01\n", "line 18: count: bad value"},
		{"no newline at the end", "count = 1\n", "count = 1", "newline"},
		{"CRLF", "version = 1\n", "version = 1\r\n", "line 3"},
		{"version", "version = 1", "version = 2", "version: 2, want 1"},
		{"no version", "version = 1\n", "", "version: missing"},
		{"type", `type = "allot-remind-state"`, `type = "allot-bundle"`, `type: "allot-bundle"`},
		{"no type", "type = \"allot-remind-state\"\n", "", "type: missing"},
		{"unknown top field", "version = 1\n", "version = 1\nnow = 2027-10-23T10:00:00Z\n", "now: unknown field"},
		{"unknown table", "[[said]]\nid = \"subscription W/site-2", "[[sent]]\nid = \"subscription W/site-2", `unknown table "sent"`},
		{"a table, not an array", "[[said]]\nid = \"subscription W/site-2", "[said]\nid = \"subscription W/site-2", `unknown table "said"`},
		{"unknown field", "count = 2\n", "count = 2\nto = \"ops\"\n", "said.to: unknown field"},
		{"missing field", "last = 2027-10-30T10:00:00Z\n", "", "said.last: missing"},
		{"wrong type", "count = 2", `count = "2"`, "said.count: want an integer"},
		{"empty id", first, `id = ""`, "id: want 1 to 1024 bytes"},
		{"long id", first, `id = "` + strings.Repeat("x", 1025) + `"`, "id: want 1 to 1024 bytes"},
		{"control in id", first, `id = "subscription W/site-1\u001b[2J"`, "id: a control character"},
		{"duplicate", "site-2 2027", "site-1 2027", "is not after"},
		{"unsorted", "site-1 2027", "site-3 2027", "is not after"},
		{"count 0", "count = 1\n", "count = 0\n", "count: 0 is not between"},
		{"negative count", "count = 1\n", "count = -1\n", "count: -1 is not between"},
		{"last before first", "last = 2027-10-30T10:00:00Z", "last = 2027-10-01T10:00:00Z", "last: 2027-10-01T10:00:00Z is before first"},
		{"a date before 1970", "ends = 2027-11-22T10:00:00Z\nfirst = 2027-10-23T10:00:00Z\nlast = 2027-10-23", "ends = 1969-11-22T10:00:00Z\nfirst = 2027-10-23T10:00:00Z\nlast = 2027-10-23", "line 15: ends: date-time 1969-11-22T10:00:00Z: want a year from 1970 to 9999"},
		{"a time with a zone", "ends = 2027-11-22T10:00:00Z\nfirst = 2027-10-23T10:00:00Z\nlast = 2027-10-23", "ends = 2027-11-22T10:00:00+01:00\nfirst = 2027-10-23T10:00:00Z\nlast = 2027-10-23", "line 15: ends: bad value"},
		{"not UTF-8", "site-1 2027", "site-\xff 2027", "not UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.old) {
				t.Fatalf("%q is not in the sample", tt.old)
			}
			data := strings.Replace(good, tt.old, tt.new, 1)
			_, err := remind.ParseState([]byte(data))
			if err == nil {
				t.Fatalf("accepted:\n%s", data)
			}
			if !errors.Is(err, remind.ErrState) || errclass.ExitCode(err) != errclass.ExitInput || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, want ErrState (exit 3) with %q", err, tt.msg)
			}
		})
	}
	big := bytes.Repeat([]byte("#\n"), remind.MaxStateSize/2+1)
	if _, err := remind.ParseState(big); !errors.Is(err, remind.ErrState) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a file over the limit: %v", err)
	}
	var many strings.Builder
	many.WriteString("version = 1\ntype = \"allot-remind-state\"\n")
	for i := range remind.MaxEntries + 1 {
		fmt.Fprintf(&many, "[[said]]\nid = \"%08d\"\nends = 2027-11-22T10:00:00Z\nfirst = 2027-10-23T10:00:00Z\nlast = 2027-10-23T10:00:00Z\ncount = 1\n", i)
	}
	if _, err := remind.ParseState([]byte(many.String())); !errors.Is(err, remind.ErrState) || !strings.Contains(err.Error(), "more than") {
		t.Errorf("too many entries: %v", err)
	}
}

func TestUpdate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "remind.state")
	d := defaults(catalog.Reminder{Days: 30, Every: "weekly"})
	items := []remind.Item{sub("site-1")}
	now := ends.AddDate(0, 0, -30)
	run := func() (n int, err error) {
		err = remind.Update(path, func(st *remind.State) error {
			n = len(remind.Due(items, st, now, d))
			return nil
		})
		return n, err
	}

	// The first run creates the file; the second says nothing and
	// leaves it as it is.
	if n, err := run(); n != 1 || err != nil {
		t.Fatalf("first run: %d, %v", n, err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st0, _ := os.Stat(path)
	if n, err := run(); n != 0 || err != nil {
		t.Fatalf("second run: %d, %v", n, err)
	}
	if st1, _ := os.Stat(path); !st1.ModTime().Equal(st0.ModTime()) || st1.Mode().Perm() != remind.StateMode {
		t.Errorf("a run with nothing to say rewrote the file, or its mode is %v", st1.Mode())
	}

	// fn fails: nothing is written.
	now = ends.AddDate(0, 0, -23)
	boom := errors.New("boom")
	err = remind.Update(path, func(st *remind.State) error {
		remind.Due(items, st, now, d)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("fn's error: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("a failed run changed the state")
	}

	// A damaged file is refused, and left as it is.
	damaged := bytes.Replace(before, []byte("count = 1"), []byte("count = 0"), 1)
	if err := os.WriteFile(path, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	called := false
	err = remind.Update(path, func(*remind.State) error { called = true; return nil })
	if !errors.Is(err, remind.ErrState) || called || !strings.HasPrefix(err.Error(), path+": damaged remind state: line 11: count: 0") {
		t.Fatalf("damaged: %v (fn called: %v)", err, called)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, damaged) {
		t.Fatal("a damaged state was changed")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 { // the state and its lock
		t.Errorf("files left: %v", ents)
	}

	// A folder where the state should be.
	if err := remind.Update(dir, func(*remind.State) error { return nil }); !errors.Is(err, remind.ErrState) {
		t.Errorf("a folder as the state: %v", err)
	}
}

// A run that would remember more than a reader accepts writes nothing.
func TestUpdateTooMany(t *testing.T) {
	path := filepath.Join(t.TempDir(), "remind.state")
	var items []remind.Item
	for i := range remind.MaxEntries + 1 {
		items = append(items, sub(fmt.Sprintf("site-%d", i)))
	}
	d := defaults(catalog.Reminder{Days: 30, Every: "weekly"})
	err := remind.Update(path, func(st *remind.State) error {
		remind.Due(items, st, ends.AddDate(0, 0, -1), d)
		return nil
	})
	if !errors.Is(err, remind.ErrTooMany) || errclass.ExitCode(err) != errclass.ExitInput {
		t.Fatalf("%d entries: %v", len(items), err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a state was written: %v", err)
	}
	// One fewer fits, and reads back.
	items = items[1:]
	if err := remind.Update(path, func(st *remind.State) error {
		remind.Due(items, st, ends.AddDate(0, 0, -1), d)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if st, err := remind.ParseState(data); err != nil || st.Len() != remind.MaxEntries {
		t.Fatalf("the largest state: %v", err)
	}
}

// TestUpdateConcurrent runs many Updates at once, as overlapping crons do:
// each reminder is said exactly once among them.
func TestUpdateConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "remind.state")
	d := defaults(catalog.Reminder{Days: 30, Every: "weekly"})
	var items []remind.Item
	for i := range 20 {
		items = append(items, sub(fmt.Sprintf("site-%d", i)))
	}
	now := ends.AddDate(0, 0, -30)
	var mu sync.Mutex
	count := map[string]int{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			err := remind.Update(path, func(st *remind.State) error {
				for _, r := range remind.Due(items, st, now, d) {
					mu.Lock()
					count[r.ID]++
					mu.Unlock()
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(count) != len(items) {
		t.Fatalf("%d of %d said", len(count), len(items))
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("%s said %d times", id, n)
		}
	}
}
