package sign

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// TestVerifiedOnce: a signature verified once is served from the set; a
// copy that differs in any one bit of the key, context, message or
// signature is verified again, and refused.
func TestVerifiedOnce(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(bytes.NewReader(make([]byte, 64)))
	const context = "allot-test-v1"
	msg := []byte("a license key's signed bytes")
	sig := SignContext(priv, context, msg)
	var v Verified
	if checked, err := v.VerifyContext(pub, context, msg, sig); !checked || err != nil {
		t.Fatalf("first check: checked %v, err %v; want a verification that passes", checked, err)
	}
	if checked, err := v.VerifyContext(pub, context, msg, sig); checked || err != nil {
		t.Fatalf("second check: checked %v, err %v; want it served from the set", checked, err)
	}
	flips := 0
	flip := func(what string, b []byte, verify func(b []byte) (bool, error)) {
		for i := range len(b) * 8 {
			c := bytes.Clone(b)
			c[i/8] ^= 1 << (i % 8)
			checked, err := verify(c)
			if !checked || !errors.Is(err, ErrSignature) {
				t.Fatalf("%s bit %d flipped: checked %v, err %v; want a verification that fails", what, i, checked, err)
			}
			flips++
		}
	}
	flip("key", pub, func(b []byte) (bool, error) { return v.VerifyContext(b, context, msg, sig) })
	flip("context", []byte(context), func(b []byte) (bool, error) { return v.VerifyContext(pub, string(b), msg, sig) })
	flip("message", msg, func(b []byte) (bool, error) { return v.VerifyContext(pub, context, b, sig) })
	flip("signature", sig, func(b []byte) (bool, error) { return v.VerifyContext(pub, context, msg, b) })
	// Shorter or longer: the message's end moves, the entry differs.
	for _, m := range [][]byte{msg[:len(msg)-1], append(bytes.Clone(msg), 0)} {
		if checked, err := v.VerifyContext(pub, context, m, sig); !checked || err == nil {
			t.Fatalf("message of %d bytes: checked %v, err %v", len(m), checked, err)
		}
	}
	if v.Len() != 1 {
		t.Fatalf("%d entries after %d failures, want 1: a failure is never remembered", v.Len(), flips)
	}
	// A nil set verifies every time.
	var none *Verified
	for range 2 {
		if checked, err := none.VerifyContext(pub, context, msg, sig); !checked || err != nil {
			t.Fatalf("nil set: checked %v, err %v", checked, err)
		}
	}
}

// TestVerifiedConcurrent: many goroutines share one set (go test -race).
func TestVerifiedConcurrent(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(bytes.NewReader(make([]byte, 64)))
	var v Verified
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			msg := []byte{byte(i % 3)}
			if _, err := v.VerifyContext(pub, "c", msg, SignContext(priv, "c", msg)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if v.Len() != 3 {
		t.Fatalf("%d entries, want 3", v.Len())
	}
}

// TestVerifiedInFlight: goroutines asking at once about the same bytes
// run one verification between them; bytes that fail are verified by
// every goroutine that asks, and never kept.
func TestVerifiedInFlight(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(bytes.NewReader(make([]byte, 64)))
	msg := []byte("shared")
	sig := SignContext(priv, "c", msg)
	bad := bytes.Clone(sig)
	bad[0] ^= 1
	for range 20 {
		var v Verified
		var checks, badChecks atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				checked, err := v.VerifyContext(pub, "c", msg, sig)
				if err != nil {
					t.Error(err)
				}
				if checked {
					checks.Add(1)
				}
				checked, err = v.VerifyContext(pub, "c", msg, bad)
				if err == nil || !checked {
					t.Errorf("a bad signature: checked %v, err %v", checked, err)
				}
				badChecks.Add(1)
			})
		}
		wg.Wait()
		if checks.Load() != 1 || v.Len() != 1 {
			t.Fatalf("%d verifications of one signature by 8 goroutines, %d entries; want 1 and 1", checks.Load(), v.Len())
		}
	}
}
