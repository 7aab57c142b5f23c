package sign

import (
	"crypto/ed25519"
	"testing"
)

// Prepare's signature verifies, so that it runs the whole verification
// and builds what the first real one would.
func TestPrepareVerifies(t *testing.T) {
	if !ed25519.Verify(preparePub[:], nil, prepareSig[:]) {
		t.Fatal("RFC 8032 test 1 does not verify")
	}
	Prepare()
}
