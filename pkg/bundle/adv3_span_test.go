package bundle_test

import (
	"bytes"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/payload"
)

// The third adversarial review, of 0950c75 (the span reader reads a
// tree's plain lines itself: a group's path, a user's name and a user's
// one group) and of spanStart's new scan. The seeds of FuzzSpan have no
// user in exactly one group, so that the plain "groups" line was never
// read by the fuzzer but through a lucky mutation: these cases and
// FuzzAdv3Span's seeds read it, right and wrong, in every place.

// adv3Seed returns the seed that carries every field of a group and a
// user, with users in one group each, plain and not.
func adv3Seed(t testing.TB) string {
	seed := string(spanSeeds(t)[1])
	more := "\n[[user]]\nname = \"carl\"\ngroups = [\"tower/floor-1\"]\n" +
		"\n[[user]]\nname = \"dora\"\ngroups = [\"tower\"]\nrestrict = true\nfeatures = [\"web-dialer\"]\n[user.quota]\ncamera = 1\n" +
		"\n[[user]]\nname = \"eve\"\ngroups = [\"tower/floor-2\"]\npaused = true\n"
	ben := "\n[[user]]\nname = \"ben@example.com\"\n"
	if !strings.Contains(seed, ben) {
		t.Fatalf("the seed has no %q", ben)
	}
	return strings.Replace(seed, ben, ben+more, 1)
}

