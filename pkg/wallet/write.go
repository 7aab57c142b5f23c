package wallet

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"allot.dev/allot/pkg/atomicfile"
	"allot.dev/allot/pkg/crashpoint"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/payload"
	"allot.dev/allot/pkg/sign"
)

// FileMode is the mode of wallet files: they hold the organization's
// (encrypted) private key.
const FileMode = 0o600

// InitParams is what a new wallet starts with.
type InitParams struct {
	Organization string
	PublicKey    ed25519.PublicKey
	EncryptedKey []byte
	Trust        []ed25519.PublicKey
	Time         time.Time
	Who          string
}

// Init creates a new wallet file at path. It never overwrites a file.
func Init(path string, p InitParams) (*Wallet, error) {
	if p.Organization == "" {
		return nil, errors.New("organization: missing")
	}
	if err := validNow(p.Time); err != nil {
		return nil, err
	}
	pub := sign.PublicKey{Key: p.PublicKey, Comment: "wallet:" + sanitizeComment(p.Organization)}
	r := &record{
		Format: Format, Version: Version, Seq: 0, Time: p.Time.UTC(), Who: p.Who, Op: "init",
		Note:         fmt.Sprintf("created the wallet of %q", p.Organization),
		Organization: p.Organization, WalletID: licensekey.WalletIDOf(p.PublicKey).String(),
		PublicKey: pub.String(), PrivateKey: string(p.EncryptedKey),
	}
	for _, t := range p.Trust {
		r.Trust = append(r.Trust, sign.MarshalAuthorized(t, ""))
	}
	line, err := marshalRecord(r, nil)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Create(path, line, FileMode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%w at %s", ErrExists, path)
		}
		return nil, err
	}
	return parse(path, line)
}

// sanitizeComment keeps an organization name usable as the comment of an
// OpenSSH key line: one line, no leading or trailing space.
func sanitizeComment(s string) string {
	return string(bytes.Join(bytes.Fields([]byte(s)), []byte("_")))
}

// Change is a record prepared against a wallet, waiting to be appended by
// Update.
type Change struct {
	r    *record
	keys [][]byte // raw keys of a redemption
}

// Update changes the wallet at path under its lock: it reads the current
// wallet, calls fn, and appends the change fn returns, stamped with now and
// who. If fn returns an error or a nil change, the file is not touched. The
// returned wallet is the state after the change.
//
// A git wallet (GitDir) is changed only through UpdateHooked, whose hooks
// make the commit: Update refuses it rather than leave a change out of
// its history.
func Update(path string, now time.Time, who string, fn func(w *Wallet) (*Change, error)) (*Wallet, error) {
	if GitDir(path) != "" {
		return nil, fmt.Errorf("%s: %w: its folder is a git repository, and this change would not be committed", path, ErrGitWallet)
	}
	return UpdateHooked(path, now, who, Hooks{}, fn)
}

// ErrGitWallet: a git wallet reached a writer that does not commit.
var ErrGitWallet = errors.New("a git wallet")

// Hooks keep a second record of every change under the wallet's lock: the
// git history of a git wallet (package gitwallet).
type Hooks struct {
	// Before is called with the wallet as read, before the change is
	// prepared: it brings the second record up to the file.
	Before func(w *Wallet) error
	// After is called once the changed file is durable. If it fails, the
	// file is put back as it was and the change fails; if the process dies
	// first, Before catches up with the change next time.
	After func(next *Wallet) error
}

// UpdateHooked is Update with hooks.
func UpdateHooked(path string, now time.Time, who string, h Hooks, fn func(w *Wallet) (*Change, error)) (*Wallet, error) {
	if err := validNow(now); err != nil {
		return nil, err
	}
	unlock, err := lock(path)
	if err != nil {
		return nil, err
	}
	defer unlock()
	crashpoint.Here(crashpoint.Locked)
	// Holding the lock, any temporary file of this wallet is litter from
	// a writer that was killed: clear it.
	if err := atomicfile.RemoveStale(path); err != nil {
		return nil, err
	}
	w, err := Open(path)
	if err != nil {
		return nil, err
	}
	if h.Before != nil {
		if err := h.Before(w); err != nil {
			return nil, err
		}
	}
	c, err := fn(w)
	if err != nil || c == nil {
		return w, err
	}
	r := c.r
	r.Seq = len(w.History)
	r.Prev = prevString(r.Seq, w.head)
	r.Time = now.UTC()
	r.Who = who
	line, err := marshalRecord(r, c.keys)
	if err != nil {
		return nil, err
	}
	data := make([]byte, 0, len(w.raw)+len(line))
	data = append(append(data, w.raw...), line...)
	// Fold the new record into a fresh reading of the whole file: the
	// change is written only if the wallet it produces is valid.
	next, err := parse(path, data)
	if err != nil {
		return nil, fmt.Errorf("internal error: the change would damage the wallet: %w", err)
	}
	crashpoint.Here(crashpoint.Prepared)
	if err := atomicfile.Replace(path, data, FileMode); err != nil {
		return nil, err
	}
	if h.After != nil {
		if err := h.After(next); err != nil {
			// The change failed: put the wallet back as it was.
			if rerr := atomicfile.Replace(path, w.raw, FileMode); rerr != nil {
				return nil, fmt.Errorf("%w; and restoring %s failed: %v", err, path, rerr)
			}
			return nil, err
		}
	}
	return next, nil
}

// Lock takes the wallet's lock for a caller that changes it by other
// means than Update (a sync replaces the whole file): run fn, then unlock.
func Lock(path string, fn func() error) error {
	unlock, err := lock(path)
	if err != nil {
		return err
	}
	defer unlock()
	if err := atomicfile.RemoveStale(path); err != nil {
		return err
	}
	return fn()
}

// validNow refuses to stamp a record with a time no reader accepts.
func validNow(now time.Time) error {
	if !payload.ValidTime(now) {
		return fmt.Errorf("the time %s: want a year from %d to %d", now.UTC().Format(time.RFC3339), payload.MinYear, payload.MaxYear)
	}
	return nil
}

// marshalRecord writes a record: its JSON line, then one line per key.
func marshalRecord(r *record, keys [][]byte) ([]byte, error) {
	r.KeyLines = len(keys)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil { // Encode ends the line with '\n'
		return nil, err
	}
	b.Grow(len(keys) * (4 + base64.StdEncoding.EncodedLen(128) + 1))
	for _, k := range keys {
		b.WriteString("key ")
		b.WriteString(base64.StdEncoding.EncodeToString(k))
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// LockPath returns the path of the lock file that serialises writers.
func LockPath(path string) string { return path + ".lock" }

// lock takes the wallet's exclusive lock (atomicfile.Lock on LockPath).
func lock(path string) (unlock func(), err error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s", ErrNotFound, path)
		}
		return nil, err
	}
	return atomicfile.Lock(LockPath(path), FileMode)
}

// Head returns the SHA-256 of the wallet's last record, which commits to the
// whole history.
func (w *Wallet) Head() [32]byte { return w.head }
