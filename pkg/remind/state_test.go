package remind_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
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
	return marshal(t, st)
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
	if again := marshal(t, st); !bytes.Equal(again, data) {
		t.Fatalf("Marshal(ParseState(x)) != x:\n%s", again)
	}
	// An empty state is a valid file too.
	if _, err := remind.ParseState(marshal(t, remind.NewState())); err != nil {
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

// A state of more items than a reader accepts is never written.
func TestMarshalTooMany(t *testing.T) {
	var items []remind.Item
	for i := range remind.MaxEntries + 1 {
		items = append(items, sub(fmt.Sprintf("site-%d", i)))
	}
	d := defaults(catalog.Reminder{Days: 30, Every: "weekly"})
	st := remind.NewState()
	remind.Due(items, st, ends.AddDate(0, 0, -1), d)
	if _, err := st.Marshal(); !errors.Is(err, remind.ErrTooMany) || errclass.ExitCode(err) != errclass.ExitInput {
		t.Fatalf("%d entries: %v", st.Len(), err)
	}
	// One fewer fits, and reads back.
	st = remind.NewState()
	remind.Due(items[1:], st, ends.AddDate(0, 0, -1), d)
	if st2, err := remind.ParseState(marshal(t, st)); err != nil || st2.Len() != remind.MaxEntries {
		t.Fatalf("the largest state: %v", err)
	}
}

func marshal(t testing.TB, st *remind.State) []byte {
	t.Helper()
	data, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}
