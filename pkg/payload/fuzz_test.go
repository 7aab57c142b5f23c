package payload_test

// Fuzz targets for the payload subset: FuzzParse reads arbitrary bytes and
// checks that whatever parses is written back by Writer to a payload that
// parses to the same sections; FuzzWriter fuzzes the values a Writer
// writes and checks that they parse back unchanged.

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"allot.dev/allot/pkg/payload"
)

const seedPayload = `# allot certificate: reseller "Reseller", signed below by its issuer; do not edit.
version = 1
serial = "0123456789abcdef"
role = "reseller"
subject = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0 reseller"
valid_from = 2026-11-22T10:00:00Z
valid_until = 2031-11-22T10:00:00Z

[scope]
products = ["vms", "intercom"]
kinds = []
max_term_months = -60
bearer = false

[scope.licenses]
camera = 1000

[[period]]
from = 2026-11-22T10:00:00Z
[period.quota]
camera = 10

[[funding]]
key = "esc \"\\ \n \t \u00e9 \u0001 é"
`

// write writes secs with a Writer, field by field.
func write(secs []payload.Section) []byte {
	var w payload.Writer
	for i, sec := range secs {
		switch {
		case i == 0:
		case sec.Array:
			w.ArrayTable(sec.Name)
		default:
			w.Table(sec.Name)
		}
		for _, f := range sec.Fields {
			switch v := f.Val; v.Kind {
			case payload.String:
				w.String(f.Key, v.Str)
			case payload.Int:
				w.Int(f.Key, int(v.Int))
			case payload.Bool:
				w.Bool(f.Key, v.Bool)
			case payload.Time:
				w.Time(f.Key, v.Time)
			case payload.Strings:
				w.Strings(f.Key, v.List)
			}
		}
	}
	return w.Bytes()
}

// values returns the sections without their line numbers.
func values(secs []payload.Section) []payload.Section {
	out := make([]payload.Section, len(secs))
	for i, s := range secs {
		s.Line = 0
		s.Fields = append([]payload.Field(nil), s.Fields...)
		for j := range s.Fields {
			s.Fields[j].Line = 0
		}
		out[i] = s
	}
	return out
}

// FuzzParse reads arbitrary payloads. What parses must read through Table
// without a panic, and survive a round trip through Writer.
func FuzzParse(f *testing.F) {
	f.Add([]byte(seedPayload))
	f.Add([]byte("version = 1\n"))
	f.Add([]byte("[a.b]\n[[c]]\nk = []\n"))
	f.Add([]byte("k = \"\\u12\"\n"))
	f.Add([]byte("k = -0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		secs, err := payload.Parse(data)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") {
				t.Fatalf("error is not one line: %q", msg)
			}
			return
		}
		if len(secs) == 0 || secs[0].Name != "" {
			t.Fatalf("no top level: %+v", secs)
		}
		payload.Version(secs)
		for i := range secs {
			tb := payload.NewTable(&secs[i])
			for _, fl := range secs[i].Fields {
				switch fl.Val.Kind {
				case payload.String:
					tb.String(fl.Key)
				case payload.Int:
					tb.Int(fl.Key)
				case payload.Bool:
					tb.Bool(fl.Key)
				case payload.Time:
					tb.Time(fl.Key)
				case payload.Strings:
					tb.Strings(fl.Key)
				default:
					t.Fatalf("field %s of kind %d", fl.Key, fl.Val.Kind)
				}
			}
			tb.String("no-such-field")
			tb.Done()
			payload.NewTable(&secs[i]).IntMap()
		}
		out := write(secs)
		again, err := payload.Parse(out)
		if err != nil {
			t.Fatalf("Writer output does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(values(again), values(secs)) {
			t.Fatalf("round trip changed the payload:\n%q\nbecame\n%q", data, out)
		}
	})
}

