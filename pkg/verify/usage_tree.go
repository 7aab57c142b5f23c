package verify

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/tomlfile"
	"allot.dev/allot/pkg/tree"
)

// maxNodeLines bounds the nodes block of a usage file: every node of the
// largest tree a bundle carries.
const maxNodeLines = 20_000

// UserPrefix starts a user's line in a usage file's nodes block:
// "user:alice mobile-app=1".
const UserPrefix = "user:"

// parseNodes reads a usage file's nodes block: what each node of the quota
// tree uses, one node a line,
//
//	tower-a/floor-1/apt-001 sip-number=1 mobile-app=1 +remote-door-opening
//	user:alice mobile-app=1
//
// a group's path or "user:" and a user's name, then TYPE=N counts and
// +FEATURE features in use, separated by blanks. Blank lines and lines
// starting with '#' are skipped. It returns the usage and, on error, the
// 1-based line of the block.
func parseNodes(block string) (*tree.Usage, int, error) {
	// A first pass counts the groups' and users' lines, so that the maps
	// and arrays are made once, at their size.
	groups, users := 0, 0
	for rest := block; len(rest) > 0; {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#':
		case strings.HasPrefix(line, UserPrefix):
			users++
		default:
			groups++
		}
		if groups+users > maxNodeLines {
			break
		}
	}
	u := &tree.Usage{Groups: make(map[string]*tree.Use, min(groups, maxNodeLines)), Users: make(map[string]*tree.Use, min(users, maxNodeLines))}
	uses := make([]tree.Use, 0, min(groups+users, maxNodeLines))
	var counts tree.Counts   // the nodes' counts, in one array for all
	var f []string           // the fields of a line, in one array for all
	var seen map[string]bool // a long line's types
	n, lines := 0, 0
	for rest := block; len(rest) > 0; {
		n++
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		if len(line) > maxNodeLine {
			return nil, n, fmt.Errorf("longer than %d bytes", maxNodeLine)
		}
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if lines++; lines > maxNodeLines {
			return nil, n, fmt.Errorf("more than %d nodes", maxNodeLines)
		}
		f = fields(line, f[:0])
		uses = append(uses, tree.Use{})
		use := &uses[len(uses)-1]
		if name, ok := strings.CutPrefix(f[0], UserPrefix); ok {
			if err := tree.ValidUser(name); err != nil {
				return nil, n, fmt.Errorf("user: %v", err)
			}
			if u.Users[name] != nil {
				return nil, n, fmt.Errorf("user %s is listed twice", name)
			}
			u.Users[name] = use
		} else {
			if err := tree.ValidPath(f[0]); err != nil {
				return nil, n, fmt.Errorf("group: %v", err)
			}
			if u.Groups[f[0]] != nil {
				return nil, n, fmt.Errorf("group %s is listed twice", f[0])
			}
			u.Groups[f[0]] = use
		}
		start := len(counts)
		clear(seen)
		for _, item := range f[1:] {
			if feat, ok := strings.CutPrefix(item, "+"); ok {
				if err := licensekey.ValidName(feat); err != nil {
					return nil, n, fmt.Errorf("feature: %v", err)
				}
				use.Features = append(use.Features, feat)
				continue
			}
			t, num, ok := strings.Cut(item, "=")
			if !ok {
				return nil, n, fmt.Errorf("%q: want TYPE=N or +FEATURE", item)
			}
			if err := licensekey.ValidName(t); err != nil {
				return nil, n, fmt.Errorf("license type: %v", err)
			}
			c, ok := plainCount(num)
			if !ok {
				return nil, n, fmt.Errorf("%s=%s: want a count between 0 and %d", t, num, maxCount)
			}
			// A line names a few types, looked for one by one; past
			// scanTypes, in a map, so that a line of hundreds of types
			// costs no more than its length.
			dup := false
			if mine := counts[start:]; len(mine) < scanTypes {
				_, dup = mine.Get(t)
			} else {
				if seen == nil {
					seen = map[string]bool{}
				}
				if len(seen) == 0 {
					for _, c := range mine {
						seen[c.License] = true
					}
				}
				dup = seen[t]
				seen[t] = true
			}
			if dup {
				return nil, n, fmt.Errorf("%s is given twice", t)
			}
			if len(counts) == cap(counts) {
				// A new piece, with this node's counts so far.
				more := make(tree.Counts, 0, max(1024, 2*(len(counts)-start)))
				counts, start = append(more, counts[start:]...), 0
			}
			counts = append(counts, tree.Count{License: t, N: int64(c)})
		}
		if len(counts) > start {
			use.Used = counts[start:len(counts):len(counts)]
		}
	}
	return u, 0, nil
}

// scanTypes is how many license types of a line parseNodes compares a
// new one with one by one; past them, it looks types up in a map.
const scanTypes = 16

// maxNodeLine bounds a line of a nodes block.
const maxNodeLine = 4096

// fields returns strings.Fields(line), appended to f: without an
// allocation for a line of ASCII.
func fields(line string, f []string) []string {
	for i := 0; i < len(line); i++ {
		if line[i] >= utf8.RuneSelf {
			return append(f, strings.Fields(line)...)
		}
	}
	for i := 0; i < len(line); {
		for i < len(line) && asciiSpace(line[i]) {
			i++
		}
		start := i
		for i < len(line) && !asciiSpace(line[i]) {
			i++
		}
		if i > start {
			f = append(f, line[start:i])
		}
	}
	return f
}

// asciiSpace reports whether c is white space to strings.Fields.
func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// plainCount reads a count as written, 0 or digits without a leading 0, of
// at most maxCount: what strconv.Itoa writes of a count in range.
func plainCount(num string) (int, bool) {
	// 18 digits cannot overflow; maxCount decides.
	if num == "" || len(num) > 18 || len(num) > 1 && num[0] == '0' {
		return 0, false
	}
	var c int64
	for i := 0; i < len(num); i++ {
		if num[i] < '0' || num[i] > '9' {
			return 0, false
		}
		c = c*10 + int64(num[i]-'0')
	}
	return int(c), c <= maxCount
}

// checkNodes parses the nodes block of a usage file into u.Tree, with
// errors on the file's line.
func (u *Usage) checkNodes(name string, data []byte) error {
	if u.Nodes == "" {
		return nil
	}
	t, n, err := parseNodes(u.Nodes)
	if err != nil {
		return &tomlfile.Error{File: name, Line: blockLine(data, "nodes", n), Field: "nodes", Err: err}
	}
	u.Tree = t
	return nil
}

// blockLine maps line n of a multi-line string block to a line of the
// file: TOML drops a newline right after the opening delimiter.
func blockLine(data []byte, key string, n int) int {
	k := tomlfile.Line(data, key)
	if k == 0 {
		return 0
	}
	lines := bytes.SplitN(data, []byte("\n"), k+1)
	_, value, _ := bytes.Cut(lines[k-1], []byte("="))
	value = bytes.TrimSpace(value)
	if string(value) == `"""` || string(value) == `'''` {
		return k + n
	}
	return k + n - 1
}
