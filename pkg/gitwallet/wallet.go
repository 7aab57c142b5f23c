package gitwallet

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"

	"allot.dev/allot/pkg/atomicfile"
	"allot.dev/allot/pkg/crashpoint"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/wallet"
)

// Hooks returns the hooks that make every change to the git wallet at path
// one commit signed by key, authored by author (package wallet's
// UpdateHooked calls them under the wallet's lock).
func Hooks(path string, key ed25519.PrivateKey, author Author) (wallet.Hooks, error) {
	r, err := Open(wallet.GitDir(path))
	if err != nil {
		return wallet.Hooks{}, err
	}
	if err := r.exclude(); err != nil {
		return wallet.Hooks{}, err
	}
	catch := func(w *wallet.Wallet) error {
		_, err := r.CatchUp(path, w, key, author)
		return err
	}
	return wallet.Hooks{Before: catch, After: catch}, nil
}

// CatchUp commits every record of w (the wallet file at path) that the
// branch does not hold yet, one commit each, with the record's author
// and time, and returns how many it made. The caller holds the wallet's
// lock.
func (r *Repo) CatchUp(path string, w *wallet.Wallet, key ed25519.PrivateKey, author Author) (int, error) {
	if !w.PublicKey.Key.Equal(publicOf(key)) {
		return 0, fmt.Errorf("%s: %w: the key given is not the wallet's", path, ErrUnsigned)
	}
	head, err := r.Head()
	if err != nil {
		return 0, err
	}
	name := filepath.Base(path)
	data, ends := w.Bytes(), w.RecordEnds()
	from := 0
	if !head.IsZero() {
		committed, err := r.entry(head, name)
		if err != nil {
			return 0, err
		}
		if !committed.IsZero() {
			if committed == blobHash(data) {
				return 0, nil
			}
			from = -1
			for i := len(ends) - 2; i >= 0; i-- {
				if blobHash(data[:ends[i]]) == committed {
					from = i + 1
					break
				}
			}
			if from < 0 {
				return 0, fmt.Errorf("%s: %w: the file is not its last commit (%s) followed by new records; was it edited, or the branch moved by hand?",
					path, ErrDiverged, short(head))
			}
		}
	}
	parent := head
	var objs []plumbing.Hash
	var blob plumbing.Hash
	for i := from; i < len(ends); i++ {
		if blob, err = r.put(plumbing.BlobObject, data[:ends[i]]); err != nil {
			return 0, err
		}
		tree, err := r.treeWith(parent, name, blob)
		if err != nil {
			return 0, err
		}
		ev := w.History[i]
		a := Author{Name: ev.Who}
		if ev.Who == author.Name {
			a.Email = author.Email
		}
		c, err := r.commit(tree, parents(parent), a, ev.Time, ev.Op+": "+ev.Note+"\n", key)
		if err != nil {
			return 0, err
		}
		objs = append(objs, blob, tree, c)
		parent = c
	}
	crashpoint.Here(crashpoint.CommitWritten)
	if err := r.syncObjects(objs...); err != nil {
		return 0, err
	}
	b, err := r.branch()
	if err != nil {
		return 0, err
	}
	if err := r.setRef(b, parent); err != nil {
		return 0, err
	}
	crashpoint.Here(crashpoint.Committed)
	return len(ends) - from, r.updateIndex(path, blob)
}

// entriesAt returns the entries of commit h's tree.
func (r *Repo) entriesAt(h plumbing.Hash) ([]treeEntry, error) {
	c, err := r.commitAt(h)
	if err != nil {
		return nil, err
	}
	return r.tree(c.Tree)
}

// entry returns the blob id of name in commit h's tree, or the zero hash.
func (r *Repo) entry(h plumbing.Hash, name string) (plumbing.Hash, error) {
	if h.IsZero() {
		return plumbing.ZeroHash, nil
	}
	es, err := r.entriesAt(h)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	for _, e := range es {
		if e.Name == name {
			return e.Hash, nil
		}
	}
	return plumbing.ZeroHash, nil
}