// adv3Cases returns the seed changed in the ways a wallet holder would
// try against the plain lines and spanStart.
func adv3Cases(t testing.TB) map[string]string {
	seed := adv3Seed(t)
	carl := "name = \"carl\"\ngroups = [\"tower/floor-1\"]\n"
	floor1 := "\n[[group]]\npath = \"tower/floor-1\"\n"
	repl := func(old, new string) string {
		if !strings.Contains(seed, old) {
			t.Fatalf("the seed has no %q", old)
		}
		return strings.Replace(seed, old, new, 1)
	}
	cases := map[string]string{
		"as is": seed,
		// The plain lines themselves, at their edges.
		"an empty path":            repl(floor1, "\n[[group]]\npath = \"\"\n"),
		"an empty name":            repl(carl, "name = \"\"\ngroups = [\"tower/floor-1\"]\n"),
		"an empty group":           repl(carl, "name = \"carl\"\ngroups = [\"\"]\n"),
		"a group that is not":      repl(carl, "name = \"carl\"\ngroups = [\"tower/floor-9\"]\n"),
		"a group with a space":     repl(carl, "name = \"carl\"\ngroups = [\"tower/floor 1\"]\n"),
		"a bracket in the group":   repl(carl, "name = \"carl\"\ngroups = [\"tower]\"]\n"),
		"a bracket, short":         repl(carl, "name = \"carl\"\ngroups = [\"]\n"),
		"quote bracket":            repl(carl, "name = \"carl\"\ngroups = [\"\"\"]\n"),
		"two groups, one quoted":   repl(carl, "name = \"carl\"\ngroups = [\"tower\", \"tower/floor-1\"]\n"),
		"a comma at the end":       repl(carl, "name = \"carl\"\ngroups = [\"tower/floor-1\",]\n"),
		"a space in the brackets":  repl(carl, "name = \"carl\"\ngroups = [ \"tower/floor-1\" ]\n"),
		"a trailing space, groups": repl(carl, "name = \"carl\"\ngroups = [\"tower/floor-1\"] \n"),
		"a trailing space, name":   repl(carl, "name = \"carl\" \ngroups = [\"tower/floor-1\"]\n"),
		"a trailing space, path":   repl(floor1, "\n[[group]]\npath = \"tower/floor-1\" \n"),
		"a CR, path":               repl(floor1, "\n[[group]]\npath = \"tower/floor-1\"\r\n"),
		"a CR, groups":             repl(carl, "name = \"carl\"\ngroups = [\"tower/floor-1\"]\r\n"),
		"a CR in the name":         repl(carl, "name = \"ca\rrl\"\ngroups = [\"tower/floor-1\"]\n"),
		"a tab in the path":        repl(floor1, "\n[[group]]\npath = \"tower/\tfloor-1\"\n"),
		"a DEL in the group":       repl(carl, "name = \"carl\"\ngroups = [\"tower/floor-1\x7f\"]\n"),
		"a NUL in the name":        repl(carl, "name = \"ca\x00rl\"\ngroups = [\"tower/floor-1\"]\n"),
		"non-ASCII in the name":    repl(carl, "name = \"carlé\"\ngroups = [\"tower/floor-1\"]\n"),
		"invalid UTF-8, group":     repl(carl, "name = \"carl\"\ngroups = [\"tower/floor-1\xff\"]\n"),
		"an escaped group":         repl(carl, "name = \"carl\"\ngroups = [\"tower/floor\\u002D1\"]\n"),
		"a backslash in the name":  repl(carl, "name = \"ca\\\\rl\"\ngroups = [\"tower/floor-1\"]\n"),
		"a tab before =":           repl(carl, "name\t= \"carl\"\ngroups = [\"tower/floor-1\"]\n"),
		"no space before =":        repl(carl, "name= \"carl\"\ngroups = [\"tower/floor-1\"]\n"),
		"name in upper case":       repl(carl, "Name = \"carl\"\ngroups = [\"tower/floor-1\"]\n"),
		"header-like path":         repl(floor1, "\n[[group]]\npath = \"[[group]]\"\n"),
		"header-like name":         repl(carl, "name = \"[[user]]\"\ngroups = [\"tower/floor-1\"]\n"),
		"header-like group":        repl(carl, "name = \"carl\"\ngroups = [\"[[group]]\"]\n"),
		"a comment-like name":      repl(carl, "name = \"# carl\"\ngroups = [\"tower/floor-1\"]\n"),
		// Keys twice, in either order of plain and field reader.
		"groups twice, plain":          repl(carl, "name = \"carl\"\ngroups = [\"tower/floor-1\"]\ngroups = [\"tower\"]\n"),
		"groups twice, list then one":  repl(carl, "name = \"carl\"\ngroups = [\"tower\", \"tower/floor-2\"]\ngroups = [\"tower/floor-1\"]\n"),
		"groups twice, one then list":  repl(carl, "name = \"carl\"\ngroups = [\"tower/floor-1\"]\ngroups = [\"tower\", \"tower/floor-2\"]\n"),
		"groups twice, empty then one": repl(carl, "name = \"carl\"\ngroups = []\ngroups = [\"tower/floor-1\"]\n"),
		"name twice, plain":            repl(carl, "name = \"carl\"\nname = \"carl\"\ngroups = [\"tower/floor-1\"]\n"),
		"name twice, escaped first":    repl(carl, "name = \"c\\u0061rl\"\nname = \"carl\"\ngroups = [\"tower/floor-1\"]\n"),
		"name twice, escaped second":   repl(carl, "name = \"carl\"\nname = \"c\\u0061rl\"\ngroups = [\"tower/floor-1\"]\n"),
		"path twice, plain":            repl(floor1, floor1+"path = \"tower/floor-1\"\n"),
		"path twice, escaped first":    repl(floor1, "\n[[group]]\npath = \"tower/floor\\u002D1\"\npath = \"tower/floor-1\"\n"),
		"name after groups":            repl(carl, "groups = [\"tower/floor-1\"]\nname = \"carl\"\n"),
		"no name, one group":           repl(carl, "groups = [\"tower/floor-1\"]\n"),
		// Keys of one section in another.
		"groups in a group":          repl(floor1, floor1+"groups = [\"tower\"]\n"),
		"name in a group":            repl(floor1, floor1+"name = \"carl\"\n"),
		"path in a user":             repl(carl, carl+"path = \"tower\"\n"),
		"groups in a user's quota":   repl("[user.quota]\ncamera = 1\n\n[[user]]\nname = \"eve\"", "[user.quota]\ncamera = 1\ngroups = [\"tower\"]\n\n[[user]]\nname = \"eve\""),
		"name in a user's quota":     repl("[user.quota]\ncamera = 1\n\n[[user]]\nname = \"eve\"", "[user.quota]\nname = \"x\"\n\n[[user]]\nname = \"eve\""),
		"path in a group's quota":    repl("[group.quota]\ncamera = 2\n", "[group.quota]\npath = \"x\"\n"),
		"path after a group's quota": repl("[group.quota]\ncamera = 2\n", "[group.quota]\ncamera = 2\npath = \"x\"\n"),
		// Sub-users and groups.
		"a sub-user in one group": repl("created_by = \"anna\"\n", "created_by = \"anna\"\ngroups = [\"tower\"]\n"),
		"a user in its own name":  repl(carl, "name = \"carl\"\ngroups = [\"carl\"]\n"),
		// Where the run starts.
		"[[user]] before any group":                repl("\n[[group]]\npath = \"tower\"\n", "\n[[user]]\nname = \"zed\"\ngroups = [\"tower\"]\n\n[[group]]\npath = \"tower\"\n"),
		"a group not after a newline":              "[[group]]\npath = \"a\"\n" + seed,
		"a user not after a newline":               "[[user]]\nname = \"z\"\ngroups = [\"tower\"]\n" + seed,
		"an array header before the run, [[grou]]": repl("\n[[group]]\npath = \"tower\"\n", "\n[[grou]]\n\n[[group]]\npath = \"tower\"\n"),
		"[[group]]x before the run":                repl("\n[[group]]\npath = \"tower\"\n", "\n[[group]]x\n\n[[group]]\npath = \"tower\"\n"),
		"[[group]] with a CR before the run":       repl("\n[[group]]\npath = \"tower\"\n", "\n[[group]]\r\npath = \"z\"\n\n[[group]]\npath = \"tower\"\n"),
		"[[ at the very end":                       seed + "\n[[",
		"[[group]] at the very end":                seed + "\n[[group]]",
		"[[group]] then newline at the end":        seed + "\n[[group]]\n",
		"a user at the end, one group":             seed + "\n[[user]]\nname = \"zed\"\ngroups = [\"tower\"]\n",
	}
	return cases
}

