package payload

import (
	"reflect"
	"strings"
	"testing"
)

// TestText: comment lines that pass a line's checks are left empty, and
// the payload reads as before, lines and errors numbered alike; a comment
// line of bad UTF-8 or too long is kept, for the reader to refuse.
func TestText(t *testing.T) {
	long := "#" + strings.Repeat("x", MaxLineLen) + "\n"
	for _, c := range []struct{ in, want string }{
		{"# a\nversion = 1\n# b\n[t]\n#\nk = \"#\"\n", "\nversion = 1\n\n[t]\n\nk = \"#\"\n"},
		{"version = 1\n", "version = 1\n"},
		{"version = 1\n# no newline", "version = 1\n# no newline"},
		{"# \xff\nversion = 1\n", "# \xff\nversion = 1\n"},
		{long + "version = 1\n", long + "version = 1\n"},
	} {
		if got := Text([]byte(c.in)); got != c.want {
			t.Errorf("Text(%.40q) = %.40q, want %.40q", c.in, got, c.want)
		}
		// What Parse reads of it is what it reads of the payload as it is.
		want, werr := parse(c.in, make([]Section, 0, 16), make([]Field, 0, 16), nil, hole{})
		got, gerr := Parse([]byte(c.in))
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() || werr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%.40q): %v %v, want %v %v", c.in, got, gerr, want, werr)
		}
	}
}

// TestParseHole: a payload read around a hole of whole lines gives the
// sections of the whole but the hole's, their lines numbered as in the
// whole, and errors past the hole on their own line.
func TestParseHole(t *testing.T) {
	text := "version = 1\n[a]\nx = 1\n[[g]]\np = \"1\"\n[[g]]\np = \"2\"\n\n[b]\ny = 2\n"
	from := strings.Index(text, "[[g]]")
	to := strings.Index(text, "[b]")
	all, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []Section{all[0], all[1], all[4]}
	if err := ParseHoleFunc(text, from, to, func(got []Section) error {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("around the hole:\n%+v\nwant\n%+v", got, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	bad := text + "z = \n"
	_, werr := Parse([]byte(bad))
	if err := ParseHoleFunc(bad, from, to, func([]Section) error { return nil }); err == nil || werr == nil || err.Error() != werr.Error() || !strings.Contains(err.Error(), "line 11:") {
		t.Errorf("an error past the hole: %v, want %v, on line 11", err, werr)
	}
	// The limits count what is not in the hole only.
	many := "version = 1\n" + strings.Repeat("[[h]]\n", MaxSections+1) + "[c]\n"
	hfrom := strings.Index(many, "[[h]]")
	if err := ParseHoleFunc(many, hfrom, strings.Index(many, "[c]"), func([]Section) error { return nil }); err != nil {
		t.Errorf("a hole past the limits: %v", err)
	}
}
