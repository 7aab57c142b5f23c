package payload

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func special(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c == 0x7f }

// TestMayBeSpecial: no word holding a quote, a backslash, a control
// character or DEL is ever passed over, wherever the byte sits and
// whatever the bytes around it.
func TestMayBeSpecial(t *testing.T) {
	for _, fill := range []byte{'A', 0x80, 0xff, ' ', '~'} {
		for c := range 256 {
			for p := range 8 {
				w := []byte(strings.Repeat(string(fill), 8))
				w[p] = byte(c)
				got := mayBeSpecial(load64(string(w), 0))
				if special(byte(c)) && !got {
					t.Fatalf("byte %#x at %d among %#x: passed over", c, p, fill)
				}
				if !special(byte(c)) && !special(fill) && got {
					t.Fatalf("byte %#x at %d among %#x: flagged, none is special", c, p, fill)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 1_000_000 {
		var w [8]byte
		any := false
		for i := range w {
			w[i] = byte(rng.Uint32())
			any = any || special(w[i])
		}
		if any && !mayBeSpecial(load64(string(w[:]), 0)) {
			t.Fatalf("% x: passed over", w)
		}
	}
}

// TestBasicStringWords: strings of every length with a special byte at
// every place read as the byte-by-byte reader reads them.
func TestBasicStringWords(t *testing.T) {
	ref := func(b string) (string, string, bool) {
		for i := 1; i < len(b); i++ {
			if b[i] == '"' {
				return b[1:i], b[i+1:], true
			}
			if special(b[i]) {
				break
			}
		}
		return "", "", false
	}
	for n := 0; n < 40; n++ {
		for p := 0; p <= n; p++ {
			for _, c := range []byte{'"', '\\', 0x01, 0x1f, 0x7f, '\t', 'x'} {
				body := []byte(strings.Repeat("a", n))
				if p < n {
					body[p] = c
				}
				b := `"` + string(body) + `"tail`
				s, rest, ok := ref(b)
				got, grest, err := basicString(b)
				if ok && (err != nil || got != s || grest != rest) {
					t.Fatalf("%q: %q, %q, %v; want %q, %q", b, got, grest, err, s, rest)
				}
			}
		}
	}
}

// TestPlain: Plain takes a string of any length exactly when none of its
// bytes is special, wherever one sits, and then the parser reads the
// quoted string as the string itself.
func TestPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for range 200_000 {
		b := make([]byte, rng.IntN(24))
		want := true
		for i := range b {
			b[i] = "az09-_./@ ~\xc3\xa9"[rng.IntN(13)]
			if rng.IntN(12) == 0 {
				b[i] = byte(rng.Uint32())
			}
			want = want && !special(b[i])
		}
		if got := Plain(string(b)); got != want {
			t.Fatalf("Plain(%q) = %v, want %v", b, got, want)
		}
		if want {
			if s, rest, err := basicString(`"` + string(b) + `"`); err != nil || s != string(b) || rest != "" {
				t.Fatalf("%q: Plain, but the parser reads %q, %q, %v", b, s, rest, err)
			}
		}
	}
}