// TestAdv3SpanPlainCases: each case gives the same bundle or the same
// error with the span reader and without.
func TestAdv3SpanPlainCases(t *testing.T) {
	for name, body := range adv3Cases(t) {
		span, _ := parseBoth(t, []byte(body))
		taken := bundle.SpanTakes([]byte(body))
		t.Logf("%s: read %v, by the span reader %v", name, span != nil, taken)
		// The seed is the span reader's, or the cases test nothing of it.
		if name == "as is" && (!taken || span == nil) {
			t.Fatalf("the seed is not read by the span reader")
		}
	}
}

// TestAdv3SpanPlainValues: the array values of the plain "groups" lines
// count towards payload.MaxArrayValues as the general reader counts them,
// the rest of the values coming from the servers' identifiers outside the
// run, or from features read by the field reader inside it: the total met
// exactly, and passed by one through a plain line only.
func TestAdv3SpanPlainValues(t *testing.T) {
	seed := adv3Seed(t)
	// The values of the seed, as the general reader counts them.
	values := 0
	for _, l := range strings.Split(seed, "\n") {
		if _, v, ok := strings.Cut(l, " = ["); ok && v != "]" {
			values += strings.Count(v, `", "`) + 1
		}
	}
	const users = 3000 // users in one group each, plain
	list := func(prefix string, n int) string {
		f := make([]string, n)
		for i := range f {
			f[i] = `"` + prefix + strconv.Itoa(i) + `"`
		}
		return "[" + strings.Join(f, ", ") + "]"
	}
	for _, where := range []string{"servers", "features"} {
		for _, extra := range []int{0, 1} {
			fill := payload.MaxArrayValues - values - users + extra
			body := seed
			var b strings.Builder
			switch where {
			case "servers":
				// binding.server's identifiers, outside the run.
				for s := 0; fill > 0; s++ {
					k := min(fill, payload.MaxArrayLen)
					fill -= k
					b.WriteString("\n[[binding.server]]\nname = \"s" + strconv.Itoa(s) + "\"\nidentifiers = " + list("h", k) + "\n")
				}
				body = strings.Replace(body, "\n[[period]]\n", b.String()+"\n[[period]]\n", 1)
			case "features":
				// features of restricted users, in the run.
				for s := 0; fill > 0; s++ {
					k := min(fill, payload.MaxArrayLen)
					fill -= k
					b.WriteString("\n[[user]]\nname = \"f" + strconv.Itoa(s) + "\"\nrestrict = true\nfeatures = " + list("f", k) + "\n")
				}
				body = strings.Replace(body, "\n[[funding]]\n", b.String()+"\n[[funding]]\n", 1)
			}
			var u strings.Builder
			for i := 0; i < users; i++ {
				u.WriteString("\n[[user]]\nname = \"p" + strconv.Itoa(i) + "\"\ngroups = [\"tower/floor-1\"]\n")
			}
			body = strings.Replace(body, "\n[[funding]]\n", u.String()+"\n[[funding]]\n", 1)
			span, _ := parseBoth(t, []byte(body))
			_, err := parseWith(true, []byte(body))
			taken := bundle.SpanTakes([]byte(body))
			t.Logf("%s, %+d: read %v, by the span reader %v: %v", where, extra, span != nil, taken, err)
			if extra == 0 && !taken {
				t.Errorf("%s: the payload at the limit is not the span reader's", where)
			}
			if past := err != nil && strings.Contains(err.Error(), "strings in all arrays"); past != (extra == 1) {
				t.Errorf("%s, %+d: want the limit's error only past it: %v", where, extra, err)
			}
		}
	}
}

// FuzzAdv3Span is FuzzSpan from adv3Cases: payloads whose users are in
// one group each, and the plain lines changed.
func FuzzAdv3Span(f *testing.F) {
	for _, body := range adv3Cases(f) {
		f.Add([]byte(body))
	}
	// Plain users only, the run at the very start: no top level.
	f.Add(bytes.Repeat([]byte("\n[[user]]\nname = \"a\"\ngroups = [\"b\"]\n"), 3))
	f.Fuzz(func(t *testing.T, body []byte) {
		parseBoth(t, body)
	})
}

