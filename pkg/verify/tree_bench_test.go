package verify_test

import (
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/verify"
)

// BenchmarkVerifyTree10k is DESIGN.md's "verify a bundle with a
// 10,000-node group tree and its usage, in process"; its budget is 5 ms
// beyond the same bundle's signatures, which BenchmarkVerifyTreeNone
// measures with the tree ignored (no usage, no question): compare the two.
func BenchmarkVerifyTree10k(b *testing.B) {
	doc, usage, w, err := allottest.TreeBundle(b.TempDir(), 10_000)
	if err != nil {
		b.Fatal(err)
	}
	opts := verify.Options{Trust: w.Trust, Now: allottest.Now.Add(24 * time.Hour), Workers: 1, Usage: usage,
		Question: &verify.Question{Node: "b07/apt-00007", User: "user-000007", License: "camera"}}
	for b.Loop() {
		if r := verify.Bundle("tree.lic", doc, opts); r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}
