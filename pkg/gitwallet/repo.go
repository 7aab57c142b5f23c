// Package gitwallet keeps a wallet's history in git: the wallet's folder is
// a git repository, and every change to the wallet file is one commit,
// signed by the wallet's key in git's SSH signature format (SSHSIG,
// namespace "git"), so that stock `git log` shows who did what when and
// `git verify-commit` with an allowed-signers file accepts every commit. It
// also migrates a single-file wallet into a git wallet, its history kept as
// commits, and syncs two copies of a wallet through a bare repository (a
// folder, or a URL) with a ledger merge (wallet.Merge).
//
// The wallet file stays the source of truth and the commit follows it:
// under the wallet's lock a change replaces the file atomically (package
// wallet), then writes the commit's objects, syncs them, and moves the
// branch with an atomic rename of its ref file. A process killed between
// the two leaves a file one record ahead of its last commit; the next
// change, under the same lock, commits that record first (Hooks.Before),
// with the record's own author and time. The last commit is never damaged.
//
// It uses go-git's storage (storage/filesystem) and, to sync with a git
// server, its transports (ssh, http), not its porcelain or object model
// (plumbing/object), whose package initialisation every run of allot —
// `allot verify` included — would pay.
package gitwallet

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"allot.dev/allot/pkg/atomicfile"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/sign"
)

// FileName is the wallet file's name in a git wallet's folder.
const FileName = "allot.wallet"

// Branch is the branch a new git wallet commits to.
const Branch = "main"

// Namespace is the SSHSIG namespace of git's SSH commit signatures.
const Namespace = "git"

var (
	// ErrDiverged: the wallet file is not its last commit plus whole
	// records (edited by hand, or the history rewritten).
	ErrDiverged = errclass.Sentinel(errclass.Input, "the wallet file and its git history disagree")
	// ErrUnsigned: a commit is not signed by the wallet's key.
	ErrUnsigned = errclass.Sentinel(errclass.Trust, "not signed by the wallet's key")
)

// Author is who makes a change: a git author's name and e-mail.
type Author struct {
	Name  string
	Email string
}

// ParseAuthor reads "Name <email>" or a bare name.
func ParseAuthor(s string) Author {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "<"); i >= 0 && strings.HasSuffix(s, ">") {
		return Author{Name: strings.TrimSpace(s[:i]), Email: s[i+1 : len(s)-1]}
	}
	return Author{Name: s}
}

// GitUser returns git's user.name and user.email for the repository at
// gitDir (its config, then the user's and the system's), or empty strings.
func GitUser(gitDir string) Author {
	var a Author
	if gitDir != "" {
		if data, err := os.ReadFile(filepath.Join(gitDir, "config")); err == nil {
			if c, err := gitconfig.ReadConfig(bytes.NewReader(data)); err == nil {
				a = Author{Name: c.User.Name, Email: c.User.Email}
			}
		}
	}
	for _, scope := range []gitconfig.Scope{gitconfig.GlobalScope, gitconfig.SystemScope} {
		if a.Name != "" && a.Email != "" {
			break
		}
		c, err := gitconfig.LoadConfig(scope)
		if err != nil {
			continue
		}
		if a.Name == "" {
			a.Name = c.User.Name
		}
		if a.Email == "" {
			a.Email = c.User.Email
		}
	}
	return a
}

// Repo is the repository of a git wallet, or a bare repository that
// carries one between installers.
type Repo struct {
	GitDir string
	st     *filesystem.Storage
	under  *Repo // a quarantine's: objects not here are read from there
}

// Open opens the repository whose git directory is gitDir.
func Open(gitDir string) (*Repo, error) {
	if _, err := os.Stat(filepath.Join(gitDir, "HEAD")); err != nil {
		return nil, fmt.Errorf("%s: not a git repository: %w", gitDir, err)
	}
	return &Repo{GitDir: gitDir, st: filesystem.NewStorage(osfs.New(gitDir), cache.NewObjectLRUDefault())}, nil
}