func parseWith(span bool, body []byte) (any, error) {
	defer bundle.SetSpan(span)()
	return bundle.ParsePayload(body)
}

// TestAdv3SpanRuns holds the span reader to the general reader on runs of
// tree sections made up at random, line by line, of headers, the plain
// lines with values right and wrong, and the other fields: where the
// fuzzer, changing bytes, rarely makes a well-formed section.
func TestAdv3SpanRuns(t *testing.T) {
	seed := adv3Seed(t)
	run := strings.Index(seed, "\n[[group]]\n") + 1
	end := strings.Index(seed, "\n[[funding]]\n") + 1
	head, tail := seed[:run], seed[end:]
	r := rand.New(rand.NewSource(33))
	n := 20_000
	if testing.Short() {
		n = 2_000
	}
	if s := os.Getenv("ADV3_RUNS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	strs := []string{"tower", "tower/floor-1", "tower/floor-2", "", "x", "carl", "anna", "tower/", "/tower", "tower//floor-1",
		"a b", "[[group]]", "]", "[", "#", "é", "\t", "\x7f", "\\", "\\\"", "\"", "a\"b", "tower\r", "\\u0074ower", "ben@example.com"}
	heads := []string{"[[group]]", "[[user]]", "[group.quota]", "[user.quota]", "", "[[group]]", "[[user]]"}
	plainKeys := []string{"path", "name", "groups"}
	okPaths := []string{"tower", "tower/floor-1", "tower/floor-2", "tower/floor-1/a", "z", "tower/floor-9"}
	others := []string{"restrict = true", "restrict = false", "features = []", "features = [\"web-dialer\"]", "paused = true",
		"created_by = \"anna\"", "created_by = \"carl\"", "from = 2026-11-22T10:00:00Z", "until = 2027-05-22T00:00:00Z",
		"camera = 1", "camera = 0", "sip-number = 2", "groups = []", "groups = [\"tower\", \"tower/floor-1\"]", "x = 1"}
	taken, read := 0, 0
	for i := 0; i < n; i++ {
		var b strings.Builder
		b.WriteString(head)
		secs := 1 + r.Intn(12)
		for s := 0; s < secs; s++ {
			h := heads[r.Intn(len(heads))]
			if s > 0 || r.Intn(8) != 0 {
				if r.Intn(3) == 0 {
					b.WriteString("\n")
				}
				b.WriteString(h + "\n")
			}
			// Mostly the section's own lines, well formed.
			switch h {
			case "[[group]]":
				b.WriteString("path = \"" + okPaths[r.Intn(len(okPaths))] + "\"\n")
			case "[[user]]":
				b.WriteString("name = \"u" + strconv.Itoa(r.Intn(20)) + "\"\n")
				if r.Intn(2) == 0 {
					b.WriteString("groups = [\"" + okPaths[r.Intn(len(okPaths))] + "\"]\n")
				}
			case "[group.quota]", "[user.quota]":
				b.WriteString("camera = 1\n")
			}
			for k := r.Intn(3); k > 0 && r.Intn(3) == 0; k-- {
				switch r.Intn(4) {
				case 0, 1:
					key := plainKeys[r.Intn(len(plainKeys))]
					v := strs[r.Intn(len(strs))]
					if key == "groups" {
						b.WriteString(key + " = [\"" + v + "\"]\n")
					} else {
						b.WriteString(key + " = \"" + v + "\"\n")
					}
				case 2:
					b.WriteString(others[r.Intn(len(others))] + "\n")
				default:
					// a plain line a byte off
					l := []byte(plainKeys[r.Intn(len(plainKeys))] + " = [\"" + strs[r.Intn(len(strs))] + "\"]")
					if r.Intn(2) == 0 {
						l = []byte(plainKeys[r.Intn(len(plainKeys))] + " = \"" + strs[r.Intn(len(strs))] + "\"")
					}
					j := r.Intn(len(l))
					switch r.Intn(3) {
					case 0:
						l = append(l[:j], l[j+1:]...)
					case 1:
						l[j] = " \"[]\\\r\t=,"[r.Intn(9)]
					default:
						l = append(l[:j], append([]byte{" \"[]\\,"[r.Intn(6)]}, l[j:]...)...)
					}
					b.WriteString(string(l) + "\n")
				}
			}
		}
		if r.Intn(2) == 0 {
			b.WriteString("\n")
		}
		b.WriteString(tail)
		span, _ := parseBoth(t, []byte(b.String()))
		if bundle.SpanTakes([]byte(b.String())) {
			taken++
			if span != nil {
				read++
			}
		}
	}
	t.Logf("%d runs, %d taken by the span reader, %d of them valid bundles", n, taken, read)
}
