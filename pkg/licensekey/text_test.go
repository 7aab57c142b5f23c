package licensekey

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 200; n++ {
		for range 5 {
			raw := make([]byte, n)
			for i := range raw {
				raw[i] = byte(rng.Uint32())
			}
			text := Encode(raw)
			if n == 0 {
				// No bytes, no text; and empty text is no key.
				if text != "" {
					t.Fatalf("Encode(nil) = %q", text)
				}
				if _, err := Decode(text); !errors.Is(err, ErrMalformed) {
					t.Fatalf("Decode(\"\") = %v, want ErrMalformed", err)
				}
				continue
			}
			got, err := Decode(text)
			if err != nil {
				t.Fatalf("Decode(Encode(%x)): %v", raw, err)
			}
			if !bytes.Equal(got, raw) {
				t.Fatalf("Decode(Encode(%x)) = %x", raw, got)
			}
			if want := (n*8 + 4) / 5; len(strings.ReplaceAll(text, "-", "")) != want+(want+groupData-1)/groupData {
				t.Fatalf("%d bytes: %d characters", n, len(text))
			}
		}
	}
}

// TestDecodeCanonical decodes random symbol strings of every length, with
// valid check characters: Decode accepts exactly those that Encode
// produces, so every byte string has one text form. Lengths Encode never
// makes and non-zero padding bits are refused.
func TestDecodeCanonical(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	accepted, refused := 0, 0
	for n := 1; n <= 100; n++ {
		for range 20 {
			syms := make([]byte, n)
			for i := range syms {
				syms[i] = byte(rng.IntN(32))
			}
			text := encodeSymbols(syms)
			raw, err := Decode(text)
			if err != nil {
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("Decode(%s) = %v, want ErrTruncated", text, err)
				}
				refused++
				continue
			}
			accepted++
			if again := Encode(raw); again != text {
				t.Fatalf("Decode(%s) accepted a text Encode does not produce: Encode gives %s", text, again)
			}
		}
	}
	if accepted == 0 || refused == 0 {
		t.Fatalf("accepted %d, refused %d: the test does not exercise both", accepted, refused)
	}
	// Explicitly: one byte is two symbols with two padding bits.
	for pad := byte(1); pad < 4; pad++ {
		text := encodeSymbols([]byte{0x1f, pad})
		if raw, err := Decode(text); !errors.Is(err, ErrTruncated) {
			t.Errorf("padding bits %02b: Decode = %x, %v, want ErrTruncated", pad, raw, err)
		}
	}
	// Symbol counts no byte length produces.
	for _, n := range []int{1, 3, 6, 9, 11, 14} {
		if raw, err := Decode(encodeSymbols(make([]byte, n))); !errors.Is(err, ErrTruncated) {
			t.Errorf("%d symbols: Decode = %x, %v, want ErrTruncated", n, raw, err)
		}
	}
}

// TestCheckSymbolDetects checks the claims of checkSymbol's comment over a
// whole group: every substitution and every swap of neighbours, in every
// group position up to 32.
func TestCheckSymbolDetects(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		g := rng.IntN(40)
		data := make([]byte, groupData)
		for i := range data {
			data[i] = byte(rng.IntN(32))
		}
		c := checkSymbol(g, data)
		for i := range data {
			for v := byte(0); v < 32; v++ {
				if v == data[i] {
					continue
				}
				d := bytes.Clone(data)
				d[i] = v
				if checkSymbol(g, d) == c {
					t.Fatalf("substitution at %d of %v not detected", i, data)
				}
			}
			if i+1 < len(data) && data[i] != data[i+1] {
				d := bytes.Clone(data)
				d[i], d[i+1] = d[i+1], d[i]
				if checkSymbol(g, d) == c {
					t.Fatalf("swap at %d of %v not detected", i, data)
				}
			}
		}
		// The group index is folded in: the same data in another position
		// (less than 32 groups away) has another check character.
		for h := range 32 {
			if h%32 != g%32 && checkSymbol(h, data) == c {
				t.Fatalf("group %d and %d share a check character for %v", g, h, data)
			}
		}
	}
}

func TestGFMul(t *testing.T) {
	// The powers of alpha = x under x^5 + x^2 + 1 run through all 31
	// non-zero elements, which is what makes the weights distinct.
	seen := map[byte]bool{}
	p := byte(1)
	for range 31 {
		if p == 0 || p > 31 || seen[p] {
			t.Fatalf("power of alpha repeats or leaves GF(32): %d", p)
		}
		seen[p] = true
		p = gfMul(p, 2)
	}
	if p != 1 {
		t.Fatalf("alpha^31 = %d, want 1", p)
	}
	for a := byte(0); a < 32; a++ {
		if gfMul(a, 1) != a || gfMul(a, 0) != 0 {
			t.Fatalf("gfMul identity fails for %d", a)
		}
		for b := byte(0); b < 32; b++ {
			if gfMul(a, b) != gfMul(b, a) || gfMul(a, b) > 31 {
				t.Fatalf("gfMul(%d, %d) = %d, gfMul(%d, %d) = %d", a, b, gfMul(a, b), b, a, gfMul(b, a))
			}
		}
	}
}

func TestEncodeDecodeID(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for n := 1; n <= 40; n++ {
		raw := make([]byte, n)
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		s := EncodeID(raw)
		if strings.Contains(s, "-") || len(s) != (n*8+4)/5 {
			t.Fatalf("EncodeID(%d bytes) = %q", n, s)
		}
		got, err := DecodeID(s, n)
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("DecodeID(EncodeID(%x)) = %x, %v", raw, got, err)
		}
		if _, err := DecodeID(s, n+1); err == nil {
			t.Fatalf("DecodeID with the wrong length succeeded")
		}
	}
}

func TestTextLen(t *testing.T) {
	for n := 0; n <= 700; n++ {
		if got, want := textLen(n), len(Encode(make([]byte, n))); got != want {
			t.Fatalf("textLen(%d) = %d, Encode gives %d characters", n, got, want)
		}
	}
}
