package bundle_test

import (
	"bytes"
	"math/rand"
	"strconv"
	"strings"
	"testing"

	"allot.dev/allot/pkg/payload"
)

// TestAdvSpanStructure holds the span reader to the general reader on the
// seeds changed the way a wallet holder would change a payload it signs,
// line by line and section by section rather than byte by byte as
// FuzzSpan does: sections moved out of the tree's run, doubled, dropped
// or swapped; headers and keys the general reader reads otherwise; every
// key of a group, a user and a quota table with values of every kind and
// edge; limits met exactly; comments, blank lines, CR, BOM, NUL and
// invalid UTF-8. Each case must give the same bundle or the same error.
func TestAdvSpanStructure(t *testing.T) {
	seeds := spanSeeds(t)
	r := rand.New(rand.NewSource(2))
	n := 10_000
	if testing.Short() {
		n = 1_000
	}
	for i := 0; i < n; i++ {
		lines := strings.SplitAfter(string(seeds[r.Intn(len(seeds))]), "\n")
		for k := 0; k < 1+r.Intn(3); k++ {
			lines = mutateLines(r, lines)
		}
		parseBoth(t, []byte(strings.Join(lines, "")))
	}
	// Limits met exactly, and passed by one, by the run and the rest
	// together.
	for _, body := range limitCases(seeds[1]) {
		parseBoth(t, body)
	}
}

// The headers and lines a mutation puts in.
var (
	advHeaders = []string{"[[group]]", "[[user]]", "[group.quota]", "[user.quota]", "[group]", "[user]", "[[group.quota]]",
		"[[user.quota]]", "[[Group]]", "[[group]] ", " [[group]]", "[[ group ]]", "[[group]]\r", "[group.quota]\r",
		"[[group.quota.x]]", "[group.x]", "[[period]]", "[period.quota]", "[validity]", "[binding]", "[[binding.server]]",
		"[[share]]", "[share.quota]", "[[funding]]", "[[certificate]]", "[[credit]]", "[[hardware]]", "[[groups]]", "[[users]]"}
	advKeys   = []string{"path", "name", "groups", "created_by", "paused", "restrict", "features", "from", "until", "camera", "sip-number", "mobile-app", "Path", "PATH", "x", "remind_days", "quota", "a_b", "9"}
	advValues = []string{`"tower"`, `"tower/floor-1"`, `""`, `"a\"b"`, `"t\u006Fwer"`, `"tower\n"`, `"\u0000"`, `"é"`, `"anna"`, `"ben@example.com"`,
		`"\\"`, `"x\ty"`, `0`, `1`, `-1`, `2147483647`, `2147483648`, `9223372036854775807`, `9223372036854775808`, `01`, `-0`, `true`, `false`, `True`,
		`2026-11-22T10:00:00Z`, `2026-11-22T10:00:00+01:00`, `1969-12-31T23:59:59Z`, `9999-12-31T23:59:59Z`, `2026-02-30T10:00:00Z`,
		`[]`, `[""]`, `["web-dialer"]`, `["tower", "tower"]`, `["a","b"]`, `["a", "b", ]`, `[ ]`, `["\u00e9"]`, `'tower'`, `"""tower"""`, `{}`}
	advLines = []string{"", "\n", "# comment\n", "#\n", "\r\n", "\ufeff\n", "\x00\n", "\xff\n", " \n", "\t\n", "path = \"a\" # c\n", "path=\"a\"\n",
		"path =  \"a\"\n", "path = \"a\"\r\n", "key\n"}
)

// mutateLines changes a payload's lines once, at random.
func mutateLines(r *rand.Rand, lines []string) []string {
	pick := func() int { return r.Intn(len(lines)) }
	switch r.Intn(12) {
	case 0, 1: // a section moved
		secs := sectionsOf(lines)
		if len(secs) < 2 {
			return lines
		}
		s := secs[1+r.Intn(len(secs)-1)]
		moved := append([]string(nil), lines[s[0]:s[1]]...)
		rest := append(append([]string(nil), lines[:s[0]]...), lines[s[1]:]...)
		at := sectionsOf(rest)
		to := at[r.Intn(len(at))][0]
		if to == 0 {
			to = len(rest)
		}
		return append(rest[:to], append(moved, rest[to:]...)...)
	case 2: // a section doubled or dropped
		secs := sectionsOf(lines)
		s := secs[r.Intn(len(secs))]
		if r.Intn(2) == 0 {
			return append(lines[:s[1]], append(append([]string(nil), lines[s[0]:s[1]]...), lines[s[1]:]...)...)
		}
		if s[0] == 0 {
			return lines
		}
		return append(lines[:s[0]], lines[s[1]:]...)
	case 3, 4: // a header in place of a line, or put in
		h := advHeaders[r.Intn(len(advHeaders))] + "\n"
		i := pick()
		if r.Intn(2) == 0 {
			lines[i] = h
			return lines
		}
		return insertLine(lines, i, h)
	case 5, 6, 7: // a field put in or changed
		f := advKeys[r.Intn(len(advKeys))] + " = " + advValues[r.Intn(len(advValues))] + "\n"
		i := pick()
		if r.Intn(2) == 0 && strings.Contains(lines[i], " = ") {
			lines[i] = f
			return lines
		}
		return insertLine(lines, i, f)
	case 8: // a field's value changed
		i := pick()
		if k, _, ok := strings.Cut(lines[i], " = "); ok {
			lines[i] = k + " = " + advValues[r.Intn(len(advValues))] + "\n"
		}
		return lines
	case 9: // an odd line
		return insertLine(lines, pick(), advLines[r.Intn(len(advLines))])
	case 10: // two lines swapped
		i, j := pick(), pick()
		lines[i], lines[j] = lines[j], lines[i]
		return lines
	default: // a line's end changed: CR, none, or doubled
		i := pick()
		switch l := strings.TrimSuffix(lines[i], "\n"); r.Intn(3) {
		case 0:
			lines[i] = l + "\r\n"
		case 1:
			lines[i] = l
		default:
			lines[i] = l + "\n\n"
		}
		return lines
	}
}

