package system_test

import (
	"errors"
	"strings"
	"testing"

	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/tree"
)

// handWritten is a system file as a person writes it: comments everywhere,
// its own quoting and order, a subtable as an inline table, an array over
// several lines, and "[[group]]" inside strings.
const handWritten = `# Site 42, edited by hand.
version = 1
id = "site-42"
organization = """Acme
[[group]]
path = "not a group"
"""

[need]
camera = 4   # four cameras
'sip-number' = 10

[[server]]
name = "nvr-1" # the only one
identifiers = []

` + towerA + `[[ group ]]
path = "tower-b"
remind_days = 5

# ---- users ----

` + aliceAndKid + `[[user]]
name = "bob"
restrict = true
[user.quota]
camera = 1
`

// towerA and aliceAndKid are entries of handWritten, with their comments.
const (
	towerA = `# Tower A: the whole building.
[[group]]
path = 'tower-a'      # a literal string
restrict = true
# only two cameras for now
quota = { camera = 2 }

[[group]]
path = "tower-a/floor-1"

`
	aliceAndKid = `[[user]]
name = "alice"   # the manager
groups = ["tower-a",
  # a comment inside an array
  "tower-a/floor-1"]

# alice's child
[[user]]
name = "kid"
created_by = "alice"

`
)

// usersOnly is a file with users and no groups.
const usersOnly = `version = 1
id = "site-42"
organization = "Acme"
[need]
camera = 4
[[server]]
name = "nvr-1"

# The users.

[[user]]
name = "alice"
`

