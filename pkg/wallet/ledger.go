package wallet

import (
	"fmt"

	"allot.dev/allot/pkg/atomicfile"
	"os"
	"path/filepath"
)

// OverspendError reports an allocation that takes more from a key than the
// key has left. A wallet that one writer changed never holds one (Update
// refuses the change); a merge of two wallets that spent the same key
// apart finds it (Merge).
type OverspendError struct {
	Key      string // the key id
	License  string
	Want     int // what the allocation takes
	Left     int // what the key had left
	System   string
	Sequence int
	Record   int // the record of the allocation, counted from 0
}

func (e *OverspendError) Error() string {
	return fmt.Sprintf("bundle %d of system %s takes %d of %s from key %s, which has %d left",
		e.Sequence, e.System, e.Want, e.License, e.Key, e.Left)
}

// Bytes returns the wallet file as read: every record, in order.
func (w *Wallet) Bytes() []byte { return w.raw }

// RecordEnds returns, for each record, the offset in Bytes just past it:
// the wallet as it was after record i is Bytes()[:RecordEnds()[i]].
func (w *Wallet) RecordEnds() []int { return w.ends }

// GitDir returns the git directory of the folder holding the wallet at
// path, or "" when that folder is not a git repository. Such a wallet is a
// git wallet: every change is also a signed commit (package gitwallet).
// Only the folder itself counts, not its parents: a wallet file somewhere
// inside another project's repository stays a single-file wallet.
func GitDir(path string) string {
	dir := filepath.Join(filepath.Dir(path), ".git")
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return dir
	}
	return ""
}

// Parse reads a wallet from data, as Open reads a file; name is used in
// errors.
func Parse(name string, data []byte) (*Wallet, error) { return parse(name, data) }

// LockFile takes an exclusive lock on the file at path, creating it if
// needed, and returns its release: what serialises two syncs through one
// bare repository.
func LockFile(path string) (unlock func(), err error) { return atomicfile.Lock(path, FileMode) }
