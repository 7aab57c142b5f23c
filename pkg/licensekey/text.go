package licensekey

import (
	"fmt"
	"strings"
	"sync"

	"allot.dev/allot/pkg/errclass"
)

// The text form of a key: Crockford base32, in dash-separated groups of
// five data characters and one check character. The check character of a
// group depends on the group's characters and its position, so a mistyped,
// swapped or missing character is reported in the group where it sits
// rather than as a bad signature.

const (
	alphabet  = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	groupData = 5
	groupLen  = groupData + 1

	// MaxTextLen bounds the text a reader accepts as one key.
	MaxTextLen = 1024
)

var decodeTable = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = int8(i)
		t[alphabet[i]|0x20] = int8(i) // lower case; harmless for digits
	}
	// Crockford's aliases for characters people confuse.
	for _, c := range "Oo" {
		t[c] = 0
	}
	for _, c := range "IiLl" {
		t[c] = 1
	}
	return t
}()

// TypoError reports a key whose text is damaged: a character outside the
// alphabet, a group of the wrong length, or a check character that does not
// match. Group and Char are 1-based; Char is 0 when only the group is known.
type TypoError struct {
	Group int
	Char  int
	Text  string // the group as typed
	What  string
}

// Is makes a typo an input error (errclass.Input).
func (e *TypoError) Is(target error) bool { return target == errclass.Input }

func (e *TypoError) Error() string {
	if e.Char > 0 {
		return fmt.Sprintf("typo in group %d (%q), character %d: %s", e.Group, e.Text, e.Char, e.What)
	}
	return fmt.Sprintf("typo in group %d (%q): %s", e.Group, e.Text, e.What)
}

// ErrTruncated reports key text that ends early or has extra groups.
var ErrTruncated = errclass.Sentinel(errclass.Input, "key text has the wrong length: characters or groups are missing or extra")

// gf32 multiplication modulo x^5 + x^2 + 1, a primitive polynomial, so that
// the powers of x (alpha) are 31 distinct non-zero weights.
func gfMul(a, b byte) byte {
	var p byte
	for b != 0 {
		if b&1 != 0 {
			p ^= a
		}
		b >>= 1
		a <<= 1
		if a&0x20 != 0 {
			a ^= 0x25
		}
	}
	return p
}

// checkSymbol computes the check character of group g (0-based). Weights
// are distinct powers of alpha, which catches every single substitution and
// every swap of neighbouring characters; folding in the group index (mod 32)
// catches groups typed in the wrong order, unless they are 32 groups apart,
// which the signature still catches.
func checkSymbol(g int, data []byte) byte {
	return checkWith(weightTables(), g, data)
}

// checkWith is checkSymbol with the weight tables at hand, for the loops
// over every group of a key.
func checkWith(t *[groupData][32]byte, g int, data []byte) byte {
	c := byte(g % 32)
	for i, v := range data {
		c ^= t[i][v]
	}
	return c
}

// weightTables holds v·alpha^(i+1) for each position i of a group and each
// symbol v: the products checkSymbol sums, computed once rather than bit by
// bit for every character of every key.
var weightTables = sync.OnceValue(func() *[groupData][32]byte {
	var t [groupData][32]byte
	w := byte(2) // alpha
	for i := range t {
		for v := range t[i] {
			t[i][v] = gfMul(w, byte(v))
		}
		w = gfMul(w, 2)
	}
	return &t
})

// Encode returns the grouped text form of raw bytes.
func Encode(raw []byte) string {
	return encodeSymbols(toSymbols(raw))
}

// encodeSymbols writes 5-bit symbols in groups, each with its check
// character.
func encodeSymbols(syms []byte) string {
	return string(appendSymbols(make([]byte, 0, len(syms)+len(syms)/groupData*2+2), syms))
}

// appendSymbols appends the text of encodeSymbols to b.
func appendSymbols(b, syms []byte) []byte {
	t := weightTables()
	for g := 0; len(syms) > 0; g++ {
		n := min(groupData, len(syms))
		if g > 0 {
			b = append(b, '-')
		}
		for _, v := range syms[:n] {
			b = append(b, alphabet[v])
		}
		b = append(b, alphabet[checkWith(t, g, syms[:n])])
		syms = syms[n:]
	}
	return b
}

// isEncoding reports whether s is Encode(raw), without building that
// string: a signed file's every key is compared with it.
func isEncoding(s string, raw []byte) bool {
	if len(s) != textLen(len(raw)) || len(raw) > MaxTextLen {
		return false
	}
	var syms, text [MaxTextLen * 2]byte
	return string(appendSymbols(text[:0], appendSymbolsOf(syms[:0], raw))) == s
}

// textLen returns the length of Encode's output for n bytes.
func textLen(n int) int {
	syms := (n*8 + 4) / 5
	groups := (syms + groupData - 1) / groupData
	return syms + groups + max(groups-1, 0)
}

// Decode parses the text form and returns the raw bytes. Case, white space
// and Crockford's aliases (O for 0, I and L for 1) are forgiven. Dashes are
// optional; where they are present, they delimit groups.
func Decode(s string) ([]byte, error) {
	if len(s) > MaxTextLen {
		return nil, fmt.Errorf("%w: text longer than %d characters", ErrMalformed, MaxTextLen)
	}
	if raw, ok := decodeGroups(s, &decodeTable); ok {
		return raw, nil
	}
	return decode(s)
}

