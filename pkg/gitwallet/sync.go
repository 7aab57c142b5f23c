package gitwallet

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"allot.dev/allot/pkg/atomicfile"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/wallet"
)

// ErrRemote: a sync remote allot cannot use.
var ErrRemote = errclass.Sentinel(errclass.Usage, "not a remote allot syncs with")

// SyncResult says what a sync did.
type SyncResult struct {
	Action string // "created", "up to date", "pushed", "pulled", "merged"
	// Ours and Theirs count the records only that side had (a merge), or
	// the commits pulled (Theirs) or pushed (Ours).
	Ours, Theirs int
	KeysUnited   int
	Head         string
	Remote       string // the remote, as messages name it: a URL without its password
}

// Sync unites the git wallet at path with the bare repository remote: a
// folder (on a USB stick or a share; created if it does not exist), or a
// URL go-git's transports reach (ssh, http, https; access says how to
// authenticate). It pulls the remote's commits, each of which must be
// signed by the wallet's key and only add to the wallet; merges the two
// ledgers when both sides changed (wallet.Merge, a signed merge commit);
// and pushes the result, before the wallet itself moves, so that a sync
// that fails leaves the wallet as it was. A double-spend refuses the merge
// with a *wallet.DoubleSpendError naming both commits and both systems,
// and changes nothing in the wallet or the remote.
func Sync(path, remote string, access *Access, key ed25519.PrivateKey, author Author, now time.Time) (*SyncResult, error) {
	url, dir, err := parseRemote(remote)
	if err != nil {
		return nil, err
	}
	var res *SyncResult
	err = wallet.Lock(path, func() error {
		local, err := Open(wallet.GitDir(path))
		if err != nil {
			return err
		}
		if err := local.exclude(); err != nil {
			return err
		}
		w, err := wallet.Open(path)
		if err != nil {
			return err
		}
		if _, err := local.CatchUp(path, w, key, author); err != nil {
			return err
		}
		branch, err := local.branch()
		if err != nil {
			return err
		}
		var p *peer
		if url != nil {
			p, err = local.netPeer(url, access, branch)
		} else {
			p, err = folderPeer(remote, dir, branch, w.PublicKey.Key)
		}
		if err != nil {
			return err
		}
		defer p.close()
		res, err = local.sync(path, p, branch, w, key, author, now)
		return err
	})
	return res, err
}

// parseRemote tells a folder (a path or a file: URL) from a URL of a
// transport; a folder that is a work tree is refused.
func parseRemote(remote string) (*remoteURL, string, error) {
	p := strings.TrimPrefix(remote, "file://")
	if strings.Contains(p, "://") || !filepath.IsAbs(p) && !strings.HasPrefix(p, ".") && strings.Contains(strings.SplitN(p, "/", 2)[0], ":") {
		u, err := parseURL(remote)
		return u, "", err
	}
	if st, err := os.Stat(filepath.Join(p, ".git")); err == nil && st.IsDir() {
		return nil, "", fmt.Errorf("%s: %w: it is a work tree (another wallet's folder); sync both through a bare repository", remote, ErrRemote)
	}
	return nil, p, nil
}

// peer is the far end of a sync, as the one sync sees it: a bare
// repository in a folder, or a repository a URL reaches.
type peer struct {
	name    string        // what messages and commits call it (no credentials)
	objs    *Repo         // where their commits are read
	theirs  plumbing.Hash // their branch's head, zero if they have none
	created bool          // the sync made the repository
	// update makes head their branch's head, if it is still old, sending
	// the commits they lack; it returns how many it sent.
	update func(local *Repo, old, head plumbing.Hash) (int, error)
	close  func()
}

// folderPeer opens (or makes) the bare repository in dir (the remote
// name, a path or a file: URL) and locks it for the sync.
func folderPeer(name, dir string, branch plumbing.ReferenceName, pub ed25519.PublicKey) (*peer, error) {
	created := false
	if ents, err := os.ReadDir(dir); errors.Is(err, os.ErrNotExist) || err == nil && len(ents) == 0 {
		if _, err := Create(dir, true); err != nil {
			return nil, err
		}
		created = true
	}
	remote, err := Open(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRemote, err)
	}
	unlock, err := wallet.LockFile(filepath.Join(dir, "allot-sync.lock"))
	if err != nil {
		return nil, err
	}
	theirs, err := remote.ref(branch)
	if err != nil {
		unlock()
		return nil, err
	}
	return &peer{name: name, objs: remote, theirs: theirs, created: created, close: unlock,
		update: func(local *Repo, _, head plumbing.Hash) (int, error) {
			// The remote's lock is held: nobody moved its branch since.
			n, err := copyCommits(local, remote, head, pub)
			if err != nil {
				return 0, err
			}
			return n, remote.setRef(branch, head)
		}}, nil
}

