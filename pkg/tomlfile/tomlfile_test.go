package tomlfile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

type server struct {
	Name        string   `toml:"name"`
	Identifiers []string `toml:"identifiers"`
	Limits      struct {
		Cameras int `toml:"cameras"`
	} `toml:"limits"`
}

type doc struct {
	Version int            `toml:"version"`
	ID      string         `toml:"id"`
	Need    map[string]int `toml:"need"`
	Binding struct {
		Required int `toml:"required"`
	} `toml:"binding"`
	Servers []server `toml:"server"`
	Color   color    `toml:"color"`
}

// color is a field with its own text syntax, to test errors raised by an
// UnmarshalText method.
type color string

func (c *color) UnmarshalText(b []byte) error {
	switch s := string(b); s {
	case "red", "green":
		*c = color(s)
		return nil
	default:
		return fmt.Errorf("%q is not a color", s)
	}
}

const good = `# a file
version = 1
id = "site-42"

[binding]
required = 1

[need]
camera = 10

[[server]]
name = "nvr-1"
identifiers = [
  "mac:00",
  "disk:01",
]

[[server]]
name = "nvr-2"

[server.limits]
cameras = 4
`

func TestDecodeGood(t *testing.T) {
	var d doc
	if err := Decode("site.toml", []byte(good), &d); err != nil {
		t.Fatal(err)
	}
	if d.Version != 1 || d.ID != "site-42" || d.Need["camera"] != 10 || len(d.Servers) != 2 ||
		d.Servers[1].Limits.Cameras != 4 || len(d.Servers[0].Identifiers) != 2 {
		t.Fatalf("decoded %+v", d)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		line  int
		field string
		msg   string // a part of the message
	}{
		{"syntax", "version = 1\nid = \"site\n", 2, "id", ""},
		// The library reports these one line late: the line is the one
		// whose end is bad, not the next (which here does not exist).
		{"unclosed array header", good + "\n[[server]\n", strings.Count(good, "\n") + 2, "*", "']'"},
		{"unclosed header", "version = 1\n[binding\nrequired = 1\n", 2, "*", "']'"},
		{"unclosed string", "version = 1\nid = \"site\n\n", 2, "id", "newline"},
		{"missing value", "version = 1\nid =\n", 2, "id", "expected value"},
		{"duplicate key", "version = 1\nversion = 2\n", 2, "version", "already"},
		// The library matches keys to fields in any case: both would fill
		// the one field, one at random.
		{"a key twice, in two cases", "version = 1\n[binding]\nrequired = 1\nRequired = 2\n", 4, "binding.Required", "given also as \"binding.required\""},
		{"type", "version = \"one\"\n", 1, "version", "incompatible types"},
		{"type in a table", "version = 1\n\n[binding]\nrequired = \"two\"\n", 4, "binding.required", "incompatible"},
		{"type in an array of tables", "version = 1\n[[server]]\nname = \"a\"\n[[server]]\nname = 5\n", 5, "server[2].name", "incompatible"},
		{"type in an array", "[[server]]\nname = \"a\"\nidentifiers = [1, 2]\n", 3, "server[1].identifiers", ""},
		{"text method", "version = 1\ncolor = \"blue\"\n", 2, "color", "not a color"},
		{"unknown", "version = 1\ncolour = \"red\"\n", 2, "colour", "unknown field"},
		{"unknown in a table", "version = 1\n[binding]\nrequired = 1\nrequire = 2\n", 4, "binding.require", "unknown field"},
		{"unknown in the second element", "[[server]]\nname = \"a\"\n\n[[server]]\nname = \"b\"\nnmae = \"c\"\n", 6, "server.nmae", "unknown field"},
		{"unknown table", "version = 1\n\n[bindings]\nrequired = 1\n", 3, "bindings", "unknown field"},
		{"unknown in a sub-table", good + "colour = 1\n", strings.Count(good, "\n") + 1, "server.limits.colour", "unknown field"},
		{"bom", "\xef\xbb\xbfversion = 1\n", 1, "", "byte order mark"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d doc
			err := Decode("site.toml", []byte(tt.data), &d)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode = %v (%T), want *Error", err, err)
			}
			if e.File != "site.toml" || e.Line != tt.line || tt.field != "*" && e.Field != tt.field {
				t.Fatalf("Decode = file %q line %d field %q (%v), want line %d field %q", e.File, e.Line, e.Field, err, tt.line, tt.field)
			}
			if !strings.Contains(e.Error(), tt.msg) {
				t.Fatalf("message %q does not contain %q", e.Error(), tt.msg)
			}
			if !strings.HasPrefix(e.Error(), fmt.Sprintf("site.toml:%d: ", tt.line)) {
				t.Fatalf("message %q does not start with the file and line", e.Error())
			}
			if strings.Contains(e.Error(), "toml: ") {
				t.Fatalf("message %q keeps the library's prefix", e.Error())
			}
		})
	}
	var e *Error
	if err := Decode("f", []byte("\xef\xbb\xbfa = 1\n"), &doc{}); !errors.Is(err, ErrBOM) || !errors.As(err, &e) {
		t.Fatalf("BOM: %v, want ErrBOM", err)
	}
}

