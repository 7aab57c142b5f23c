package gitwallet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// git's commit and tree objects, encoded and decoded here rather than with
// go-git's plumbing/object: that package links an OpenPGP implementation
// (for GPG-signed commits, which a wallet never makes) whose package
// initialisation every run of allot, `allot verify` included, would pay.
// Storage (loose objects, packs, refs, the index) is go-git's.

// person is an author or committer.
type person struct {
	Name, Email string
	When        time.Time
}

func (p person) encode() string {
	_, off := p.When.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%s <%s> %d %c%02d%02d", p.Name, p.Email, p.When.Unix(), sign, off/3600, off%3600/60)
}

func parsePerson(s string) (person, error) {
	i, j := strings.LastIndex(s, "<"), strings.LastIndex(s, ">")
	if i < 0 || j < i {
		return person{}, errors.New("malformed author")
	}
	p := person{Name: strings.TrimSpace(s[:i]), Email: s[i+1 : j]}
	f := strings.Fields(s[j+1:])
	if len(f) != 2 {
		return person{}, errors.New("malformed author time")
	}
	sec, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return person{}, err
	}
	tz, err := strconv.Atoi(f[1])
	if err != nil {
		return person{}, err
	}
	off := (tz/100*3600 + tz%100*60)
	p.When = time.Unix(sec, 0).In(time.FixedZone("", off))
	return p, nil
}

// commit is a git commit object.
type commit struct {
	Hash      plumbing.Hash
	Tree      plumbing.Hash
	Parents   []plumbing.Hash
	Author    person
	Committer person
	Message   string
	Signature string // the gpgsig header: an armored SSHSIG, or ""
	payload   []byte // the object without its gpgsig header: what is signed
}

// encode returns the commit's object content, with its signature if sig.
func (c *commit) encode(sig bool) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "tree %s\n", c.Tree)
	for _, p := range c.Parents {
		fmt.Fprintf(&b, "parent %s\n", p)
	}
	fmt.Fprintf(&b, "author %s\ncommitter %s\n", c.Author.encode(), c.Committer.encode())
	if sig && c.Signature != "" {
		b.WriteString("gpgsig " + strings.ReplaceAll(strings.TrimSuffix(c.Signature, "\n"), "\n", "\n ") + "\n")
	}
	b.WriteString("\n" + c.Message)
	return b.Bytes()
}

// parseCommit reads a commit object's content.
func parseCommit(h plumbing.Hash, data []byte) (*commit, error) {
	c := &commit{Hash: h}
	var payload bytes.Buffer
	rest := data
	inSig := false
	var sig strings.Builder
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return nil, fmt.Errorf("commit %s: malformed", h)
		}
		line := string(rest[:i])
		raw := rest[:i+1]
		rest = rest[i+1:]
		if line == "" {
			payload.Write(raw)
			c.Message = string(rest)
			payload.Write(rest)
			break
		}
		if inSig && strings.HasPrefix(line, " ") {
			sig.WriteString(line[1:] + "\n")
			continue
		}
		inSig = false
		key, val, _ := strings.Cut(line, " ")
		var err error
		switch key {
		case "tree":
			c.Tree, err = parseHash(val)
		case "parent":
			var p plumbing.Hash
			p, err = parseHash(val)
			c.Parents = append(c.Parents, p)
		case "author":
			c.Author, err = parsePerson(val)
		case "committer":
			c.Committer, err = parsePerson(val)
		case "gpgsig":
			inSig = true
			sig.WriteString(val + "\n")
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("commit %s: %s: %v", h, key, err)
		}
		payload.Write(raw)
	}
	c.Signature = sig.String()
	c.payload = payload.Bytes()
	return c, nil
}

func parseHash(s string) (plumbing.Hash, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 20 {
		return plumbing.ZeroHash, fmt.Errorf("%q is not an object id", s)
	}
	var h plumbing.Hash
	copy(h[:], b)
	return h, nil
}

// treeEntry is one entry of a tree object.
type treeEntry struct {
	Mode string // "100644", "40000", …
	Name string
	Hash plumbing.Hash
}

