package verify_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/verify"
)

// The adversary's findings against the plain nodes block's path of
// ParseUsage (usage_block.go): inputs on which it and the TOML library
// disagreed, until a9dd597; the tests hold the fix. The last, not the
// plain path's but the TOML library's, is fixed in package tomlfile.

// sameUsage fails t if ParseUsage reads data otherwise with the plain
// block's path than without it.
func sameUsage(t *testing.T, data []byte) {
	t.Helper()
	u, err := verify.ParseUsage("f.usage.toml", data)
	restore := verify.SetPlainNodes(false)
	u2, err2 := verify.ParseUsage("f.usage.toml", data)
	restore()
	if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() || !reflect.DeepEqual(u, u2) {
		t.Errorf("with the plain block's path: %v, nodes %.80q\nthe TOML library alone: %v, nodes %.80q", err, nodes(u), err2, nodes(u2))
	}
}

func nodes(u *verify.Usage) string {
	if u == nil {
		return "<no usage>"
	}
	return u.Nodes
}

// TestAdvUsageDecoyBlock: a `nodes = """` line inside a multi-line
// literal string (”'), and the real nodes elsewhere: a string of as
// many newlines as the decoy has lines. plainNodes takes the first such
// line without knowing whether the library reads it as a key, and
// decodeUsage checked only that the library's nodes were that many
// newlines, which the real ones are. So the device read nodes the file
// does not have ("tower camera=5"), where any TOML reader reads none.
func TestAdvUsageDecoyBlock(t *testing.T) {
	sameUsage(t, []byte("version = 1\nsystem = \"site-1\"\nnodes = \"\\n\"\n\n[[server]]\nname = '''\nnodes = \"\"\"\ntower camera=5\n\"\"\"\n'''\n"))
	sameUsage(t, []byte("version = 1\nsystem = '''\nnodes = \"\"\"\ntower camera=5\n\"\"\"\n'''\nnodes = \"\\n\"\n"))
}

// TestAdvUsageDecoyClosesItsString: the decoy's first line ends the
// literal string it sits in (”'), which the emptied block does not, so
// the library refuses the file and the plain path accepts it: "#”'" is
// a comment to parseNodes and the string's end to TOML.
func TestAdvUsageDecoyClosesItsString(t *testing.T) {
	sameUsage(t, []byte("version = 1\nsystem = '''\nnodes = \"\"\"\n#'''\n\"\"\"\n'''\nnodes = \"\\n\"\n"))
}

// TestAdvUsageBlockPastStringLimit: ParseUsage, which embedders call with
// bytes they read themselves, checks no size: the library refuses a nodes
// string longer than usageLimits.String (MaxUsageFileSize), the plain
// path never showed it the block.
func TestAdvUsageBlockPastStringLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("version = 1\nsystem = \"site-1\"\nnodes = \"\"\"\n")
	for b.Len() <= verify.MaxUsageFileSize+100 { // the block alone is longer
		b.WriteString("# a comment line of the nodes block, to pass the library's string limit\n")
	}
	b.WriteString("\"\"\"\n")
	sameUsage(t, []byte(b.String()))
}

// BenchmarkAdvParseUsageTypes reads two usage files of nearly
// MaxUsageFileSize: 256 nodes of 800 license types each
// (allottest.UsageManyTypes), whose every type parseNodes looked up among
// the line's types before it until a9dd597 (800²/2 string comparisons a
// line: 1.4 s against 26 ms, on a loaded machine), and 16,000 nodes of
// three types each, what a site writes.
func BenchmarkAdvParseUsageTypes(b *testing.B) {
	var typical strings.Builder
	typical.WriteString("version = 1\nsystem = \"site-1\"\nnodes = \"\"\"\n")
	for i := 0; typical.Len() < verify.MaxUsageFileSize-100; i++ {
		typical.WriteString("tower-a/floor-" + strings.Repeat("1", 1+i%3) + "/apt-" + string(rune('a'+i%26)) + strings.Repeat("0", i%5) + "x" + strconv.Itoa(i) + " sip-number=1 mobile-app=2 camera=1\n")
	}
	typical.WriteString("\"\"\"\n")
	for _, c := range []struct {
		name string
		data []byte
	}{{"800-types-a-node", allottest.UsageManyTypes()}, {"3-types-a-node", []byte(typical.String())}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				verify.ParseUsage("b.usage.toml", c.data)
			}
		})
	}
}

// TestAdvUsageErrorDeterministic: FuzzParseUsage's finding (its input,
// below), which is not the plain block's: both paths give the library the
// whole file, and the library reports the first type error it meets while
// it ranges over a Go map of the top-level keys, in random order. A file
// of two mistyped fields is refused with one error or the other (about 1
// run in 10 names nodes, the others version): a person sees a different
// line from run to run, and FuzzParseUsage's two calls disagreed at
// random (70e3570 made it accept either). Every reader of tomlfile.Decode
// (system, trust, catalog, usage files) had it; tomlfile now names the
// file's first (firstTypeError), and FuzzParseUsage wants the same error.
func TestAdvUsageErrorDeterministic(t *testing.T) {
	data := []byte("version=\"1\"\nnodes=0\n8=\"\"")
	errs := map[string]int{}
	for range 200 {
		_, err := verify.ParseUsage("f.usage.toml", data)
		errs[err.Error()]++
	}
	if len(errs) > 1 {
		t.Errorf("one file, %d errors in 200 runs: %v", len(errs), errs)
	}
	for e := range errs {
		if !strings.HasPrefix(e, "f.usage.toml:1: version:") {
			t.Errorf("%s, want the first field's error, version's", e)
		}
	}
}
