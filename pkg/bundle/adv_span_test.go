package bundle_test

import (
	"runtime"
	"testing"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/sign"
)

// The adversary's findings against the tree's span reader (treespan.go),
// fixed by a9dd597: the tests hold the fixes.

// TestAdvSpanWaste: on a payload the span reader leaves to the general
// reader, everything it made is waste, and the general reader's
// allocations came on top of it before the collector ran. allot-verify's
// peak before a9dd597 (GNU time, the most of 5 runs): 33.8 MiB on
// bundle-tree-then-malformed.lic (21.6 MiB with the span reader off) and
// 20.9 MiB on bundle-tree-quota-tables.lic (8.9 MiB off), against
// DESIGN.md's 20 MiB. The span reader may cost a copy of the payload; it
// cost more:
//
//   - SpanPastLimits: the first pass counted groups and users against
//     MaxGroups and MaxUsers, not the tables against payload.MaxSections,
//     so it built 20,000 quota maps for a payload the general reader
//     refuses before it allocates anything;
//   - TreeAfterComments, malformed: it built the whole tree, copied the
//     rest of the payload and parsed it (into a string, another copy)
//     before the last section's error sent the payload to the general
//     reader, which read it all again.
//
// The test counts bytes allocated, not the peak.
func TestAdvSpanWaste(t *testing.T) {
	doc, _, err := allottest.TypicalBundle(t.TempDir(), 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	valid, _, err := sign.Open(doc, bundle.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"SpanPastLimits", allottest.SpanPastLimits()},
		{"TreeAfterComments, malformed", allottest.TreeAfterComments(valid, true)},
	} {
		on, errOn := allocated(c.body, true)
		off, errOff := allocated(c.body, false)
		if errOn == nil || errOff == nil || errOn.Error() != errOff.Error() {
			t.Fatalf("%s: want the same error: %v, %v", c.name, errOn, errOff)
		}
		t.Logf("%s, %d KiB: %d KiB allocated with the span reader, %d KiB without (%v)", c.name, len(c.body)>>10, on>>10, off>>10, errOn)
		if on > off+uint64(len(c.body))+64<<10 {
			t.Errorf("%s: the span reader allocated %d KiB more than the general reader alone, more than a copy of the %d KiB payload", c.name, (on-off)>>10, len(c.body)>>10)
		}
	}
}

// allocated returns the bytes parsing body allocates, with the span reader
// on or off, its pools warm, and the parse's error.
func allocated(body []byte, span bool) (uint64, error) {
	defer bundle.SetSpan(span)()
	bundle.ParsePayload(body)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := bundle.ParsePayload(body)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}