func insertLine(lines []string, i int, l string) []string {
	return append(lines[:i], append([]string{l}, lines[i:]...)...)
}

// sectionsOf returns the sections of lines as [from, to) line ranges, the
// top level first: a section runs from its header to the next header.
func sectionsOf(lines []string) [][2]int {
	secs := [][2]int{{0, 0}}
	for i, l := range lines {
		if strings.HasPrefix(l, "[") {
			secs[len(secs)-1][1] = i
			secs = append(secs, [2]int{i, 0})
		}
	}
	secs[len(secs)-1][1] = len(lines)
	return secs
}

// limitCases returns body with sections, fields and array values filled
// up to payload's limits exactly (a valid bundle) and one past (refused),
// partly by the tree's run and partly by the rest, and one quota table of
// exactly MaxSectionFields and one more.
func limitCases(body []byte) [][]byte {
	count := func(b []byte) (secs, fields, values int) {
		for _, l := range strings.Split(string(b), "\n") {
			switch {
			case l == "" || l[0] == '#':
			case l[0] == '[':
				secs++
			default:
				fields++
				if _, v, ok := strings.Cut(l, " = ["); ok && v != "]" {
					values += strings.Count(v, `", "`) + 1
				}
			}
		}
		return
	}
	run := bytes.Index(body, []byte("\n[[group]]\n")) + 1
	secs, fields, values := count(body)
	var out [][]byte
	for _, extra := range []int{0, 1} {
		// Sections: groups and users in the run.
		var b bytes.Buffer
		b.Write(body[:run])
		n := payload.MaxSections - secs + extra
		for i := 0; i < n/2; i++ {
			b.WriteString("[[group]]\npath = \"s" + strconv.Itoa(i) + "\"\n")
		}
		for i := n / 2; i < n; i++ {
			b.WriteString("[[user]]\nname = \"x" + strconv.Itoa(i) + "\"\n")
		}
		b.Write(body[run:])
		out = append(out, b.Bytes())
		// Fields: restricted groups of full quota tables in the run, the
		// last few as users.
		b = bytes.Buffer{}
		b.Write(body[:run])
		m := payload.MaxFields - fields + extra
		for g := 0; m > 3; g++ {
			b.WriteString("[[group]]\npath = \"q" + strconv.Itoa(g) + "\"\nrestrict = true\n[group.quota]\n")
			m -= 2
			for i := 0; i < payload.MaxSectionFields && m > 1; i++ {
				b.WriteString("t" + strconv.Itoa(i) + " = 0\n")
				m--
			}
		}
		b.Write(body[run:])
		for ; m > 0; m-- {
			b.WriteString("[[user]]\nname = \"m" + strconv.Itoa(m) + "\"\n")
		}
		out = append(out, b.Bytes())
		// Array values: restricted users' features in the run.
		b = bytes.Buffer{}
		b.Write(body[:run])
		v := payload.MaxArrayValues - values + extra
		for u := 0; v > 0; u++ {
			k := min(v, payload.MaxArrayLen)
			v -= k
			f := make([]string, k)
			for i := range f {
				f[i] = `"f` + strconv.Itoa(i) + `"`
			}
			b.WriteString("[[user]]\nname = \"v" + strconv.Itoa(u) + "\"\nrestrict = true\nfeatures = [" + strings.Join(f, ", ") + "]\n")
		}
		b.Write(body[run:])
		out = append(out, b.Bytes())
		// One quota table of exactly MaxSectionFields, and one more.
		b = bytes.Buffer{}
		b.Write(body[:run])
		b.WriteString("[[group]]\npath = \"q\"\nrestrict = true\n[group.quota]\n")
		for i := 0; i < payload.MaxSectionFields+extra; i++ {
			b.WriteString("t" + strconv.Itoa(i) + " = 0\n")
		}
		b.Write(body[run:])
		out = append(out, b.Bytes())
	}
	return out
}

