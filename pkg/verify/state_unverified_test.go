package verify_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/verify"
)

// A state read without its machine's identifiers says what the file says,
// whatever its MAC, and is refused where the device's own reader refuses
// anything but the MAC.
func TestReadStateUnverified(t *testing.T) {
	_, b2 := twoBundles(t)
	key := verify.DeviceKey([]hwid.Identifier{{Kind: hwid.MachineID, Value: "0123456789abcdef0123456789abcdef"}})
	now := allottest.Now.Add(48 * time.Hour)
	st := verify.NewState(key)
	if err := st.Check(b2, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	data := st.Marshal()

	got, err := verify.ReadStateUnverified(data)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastSeen.Equal(now) || got.Seq[b2.System+" "+b2.WalletID.String()] != 2 {
		t.Errorf("got last seen %s, sequences %v", got.LastSeen, got.Seq)
	}

	// Another machine's MAC: the device refuses it, this reader does not.
	other := strings.Replace(string(data), "mac ", "mac 00", 1)
	other = other[:len(other)-3] + "\n"
	if _, err := verify.ReadStateUnverified([]byte(other)); err != nil {
		t.Errorf("a state with another MAC: %v", err)
	}

	for name, bad := range map[string]string{
		"no MAC line":  "allot-state v1\nlast_seen 2026-11-24T10:00:00Z\n",
		"unknown line": "allot-state v1\nlast_seen 2026-11-24T10:00:00Z\nfoo bar\nmac 00\n",
		"bad time":     "allot-state v1\nlast_seen yesterday\nmac 00\n",
		"not a state":  "hello\nmac 00\n",
		"no newline":   "allot-state v1\nmac 00",
	} {
		if _, err := verify.ReadStateUnverified([]byte(bad)); !errors.Is(err, verify.ErrMalformed) {
			t.Errorf("%s: got %v, want a malformed state", name, err)
		}
	}
}