// decodeGroups reads the form keys are written in, in one pass: groups
// joined by single dashes, each of six characters but the last, of two to
// six, every one a character of table, with no white space. It reports
// false for any other text, which decode then reads or reports the error
// of; what it accepts, decode accepts too, as the same bytes (a test
// checks this), so it only spares the common form decode's splitting and
// joining.
//
// With canonicalTable it accepts exactly the texts Encode writes: the
// characters are those Encode writes for the symbols, the groups are cut
// where Encode cuts them (five data characters and a check character,
// but the last group, which holds what is left), every check character is
// the one Encode computes, and fromSymbols accepts only the symbols
// toSymbols makes of its bytes. So what it reads is Encode of the bytes it
// returns, with nothing encoded to compare (a test checks this too).
func decodeGroups(s string, table *[256]int8) ([]byte, bool) {
	if s == "" || s[len(s)-1] == '-' || len(s) > MaxTextLen {
		return nil, false
	}
	var syms [MaxTextLen]byte
	n := 0 // data symbols so far
	t := weightTables()
	for g, i := 0, 0; i < len(s); g, i = g+1, i+1 { // i+1: past the dash
		k := 0 // characters of group g
		for ; i < len(s) && s[i] != '-'; i++ {
			v := table[s[i]]
			if v < 0 || k == groupLen {
				return nil, false
			}
			syms[n+k] = byte(v)
			k++
		}
		if k != groupLen && (i < len(s) || k < 2) {
			return nil, false
		}
		if checkWith(t, g, syms[n:n+k-1]) != syms[n+k-1] {
			return nil, false
		}
		n += k - 1
	}
	return fromSymbols(syms[:n])
}

// canonicalTable is decodeTable without what Decode forgives: only the
// characters Encode writes.
var canonicalTable = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// decode is Decode for any text: white space, no dashes, and the errors.
func decode(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	if s == "" {
		return nil, fmt.Errorf("%w: empty key", ErrMalformed)
	}
	var groups []string
	if strings.Contains(s, "-") {
		groups = strings.Split(s, "-")
	} else {
		for len(s) > groupLen {
			groups = append(groups, s[:groupLen])
			s = s[groupLen:]
		}
		groups = append(groups, s)
	}
	syms := make([]byte, 0, len(groups)*groupData)
	for g, text := range groups {
		last := g == len(groups)-1
		if len(text) != groupLen && (!last || len(text) < 2 || len(text) > groupLen) {
			what := fmt.Sprintf("%d characters, want %d", len(text), groupLen)
			if text == "" {
				what = "empty group (two dashes in a row?)"
			}
			return nil, &TypoError{Group: g + 1, Text: text, What: what}
		}
		start := len(syms)
		for i := 0; i < len(text); i++ {
			v := decodeTable[text[i]]
			if v < 0 {
				return nil, &TypoError{Group: g + 1, Char: i + 1, Text: text,
					What: fmt.Sprintf("%q is not a key character", text[i])}
			}
			syms = append(syms, byte(v))
		}
		data := syms[start : len(syms)-1]
		if checkSymbol(g, data) != syms[len(syms)-1] {
			return nil, &TypoError{Group: g + 1, Text: text, What: "check character does not match (a character is mistyped or two are swapped)"}
		}
		syms = syms[:len(syms)-1]
	}
	raw, ok := fromSymbols(syms)
	if !ok {
		return nil, ErrTruncated
	}
	return raw, nil
}

func toSymbols(raw []byte) []byte {
	return appendSymbolsOf(make([]byte, 0, (len(raw)*8+4)/5), raw)
}

// appendSymbolsOf appends the 5-bit symbols of raw to syms.
func appendSymbolsOf(syms, raw []byte) []byte {
	var acc uint32
	var bits uint
	for _, b := range raw {
		acc = acc<<8 | uint32(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			syms = append(syms, byte(acc>>bits)&31)
		}
	}
	if bits > 0 {
		syms = append(syms, byte(acc<<(5-bits))&31)
	}
	return syms
}

// fromSymbols reverses toSymbols. It fails if the symbol count is not one
// toSymbols can produce or the padding bits are not zero, so every byte
// string has exactly one text form.
func fromSymbols(syms []byte) ([]byte, bool) {
	n := len(syms) * 5 / 8
	if (n*8+4)/5 != len(syms) {
		return nil, false
	}
	raw := make([]byte, 0, n)
	var acc uint32
	var bits uint
	for _, v := range syms {
		acc = acc<<5 | uint32(v)
		bits += 5
		if bits >= 8 {
			bits -= 8
			raw = append(raw, byte(acc>>bits))
		}
	}
	if acc&(1<<bits-1) != 0 {
		return nil, false
	}
	return raw, true
}

// EncodeID returns bytes as unbroken Crockford base32, the form of wallet ids.
func EncodeID(raw []byte) string {
	syms := toSymbols(raw)
	b := make([]byte, len(syms))
	for i, v := range syms {
		b[i] = alphabet[v]
	}
	return string(b)
}

// DecodeID parses unbroken Crockford base32 of exactly n bytes; dashes and
// case are forgiven.
func DecodeID(s string, n int) ([]byte, error) {
	s = strings.ReplaceAll(s, "-", "")
	syms := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		v := decodeTable[s[i]]
		if v < 0 {
			return nil, fmt.Errorf("character %d (%q) is not base32", i+1, s[i])
		}
		syms[i] = byte(v)
	}
	raw, ok := fromSymbols(syms)
	if !ok || len(raw) != n {
		return nil, fmt.Errorf("want %d characters", (n*8+4)/5)
	}
	return raw, nil
}