// TestAdvSpanCases: the cases of the review's list, each a change of the
// seed that carries every field of a group and a user.
func TestAdvSpanCases(t *testing.T) {
	seed := string(spanSeeds(t)[1])
	floor2Quota := "[group.quota]\ncamera = 2\n"
	ben := "\n[[user]]\nname = \"ben@example.com\"\n"
	// long returns a user whose name's line is n bytes long: no tree
	// string can be valid at payload.MaxLineLen, only refused alike.
	long := func(n int) string {
		return "\n[[user]]\nname = \"" + strings.Repeat("x", n-len("name = \"\"")) + "\"\n"
	}
	for _, c := range []struct{ name, old, new string }{
		{"a group's quota table after the users", floor2Quota, ""},
		{"a quota table twice", "camera = 10\nsip-number = 4\n", "camera = 10\nsip-number = 4\n[group.quota]\nintercom = 1\n"},
		{"an empty quota table", "[user.quota]\ncamera = 1\n", "[user.quota]\n"},
		{"a quota table of a user under a group", "\n[[group]]\npath = \"tower/floor-1\"\n", "\n[[group]]\npath = \"tower/floor-1\"\n[user.quota]\ncamera = 1\n"},
		{"a group after the users", "\n[[group]]\npath = \"tower/floor-1\"\n", ""},
		{"a user after the funding", ben, ""},
		{"a tree section before the validity", "\n[validity]\n", "\n[[group]]\npath = \"z\"\n\n[validity]\n"},
		{"a tree section at the very start", "# allot license bundle", "[[group]]\npath = \"z\"\n# allot license bundle"},
		{"a key in upper case", "path = \"tower/floor-1\"", "Path = \"tower/floor-1\""},
		{"an escaped path", "path = \"tower/floor-1\"", "path = \"tow\\u0065r/floor-1\""},
		{"a path with an escaped NUL", "path = \"tower/floor-1\"", "path = \"tower/floor-1\\u0000\""},
		{"a path with a quote", "path = \"tower/floor-1\"", "path = \"tower/floor-\\\"1\""},
		{"a user in one group twice", "groups = [\"tower/floor-1\", \"tower/floor-2\"]", "groups = [\"tower/floor-1\", \"tower/floor-1\"]"},
		{"a date-time with an offset", "from = 2026-11-22T10:00:00Z", "from = 2026-11-22T11:00:00+01:00"},
		{"a date-time in 1969", "from = 2026-11-22T10:00:00Z", "from = 1969-11-22T10:00:00Z"},
		{"a CR in the run", "path = \"tower/floor-1\"\n", "path = \"tower/floor-1\"\r\n"},
		{"a header with a CR", "\n[[group]]\npath = \"tower/floor-1\"\n", "\n[[group]]\r\npath = \"tower/floor-1\"\n"},
		{"a BOM", "# allot license bundle", "\ufeff# allot license bundle"},
		{"a comment in the run", "[[user]]\nname = \"anna-son\"\n", "[[user]]\n# the son\nname = \"anna-son\"\n"},
		{"invalid UTF-8 in the run", "name = \"anna-son\"", "name = \"anna-\xffson\""},
		{"restrict off with a quota", "restrict = true\nfeatures = [\"web-dialer\"]", "restrict = false\nfeatures = [\"web-dialer\"]"},
		{"paused false", "paused = true", "paused = false"},
		{"a quota of 2^31-1", "camera = 10\n", "camera = 2147483647\n"},
		{"a quota of 2^31", "camera = 10\n", "camera = 2147483648\n"},
		{"a negative quota", "camera = 10\n", "camera = -1\n"},
		{"a quota of a bad type name", "camera = 10\n", "Camera = 10\n"},
		{"a key twice in a group", "path = \"tower/floor-1\"\n", "path = \"tower/floor-1\"\npath = \"tower/floor-1\"\n"},
		{"a key twice in a quota table", "camera = 10\n", "camera = 10\ncamera = 10\n"},
		{"a line of MaxLineLen", ben, ben + long(payload.MaxLineLen)},
		{"a line past MaxLineLen", ben, ben + long(payload.MaxLineLen+1)},
		{"no newline at the end", "", ""},
	} {
		body := strings.Replace(seed, c.old, c.new, 1)
		switch c.name {
		case "a group's quota table after the users", "a group after the users", "a user after the funding":
			moved := c.old
			i := strings.Index(body, "\n[[funding]]\n")
			if c.name == "a user after the funding" {
				i = strings.Index(body, "\n[[certificate]]\n")
			}
			body = body[:i+1] + moved + body[i+1:]
		case "no newline at the end":
			body = strings.TrimSuffix(body, "\n")
		}
		if body == seed && c.old != "" {
			t.Fatalf("%s: the seed has no %q", c.name, c.old)
		}
		span, general := parseBoth(t, []byte(body))
		t.Logf("%s: %v", c.name, span != nil && general != nil)
	}
}
