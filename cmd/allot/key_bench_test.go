package main

import (
	"crypto/rand"
	"io"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/licensekey"
)

// BenchmarkIssueKeys10k signs 10 000 keys the way `allot key issue --count`
// does: on every core. Its budget is 1.5 × (signatures ÷ cores).
func BenchmarkIssueKeys10k(b *testing.B) {
	tmpl := &licensekey.Key{Kind: licensekey.Subscription, Product: "vms", TermMonths: 12,
		Issued: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Licenses: []licensekey.License{{Type: "camera", Quantity: 10}}}
	priv := allottest.Key("bench issuer")
	for b.Loop() {
		if err := issueKeys(io.Discard, tmpl, priv, 10_000, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}
