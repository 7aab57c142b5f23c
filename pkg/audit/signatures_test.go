package audit_test

import (
	"testing"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/audit"
	"allot.dev/allot/pkg/bundle"
)

// TestRunSignatures: the report counts the Ed25519 verifications the
// audit made: each bundle's own, and each key's once however many bundles
// carry it (the chain's certificates, checked once, are not counted).
func TestRunSignatures(t *testing.T) {
	doc, w, err := allottest.TypicalBundle(t.TempDir(), 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	// The next bundle of the system, funded by the same keys.
	b.ID, b.Sequence = "0000000000000002", b.Sequence+1
	next, err := bundle.Seal(b, allottest.Key("wallet"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		docs [][]byte
		want int64
	}{
		{[][]byte{doc}, 1 + 3},
		{[][]byte{doc, doc}, 1 + 3},      // one bundle given twice
		{[][]byte{doc, next}, 1 + 3 + 1}, // the keys once
		{[][]byte{next, doc, next}, 1 + 3 + 1},
	} {
		var bundles []audit.Bundle
		for _, d := range c.docs {
			bundles = append(bundles, audit.Bundle{Source: "b.lic", Doc: d})
		}
		for _, workers := range []int{1, 2} {
			rep := audit.Run(bundles, nil, audit.Options{Trust: w.Trust, Workers: workers})
			if !rep.Clean() {
				t.Fatal(rep.Findings[0].Message)
			}
			if rep.Signatures != c.want {
				t.Errorf("%d bundles (%d distinct), %d workers: %d signatures, want %d", len(c.docs), rep.Bundles, workers, rep.Signatures, c.want)
			}
		}
	}
	// A bundle given twice is audited once; one that differs by a byte
	// is another (and does not verify).
	flipped := append([]byte(nil), doc...)
	flipped[len(flipped)/2] ^= 1
	rep := audit.Run([]audit.Bundle{{Source: "a.lic", Doc: doc}, {Source: "b.lic", Doc: flipped}, {Source: "c.lic", Doc: doc}}, nil, audit.Options{Trust: w.Trust})
	if rep.Bundles != 2 || len(rep.Findings) != 1 || rep.Findings[0].Kind != audit.Invalid || rep.Findings[0].Uses[0].Source != "b.lic" {
		t.Errorf("a bundle, its damaged copy, the bundle again: %d bundles, findings %+v; want 2 and b.lic invalid", rep.Bundles, rep.Findings)
	}
	// Without a trust file only each bundle's own signature is checked.
	rep = audit.Run([]audit.Bundle{{Source: "a.lic", Doc: doc}, {Source: "b.lic", Doc: next}}, nil, audit.Options{})
	if rep.Signatures != 2 {
		t.Errorf("no trust file: %d signatures, want 2", rep.Signatures)
	}
}