// FuzzWriter writes fuzzed values and reads them back.
func FuzzWriter(f *testing.F) {
	f.Add("comment", "value", int64(42), true, int64(1795341600), "a", "b")
	f.Add("", "", int64(-1), false, int64(0), "", "")
	f.Add("a\nb", "\"\\\n\t\x00\x7f\u2028\uFFFD\xff", int64(-1<<63), false, int64(253402300799), "\xc3", "é")
	f.Fuzz(func(t *testing.T, comment, s string, n int64, b bool, unix int64, l1, l2 string) {
		if !utf8.ValidString(comment) {
			// Comments are written as given; the writers only pass
			// valid UTF-8 (Go-quoted text).
			comment = strings.ToValidUTF8(comment, "?")
		}
		// The subset's date-time has a four-digit year.
		when := time.Unix(unix, 0).UTC()
		if when.Year() < 0 || when.Year() > 9999 {
			when = time.Unix(unix%(253402300799+1), 0).UTC()
			if when.Year() < 0 {
				when = time.Unix(-unix%(253402300799+1), 0).UTC()
			}
		}
		if int64(int(n)) != n {
			t.Skip("the Writer takes an int, 32 bits here")
		}
		list := []string{l1, l2}
		var w payload.Writer
		w.Comment(comment)
		w.String("s", s)
		w.Int("n", int(n))
		w.Bool("b", b)
		w.Time("t", when)
		w.Strings("l", list)
		w.Strings("e", nil)
		w.Table("table")
		w.String("s", s)
		w.ArrayTable("array.table")
		w.SubTable("array.table.sub")
		w.Int("n", int(n))
		secs, err := payload.Parse(w.Bytes())
		if err != nil {
			t.Fatalf("Writer output does not parse: %v\n%q", err, w.Bytes())
		}
		// Invalid UTF-8 is written as U+FFFD, one per bad byte.
		valid := func(s string) string { return string([]rune(s)) }
		want := []payload.Section{
			{Fields: []payload.Field{
				{Key: "s", Val: payload.Value{Kind: payload.String, Str: valid(s)}},
				{Key: "n", Val: payload.Value{Kind: payload.Int, Int: n}},
				{Key: "b", Val: payload.Value{Kind: payload.Bool, Bool: b}},
				{Key: "t", Val: payload.Value{Kind: payload.Time, Time: when}},
				{Key: "l", Val: payload.Value{Kind: payload.Strings, List: []string{valid(l1), valid(l2)}}},
				{Key: "e", Val: payload.Value{Kind: payload.Strings, List: []string{}}},
			}},
			{Name: "table", Fields: []payload.Field{{Key: "s", Val: payload.Value{Kind: payload.String, Str: valid(s)}}}},
			{Name: "array.table", Array: true},
			{Name: "array.table.sub", Fields: []payload.Field{{Key: "n", Val: payload.Value{Kind: payload.Int, Int: n}}}},
		}
		got := values(secs)
		for i := range got {
			if len(got[i].Fields) == 0 {
				got[i].Fields = nil
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("read back\n%+v\nwant\n%+v\nfrom\n%s", got, want, w.Bytes())
		}
		if !bytes.HasSuffix(w.Bytes(), []byte("\n")) {
			t.Fatal("payload does not end in a newline")
		}
	})
}

// TestParseLongSection is the regression test of a hang found by review: a
// signed document is parsed before its signer is compared with the key it
// should be, so anyone can make a payload of a bundle's 4 MiB, and Parse
// checked each key against every key before it in its section. A section
// of 100,000 fields took over ten seconds. Sections are now bounded too
// (payload.MaxSectionFields); the duplicate is still found by a map.
func TestParseLongSection(t *testing.T) {
	var b bytes.Buffer
	for i := 0; i < payload.MaxSectionFields; i++ {
		fmt.Fprintf(&b, "k%d = %d\n", i, i)
	}
	secs, err := payload.Parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	dup := bytes.Replace(b.Bytes(), []byte(fmt.Sprintf("k%d =", payload.MaxSectionFields-1)), []byte("k7 ="), 1)
	if _, err := payload.Parse(dup); err == nil || !strings.Contains(err.Error(), "k7 is defined twice") {
		t.Fatalf("a duplicate after %d fields: %v", len(secs[0].Fields), err)
	}
}
