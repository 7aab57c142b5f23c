package verify_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"testing"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/verify"
)

// A device state remembers at most MaxStateBundles bundle series: more in
// a file is a damaged state, and the device refuses to add one more
// rather than write a state it could not read back (a state of 1 MiB of
// bundle lines grew by one line, past MaxStateFileSize, and the device was
// locked out for good).
func TestStateLimits(t *testing.T) {
	wid := licensekey.WalletIDOf(allottest.Key("wallet").Public().(ed25519.PublicKey))
	body := "allot-state v1\nlast_seen 2026-11-22T10:00:00Z\n"
	for i := range verify.MaxStateBundles {
		body += fmt.Sprintf("bundle s%d %s 1\n", i, wid)
	}
	read := func(body string) (*verify.State, error) {
		return verify.ParseState("allot.state", seal([]byte(body)), stateKey)
	}
	s, err := read(body)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Check(&bundle.Bundle{System: "one-more", Sequence: 1, WalletID: wid, Issued: allottest.Now}, allottest.Now, verify.DefaultClockTolerance)
	if !errors.Is(err, verify.ErrRollback) || !strings.Contains(err.Error(), "4096 bundle series") {
		t.Errorf("one series more: %v", err)
	}
	if err := s.Check(&bundle.Bundle{System: "s7", Sequence: 2, WalletID: wid, Issued: allottest.Now}, allottest.Now, verify.DefaultClockTolerance); err != nil {
		t.Errorf("a series it has: %v", err)
	}
	if _, err := verify.ParseState("allot.state", s.Marshal(), stateKey); err != nil {
		t.Errorf("the full state does not read back: %v", err)
	}
	if _, err := read(body + fmt.Sprintf("bundle x %s 1\n", wid)); !errors.Is(err, verify.ErrRollback) || !strings.HasSuffix(err.Error(), "more than 4096 bundle lines") {
		t.Errorf("a state of more lines: %v", err)
	}
	// Dates: a state is a device's own file, and any damage to it is a
	// rollback (formats/device-state.md), a date outside 1970 to 9999 too.
	if _, err := read("allot-state v1\nlast_seen 0001-01-01T00:00:00Z\n"); !errors.Is(err, verify.ErrRollback) ||
		!strings.HasSuffix(err.Error(), "last_seen: date 0001-01-01T00:00:00Z: want a year from 1970 to 9999") {
		t.Errorf("last_seen in year 1: %v", err)
	}
}