func (local *Repo) sync(path string, p *peer, branch plumbing.ReferenceName, w *wallet.Wallet, key ed25519.PrivateKey, author Author, now time.Time) (*SyncResult, error) {
	pub := w.PublicKey.Key
	name := filepath.Base(path)
	ours, err := local.Head()
	if err != nil {
		return nil, err
	}
	theirs := p.theirs
	res := &SyncResult{Remote: p.name, Head: ours.String()}
	push := func(head plumbing.Hash) error {
		n, err := p.update(local, theirs, head)
		res.Ours = n
		return err
	}
	switch {
	case theirs.IsZero():
		res.Action = "pushed"
		if p.created {
			res.Action = "created"
		}
		return res, push(ours)
	case theirs == ours:
		res.Action = "up to date"
		return res, nil
	}
	// Their branch may name any object: a blob or tree the wallet holds
	// is not fetched, and would reach the history walks below.
	if _, err := p.objs.commitAt(theirs); err != nil {
		return nil, fmt.Errorf("%s: %w: their branch names %s, which is not a commit", p.name, ErrDiverged, short(theirs))
	}
	// Their commits, into our repository: each signed by the wallet's key.
	n, err := copyCommits(p.objs, local, theirs, pub)
	if err != nil {
		return nil, err
	}
	base, err := local.mergeBase(ours, theirs)
	if err != nil {
		return nil, err
	}
	if base.IsZero() {
		return nil, fmt.Errorf("%s: %w: it holds another wallet's history", p.name, ErrRemote)
	}
	switch base {
	case theirs: // we are ahead
		res.Action = "pushed"
		return res, push(ours)
	case ours: // they are ahead: take their wallet, if it only grew
		if err := local.checkLedger(path, name, ours, theirs); err != nil {
			return nil, err
		}
		data, _, err := local.fileAt(theirs, name)
		if err != nil {
			return nil, err
		}
		if _, err := wallet.Parse(path, data); err != nil {
			return nil, err
		}
		if err := local.publish(path, data, branch, theirs); err != nil {
			return nil, err
		}
		res.Action, res.Theirs, res.Head = "pulled", n, theirs.String()
		return res, nil
	}
	// Both changed: their new commits must each only add to the wallet,
	// as a pull's must, or the merge would unite a rewritten ledger.
	if err := local.checkLedger(path, name, ours, theirs); err != nil {
		return nil, err
	}
	baseData, _, err := local.fileAt(base, name)
	if err != nil {
		return nil, err
	}
	ourData, _, err := local.fileAt(ours, name)
	if err != nil {
		return nil, err
	}
	theirData, _, err := local.fileAt(theirs, name)
	if err != nil {
		return nil, err
	}
	merged, mr, err := wallet.Merge(path, baseData, ourData, theirData)
	if err != nil {
		var ds *wallet.DoubleSpendError
		if errors.As(err, &ds) {
			local.nameCommits(ds, name, base, ours, theirs)
		}
		return nil, err
	}
	blob, err := local.put(plumbing.BlobObject, merged)
	if err != nil {
		return nil, err
	}
	tree, err := local.treeWith(ours, name, blob)
	if err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("sync: merged %d record%s from %s with %d of ours", mr.Theirs, plural(mr.Theirs), p.name, mr.Ours)
	if mr.KeysUnited > 0 {
		msg += fmt.Sprintf("; %d key%s redeemed on both sides kept once", mr.KeysUnited, plural(mr.KeysUnited))
	}
	mc, err := local.commit(tree, []plumbing.Hash{ours, theirs}, author, now, msg+"\n", key)
	if err != nil {
		return nil, err
	}
	if err := local.syncObjects(blob, tree, mc); err != nil {
		return nil, err
	}
	// The remote first: if the push fails, the wallet is as it was (the
	// merge commit is an object nothing names); if the wallet then fails
	// to move, the next sync pulls the merge it pushed.
	if err := push(mc); err != nil {
		return nil, err
	}
	if err := local.publish(path, merged, branch, mc); err != nil {
		return nil, err
	}
	res.Action, res.Ours, res.Theirs, res.KeysUnited, res.Head = "merged", mr.Ours, mr.Theirs, mr.KeysUnited, mc.String()
	return res, nil
}

// publish makes data the wallet file and commit h its branch's head: the
// file first, as every change does, so that a crash between the two leaves
// a file that the next change commits.
func (r *Repo) publish(path string, data []byte, branch plumbing.ReferenceName, h plumbing.Hash) error {
	if err := atomicfile.Replace(path, data, wallet.FileMode); err != nil {
		return err
	}
	if err := r.setRef(branch, h); err != nil {
		return err
	}
	return r.updateIndex(path, blobHash(data))
}