func TestErrorFormat(t *testing.T) {
	inner := errors.New("has a space")
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "s.toml", Line: 14, Field: "server[2].name", Err: inner}, "s.toml:14: server[2].name: has a space"},
		{Error{File: "s.toml", Field: "id", Err: inner}, "s.toml: id: has a space"},
		{Error{File: "s.toml", Line: 3, Err: inner}, "s.toml:3: has a space"},
		{Error{File: "s.toml", Err: inner}, "s.toml: has a space"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(&tt.e, inner) {
			t.Error("Unwrap does not reach the cause")
		}
	}
	e := Errorf("s.toml", []byte(good), "server[2].name", "%q has a space", "nvr 2")
	if e.Line != 19 || e.Field != "server[2].name" || e.Error() != `s.toml:19: server[2].name: "nvr 2" has a space` {
		t.Fatalf("Errorf = %+v: %v", e, e)
	}
}

func TestLine(t *testing.T) {
	tests := []struct {
		field string
		line  int
	}{
		{"version", 2},
		{"id", 3},
		{"binding", 5},
		{"binding.required", 6},
		{"need", 8},
		{"need.camera", 9},
		{"need.intercom", 8}, // not there: its table
		{"server[1]", 11},
		{"server[1].name", 12},
		{"server[1].identifiers", 13},
		{"server[2]", 18},
		{"server[2].name", 19},
		{"server[2].identifiers", 18}, // not there: its element
		{"server[2].limits", 21},
		{"server[2].limits.cameras", 22},
		{"server.name", 12}, // no index: the first
		{"server[3].name", 0},
		{"nothing", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := Line([]byte(good), tt.field); got != tt.line {
			t.Errorf("Line(%q) = %d, want %d", tt.field, got, tt.line)
		}
	}
}

func TestLineLayouts(t *testing.T) {
	data := `# comment = not a key
  version = 1   # indented, with a comment
need.camera = 3
"quoted" = 1
binding = { required = 2 }
[ spaced ]
a = 1
[[ item ]]
b = 1
[[item]] # second
b = 2
[item.sub]
c = 1
`
	tests := []struct {
		field string
		line  int
	}{
		{"version", 2},
		{"need.camera", 3},
		{"quoted", 4},
		{"binding.required", 5}, // inside an inline table: the key's line
		{"spaced.a", 7},
		{"item[1].b", 9},
		{"item[2].b", 11},
		{"item[2].sub.c", 13},
		{"item[1].sub.c", 8}, // the first element has no sub-table
		{"comment", 0},
	}
	for _, tt := range tests {
		if got := Line([]byte(data), tt.field); got != tt.line {
			t.Errorf("Line(%q) = %d, want %d", tt.field, got, tt.line)
		}
	}
}

// quoteAlphabet holds the characters that need care in a TOML basic
// string, and some that do not.
var quoteAlphabet = func() []rune {
	rs := []rune(`"\'abc =#[]{}.,` + "é日本語\U0001F600\u0085\u00a0\u2028\u2029\ufeff\ufffd\U0010FFFF")
	for r := rune(0); r < 0x20; r++ {
		rs = append(rs, r)
	}
	return append(rs, 0x7f)
}()

// TestQuoteRoundTrip quotes random strings and reads them back with the
// TOML parser: the value must be the string, exactly.
func TestQuoteRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []string{"", `"`, `\`, `\\"`, "\"\"\"", "\\u0041", "a\nb", "tab\there", "\r\n", "\x00", "\x7f", "'''", "é", "\U0001F600"}
	for range 2000 {
		n := rng.IntN(20)
		var b strings.Builder
		for range n {
			b.WriteRune(quoteAlphabet[rng.IntN(len(quoteAlphabet))])
		}
		cases = append(cases, b.String())
	}
	for _, s := range cases {
		q := Quote(s)
		if strings.ContainsAny(q[1:len(q)-1], "\n\r\x00") {
			t.Fatalf("Quote(%q) = %q spans lines or holds a NUL", s, q)
		}
		var v struct{ V string }
		if _, err := toml.Decode("V = "+q+"\n", &v); err != nil {
			t.Fatalf("Quote(%q) = %s does not parse: %v", s, q, err)
		}
		if v.V != s {
			t.Fatalf("Quote(%q) = %s reads back as %q", s, q, v.V)
		}
	}
}

