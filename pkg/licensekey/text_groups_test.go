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
	raw, ok := decodeGroups(s, &decodeTable)
	want, err := decode(s)
	if ok && (err != nil || !bytes.Equal(raw, want)) {
		t.Fatalf("decodeGroups(%q) = %x; decode = %x, %v", s, raw, want, err)
	}
	if err == nil {
		if got := isEncoding(s, want); got != (Encode(want) == s) {
			t.Fatalf("isEncoding(%q) = %v, Encode gives %q", s, got, Encode(want))
		}
	}
	// The canonical reader: exactly the texts Encode writes.
	craw, cok := decodeGroups(s, &canonicalTable)
	if cok && (err != nil || !bytes.Equal(craw, want) || Encode(craw) != s) {
		t.Fatalf("canonical decodeGroups(%q) = %x; decode = %x, %v; Encode gives %q", s, craw, want, err, Encode(craw))
	}
	if err == nil && len(want) > 0 && Encode(want) == s && !cok {
		t.Fatalf("canonical decodeGroups refuses %q, which Encode writes", s)
	}
	// ParseCanonical as it was: Parse, then the text compared with Text.
	k, perr := ParseCanonical(s)
	ref, rerr := Parse(s)
	if rerr == nil && ref.Text() != s {
		rerr = ErrNotCanonical
	}
	if (perr == nil) != (rerr == nil) || perr == nil && !bytes.Equal(k.Raw(), ref.Raw()) {
		t.Fatalf("ParseCanonical(%q): %v; Parse and Text: %v", s, perr, rerr)
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
				if got, ok := decodeGroups(s, &decodeTable); !ok || !bytes.Equal(got, raw) {
					t.Fatalf("decodeGroups(%q) = %x, %v; want %x", s, got, ok, raw)
				}
			}
			if !isEncoding(text, raw) || isEncoding(strings.ToLower(text), raw) && text != strings.ToLower(text) {
				t.Fatalf("isEncoding of %q and its lower case", text)
			}
		}
		variants := mutations(rng, text)
		for _, s := range variants {
			checkGroups(t, s)
		}
	}
}

// mutations returns text and copies of it damaged as a person or a forger
// might: a character changed, dropped, a dash added, two swapped, case and
// aliases, white space.
func mutations(rng *rand.Rand, text string) []string {
	out := []string{text, "", "-", text + "-", "-" + text, strings.ReplaceAll(text, "-", ""),
		strings.ToLower(text), strings.ReplaceAll(text, "-", "--"), strings.ReplaceAll(text, "-", " - "), text + " ",
		strings.ReplaceAll(text, "0", "O"), strings.ReplaceAll(text, "1", "l")}
	for range 40 {
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
		out = append(out, string(b))
	}
	return out
}

// TestParseCanonicalKeys: ParseCanonical reads real keys, and their
// damage, as Parse followed by comparing the text with Text does.
func TestParseCanonicalKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i, k := range []*Key{subscriptionKey(), bearerKey(), hardwareKey()} {
		_, text := signed(t, k, byte(i+1))
		if _, err := ParseCanonical(text); err != nil {
			t.Fatalf("ParseCanonical(%q): %v", text, err)
		}
		if _, ok := decodeGroups(text, &canonicalTable); !ok {
			t.Fatalf("the canonical reader refuses a key as Sign writes it: %q", text)
		}
		for _, s := range mutations(rng, text) {
			checkGroups(t, s)
		}
	}
}

func FuzzDecodeGroups(f *testing.F) {
	f.Add(Encode([]byte("allot")))
	_, text := signed(f, subscriptionKey(), 1)
	f.Add(text)
	f.Add("0000-")
	f.Add("AB")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > MaxTextLen {
			return
		}
		checkGroups(t, s)
	})
}