func (e treeEntry) isTree() bool { return e.Mode == "40000" }

// encodeTree returns a tree object's content, its entries in git's order:
// by name, a tree's name compared as if it ended in "/".
func encodeTree(entries []treeEntry) []byte {
	key := func(e treeEntry) string {
		if e.isTree() {
			return e.Name + "/"
		}
		return e.Name
	}
	es := slices.Clone(entries)
	slices.SortFunc(es, func(a, b treeEntry) int { return strings.Compare(key(a), key(b)) })
	var b bytes.Buffer
	for _, e := range es {
		b.WriteString(e.Mode + " " + e.Name + "\x00")
		b.Write(e.Hash[:])
	}
	return b.Bytes()
}

func parseTree(h plumbing.Hash, data []byte) ([]treeEntry, error) {
	var es []treeEntry
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		nul := bytes.IndexByte(data, 0)
		if sp < 0 || nul < sp || len(data) < nul+21 {
			return nil, fmt.Errorf("tree %s: malformed", h)
		}
		var e treeEntry
		e.Mode, e.Name = string(data[:sp]), string(data[sp+1:nul])
		copy(e.Hash[:], data[nul+1:nul+21])
		es = append(es, e)
		data = data[nul+21:]
	}
	return es, nil
}

// read returns an object's content, checking its type.
func (r *Repo) read(typ plumbing.ObjectType, h plumbing.Hash) ([]byte, error) {
	o, err := r.st.EncodedObject(typ, h)
	if err != nil {
		return nil, fmt.Errorf("%s: object %s: %w", r.GitDir, h, err)
	}
	rd, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// Commit returns a commit.
func (r *Repo) commitAt(h plumbing.Hash) (*commit, error) {
	data, err := r.read(plumbing.CommitObject, h)
	if err != nil {
		return nil, err
	}
	return parseCommit(h, data)
}

func (r *Repo) tree(h plumbing.Hash) ([]treeEntry, error) {
	data, err := r.read(plumbing.TreeObject, h)
	if err != nil {
		return nil, err
	}
	return parseTree(h, data)
}

// ancestors walks the commits reachable from head, head first, each once,
// first parents before the others, stopping at (and leaving out) stop.
func (r *Repo) ancestors(head plumbing.Hash, stop map[plumbing.Hash]bool, fn func(c *commit) error) error {
	seen := map[plumbing.Hash]bool{}
	stack := []plumbing.Hash{head}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[h] || stop[h] {
			continue
		}
		seen[h] = true
		c, err := r.commitAt(h)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
		for i := len(c.Parents) - 1; i >= 0; i-- {
			stack = append(stack, c.Parents[i])
		}
	}
	return nil
}

// mergeBase returns the best common ancestor of a and b: a common ancestor
// that is no ancestor of another one; the zero hash if there is none.
func (r *Repo) mergeBase(a, b plumbing.Hash) (plumbing.Hash, error) {
	ofA := map[plumbing.Hash]bool{}
	if err := r.ancestors(a, nil, func(c *commit) error { ofA[c.Hash] = true; return nil }); err != nil {
		return plumbing.ZeroHash, err
	}
	// The common ancestors reached first from b, not walking past them.
	var common []plumbing.Hash
	seen := map[plumbing.Hash]bool{}
	stack := []plumbing.Hash{b}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[h] {
			continue
		}
		seen[h] = true
		if ofA[h] {
			common = append(common, h)
			continue
		}
		c, err := r.commitAt(h)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		stack = append(stack, c.Parents...)
	}
	// Drop a candidate that is an ancestor of another.
	for _, h := range common {
		best := true
		for _, o := range common {
			if o == h {
				continue
			}
			found := false
			r.ancestors(o, nil, func(c *commit) error {
				if c.Hash == h {
					found = true
					return errStop
				}
				return nil
			})
			if found {
				best = false
				break
			}
		}
		if best {
			return h, nil
		}
	}
	return plumbing.ZeroHash, nil
}

var errStop = errors.New("stop")
