package system

import (
	"reflect"
	"strings"
	"testing"

	"allot.dev/allot/pkg/tomlfile"
)

// treeSeed is a system file whose tree plainTree reads: every key of a
// group and of a user, dates of both forms, comments between the tables,
// users and groups mixed.
const treeSeed = `version = 1
id = "site-1"
organization = "Org"
devices = """
CAM-1 m camera nvr-1
"""

[need]
camera = 10
mobile-app = 4
sip-number = 4

[[server]]
name = "nvr-1"
identifiers = []

# The tree.

[[group]]
path = "tower"
restrict = true
features = ["guest-access", "elevator"]
from = 2026-01-01
until = 2027-06-01T10:00:00Z
remind_days = 30
remind_every = "weekly"
[group.quota]
mobile-app = 2
sip-number = 2

[[group]]
path = "tower/floor-1"

# a	comment with a tab
[[user]]
name = "alice@example.com"
groups = ["tower", "tower/floor-1"]
restrict = true
features = []
[user.quota]
mobile-app = 1

[[user]]
name = "bob"
created_by = "alice@example.com"
paused = true

[[group]]
path = "tower/floor-2"
`

// decodeLibrary reads data as decode did before plainTree: with the TOML
// library alone.
func decodeLibrary(data []byte) (file, error) {
	var f file
	err := tomlfileDecode("x.system.toml", data, &f)
	return f, err
}

// checkSame checks that decode reads data as the library alone does: the
// same file, or the same error.
func checkSame(t *testing.T, data []byte) {
	t.Helper()
	var got file
	err := decode("x.system.toml", data, &got, fileLimits)
	want, wantErr := decodeLibrary(data)
	// The library names one of a table's bad fields, in the order of a
	// map: ask it again before calling its answer different.
	for i := 0; i < 50 && err != nil && wantErr != nil && err.Error() != wantErr.Error(); i++ {
		_, wantErr = decodeLibrary(data)
	}
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("decode: %v\nthe library: %v\n%s", err, wantErr, data)
	}
	if err != nil {
		return
	}
	// The library's dates are in its own zones, which treeOf makes UTC.
	gotTree, wantTree := treeOf(got.Groups, got.Users), treeOf(want.Groups, want.Users)
	got.Groups, got.Users, want.Groups, want.Users = nil, nil, nil, nil
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotTree, wantTree) {
		t.Fatalf("decode read\n%+v\n%+v\nthe library\n%+v\n%+v\n%s", got, gotTree, want, wantTree, data)
	}
}

func TestPlainTreeReadsAsTheLibrary(t *testing.T) {
	if _, g, u, ok := plainTree([]byte(treeSeed)); !ok || len(g) != 3 || len(u) != 2 {
		t.Fatalf("plainTree does not read the seed: %v, %d groups, %d users", ok, len(g), len(u))
	}
	checkSame(t, []byte(treeSeed))
	// Each variation is read by the library alone, or by plainTree to the
	// same result.
	for _, c := range []struct{ old, new string }{
		{"[[group]]\npath = \"tower\"\n", "[[group]]\npath = \"tower\"\npath = \"x\"\n"}, // a key twice
		{"remind_days = 30", "remind_days = 030"},
		{"remind_days = 30", "remind_days = -3"},
		{"remind_days = 30", "remind_days = 1_0"},
		{"remind_days = 30", "Remind_days = 30"},
		{"remind_days = 30", "remind_dayz = 30"},
		{"until = 2027-06-01T10:00:00Z", "until = 2027-02-30"},
		{"until = 2027-06-01T10:00:00Z", "until = 2027-06-01T10:00:00+01:00"},
		{"until = 2027-06-01T10:00:00Z", "until = 1969-06-01"},
		{"path = \"tower\"", "path = 'tower'"},
		{"path = \"tower\"", "path = \"t\\u0041\""},
		{"path = \"tower\"", "path = \"tower\" # a comment"},
		{"path = \"tower\"", "path=\"tower\""},
		{"path = \"tower\"", "path = \"töwer\""},
		{"groups = [\"tower\", \"tower/floor-1\"]", "groups = [\"tower\",\"tower/floor-1\"]"},
		{"groups = [\"tower\", \"tower/floor-1\"]", "groups = [\n\"tower\"]"},
		{"groups = [\"tower\", \"tower/floor-1\"]", "groups = \"tower\""},
		{"paused = true", "paused = 1"},
		{"[user.quota]", "[group.quota]"},
		{"[user.quota]\nmobile-app = 1", "[user.quota]\nmobile-app = 1\n[user.quota]\nsip-number = 1"},
		{"[user.quota]\nmobile-app = 1", "[user.quota]\nmobile-app = 1\nmobile-app = 2"},
		{"[user.quota]\nmobile-app = 1", "quota = { mobile-app = 1 }"},
		{"# The tree.", "[group]\npath = \"x\""},
		{"# The tree.", "group = 1"},
		{"# The tree.", "user = \"x\""},
		{"# The tree.", "[[user]]\nname = \"carol\""},
		{"a\tcomment", "a\xffcomment"},
		{"# a\tcomment", "\t# a comment"},
		{"[[group]]\npath = \"tower/floor-2\"\n", "[[group]]\npath = \"tower/floor-2\"\n[[server]]\nname = \"nvr-2\"\nidentifiers = []\n"},
		{"devices = \"\"\"\nCAM-1 m camera nvr-1\n\"\"\"", "devices = \"\"\"\nCAM-1 m camera nvr-1\n"},
		{"devices = \"\"\"\nCAM-1 m camera nvr-1\n\"\"\"", "devices = \"\"\"\n[[group]]\n\"\"\""},
		{"\n[[group]]\npath = \"tower/floor-2\"\n", "\n[[group]]\npath = \"tower/floor-2\""},
		{"organization = \"Org\"", "organization = \"Org\"\nextra = 1"},
		{"[user.quota]\nmobile-app = 1", "[user.quota]\nmobile-app = 1\nMobile-app = 2"},
		{"[group.quota]\nmobile-app = 2", "[group.quota]\nMobile-app = 2"},
		{"# The tree.", "[Group]\npath = \"x\""},
		{"organization = \"Org\"", "organization = \"Org\"\nOrganization = \"Org\""},
		// Past a 32-bit int: on GOARCH=386 the library reads them
		// wrapped (4294967298 as 2), and plainTree the same.
		{"[group.quota]\nmobile-app = 2", "[group.quota]\nmobile-app = 4294967298"},
		{"[group.quota]\nmobile-app = 2", "[group.quota]\nmobile-app = 2147483648"},
		{"remind_days = 30", "remind_days = 4294967326"},
	} {
		data := strings.Replace(treeSeed, c.old, c.new, 1)
		if data == treeSeed {
			t.Fatalf("%q is not in the seed", c.old)
		}
		checkSame(t, []byte(data))
	}
}

// FuzzPlainTree checks that decode, with plainTree, reads every file as
// the TOML library alone does.
func FuzzPlainTree(f *testing.F) {
	f.Add([]byte(treeSeed))
	f.Add([]byte("version = 1\n[[user]]\nname = \"a\"\n[user.quota]\nx = 1\n[[group]]\npath = \"g\"\n"))
	f.Add([]byte("a = \"\"\"\n[[group]]\n\"\"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSame(t, data)
	})
}

func tomlfileDecode(name string, data []byte, f *file) error {
	return tomlfile.DecodeLimits(name, data, f, fileLimits)
}
