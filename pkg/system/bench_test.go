package system_test

import (
	"testing"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/system"
)

// BenchmarkTree100kUsers is DESIGN.md's "validate a tree of 100,000
// users": a system file of 5,000 groups and 100,000 users, read and
// checked by the tree's rules.
func BenchmarkTree100kUsers(b *testing.B) {
	file := allottest.TreeSystemFile(5_000, 100_000)
	cat := catalog.Default()
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, err := system.Parse("big.system.toml", file, cat); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTreeRules100kUsers is the rules alone, on the tree read.
func BenchmarkTreeRules100kUsers(b *testing.B) {
	s, err := system.Parse("big.system.toml", allottest.TreeSystemFile(5_000, 100_000), catalog.Default())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		m, err := s.Model()
		if err == nil {
			err = m.Check()
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