// Create makes a new repository at gitDir (bare: gitDir is the whole
// repository; else it is the .git of a work tree), its HEAD on Branch.
func Create(gitDir string, bare bool) (*Repo, error) {
	if err := os.MkdirAll(gitDir, 0o755); err != nil {
		return nil, err
	}
	st := filesystem.NewStorage(osfs.New(gitDir), cache.NewObjectLRUDefault())
	if err := st.Init(); err != nil {
		return nil, err
	}
	cfg := gitconfig.NewConfig()
	cfg.Core.IsBare = bare
	if err := st.SetConfig(cfg); err != nil {
		return nil, err
	}
	r := &Repo{GitDir: gitDir, st: st}
	if !bare {
		if err := r.exclude(); err != nil {
			return nil, err
		}
	}
	// HEAD last: a folder without it is not yet a repository.
	if err := atomicfile.Replace(filepath.Join(gitDir, "HEAD"), []byte("ref: refs/heads/"+Branch+"\n"), 0o644); err != nil {
		return nil, err
	}
	return r, nil
}

// exclude keeps the wallet's lock and a killed writer's temporary files
// out of `git status` (info/exclude, added to once: a clone made with
// stock git has none of it).
func (r *Repo) exclude() error {
	p := filepath.Join(r.GitDir, "info", "exclude")
	data, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if bytes.Contains(data, []byte("\n*.lock\n")) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	data = append(data, "# allot: the wallet's lock and temporary files\n*.lock\n.allot-tmp-*\n"...)
	return atomicfile.Replace(p, data, 0o644)
}

// branch returns the ref HEAD points to.
func (r *Repo) branch() (plumbing.ReferenceName, error) {
	data, err := os.ReadFile(filepath.Join(r.GitDir, "HEAD"))
	if err != nil {
		return "", err
	}
	name, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "ref: ")
	if !ok {
		return "", fmt.Errorf("%s: HEAD is detached; check out a branch first", r.GitDir)
	}
	return plumbing.ReferenceName(name), nil
}

// Head returns the commit HEAD's branch points to, or the zero hash on a
// branch without commits.
func (r *Repo) Head() (plumbing.Hash, error) {
	b, err := r.branch()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return r.ref(b)
}

func (r *Repo) ref(name plumbing.ReferenceName) (plumbing.Hash, error) {
	ref, err := r.st.Reference(name)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return ref.Hash(), nil
}

// setRef moves a branch: a new loose ref file, renamed into place, so a
// crash leaves the old value or the new, never an empty ref (go-git's
// own writer truncates the file first).
func (r *Repo) setRef(name plumbing.ReferenceName, h plumbing.Hash) error {
	p := filepath.Join(r.GitDir, filepath.FromSlash(name.String()))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return atomicfile.Replace(p, []byte(h.String()+"\n"), 0o644)
}

// fileAt returns the content of name in commit h's tree, or nil.
func (r *Repo) fileAt(h plumbing.Hash, name string) ([]byte, plumbing.Hash, error) {
	e, err := r.entry(h, name)
	if err != nil || e.IsZero() {
		return nil, e, err
	}
	data, err := r.read(plumbing.BlobObject, e)
	return data, e, err
}

// blobHash is git's object id of a blob with data, computed with the
// standard library's SHA-1 (faster than go-git's collision-detecting one
// on a wallet of a hundred thousand keys).
func blobHash(data []byte) plumbing.Hash {
	h := sha1.New()
	h.Write([]byte("blob " + strconv.Itoa(len(data)) + "\x00"))
	h.Write(data)
	var out plumbing.Hash
	copy(out[:], h.Sum(nil))
	return out
}

// put writes an object and returns its id; the written files are synced
// by syncObjects.
func (r *Repo) put(typ plumbing.ObjectType, data []byte) (plumbing.Hash, error) {
	o := r.st.NewEncodedObject()
	o.SetType(typ)
	o.SetSize(int64(len(data)))
	w, err := o.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	if r.st.HasEncodedObject(o.Hash()) == nil {
		return o.Hash(), nil
	}
	return r.st.SetEncodedObject(o)
}

