package verify_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/verify"
)

// BenchmarkVerify is DESIGN.md's "verify one typical bundle in process":
// three keys, a chain of two certificates below the root, no usage file.
func BenchmarkVerify(b *testing.B) {
	doc, w, err := allottest.TypicalBundle(b.TempDir(), 2, 3)
	if err != nil {
		b.Fatal(err)
	}
	opts := verify.Options{Trust: w.Trust, Now: allottest.Now.Add(24 * time.Hour)}
	for b.Loop() {
		if r := verify.Bundle("typical.lic", doc, opts); r.Err != nil {
			b.Fatal(r.Err)
		}
	}
	b.ReportMetric(6, "sigs/op")
}

// BenchmarkEd25519Verify is the machine's floor: one signature check.
func BenchmarkEd25519Verify(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := []byte("allot benchmark message")
	sig := ed25519.Sign(priv, msg)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("does not verify")
		}
	}
}

// BenchmarkVerifySequential is BenchmarkVerify with one worker, as
// allot-verify runs it.
func BenchmarkVerifySequential(b *testing.B) {
	doc, w, err := allottest.TypicalBundle(b.TempDir(), 2, 3)
	if err != nil {
		b.Fatal(err)
	}
	opts := verify.Options{Trust: w.Trust, Now: allottest.Now.Add(24 * time.Hour), Workers: 1}
	for b.Loop() {
		if r := verify.Bundle("typical.lic", doc, opts); r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}