func parents(h plumbing.Hash) []plumbing.Hash {
	if h.IsZero() {
		return nil
	}
	return []plumbing.Hash{h}
}

// Init creates a git wallet in the new folder dir: a repository, the
// wallet file, and its first commit.
func Init(dir string, p wallet.InitParams, key ed25519.PrivateKey, author Author) (*wallet.Wallet, error) {
	if err := newFolder(dir); err != nil {
		return nil, err
	}
	r, err := Create(filepath.Join(dir, ".git"), false)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	w, err := wallet.Init(path, p)
	if err != nil {
		return nil, err
	}
	err = wallet.Lock(path, func() error {
		_, err := r.CatchUp(path, w, key, author)
		return err
	})
	return w, err
}

// newFolder makes dir, which must not exist or be an empty folder.
func newFolder(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("%s: %w: the folder is not empty", dir, wallet.ErrExists)
	}
	return nil
}

// Migrate turns the single-file wallet at src into a git wallet in the new
// folder dir, every record of its history one commit with the record's
// author and time, signed by key. src is left as it was. It returns the
// new wallet and how many commits it made.
func Migrate(src, dir string, key ed25519.PrivateKey, author Author) (*wallet.Wallet, int, error) {
	w, err := wallet.Open(src)
	if err != nil {
		return nil, 0, err
	}
	if wallet.GitDir(src) != "" {
		return nil, 0, errclass.Wrap(errclass.Input, fmt.Errorf("%s: %w already", src, wallet.ErrGitWallet))
	}
	if !w.PublicKey.Key.Equal(publicOf(key)) {
		return nil, 0, fmt.Errorf("%s: %w: the key given is not the wallet's", src, ErrUnsigned)
	}
	if err := newFolder(dir); err != nil {
		return nil, 0, err
	}
	r, err := Create(filepath.Join(dir, ".git"), false)
	if err != nil {
		return nil, 0, err
	}
	path := filepath.Join(dir, FileName)
	if err := atomicfile.Create(path, w.Bytes(), wallet.FileMode); err != nil {
		return nil, 0, err
	}
	n := 0
	err = wallet.Lock(path, func() error {
		moved, err := wallet.Open(path)
		if err != nil {
			return err
		}
		n, err = r.CatchUp(path, moved, key, author)
		w = moved
		return err
	})
	return w, n, err
}

// Status is what Check found.
type Status struct {
	Head    string // the branch's last commit
	Commits int    // commits on the branch, every one signed by the wallet's key
	Pending int    // records of the file not committed yet (a change was killed)
}

// Check verifies the git wallet at path, whose file reads as w: every
// commit of the branch is signed by the wallet's key, and the file is the
// last commit's wallet followed by whole records (Pending), which the next
// change commits.
func Check(path string, w *wallet.Wallet) (*Status, error) {
	r, err := Open(wallet.GitDir(path))
	if err != nil {
		return nil, err
	}
	logs, err := r.History(w.PublicKey.Key)
	if err != nil {
		return nil, err
	}
	st := &Status{Commits: len(logs), Pending: len(w.RecordEnds())}
	for _, l := range logs {
		if l.Signed != nil {
			return nil, l.Signed
		}
	}
	if len(logs) == 0 {
		return st, nil
	}
	st.Head = logs[0].Hash
	committed, err := r.entry(plumbing.NewHash(st.Head), filepath.Base(path))
	if err != nil || committed.IsZero() {
		return st, err
	}
	data, ends := w.Bytes(), w.RecordEnds()
	for i := len(ends) - 1; i >= 0; i-- {
		if blobHash(data[:ends[i]]) == committed {
			st.Pending = len(ends) - 1 - i
			return st, nil
		}
	}
	return nil, fmt.Errorf("%s: %w: the file is not its last commit (%s) followed by new records", path, ErrDiverged, short(plumbing.NewHash(st.Head)))
}
