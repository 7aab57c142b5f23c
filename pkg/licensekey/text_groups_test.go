package licensekey

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// checkGroups checks decodeGroups and isEncoding on s against the general
// reader and Encode: what the one-pass reader accepts, decode accepts as
// the same bytes; and s is the encoding of its bytes exactly when Encode
// writes s.
func checkGroups(t *testing.T, s string) {
	t.Helper()
	raw, ok := decodeGroups(s)
	want, err := decode(s)
	if ok && (err != nil || !bytes.Equal(raw, want)) {
		t.Fatalf("decodeGroups(%q) = %x; decode = %x, %v", s, raw, want, err)
	}
	if err == nil {
		if got := isEncoding(s, want); got != (Encode(want) == s) {
			t.Fatalf("isEncoding(%q) = %v, Encode gives %q", s, got, Encode(want))
		}
	}
}

// TestDecodeGroups: the fast reader takes the forms keys are written in,
// and agrees with decode on those and on every damage made to them.
func TestDecodeGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n <= 200; n++ {
		raw := make([]byte, n)
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		text := Encode(raw)
		if n > 0 {
			for _, s := range []string{text, strings.ToLower(text)} {
				if got, ok := decodeGroups(s); !ok || !bytes.Equal(got, raw) {
					t.Fatalf("decodeGroups(%q) = %x, %v; want %x", s, got, ok, raw)
				}
			}
			if !isEncoding(text, raw) || isEncoding(strings.ToLower(text), raw) && text != strings.ToLower(text) {
				t.Fatalf("isEncoding of %q and its lower case", text)
			}
		}
		variants := []string{"", "-", text + "-", "-" + text, strings.ReplaceAll(text, "-", ""),
			strings.ReplaceAll(text, "-", "--"), strings.ReplaceAll(text, "-", " - "), text + " ",
			strings.ReplaceAll(text, "0", "O"), strings.ReplaceAll(text, "1", "l")}
		for range 20 {
			b := []byte(text)
			if len(b) == 0 {
				break
			}
			i := rng.IntN(len(b))
			switch rng.IntN(4) {
			case 0:
				b[i] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ-ilou *"[rng.IntN(39)]
			case 1:
				b = append(b[:i], b[i+1:]...)
			case 2:
				b = append(b[:i], append([]byte{'-'}, b[i:]...)...)
			case 3:
				if i+1 < len(b) {
					b[i], b[i+1] = b[i+1], b[i]
				}
			}
			variants = append(variants, string(b))
		}
		for _, s := range variants {
			checkGroups(t, s)
		}
	}
}

func FuzzDecodeGroups(f *testing.F) {
	f.Add(Encode([]byte("allot")))
	f.Add("0000-")
	f.Add("AB")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > MaxTextLen {
			return
		}
		checkGroups(t, s)
	})
}
