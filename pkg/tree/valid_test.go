package tree

import "testing"

// FuzzValidNames holds the one-pass checks that ValidPath and ValidUser
// try first (pathDepth, plainUser) to the checks that say what is wrong.
func FuzzValidNames(f *testing.F) {
	for _, s := range []string{"", "a", "tower-a/floor-1/apt-1", "a//b", "/a", "a/", ".", "a/../b", "a/./b", "ann@example.com",
		"user:x", "a b", "é", "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q",
		"x234567890123456789012345678901234567890123456789012345678901234", "x2345678901234567890123456789012345678901234567890123456789012345"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if fast, slow := pathDepth(s) != 0, validPath(s) == nil; fast != slow {
			t.Fatalf("path %q: one pass says valid %v, segment by segment %v", s, fast, slow)
		}
		if fast, slow := plainUser(s), validUser(s) == nil; fast != slow {
			t.Fatalf("user %q: one pass says valid %v, the check %v", s, fast, slow)
		}
	})
}
