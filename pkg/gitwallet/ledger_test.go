package gitwallet

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/wallet"
)

// A sync that only pulls takes their commits if each one only adds to the
// wallet (or is the ledger merge of its parents): a signed commit that
// drops or changes a record, as an installer forgetting an allocation
// would write, is refused, so one key cannot be spent again.
func TestCheckLedger(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "w")
	key := allottest.Key("wallet")
	now := allottest.Now
	who := Author{Name: "tester", Email: "t@example.com"}
	if _, err := Init(dir, wallet.InitParams{Organization: "Acme", PublicKey: key.Public().(ed25519.PublicKey),
		EncryptedKey: []byte("not used"), Time: now, Who: "tester"}, key, who); err != nil {
		t.Fatal(err)
	}
	r, err := Open(filepath.Join(dir, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	ours, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := r.fileAt(ours, FileName)
	if err != nil {
		t.Fatal(err)
	}
	commitFile := func(parent plumbing.Hash, content []byte) plumbing.Hash {
		t.Helper()
		return commitContent(t, r, parent, content, key)
	}
	path := filepath.Join(dir, FileName)
	grown := commitFile(ours, append(append([]byte{}, data...), "{\"seq\":1}\n"...))
	if err := r.checkLedger(path, FileName, ours, grown); err != nil {
		t.Errorf("a commit that adds to the wallet: %v", err)
	}
	rewritten := commitFile(grown, data[:len(data)-1])
	if err := r.checkLedger(path, FileName, ours, rewritten); !errors.Is(err, ErrDiverged) {
		t.Errorf("a commit that drops what its parent had: %v, want ErrDiverged", err)
	}

	// allot writes commits of one parent and merges of two: a signed
	// commit of three parents (an octopus), or of none, would be checked
	// against nothing, and could drop what grown added.
	blob, err := r.put(plumbing.BlobObject, data)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := r.treeWith(ours, FileName, blob)
	if err != nil {
		t.Fatal(err)
	}
	again := commitFile(ours, data)
	for name, parents := range map[string][]plumbing.Hash{
		"three parents": {grown, again, ours},
		"no parent":     nil,
	} {
		c, err := r.commit(tree, parents, who, now.Add(2*time.Hour), "change\n", key)
		if err != nil {
			t.Fatal(err)
		}
		top := c
		if parents == nil {
			// Their root commit, under a merge that names ours.
			if top, err = r.commit(tree, []plumbing.Hash{ours, c}, who, now.Add(3*time.Hour), "merge\n", key); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.checkLedger(path, FileName, ours, top); !errors.Is(err, ErrDiverged) {
			t.Errorf("%s: %v, want ErrDiverged", name, err)
		}
	}
}

// commitContent commits content as the wallet file on parent, signed by
// key, an hour after allottest.Now.
func commitContent(t *testing.T, r *Repo, parent plumbing.Hash, content []byte, key ed25519.PrivateKey) plumbing.Hash {
	t.Helper()
	blob, err := r.put(plumbing.BlobObject, content)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := r.treeWith(parent, FileName, blob)
	if err != nil {
		t.Fatal(err)
	}
	who := Author{Name: "tester", Email: "t@example.com"}
	h, err := r.commit(tree, []plumbing.Hash{parent}, who, allottest.Now.Add(time.Hour), "change\n", key)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A remote holding a signed commit of three parents whose wallet drops a
// record the wallet has: the sync refuses it (ErrDiverged) and leaves the
// wallet file and its branch as they were, instead of pulling a wallet
// that forgot the record.
func TestSyncRefusesOctopus(t *testing.T) {
	dir := t.TempDir()
	wdir := filepath.Join(dir, "w")
	path := filepath.Join(wdir, FileName)
	key := allottest.Key("wallet")
	now := allottest.Now
	who := Author{Name: "tester", Email: "t@example.com"}
	if _, err := Init(wdir, wallet.InitParams{Organization: "Acme", PublicKey: key.Public().(ed25519.PublicKey),
		EncryptedKey: []byte("not used"), Time: now, Who: "tester"}, key, who); err != nil {
		t.Fatal(err)
	}
	local, err := Open(filepath.Join(wdir, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := local.Head()
	initData, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// One more record: a revocation the wallet signed.
	rev, err := cert.IssueRevocation(key, "sha256:"+strings.Repeat("0", 64), "", now)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Hooks(path, key, who)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wallet.UpdateHooked(path, now.Add(time.Minute), "tester", h, func(w *wallet.Wallet) (*wallet.Change, error) {
		return w.RecordRevocations([]*cert.Revocation{rev}, "")
	}); err != nil {
		t.Fatal(err)
	}
	remoteDir := filepath.Join(dir, "remote.git")
	if _, err := Sync(path, remoteDir, nil, key, who, now); err != nil {
		t.Fatal(err)
	}
	remote, err := Open(remoteDir)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := remote.ref("refs/heads/main")
	// On the remote: the wallet as it was before the revocation, in a
	// signed commit whose parents are the head, the first commit and a
	// no-op commit on it.
	again := commitContent(t, remote, first, initData, key)
	blob, err := remote.put(plumbing.BlobObject, initData)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := remote.treeWith(head, FileName, blob)
	if err != nil {
		t.Fatal(err)
	}
	oct, err := remote.commit(tree, []plumbing.Hash{head, first, again}, who, now.Add(time.Hour), "sync\n", key)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.setRef("refs/heads/main", oct); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	ours, _ := local.Head()
	if _, err := Sync(path, remoteDir, nil, key, who, now); !errors.Is(err, ErrDiverged) {
		t.Fatalf("sync with an octopus that drops a record: %v, want ErrDiverged", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the wallet file changed")
	}
	if h, _ := local.Head(); h != ours {
		t.Errorf("the branch moved to %s", h)
	}
}

// A remote whose branch names an object that is not a commit (the blob or
// tree of the wallet's own head, which a sync does not fetch): an input
// error, not an internal one, and the wallet as it was.
func TestSyncBranchNotCommit(t *testing.T) {
	dir := t.TempDir()
	wdir := filepath.Join(dir, "w")
	path := filepath.Join(wdir, FileName)
	key := allottest.Key("wallet")
	who := Author{Name: "tester", Email: "t@example.com"}
	if _, err := Init(wdir, wallet.InitParams{Organization: "Acme", PublicKey: key.Public().(ed25519.PublicKey),
		EncryptedKey: []byte("not used"), Time: allottest.Now, Who: "tester"}, key, who); err != nil {
		t.Fatal(err)
	}
	remoteDir := filepath.Join(dir, "remote.git")
	if _, err := Sync(path, remoteDir, nil, key, who, allottest.Now); err != nil {
		t.Fatal(err)
	}
	local, err := Open(filepath.Join(wdir, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	remote, err := Open(remoteDir)
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := local.Head()
	c, err := local.commitAt(ours)
	if err != nil {
		t.Fatal(err)
	}
	_, blob, err := local.fileAt(ours, FileName)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	for name, h := range map[string]plumbing.Hash{"a blob": blob, "a tree": c.Tree} {
		if err := remote.setRef("refs/heads/main", h); err != nil {
			t.Fatal(err)
		}
		_, err := Sync(path, remoteDir, nil, key, who, allottest.Now)
		if !errors.Is(err, ErrDiverged) || !errors.Is(err, errclass.Input) {
			t.Errorf("%s: %v, want ErrDiverged (an input error)", name, err)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
			t.Errorf("%s: the wallet file changed", name)
		}
		if h, _ := local.Head(); h != ours {
			t.Errorf("%s: the branch moved to %s", name, h)
		}
	}
}
