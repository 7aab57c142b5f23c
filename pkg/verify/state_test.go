package verify_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/verify"
)

// twoBundles returns bundles 1 and 2 of one system: an allocation and its
// renewal.
func twoBundles(t *testing.T) (*bundle.Bundle, *bundle.Bundle) {
	t.Helper()
	dir := t.TempDir()
	doc1, w, err := allottest.TypicalBundle(dir, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	wl := filepath.Join(dir, "fixture.wallet")
	keys, _ := w.Keys(3, 10, 12, mustOpen(t, doc1).WalletID)
	if _, err := w.Redeem(wl, keys); err != nil {
		t.Fatal(err)
	}
	doc2, err := w.Allocate(wl, allottest.Key("wallet"), allottest.System("site-1", 25), 1)
	if err != nil {
		t.Fatal(err)
	}
	b1, b2 := mustOpen(t, doc1), mustOpen(t, doc2)
	if b1.Sequence != 1 || b2.Sequence != 2 {
		t.Fatalf("sequences %d, %d", b1.Sequence, b2.Sequence)
	}
	return b1, b2
}

func mustOpen(t *testing.T, doc []byte) *bundle.Bundle {
	t.Helper()
	b, err := bundle.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestState(t *testing.T) {
	b1, b2 := twoBundles(t)
	machine := []hwid.Identifier{{Kind: hwid.MachineID, Value: "0123456789abcdef0123456789abcdef"}, {Kind: hwid.MAC, Value: "00:1a:2b:3c:4d:5e"}}
	key := verify.DeviceKey(machine)
	const tol = 24 * time.Hour
	now := allottest.Now.Add(48 * time.Hour)

	st := verify.NewState(key)
	if !st.Changed() {
		t.Error("a new state is not marked to be written")
	}
	if err := st.Check(b2, now, tol); err != nil {
		t.Fatal(err)
	}
	before := st.Marshal()
	reopen := func() *verify.State {
		t.Helper()
		st, err := verify.ParseState("allot.state", before, key)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st = reopen()
	if !st.LastSeen.Equal(now) || st.Changed() {
		t.Errorf("last seen %s, want %s; changed %v", st.LastSeen, now, st.Changed())
	}

	for _, tt := range []struct {
		name string
		b    *bundle.Bundle
		now  time.Time
		want error
	}{
		{"the same bundle later", b2, now.Add(time.Hour), nil},
		{"clock back within the tolerance", b2, now.Add(-tol + time.Minute), nil},
		{"clock back beyond the tolerance", b2, now.Add(-tol - time.Minute), verify.ErrRollback},
		{"an older bundle after a newer one", b1, now, verify.ErrRollback},
		{"a clock behind the bundle's signing", b2, b2.Issued.Add(-tol - time.Hour), verify.ErrRollback},
	} {
		st := reopen()
		err := st.Check(tt.b, tt.now, tol)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
		// A refused bundle changes nothing.
		if err != nil && (st.Changed() || string(st.Marshal()) != string(before)) {
			t.Errorf("%s: the refusal changed the state", tt.name)
		}
	}

	// Edited by hand, or moved to another machine: refused, never reset.
	edited := strings.Replace(string(before), "bundle site-1", "bundle site-9", 1)
	if edited == string(before) {
		t.Fatal("test setup: no bundle line")
	}
	if _, err := verify.ParseState("allot.state", []byte(edited), key); !errors.Is(err, verify.ErrRollback) {
		t.Errorf("edited state: %v, want ErrRollback", err)
	}
	other := verify.DeviceKey([]hwid.Identifier{{Kind: hwid.MachineID, Value: "ffffffffffffffffffffffffffffffff"}})
	if _, err := verify.ParseState("allot.state", before, other); !errors.Is(err, verify.ErrRollback) {
		t.Errorf("state of another machine: %v, want ErrRollback", err)
	}
}

// A system id reaches the state file's lines, so a bundle whose system id
// holds a line break could write its own "last_seen" under a valid MAC. It
// must not even open.
func TestStateInjectionRefused(t *testing.T) {
	doc, _, err := allottest.TypicalBundle(t.TempDir(), 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	payload, _, _, err := sign.Split(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{`a b 5\nlast_seen 2000-01-01T00:00:00Z\nbundle x`, `site 1`, ` `} {
		evil := strings.Replace(string(payload), `system = "site-1"`, `system = "`+id+`"`, 1)
		if evil == string(payload) {
			t.Fatal("test setup: no system line")
		}
		forged, err := sign.Seal(allottest.Key("wallet"), bundle.Namespace, []byte(evil))
		if err != nil {
			t.Fatal(err)
		}
		_, err = bundle.Open(forged)
		if !errors.Is(err, bundle.ErrMalformed) || !strings.Contains(err.Error(), "system:") {
			t.Errorf("system id %q: %v, want a malformed system", id, err)
		}
	}
}
