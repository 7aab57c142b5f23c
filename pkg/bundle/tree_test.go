package bundle_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/tree"
)

func sampleTree() *tree.Tree {
	return &tree.Tree{
		Groups: []tree.Group{
			{Path: "tower-a", Restrict: true, Limits: tree.Limits{Quota: map[string]int{"sip-number": 4}, Features: []string{"mobile-app"}, Until: date(2026, 6, 1)}},
			{Path: "tower-a/floor-1"},
		},
		Users: []tree.User{
			{Name: "alice", Groups: []string{"tower-a/floor-1"}, Restrict: true, Limits: tree.Limits{Quota: map[string]int{"sip-number": 1}}},
			{Name: "kid", CreatedBy: "alice", Paused: true},
		},
	}
}

func TestTreeRoundTrip(t *testing.T) {
	b := sampleBundle()
	b.Tree = sampleTree()
	doc, err := bundle.Seal(b, walletPriv)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\n[[group]]\npath = \"tower-a\"\nrestrict = true\nfeatures = [\"mobile-app\"]\nuntil = 2026-06-01T00:00:00Z\n[group.quota]\nsip-number = 4\n",
		"\n[[user]]\nname = \"kid\"\ncreated_by = \"alice\"\npaused = true\n"} {
		if !strings.Contains(string(doc), want) {
			t.Fatalf("the bundle does not hold %q:\n%s", want, doc)
		}
	}
	got, err := bundle.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Tree, b.Tree) {
		t.Fatalf("tree read back:\n%+v\nwant\n%+v", got.Tree, b.Tree)
	}
	b.Tree = nil
	doc, err = bundle.Seal(b, walletPriv)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := bundle.Open(doc); err != nil || got.Tree != nil {
		t.Fatalf("a bundle without a tree: %v, %+v", err, got.Tree)
	}
}

// A bundle's tree must be a tree: its structure is checked when it is
// read (its quotas against the funding are the verifier's business).
func TestTreeStructureRejected(t *testing.T) {
	b := sampleBundle()
	b.Tree = sampleTree()
	doc, err := bundle.Seal(b, walletPriv)
	if err != nil {
		t.Fatal(err)
	}
	body, _, _, _ := sign.Split(doc)
	for _, c := range []struct{ old, new, says string }{
		{"path = \"tower-a/floor-1\"", "path = \"tower-b/floor-1\"", "its parent tower-b is not a group"},
		{"created_by = \"alice\"", "created_by = \"carol\"", "its creator carol is not a user"},
		{"\n[[group]]\npath = \"tower-a/floor-1\"\n", "\n[[group]]\npath = \"tower-a/floor-1\"\nrestrict = false\nfeatures = []\n", "restrict is off"},
		{"paused = true", "paused = 1", "want true or false"},
		{"[group.quota]\nsip-number = 4\n", "[group.quota]\nsip-number = 4\n[group.quota]\nsip-number = 5\n", "unexpected [group.quota]"},
	} {
		edited := strings.Replace(string(body), c.old, c.new, 1)
		if edited == string(body) {
			t.Fatalf("%q not found", c.old)
		}
		d, err := sign.Seal(walletPriv, bundle.Namespace, []byte(edited))
		if err != nil {
			t.Fatal(err)
		}
		_, err = bundle.Open(d)
		if !errors.Is(err, bundle.ErrMalformed) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%q → %q: %v, want malformed saying %q", c.old, c.new, err, c.says)
		}
	}
}
