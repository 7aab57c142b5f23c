package remind_test

// FuzzParseState reads state files: whatever the input, ParseState returns
// a state or an error of class Input (exit 3), never panics, and a state it
// accepts writes back to a file it accepts again, unchanged.

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/remind"
)

func FuzzParseState(f *testing.F) {
	good := sampleState(f)
	f.Add(good)
	f.Add(marshal(f, remind.NewState()))
	f.Add([]byte{})
	f.Add(bytes.Replace(good, []byte("count = 1"), []byte("count = 0"), 1))
	f.Add(bytes.Replace(good, []byte("site-2"), []byte("site-1"), 1))
	f.Add([]byte("version = 1\ntype = \"allot-remind-state\"\n[[said]]\nid = \"x\"\nends = 9999-12-31T23:59:59Z\nfirst = 1970-01-01T00:00:00Z\nlast = 9999-12-31T23:59:59Z\ncount = 1000000\n"))
	for _, data := range allottest.ScriptFiles(f, ".state") {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := remind.ParseState(data)
		if err != nil {
			if !errors.Is(err, remind.ErrState) || strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error not ErrState, or not one line: %q", err)
			}
			return
		}
		out := marshal(t, st)
		st2, err := remind.ParseState(out)
		if err != nil {
			t.Fatalf("Marshal wrote what ParseState refuses: %v\n%s", err, out)
		}
		if st2.Len() != st.Len() || !bytes.Equal(marshal(t, st2), out) {
			t.Fatalf("not stable:\n%s", out)
		}
	})
}