// copyCommits copies the commits reachable from head that dst lacks, with
// their trees and blobs, from src to dst, checking that each is signed by
// pub; it returns how many it copied.
func copyCommits(src, dst *Repo, head plumbing.Hash, pub ed25519.PublicKey) (int, error) {
	var objs []plumbing.Hash
	n := 0
	stack := []plumbing.Hash{head}
	seen := map[plumbing.Hash]bool{}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[h] || dst.st.HasEncodedObject(h) == nil {
			continue
		}
		seen[h] = true
		c, err := src.commitAt(h)
		if err != nil {
			return 0, err
		}
		if err := verifyCommit(c, pub); err != nil {
			return 0, fmt.Errorf("%s: %w", src.GitDir, err)
		}
		n++
		objs = append(objs, h)
		trees := []plumbing.Hash{c.Tree}
		for len(trees) > 0 {
			t := trees[len(trees)-1]
			trees = trees[:len(trees)-1]
			objs = append(objs, t)
			es, err := src.tree(t)
			if err != nil {
				return 0, err
			}
			for _, e := range es {
				if e.isTree() {
					trees = append(trees, e.Hash)
				} else if e.Mode != "160000" { // a submodule's commit is not here
					objs = append(objs, e.Hash)
				}
			}
		}
		stack = append(stack, c.Parents...)
	}
	var written []plumbing.Hash
	for _, o := range objs {
		if dst.st.HasEncodedObject(o) == nil {
			continue
		}
		obj, err := src.st.EncodedObject(plumbing.AnyObject, o)
		if err != nil {
			return 0, err
		}
		if _, err := dst.st.SetEncodedObject(obj); err != nil {
			return 0, err
		}
		written = append(written, o)
	}
	return n, dst.syncObjects(written...)
}

// nameCommits fills in the commit of each spend of a double-spend: the
// commit, on either side since base, whose change is the spend's record.
func (r *Repo) nameCommits(ds *wallet.DoubleSpendError, name string, base plumbing.Hash, heads ...plumbing.Hash) {
	byRecord := map[[32]byte]string{}
	for _, h := range heads {
		r.ancestors(h, map[plumbing.Hash]bool{base: true}, func(c *commit) error {
			if len(c.Parents) > 1 {
				return nil
			}
			data, _, err := r.fileAt(c.Hash, name)
			if err != nil || len(data) == 0 {
				return nil
			}
			if id, err := wallet.LastRecordID(data); err == nil {
				if _, ok := byRecord[id]; !ok {
					byRecord[id] = c.Hash.String()[:12]
				}
			}
			return nil
		})
	}
	for i := range ds.Spends {
		ds.Spends[i].Commit = byRecord[ds.Spends[i].Record]
	}
}

// checkLedger checks every commit between ours and theirs (their new
// ones): each changes the wallet only as allot does, by appending records
// to its parent's file, or, for a merge, by the ledger merge of its
// parents. A signed commit that rewrote or dropped a record (an allocation
// an installer would rather forget) is refused, or one key could be spent
// again after the sync.
func (r *Repo) checkLedger(path, name string, ours, theirs plumbing.Hash) error {
	known := map[plumbing.Hash]bool{}
	if err := r.ancestors(ours, nil, func(c *commit) error { known[c.Hash] = true; return nil }); err != nil {
		return err
	}
	return r.ancestors(theirs, known, func(c *commit) error {
		data, _, err := r.fileAt(c.Hash, name)
		if err != nil {
			return err
		}
		switch len(c.Parents) {
		case 1:
			prev, _, err := r.fileAt(c.Parents[0], name)
			if err != nil {
				return err
			}
			if !bytes.HasPrefix(data, prev) {
				return fmt.Errorf("%s: %w: their commit %s changes or drops records of the wallet instead of adding to it", path, ErrDiverged, short(c.Hash))
			}
		case 2:
			base, err := r.mergeBase(c.Parents[0], c.Parents[1])
			if err != nil {
				return err
			}
			files := make([][]byte, 3)
			for i, h := range []plumbing.Hash{base, c.Parents[0], c.Parents[1]} {
				if files[i], _, err = r.fileAt(h, name); err != nil {
					return err
				}
			}
			merged, _, err := wallet.Merge(path, files[0], files[1], files[2])
			if err != nil || !bytes.Equal(merged, data) {
				return fmt.Errorf("%s: %w: their merge commit %s is not the ledger merge of its parents", path, ErrDiverged, short(c.Hash))
			}
		default:
			// allot writes one parent, or two for a merge: a commit of
			// none or of three would be checked against nothing.
			return fmt.Errorf("%s: %w: their commit %s has %d parents; allot writes one, or two for a merge", path, ErrDiverged, short(c.Hash), len(c.Parents))
		}
		return nil
	})
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
