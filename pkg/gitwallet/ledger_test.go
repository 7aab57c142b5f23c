package gitwallet

import (
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"allot.dev/allot/pkg/allottest"
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
