package verify_test

import (
	"fmt"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/verify"
)

// BenchmarkVerifyFloating verifies the typical bundle's pool divided among
// 3 servers, and among the most servers a bundle may list, with a usage
// file of the whole system, on one goroutine: beside
// BenchmarkVerifySequential, what shares add to the typical verification.
func BenchmarkVerifyFloating(b *testing.B) {
	for _, n := range []int{3, bundle.MaxServers} {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) { benchFloating(b, n) })
	}
}

func benchFloating(b *testing.B, servers int) {
	doc, w, err := allottest.TypicalBundle(b.TempDir(), 2, 3)
	if err != nil {
		b.Fatal(err)
	}
	bd, err := bundle.Open(doc)
	if err != nil {
		b.Fatal(err)
	}
	bd.Binding = bundle.Binding{}
	u := &verify.Usage{System: bd.System}
	for i := range servers {
		name := fmt.Sprintf("nvr-%d", i+1)
		bd.Binding.Servers = append(bd.Binding.Servers, bundle.Server{Name: name, Identifiers: []string{}})
		q := 25 / servers
		if i < 25%servers {
			q++
		}
		bd.Shares = append(bd.Shares, bundle.Share{Period: 1, Server: name, Quota: map[string]int{"camera": q}})
		u.Servers = append(u.Servers, verify.ServerUsage{Name: name, Cameras: q})
	}
	if doc, err = bundle.Seal(bd, allottest.Key("wallet")); err != nil {
		b.Fatal(err)
	}
	opts := verify.Options{Trust: w.Trust, Now: allottest.Now.Add(24 * time.Hour), Usage: u, Workers: 1}
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if r := verify.Bundle("floating.lic", doc, opts); r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}
