package licensekey_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/licensekey"
)

// cameraKey is the template of the issue tests: a one-year bearer key of
// 10 cameras.
func cameraKey() *licensekey.Key {
	return &licensekey.Key{Kind: licensekey.Subscription, Product: "vms", TermMonths: 12,
		Issued: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Bearer: true,
		Licenses: []licensekey.License{{Type: "camera", Quantity: 10}}}
}

// BenchmarkIssueKeys10k signs 10 000 keys the way `allot key issue --count`
// does: on every core. Its budget is 1.5 × (signatures ÷ cores).
func BenchmarkIssueKeys10k(b *testing.B) {
	priv := allottest.Key("bench issuer")
	for b.Loop() {
		if err := licensekey.Issue(io.Discard, cameraKey(), priv, 10_000, rand.Reader, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestIssueKeysBatches: keys issued over several batches come out one a
// line, in the order of the serials read, each one valid.
func TestIssueKeysBatches(t *testing.T) {
	tmpl := cameraKey()
	priv := allottest.Key("batch issuer")
	count := 2*licensekey.IssueBatch + 3
	var out bytes.Buffer
	if err := licensekey.Issue(&out, tmpl, priv, count, &allottest.Rand{}, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != count {
		t.Fatalf("%d lines, want %d", len(lines), count)
	}
	serials := &allottest.Rand{}
	for i, l := range lines {
		k, err := licensekey.Parse(l)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if err := k.Verify(priv.Public().(ed25519.PublicKey)); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		var want licensekey.Serial
		io.ReadFull(serials, want[:])
		if k.Serial != want {
			t.Fatalf("line %d has serial %s, want %s: keys out of order", i+1, k.Serial, want)
		}
	}
}

// TestIssueKeysReaderFails: a serial source that fails stops the issue
// with its error.
func TestIssueKeysReaderFails(t *testing.T) {
	tmpl := cameraKey()
	short := io.LimitReader(&allottest.Rand{}, int64(licensekey.IssueBatch+5)*licensekey.SerialSize)
	err := licensekey.Issue(io.Discard, tmpl, allottest.Key("batch issuer"), 2*licensekey.IssueBatch, short, nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		t.Fatalf("Issue = %v, want the reader's error", err)
	}
}
