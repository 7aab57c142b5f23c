package payload

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestWriterRoundTrip(t *testing.T) {
	when := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var w Writer
	w.Comment("a comment\nthat had a newline")
	w.Int("version", 1)
	w.String("name", "Acme \"Security\"\\ \t\n\x01 é ✓")
	w.Bool("bearer", true)
	w.Time("issued", when.In(time.FixedZone("x", 3600)))
	w.Strings("empty", nil)
	w.Strings("list", []string{"a", "b, c", `"q"`})
	w.Int("negative", -7)
	w.Table("scope")
	w.Int("n", 0)
	w.ArrayTable("period")
	w.Time("from", when)
	w.SubTable("period.quota")
	w.Int("camera", 40)
	data := w.Bytes()

	secs, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, data)
	}
	if len(secs) != 4 || secs[1].Name != "scope" || secs[2].Name != "period" || !secs[2].Array || secs[3].Name != "period.quota" {
		t.Fatalf("sections: %+v", secs)
	}
	top := NewTable(&secs[0])
	if v := top.Int("version"); v != 1 {
		t.Errorf("version %d", v)
	}
	if v := top.String("name"); v != "Acme \"Security\"\\ \t\n\x01 é ✓" {
		t.Errorf("name %q", v)
	}
	if !top.Bool("bearer") || !top.Time("issued").Equal(when) || top.Int("negative") != -7 {
		t.Error("bool, time or negative integer changed")
	}
	if v := top.Strings("empty"); v == nil || len(v) != 0 {
		t.Errorf("empty list %#v", v)
	}
	if v := top.Strings("list"); strings.Join(v, "|") != `a|b, c|"q"` {
		t.Errorf("list %q", v)
	}
	if err := top.Done(); err != nil {
		t.Fatal(err)
	}
	if q := NewTable(&secs[3]).IntMap(); q["camera"] != 40 {
		t.Errorf("quota %v", q)
	}

	// The subset is TOML: a full parser reads the same values.
	var m map[string]any
	if _, err := toml.Decode(string(data), &m); err != nil {
		t.Fatalf("BurntSushi/toml does not read the payload: %v", err)
	}
	if m["name"] != "Acme \"Security\"\\ \t\n\x01 é ✓" {
		t.Errorf("toml reads name %q", m["name"])
	}
}

func TestParseRejects(t *testing.T) {
	for name, in := range map[string]string{
		"no final newline":     "a = 1",
		"CR":                   "a = 1\r\n",
		"invalid UTF-8":        "a = \"\xff\"\n",
		"no spaces around =":   "a=1\n",
		"bad key":              "a.b = 1\n",
		"duplicate key":        "a = 1\na = 2\n",
		"unterminated string":  "a = \"x\n",
		"text after string":    "a = \"x\" # c\n",
		"unknown escape":       "a = \"\\q\"\n",
		"surrogate escape":     "a = \"\\uD800\"\n",
		"control character":    "a = \"\x01\"\n",
		"leading zero":         "a = 01\n",
		"plus sign":            "a = +1\n",
		"underscore":           "a = 1_000\n",
		"float":                "a = 1.5\n",
		"too big":              "a = 9223372036854775808\n",
		"local time":           "a = 2026-11-22T10:00:00\n",
		"offset time":          "a = 2026-11-22T10:00:00+01:00\n",
		"bad array":            "a = [1, 2]\n",
		"array without spaces": "a = [\"x\",\"y\"]\n",
		"unclosed array":       "a = [\"x\"\n",
		"inline table":         "a = { b = 1 }\n",
		"bad header":           "[a b]\n",
		"unclosed header":      "[a\n",
		"bad array header":     "[[a]\n",
		"empty header":         "[]\n",
		"value missing":        "a = \n",
		"indented key":         " a = 1\n",
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: %q accepted", name, in)
		} else if !errors.Is(err, ErrSyntax) {
			t.Errorf("%s: %v is not ErrSyntax", name, err)
		}
	}
}

func TestTable(t *testing.T) {
	secs, err := Parse([]byte("a = 1\nb = \"x\"\nc = 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	tb := NewTable(&secs[0])
	tb.Int("a")
	if err := tb.Done(); err == nil || !strings.Contains(err.Error(), "line 2: b: unknown field") {
		t.Errorf("unknown field: %v", err)
	}
	tb = NewTable(&secs[0])
	tb.Int("b")
	if err := tb.Done(); err == nil || !strings.Contains(err.Error(), "line 2: b: want an integer") {
		t.Errorf("wrong type: %v", err)
	}
	tb = NewTable(&secs[0])
	tb.String("missing")
	if err := tb.Done(); err == nil || !strings.Contains(err.Error(), "missing: missing") {
		t.Errorf("missing field: %v", err)
	}
	if v, ok := Version(secs); ok {
		t.Errorf("Version found %d in a payload without one", v)
	}
}

// Dates outside 1970 to 9999 are refused where they are read, so no signed
// artifact can carry a date that overflows the arithmetic done on it.
func TestTimeYearRange(t *testing.T) {
	for _, tc := range []struct {
		date string
		ok   bool
	}{
		{"1970-01-01T00:00:00Z", true},
		{"9999-12-31T23:59:59Z", true},
		{"1969-12-31T23:59:59Z", false},
		{"0000-01-01T00:00:00Z", false},
		{"0001-01-01T00:00:00Z", false},
	} {
		_, err := Parse([]byte("issued = " + tc.date + "\n"))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok = %v", tc.date, err, tc.ok)
		}
	}
}