// syncObjects makes written loose objects durable before a ref names
// them: go-git renames each into place but does not fsync it.
func (r *Repo) syncObjects(hs ...plumbing.Hash) error {
	dirs := map[string]bool{}
	for _, h := range hs {
		s := h.String()
		p := filepath.Join(r.GitDir, "objects", s[:2], s[2:])
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue // in a pack already
		}
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
		dirs[filepath.Dir(p)] = true
	}
	dirs[filepath.Join(r.GitDir, "objects")] = true
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// treeWith returns the tree of commit parent with name set to blob, every
// other entry kept.
func (r *Repo) treeWith(parent plumbing.Hash, name string, blob plumbing.Hash) (plumbing.Hash, error) {
	var entries []treeEntry
	if !parent.IsZero() {
		es, err := r.entriesAt(parent)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		for _, e := range es {
			if e.Name != name {
				entries = append(entries, e)
			}
		}
	}
	entries = append(entries, treeEntry{Mode: "100644", Name: name, Hash: blob})
	return r.put(plumbing.TreeObject, encodeTree(entries))
}

// commit writes a commit signed by key and returns its id.
func (r *Repo) commit(tree plumbing.Hash, parents []plumbing.Hash, who Author, when time.Time, msg string, key ed25519.PrivateKey) (plumbing.Hash, error) {
	p := person{Name: who.Name, Email: who.Email, When: when.UTC()}
	c := &commit{Tree: tree, Parents: parents, Author: p, Committer: p, Message: msg}
	c.Signature = string(sign.SignSSH(key, Namespace, c.encode(false)))
	return r.put(plumbing.CommitObject, c.encode(true))
}

// verifyCommit checks that commit c is signed by pub in git's SSH
// signature format.
func verifyCommit(c *commit, pub ed25519.PublicKey) error {
	if c.Signature == "" {
		return fmt.Errorf("commit %s: %w: it is not signed", short(c.Hash), ErrUnsigned)
	}
	s, err := sign.ParseSignature([]byte(c.Signature))
	if err != nil {
		return fmt.Errorf("commit %s: %w: %v", short(c.Hash), ErrUnsigned, err)
	}
	if !s.PublicKey.Equal(pub) {
		return fmt.Errorf("commit %s: %w: signed by %s", short(c.Hash), ErrUnsigned, sign.IDOf(s.PublicKey))
	}
	if err := s.Verify(Namespace, c.payload); err != nil {
		return fmt.Errorf("commit %s: %w: %v", short(c.Hash), ErrUnsigned, err)
	}
	return nil
}

func short(h plumbing.Hash) string { return h.String()[:12] }

// updateIndex records the wallet file's new blob in the work tree's index,
// so that `git status` shows a clean tree. Losing it costs nothing: git
// rebuilds it from HEAD (`git reset`).
func (r *Repo) updateIndex(path string, blob plumbing.Hash) error {
	idx, err := r.st.Index()
	if err != nil {
		idx = &index.Index{Version: 2}
	}
	idx.Cache = nil // the cached trees no longer match
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	name := filepath.Base(path)
	e, err := idx.Entry(name)
	if err != nil {
		e = idx.Add(name)
	}
	e.Hash, e.Mode, e.Size, e.ModifiedAt = blob, filemode.Regular, uint32(st.Size()), st.ModTime()
	sort.Slice(idx.Entries, func(i, j int) bool { return idx.Entries[i].Name < idx.Entries[j].Name })
	var b bytes.Buffer
	if err := index.NewEncoder(&b).Encode(idx); err != nil {
		return err
	}
	// Renamed into place, not synced: an index lost to a power cut is
	// rebuilt by git, and two fsyncs are most of a commit's cost.
	p := filepath.Join(r.GitDir, "index")
	tmp := p + ".allot-tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// Log is one commit of a wallet's history.
type Log struct {
	Hash    string
	Author  Author
	When    time.Time
	Message string
	Parents int
	Signed  error // nil: signed by the wallet's key
}

// History returns the commits of HEAD's branch, newest first, each with
// its signature checked against pub.
func (r *Repo) History(pub ed25519.PublicKey) ([]Log, error) {
	h, err := r.Head()
	if err != nil || h.IsZero() {
		return nil, err
	}
	var out []Log
	err = r.ancestors(h, nil, func(c *commit) error {
		out = append(out, Log{Hash: c.Hash.String(), Author: Author{c.Author.Name, c.Author.Email}, When: c.Author.When,
			Message: strings.TrimSpace(c.Message), Parents: len(c.Parents), Signed: verifyCommit(c, pub)})
		return nil
	})
	return out, err
}

// publicOf returns the public key of a private key.
func publicOf(key ed25519.PrivateKey) ed25519.PublicKey { return key.Public().(ed25519.PublicKey) }
