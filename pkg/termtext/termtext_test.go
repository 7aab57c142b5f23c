package termtext

import "testing"

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Acme Security", "Acme Security"},
		{"Zürich, 東京 \uFFFD", "Zürich, 東京 \uFFFD"},
		{`C:\wallets "a"`, `C:\wallets "a"`},
		{"\x1b[2JAcme", `\x1b[2JAcme`},
		{"a\tb\nc\rd\x00e\x7f", `a\x09b\x0ac\x0dd\x00e\x7f`},
		{"\u009b31mred", `\u009b31mred`},
		{"\u0080\u009f\u00a0", `\u0080\u009f` + "\u00a0"},
		{"evil\u202egpj.lic", `evil\u202egpj.lic`},
		{"\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069", `\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069`},
		{"one\u2028two\u2029", `one\u2028two\u2029`},
		{"bad \xff\xfe utf8 \xe2\x80", `bad \xff\xfe utf8 \xe2\x80`},
		{"\xc2\x9b", `\u009b`},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func escaped(r rune) bool { return r < 0x20 || r == 0x7f || unsafeRune(r) }

func BenchmarkEscapePlain(b *testing.B) {
	s := "site-42.lic: not trusted: signature does not verify"
	for b.Loop() {
		Escape(s)
	}
}
