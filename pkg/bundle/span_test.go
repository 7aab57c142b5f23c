package bundle_test

import (
	"bytes"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/tree"
)

// spanSeeds returns payloads of bundles with trees: the benchmark's tree,
// and one with every field a group and a user may carry.
func spanSeeds(t testing.TB) [][]byte {
	doc, _, _, err := allottest.TreeBundle(t.TempDir(), 40)
	if err != nil {
		t.Fatal(err)
	}
	body, _, err := sign.Open(doc, bundle.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	until := allottest.Now.AddDate(0, 6, 0).Truncate(24 * time.Hour)
	b.Tree = &tree.Tree{
		Groups: []tree.Group{
			{Path: "tower", Restrict: true, Limits: tree.Limits{Quota: map[string]int{"camera": 10, "sip-number": 4}, Features: []string{"web-dialer"}}},
			{Path: "tower/floor-1"},
			{Path: "tower/floor-2", Restrict: true, Limits: tree.Limits{Quota: map[string]int{"camera": 2}, From: allottest.Now.Truncate(time.Hour), Until: until}},
		},
		Users: []tree.User{
			{Name: "anna", Groups: []string{"tower/floor-1", "tower/floor-2"}, Restrict: true, Limits: tree.Limits{Quota: map[string]int{"camera": 1}, Features: []string{}}},
			{Name: "anna-son", CreatedBy: "anna", Paused: true},
			{Name: "ben@example.com"},
		},
	}
	return [][]byte{body, b.Payload()}
}

// TestSpanSameAsGeneral: the span reader reads the seeds, and what it
// reads is what the general path reads.
func TestSpanSameAsGeneral(t *testing.T) {
	for i, body := range spanSeeds(t) {
		span, general := parseBoth(t, body)
		if span == nil || general == nil || span.Tree == nil || span.Tree.Len() == 0 {
			t.Fatalf("seed %d: span %v, general %v", i, span != nil, general != nil)
		}
	}
}

// parseBoth parses body with the span reader and without, fails the test
// if they differ, and returns both.
func parseBoth(t *testing.T, body []byte) (span, general *bundle.Bundle) {
	t.Helper()
	restore := bundle.SetSpan(true)
	span, err1 := bundle.ParsePayload(body)
	restore()
	defer bundle.SetSpan(false)()
	general, err2 := bundle.ParsePayload(body)
	if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
		t.Fatalf("span: %v\ngeneral: %v", err1, err2)
	}
	if !reflect.DeepEqual(span, general) {
		t.Fatalf("span and general differ:\n%+v\n%+v", span.Tree, general.Tree)
	}
	return span, general
}

// FuzzSpan holds the span reader to the general path: on any payload,
// the same bundle or the same error.
func FuzzSpan(f *testing.F) {
	for _, s := range spanSeeds(f) {
		f.Add(s)
		// The run of tree sections alone, moved, cut and doubled.
		if i := bytes.Index(s, []byte("\n[[group]]\n")); i > 0 {
			f.Add(append(bytes.Clone(s[:i+1]), s[i+1:]...))
			f.Add(append(bytes.Clone(s), s[i+1:]...))
			f.Add(s[:len(s)-len(s)/3])
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		parseBoth(t, body)
	})
}

// TestSpanMutations holds the span reader to the general path on the
// seeds changed at random, a few bytes each: what FuzzSpan does, in every
// run of the tests.
func TestSpanMutations(t *testing.T) {
	seeds := spanSeeds(t)
	r := rand.New(rand.NewSource(1))
	for n := 0; n < 5000; n++ {
		s := append([]byte(nil), seeds[r.Intn(len(seeds))]...)
		for k := 0; k < 1+r.Intn(4); k++ {
			i := r.Intn(len(s))
			switch r.Intn(3) {
			case 0:
				s[i] = byte(r.Intn(256))
			case 1:
				s = append(s[:i], s[min(len(s), i+1+r.Intn(20)):]...)
			case 2:
				j := r.Intn(len(s))
				s = append(s[:i], append(append([]byte(nil), s[j:min(len(s), j+30)]...), s[i:]...)...)
			}
			if len(s) == 0 {
				s = []byte{'\n'}
			}
		}
		parseBoth(t, s)
	}
}

// BenchmarkOpenTree opens a bundle with a 10,000-node tree, its tree read
// by the span reader and by the general path: what the span reader saves.
func BenchmarkOpenTree(b *testing.B) {
	doc, _, _, err := allottest.TreeBundle(b.TempDir(), 10_000)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		span bool
	}{{"span", true}, {"general", false}} {
		b.Run(c.name, func(b *testing.B) {
			defer bundle.SetSpan(c.span)()
			for b.Loop() {
				if _, err := bundle.Open(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