func TestEditTree(t *testing.T) {
	// A literal multi-line string with a header in it, and a basic one
	// that opens in it.
	literal := strings.Replace(handWritten, "\"\"\"Acme\n[[group]]\npath = \"not a group\"\n\"\"\"", "'''Acme\n[[user]]\nx = \"\"\"\n'''", 1)
	literal = strings.Replace(literal, `remind_days = 5`, "remind_days = 5\nremind_every = '''once'''", 1)
	tests := []struct {
		name string
		in   string
		edit func(t *tree.Tree) error
		want string
	}{
		{
			name: "nothing changes",
			in:   handWritten,
			edit: func(*tree.Tree) error { return nil },
			want: handWritten,
		},
		{
			name: "user pause rewrites only that user",
			in:   handWritten,
			edit: func(t *tree.Tree) error { t.Users[t.UserIndex("kid")].Paused = true; return nil },
			want: strings.Replace(handWritten, "name = \"kid\"\ncreated_by = \"alice\"\n", "name = \"kid\"\ncreated_by = \"alice\"\npaused = true\n", 1),
		},
		{
			name: "group set keeps the comment above it",
			in:   handWritten,
			edit: func(t *tree.Tree) error { t.Groups[0].Quota = map[string]int{"camera": 3}; return nil },
			want: strings.Replace(handWritten, "[[group]]\npath = 'tower-a'      # a literal string\nrestrict = true\n# only two cameras for now\nquota = { camera = 2 }\n",
				"[[group]]\npath = \"tower-a\"\nrestrict = true\n[group.quota]\ncamera = 3\n", 1),
		},
		{
			name: "group add goes after the last group",
			in:   handWritten,
			edit: func(t *tree.Tree) error { return t.AddGroup(tree.Group{Path: "tower-a/floor-2"}) },
			want: strings.Replace(handWritten, "remind_days = 5\n", "remind_days = 5\n\n[[group]]\npath = \"tower-a/floor-2\"\n", 1),
		},
		{
			name: "user add goes after the last user",
			in:   handWritten,
			edit: func(t *tree.Tree) error { return t.AddUser(tree.User{Name: "carl", Groups: []string{"tower-b"}}) },
			want: handWritten + "\n[[user]]\nname = \"carl\"\ngroups = [\"tower-b\"]\n",
		},
		{
			name: "user remove takes its sub-users and their comments",
			in:   handWritten,
			edit: func(t *tree.Tree) error { _, err := t.RemoveUser("alice"); return err },
			want: strings.Replace(handWritten, aliceAndKid, "", 1),
		},
		{
			name: "a comment right below an entry goes with it",
			in:   strings.Replace(handWritten, "created_by = \"alice\"\n", "created_by = \"alice\"\n# kid's own comment\n", 1),
			edit: func(t *tree.Tree) error { _, err := t.RemoveUser("kid"); return err },
			want: strings.Replace(handWritten, "# alice's child\n[[user]]\nname = \"kid\"\ncreated_by = \"alice\"\n\n", "", 1),
		},
		{
			name: "the last user removed",
			in:   handWritten,
			edit: func(t *tree.Tree) error { _, err := t.RemoveUser("bob"); return err },
			want: strings.TrimSuffix(handWritten, "\n[[user]]\nname = \"bob\"\nrestrict = true\n[user.quota]\ncamera = 1\n"),
		},
		{
			name: "group remove, recursive",
			in:   handWritten,
			edit: func(t *tree.Tree) error { _, _, err := t.RemoveGroup("tower-a", true); return err },
			want: strings.Replace(strings.Replace(handWritten, towerA, "", 1), aliceAndKid, "", 1),
		},
		{
			name: "a first group goes above the users",
			in:   usersOnly,
			edit: func(t *tree.Tree) error { return t.AddGroup(tree.Group{Path: "annex"}) },
			want: strings.Replace(usersOnly, "name = \"nvr-1\"\n", "name = \"nvr-1\"\n\n[[group]]\npath = \"annex\"\n", 1),
		},
		{
			name: "multi-line literal strings",
			in:   literal,
			edit: func(t *tree.Tree) error { return t.AddUser(tree.User{Name: "carl"}) },
			want: literal + "\n[[user]]\nname = \"carl\"\n",
		},
		{
			name: "CRLF stays CRLF",
			in:   crlf(handWritten),
			edit: func(t *tree.Tree) error {
				t.Users[t.UserIndex("bob")].Paused = true
				return t.AddUser(tree.User{Name: "carl"})
			},
			want: crlf(strings.Replace(handWritten, "name = \"bob\"\n", "name = \"bob\"\npaused = true\n", 1) + "\n[[user]]\nname = \"carl\"\n"),
		},
		{
			name: "no newline at the end: user add",
			in:   strings.TrimSuffix(handWritten, "\n"),
			edit: func(t *tree.Tree) error { return t.AddUser(tree.User{Name: "carl"}) },
			want: handWritten + "\n[[user]]\nname = \"carl\"",
		},
		{
			name: "no newline at the end: the last user changed",
			in:   strings.TrimSuffix(handWritten, "\n"),
			edit: func(t *tree.Tree) error { t.Users[t.UserIndex("bob")].Paused = true; return nil },
			want: strings.Replace(handWritten, "name = \"bob\"\n", "name = \"bob\"\npaused = true\n", 1)[:len(handWritten)+len("paused = true\n")-1],
		},
	}
	cat := catalog.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := system.Parse("site.system.toml", []byte(tt.in), cat)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.edit(&s.Tree); err != nil {
				t.Fatal(err)
			}
			if err := s.Check(cat); err != nil {
				t.Fatal(err)
			}
			got, err := system.EditTree("site.system.toml", []byte(tt.in), s, cat)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// A file whose tree is not written as [[group]] and [[user]] tables is not
// edited in place: EditTree says why, and the caller rewrites it.
func TestEditTreeLayouts(t *testing.T) {
	const head = "version = 1\nid = \"s\"\norganization = \"o\"\n[need]\ncamera = 4\n[[server]]\nname = \"x\"\n"
	tests := []struct{ name, in string }{
		{"inline array", "group = [{path = \"a\"}]\n" + head},
		{"subtable apart", head + "[[group]]\npath = \"a\"\nrestrict = true\n[[server]]\nname = \"y\"\n[group.quota]\ncamera = 1\n"},
		{"escaped header", head + "[[\"gr\\u006fup\"]]\npath = \"a\"\n"},
		{"a key in another case", head + "[[group]]\nPath = \"a\"\n"},
	}
	cat := catalog.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := system.Parse("s.system.toml", []byte(tt.in), cat)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Tree.AddGroup(tree.Group{Path: "b"}); err != nil {
				t.Fatal(err)
			}
			out, err := system.EditTree("s.system.toml", []byte(tt.in), s, cat)
			var le *system.LayoutError
			if !errors.As(err, &le) || out != nil {
				t.Fatalf("EditTree = %q, %v; want a *LayoutError", out, err)
			}
		})
	}
}

// A change outside the tree is not one EditTree makes: it refuses rather
// than write a file that reads as another system.
func TestEditTreeChecks(t *testing.T) {
	cat := catalog.Default()
	s, err := system.Parse("site.system.toml", []byte(handWritten), cat)
	if err != nil {
		t.Fatal(err)
	}
	s.Need["camera"] = 5
	out, err := system.EditTree("site.system.toml", []byte(handWritten), s, cat)
	var le *system.LayoutError
	if !errors.As(err, &le) || out != nil {
		t.Fatalf("EditTree = %q, %v; want a *LayoutError", out, err)
	}
	// And the file given must be one that reads.
	if _, err := system.EditTree("x.system.toml", []byte("version = 2\n"), s, cat); err == nil || errors.As(err, &le) {
		t.Fatalf("a broken file: %v", err)
	}
}
