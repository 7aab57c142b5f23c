package audit_test

import (
	"fmt"
	"testing"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/audit"
)

// BenchmarkRun audits 1,000 bundles of one wallet with a trust file, 4
// signatures each; compare -cpu 1 and -cpu 2 for how the audit scales.
// scripts/benchtool -audit N sets the figure beside its signature floor.
func BenchmarkRun(b *testing.B) {
	docs, w, err := allottest.AuditBundles(b.TempDir(), 1000)
	if err != nil {
		b.Fatal(err)
	}
	bundles := make([]audit.Bundle, len(docs))
	for i, d := range docs {
		bundles[i] = audit.Bundle{Source: fmt.Sprintf("site-%d.lic", i), Doc: d}
	}
	b.ReportAllocs()
	for b.Loop() {
		if rep := audit.Run(bundles, nil, audit.Options{Trust: w.Trust}); !rep.Clean() {
			b.Fatal(rep.Findings[0].Message)
		}
	}
}
