package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
)

// Lock takes an exclusive lock on the file lockPath, creating it with perm
// if needed, and waits while another process or another Lock of this
// process holds it. unlock releases it. The lock belongs to the open file
// (flock(2), LockFileEx), so it serialises goroutines too, and the system
// drops it when the holder dies: a writer killed while holding it leaves no
// stale lock behind.
//
// The lock file stays in place, empty: removing it would race with a
// writer that has just opened it. Writers of a file lock one beside it
// (the wallet's "<wallet>.lock"), and only a holder may call RemoveStale.
func Lock(lockPath string, perm fs.FileMode) (unlock func(), err error) {
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, perm)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", lockPath, err)
	}
	return func() { f.Close() }, nil
}
