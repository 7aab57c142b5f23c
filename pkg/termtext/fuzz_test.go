package termtext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Whatever goes in, what comes out is valid UTF-8 with none of the
// characters Escape promises to remove.
func FuzzEscape(f *testing.F) {
	f.Add("\x1b[2J\u009b\u202e\xff\tok")
	f.Fuzz(func(t *testing.T, s string) {
		out := Escape(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Escape(%q) = %q: not UTF-8", s, out)
		}
		for _, r := range out {
			if escaped(r) {
				t.Fatalf("Escape(%q) = %q: holds %U", s, out, r)
			}
		}
		if !strings.ContainsFunc(s, escaped) && utf8.ValidString(s) && out != s {
			t.Fatalf("Escape(%q) = %q: changed text that needs no escape", s, out)
		}
	})
}
