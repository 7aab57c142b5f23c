package allottest

import (
	"bytes"
	"fmt"
	"strings"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/verify"
)

// readers: the inputs of the adversarial review of the two fast readers,
// the tree's span reader of a bundle (bundle.parseSpan) and the plain
// nodes block of a usage file (verify's usage_block.go and usage_tree.go).
func (h *hostile) readers() error {
	wk := Key("wallet")
	for name, c := range map[string]struct {
		damage string
		exit   int
		field  string
		body   func() ([]byte, error)
	}{
		"bundle-tree-quota-tables.lic": {"20,000 groups and users of a quota table each, past the payload's table limit", 3, "line",
			func() ([]byte, error) { return SpanPastLimits(), nil }},
		"bundle-tree-then-malformed.lic": {"a valid bundle, 4 MiB of comments, 8,000 restricted groups, then a malformed [[credit]]", 3, "line",
			h.treeAfterComments(true)},
		"bundle-tree-comments.lic": {"a valid bundle, 4 MiB of comments, 8,000 restricted groups its keys do not fund", 13, "",
			h.treeAfterComments(false)},
		"bundle-tree-bad-last.lic": {"a valid bundle, 4 MiB of comments, 8,000 restricted groups, the last of an unknown field", 3, "line",
			func() ([]byte, error) {
				body, err := h.treeAfterComments(false)()
				if err != nil {
					return nil, err
				}
				// The span reader reads the whole run before it meets
				// the field, and leaves it all to the general reader.
				return bytes.Replace(body, []byte("path = \"g07999\""), []byte("pathx = \"g07999\""), 1), nil
			}},
	} {
		body, err := c.body()
		if err != nil {
			return err
		}
		doc, err := sign.Seal(wk, bundle.Namespace, body)
		if err != nil {
			return err
		}
		if err := h.add(HostileInput{Name: name, Damage: c.damage, Args: []string{name, "--trust", "vendor.pub"}, Exit: c.exit, Field: c.field}, doc); err != nil {
			return err
		}
	}
	name := "usage-node-types.usage.toml"
	return h.add(HostileInput{Name: name, Damage: "1 MiB of nodes of 800 license types each", Args: verifyWith("--usage", name), Exit: 3, Field: "nodes"},
		UsageManyTypes())
}

// SpanPastLimits returns a bundle payload of nearly bundle.MaxSize: one
// run of MaxGroups groups and MaxUsers users, each with a quota table of
// one type (40,000 tables, past payload.MaxSections), the first groups'
// paths 65,000 bytes long, and no blank lines (the span reader reads runs
// of up to 81,920 lines). The general reader refuses it as it counts the
// lines, before it allocates; so must the span reader, which read the
// whole run into a tree of 20,000 quota maps before it counted the tables
// (allot-verify peaked at 20.9 MiB, a9dd597 fixed it).
func SpanPastLimits() []byte {
	var b strings.Builder
	b.WriteString("version = 1\n")
	long := strings.Repeat("x", 65_000)
	for i := range bundle.MaxGroups {
		path := fmt.Sprint("g", i)
		if i < 46 {
			path = long
		}
		fmt.Fprintf(&b, "[[group]]\npath = %q\n[group.quota]\nq%d = 1\n", path, i)
	}
	for i := range bundle.MaxUsers {
		fmt.Fprintf(&b, "[[user]]\nname = \"u%d\"\n[user.quota]\nq%d = 1\n", i, i)
	}
	return []byte(b.String())
}

// TreeAfterComments returns valid, a valid bundle's payload, with comment
// lines after its top level up to nearly bundle.MaxSize and a run of 8,000
// restricted groups of four quota types each at its end: a bundle that
// reads, whose tree the device then bounds by its funding. If malformed,
// a [[credit]] of an unknown field and none of its own follows the run:
// the span reader read the whole run and the rest, then left the payload
// to the general reader, which read it all again and refused it at its
// last line (allot-verify peaked at 33.3 MiB, 20.8 MiB on the valid one,
// until a9dd597).
func TreeAfterComments(valid []byte, malformed bool) []byte {
	var run strings.Builder
	for i := range 8000 {
		fmt.Fprintf(&run, "\n[[group]]\npath = \"g%05d\"\nrestrict = true\n[group.quota]\ncamera = 1\nintercom = 1\nmobile-app = 1\nsip-number = 1\n", i)
	}
	if malformed {
		run.WriteString("\n[[credit]]\nx = 1\n")
	}
	top := bytes.Index(valid, []byte("\n[")) + 1
	line := "# " + strings.Repeat("-", 1000) + "\n"
	pad := (bundle.MaxSize - 4096 - len(valid) - run.Len()) / len(line)
	var b bytes.Buffer
	b.Write(valid[:top])
	b.WriteString(strings.Repeat(line, max(pad, 0)))
	b.Write(valid[top:])
	b.WriteString(run.String())
	return b.Bytes()
}

// treeAfterComments returns TreeAfterComments of the hostile folder's
// valid bundle.
func (h *hostile) treeAfterComments(malformed bool) func() ([]byte, error) {
	return func() ([]byte, error) {
		doc, err := h.maxBundle(1, bundle.Binding{Servers: []bundle.Server{{Name: "nvr-1", Identifiers: []string{}}}})
		if err != nil {
			return nil, err
		}
		valid, _, err := sign.Open(doc, bundle.Namespace)
		if err != nil {
			return nil, err
		}
		return TreeAfterComments(valid, malformed), nil
	}
}

// UsageManyTypes returns a usage file of nearly verify.MaxUsageFileSize:
// a nodes block whose lines are as long as a line may be, each of about
// 800 distinct license types, and a last line of a bad count, so that the
// device refuses it (naming its line) after it read all the others.
// parseNodes looked each type up among the line's types before it, 800²/2
// comparisons a line (allot-verify took 517 ms, until a9dd597).
func UsageManyTypes() []byte {
	var types []string
	for a := 'a'; a <= 'z'; a++ {
		for _, c := range "abcdefghijklmnopqrstuvwxyz0123456789-" {
			types = append(types, string(a)+string(c))
		}
	}
	var b bytes.Buffer
	b.WriteString("version = 1\nsystem = \"site-1\"\nnodes = \"\"\"\n")
	const maxLine = 4096 // verify's maxNodeLine
	const last = "last camera=x\n\"\"\"\n"
	for i := 0; ; i++ {
		line := fmt.Sprint("g", i)
		for _, t := range types {
			if len(line)+len(t)+3 > maxLine {
				break
			}
			line += " " + t + "=0"
		}
		if b.Len()+len(line)+1+len(last) > verify.MaxUsageFileSize {
			break
		}
		b.WriteString(line + "\n")
	}
	b.WriteString(last)
	return b.Bytes()
}
