package cert

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"
)

// Who may revoke what: a root anything; any other key only what lies below
// it in the chain being checked. A revocation by anyone else is ignored,
// and so is a document whose signature does not verify.
func TestSignedRevocationWhoMayRevoke(t *testing.T) {
	w := newWorld(t)
	k := w.key(w.sub, nil)
	now := time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)
	revoke := func(by ed25519.PrivateKey, target string) *Trust {
		t.Helper()
		r, err := IssueRevocation(by, target, "test", now)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseRevocation(r.Document())
		if err != nil || !again.Signer.Equal(pubOf(by)) || again.Target() != target {
			t.Fatalf("ParseRevocation: %v", err)
		}
		trust := &Trust{Roots: w.trust.Roots}
		trust.AddRevocation(again)
		return trust
	}
	chain := w.chain() // dist, reseller, sub
	for _, tc := range []struct {
		name    string
		by      ed25519.PrivateKey
		target  string
		revoked bool
	}{
		{"the root revokes the distributor's certificate", w.root, w.distCert.Serial, true},
		{"the distributor revokes the reseller's certificate it issued", w.dist, w.resCert.Serial, true},
		{"the distributor revokes a certificate further down", w.dist, w.subCert.Serial, true},
		{"the reseller revokes its own certificate", w.reseller, w.resCert.Serial, false},
		{"the reseller revokes its parent's certificate", w.reseller, w.distCert.Serial, false},
		{"a stranger revokes the reseller's certificate", testKey("rival"), w.resCert.Serial, false},
		{"the key's issuer revokes the key", w.sub, k.ID(), true},
		{"a key above the issuer revokes the key", w.dist, k.ID(), true},
		{"the root revokes the key", w.root, k.ID(), true},
		{"a stranger revokes the key", testKey("rival"), k.ID(), false},
	} {
		trust := revoke(tc.by, tc.target)
		err := chain.Verify(trust)
		if err == nil {
			err = chain.Authorize(k, trust)
		}
		if got := errors.Is(err, ErrRevoked); got != tc.revoked {
			t.Errorf("%s: revoked = %v (%v), want %v", tc.name, got, err, tc.revoked)
		}
		var re *RevokedError
		if tc.revoked && (!errors.As(err, &re) || !re.Revocation.Signer.Equal(pubOf(tc.by))) {
			t.Errorf("%s: %v does not name the revocation", tc.name, err)
		}
	}

	// A revocation whose bytes changed does not parse.
	r, err := IssueRevocation(w.root, w.resCert.Serial, "", now)
	if err != nil {
		t.Fatal(err)
	}
	doc := bytes.Replace(r.Document(), []byte(w.resCert.Serial), []byte(w.distCert.Serial), 1)
	if _, err := ParseRevocation(doc); err == nil {
		t.Fatal("a revocation edited to name another certificate still parses")
	}
	if _, err := IssueRevocation(w.root, "not-a-serial", "", now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a bad target: %v", err)
	}
}
