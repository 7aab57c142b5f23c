package licensekey

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"io"

	"allot.dev/allot/pkg/parallel"
)

// IssueBatch is how many keys are signed side by side before they are
// written out: enough to keep every core busy, few enough that the keys of
// a large --count are never all in memory.
const IssueBatch = 4096

// Issue signs count keys copied from tmpl, on every core, and writes them
// to w as text, one a line, in a stable order; the serials are read from
// rand. done, if not nil, is called with the number of keys written after
// each batch, for progress.
func Issue(w io.Writer, tmpl *Key, priv ed25519.PrivateKey, count int, rand io.Reader, done func(n int)) error {
	// Keys made from one template differ only in their serials, so their
	// texts have one length, and each key is written straight into its
	// place in the batch.
	line := tmpl.TextLen() + 1
	size := min(count, IssueBatch)
	serials := make([]byte, size*SerialSize)
	batch := make([]byte, size*line)
	errs := make([]error, size)
	for start := 0; start < count; start += IssueBatch {
		n := min(IssueBatch, count-start)
		// Serials come from one reader, read in order: crypto/rand is
		// safe for concurrent use, but a test's reader need not be.
		if _, err := io.ReadFull(rand, serials[:n*SerialSize]); err != nil {
			return err
		}
		parallel.For(n, 0, func(i int) {
			k := *tmpl
			s, err := k.Sign(priv, bytes.NewReader(serials[i*SerialSize:(i+1)*SerialSize]))
			if err == nil && len(s)+1 != line {
				err = fmt.Errorf("key %d has %d characters, not %d", start+i+1, len(s), line-1)
			}
			if errs[i] = err; err == nil {
				copy(batch[i*line:], s)
				batch[(i+1)*line-1] = '\n'
			}
		})
		// The first error only: errors.Join would make it several lines.
		for _, err := range errs[:n] {
			if err != nil {
				return err
			}
		}
		if _, err := w.Write(batch[:n*line]); err != nil {
			return err
		}
		if done != nil {
			done(start + n)
		}
	}
	return nil
}
