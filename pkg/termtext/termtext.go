// Package termtext makes text that came from an input file safe to print on
// a terminal or write into a log line. A bundle's organization, a system's
// server names or a file name are chosen by whoever made the file; printed
// as they are, an ESC or a C1 control would move the cursor, clear the
// screen or retitle the window, a newline would forge a second log line,
// and a bidi override would show text in another order than it is read.
// Escape guarantees none of those reaches the output. It is for text shown
// to people; JSON output keeps the original strings.
package termtext

import (
	"strings"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// Escape returns s with every character a terminal could act on replaced by
// a visible escape: a byte below 0x20 (tab and newline too, so that a value
// stays on its line), DEL, and a byte that is not part of valid UTF-8
// become \xNN; a C1 control (U+0080 to U+009F), a bidi control (U+061C,
// U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069) and the line and
// paragraph separators (U+2028, U+2029) become \uNNNN. Everything else,
// backslashes included, is kept: the escaping is for safety, not to be
// reversed, and error messages that already quote a value with %q stay
// readable. Text that needs no escape is returned as it is.
func Escape(s string) string {
	i := 0
	for i < len(s) {
		size, ok := plain(s[i:])
		if !ok {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		size, ok := plain(s[i:])
		switch {
		case ok:
			b.WriteString(s[i : i+size])
		case size == 1: // a control byte, or one that is not UTF-8
			b.WriteString(`\x`)
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&0xf])
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			b.WriteString(`\u`)
			for shift := 12; shift >= 0; shift -= 4 {
				b.WriteByte(hex[r>>shift&0xf])
			}
		}
		i += size
	}
	return b.String()
}

// plain returns the length of the character s starts with, and whether it
// is printed as it is.
func plain(s string) (int, bool) {
	c := s[0]
	if c < utf8.RuneSelf {
		return 1, c >= 0x20 && c != 0x7f
	}
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size == 1 {
		return 1, false
	}
	return size, !unsafeRune(r)
}

// unsafeRune reports whether a rune of more than one byte is escaped.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls; CSI (U+009B) starts an escape sequence
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f: // bidi marks
		return true
	case r >= 0x202a && r <= 0x202e: // bidi embeddings and overrides
		return true
	case r >= 0x2066 && r <= 0x2069: // bidi isolates
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}
