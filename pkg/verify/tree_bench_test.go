package verify_test

import (
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
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

// BenchmarkVerifyTreeNone is the bundle of BenchmarkVerifyTree10k without
// its tree, re-sealed by the wallet, and verified without usage or
// question: its signatures and the rest of the bundle.
func BenchmarkVerifyTreeNone(b *testing.B) {
	doc, _, w, err := allottest.TreeBundle(b.TempDir(), 10_000)
	if err != nil {
		b.Fatal(err)
	}
	bu, err := bundle.Open(doc)
	if err != nil {
		b.Fatal(err)
	}
	plain := *bu
	plain.Tree = nil
	if doc, err = bundle.Seal(&plain, allottest.Key("wallet")); err != nil {
		b.Fatal(err)
	}
	opts := verify.Options{Trust: w.Trust, Now: allottest.Now.Add(24 * time.Hour), Workers: 1}
	for b.Loop() {
		if r := verify.Bundle("plain.lic", doc, opts); r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}

// BenchmarkParseUsage10k reads the usage file of BenchmarkVerifyTree10k's
// tree: what a device reads beside the bundle.
func BenchmarkParseUsage10k(b *testing.B) {
	data := allottest.TreeUsageFile(allottest.BigTree(5_000, 5_000))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := verify.ParseUsage("tree.usage.toml", data); err != nil {
			b.Fatal(err)
		}
	}
}