func TestQuoteList(t *testing.T) {
	for _, list := range [][]string{nil, {}, {"a"}, {"a", `b"c`, "d\\e", "f\ng", ""}} {
		q := QuoteList(list)
		var v struct{ V []string }
		if _, err := toml.Decode("V = "+q+"\n", &v); err != nil {
			t.Fatalf("QuoteList(%q) = %s does not parse: %v", list, q, err)
		}
		if len(v.V) != len(list) {
			t.Fatalf("QuoteList(%q) = %s reads back as %q", list, q, v.V)
		}
		for i := range list {
			if v.V[i] != list[i] {
				t.Fatalf("QuoteList(%q) = %s reads back as %q", list, q, v.V)
			}
		}
	}
	if got := QuoteList([]string{"a", "b"}); got != `["a", "b"]` {
		t.Fatalf("QuoteList = %s", got)
	}
}

// TestQuoteInvalidUTF8: a string that is not UTF-8 cannot be written as
// TOML; Quote still writes valid TOML, with replacement characters.
func TestQuoteInvalidUTF8(t *testing.T) {
	for _, s := range []string{"\xff", "a\xc3", "\xed\xa0\x80"} {
		q := Quote(s)
		var v struct{ V string }
		if _, err := toml.Decode("V = "+q+"\n", &v); err != nil {
			t.Fatalf("Quote(%q) = %s does not parse: %v", s, q, err)
		}
		if !utf8.ValidString(v.V) || !strings.ContainsRune(v.V, utf8.RuneError) {
			t.Fatalf("Quote(%q) reads back as %q", s, v.V)
		}
	}
}

// orderDoc has the shapes the first error is looked for in: a table, a
// map of tables, an array of tables, an embedded struct and a field
// matched in another case.
type orderDoc struct {
	Version int `toml:"version"`
	orderInner
	Period struct {
		From  time.Time `toml:"from"`
		Until time.Time `toml:"until"`
	} `toml:"period"`
	Need  map[string]int `toml:"need"`
	Nodes map[string]struct {
		Used int `toml:"used"`
	} `toml:"nodes"`
	Server []struct {
		Name    string `toml:"name"`
		Cameras int    `toml:"cameras"`
	} `toml:"server"`
	Mixed string
}

type orderInner struct {
	Name string `toml:"name"`
	Tags []int  `toml:"tags"`
}

// TestDecodeFirstError: of several fields the library cannot decode, the
// error names the first in the file, every time; the TOML library alone
// names one at random, as it ranges over a Go map.
func TestDecodeFirstError(t *testing.T) {
	for _, tt := range []struct {
		name, data string
		line       int
		field      string
	}{
		{"top level", "version = \"1\"\nname = 2\nmixed = 3\n", 1, "version"},
		{"embedded first", "name = 2\nversion = \"1\"\n", 1, "name"},
		{"case", "MIXED = 3\nversion = \"x\"\n", 1, "MIXED"},
		{"in a table", "version = 1\n[period]\nuntil = 3\nfrom = \"x\"\n", 3, "period.until"},
		{"in a map", "[need]\nb = \"x\"\na = \"y\"\nc = 1\n", 2, "need.b"},
		{"map of tables", "[nodes.x]\nused = \"1\"\n[nodes.a]\nused = \"2\"\n", 2, "nodes.x.used"},
		{"array of tables", "[[server]]\nname = \"a\"\n[[server]]\ncameras = \"x\"\nname = 2\n", 4, "server[2].cameras"},
		{"in a later table", "[[server]]\nname = \"a\"\ncameras = 1\n[[server]]\nname = \"b\"\ncameras = 2\n[[server]]\nname = 3\n[[server]]\nname = 4\n", 8, "server[3].name"},
		{"list", "tags = [1, \"x\", 2]\nversion = \"1\"\n", 1, "tags"},
	} {
		var first string
		for i := range 50 {
			var d orderDoc
			err := Decode("order.toml", []byte(tt.data), &d)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: %v, want a *Error", tt.name, err)
			}
			if i == 0 {
				first = err.Error()
				if e.Line != tt.line || e.Field != tt.field {
					t.Errorf("%s: %v: want line %d, field %s", tt.name, err, tt.line, tt.field)
				}
			} else if err.Error() != first {
				t.Fatalf("%s: %q, then %q", tt.name, first, err)
			}
		}
	}
}
