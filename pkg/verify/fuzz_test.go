package verify_test

// Fuzz targets for what a device reads: trust files, usage files, its
// state file and bundles. The state file is sealed with a MAC, so
// FuzzOpenState alone stops at the MAC; FuzzStateBody seals the fuzzed body
// with the device key first, to reach the reader behind it. FuzzBundle
// verifies whole documents, as `allot verify` does (pkg/bundle's
// FuzzSealed re-signs payloads to reach behind the signature).

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/tomlfile"
	"allot.dev/allot/pkg/verify"
)

// checkFileErr checks that err is a one-line *tomlfile.Error naming file.
func checkFileErr(t *testing.T, err error, file string) {
	t.Helper()
	var e *tomlfile.Error
	if !errors.As(err, &e) || e.File != file {
		t.Fatalf("error %T is not a *tomlfile.Error for %s: %v", err, file, err)
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error is not one line: %q", msg)
	}
}

func pubLine(name string) string {
	return sign.MarshalAuthorized(allottest.Key(name).Public().(ed25519.PublicKey), name)
}

// FuzzParseTrust reads trust files, in both their forms.
func FuzzParseTrust(f *testing.F) {
	vendor, other := pubLine("vendor"), pubLine("other")
	f.Add([]byte(vendor + "\n"))
	f.Add([]byte("# roots\n\n" + vendor + "\n  " + other + "  \n"))
	f.Add([]byte("version = 1\nroots = [\"" + vendor + "\", \"" + other + "\"]\nclock_tolerance = \"36h\"\n" +
		"revoked = [\"0123456789abcdef\", \"0123456789abcdef:fedcba9876543210\"]\n"))
	for _, data := range allottest.ScriptFiles(f, ".toml") {
		if strings.Contains(string(data), "roots") {
			f.Add(data)
		}
	}
	for _, data := range allottest.ScriptFiles(f, ".pub") {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := verify.ParseTrust("fuzz.trust.toml", data)
		if err != nil {
			checkFileErr(t, err, "fuzz.trust.toml")
			return
		}
		if tr.ClockTolerance < 0 {
			t.Fatalf("clock tolerance %v", tr.ClockTolerance)
		}
		for _, r := range tr.Roots {
			if len(r) != ed25519.PublicKeySize || !tr.IsRoot(r) {
				t.Fatalf("root %x", r)
			}
		}
		for s := range tr.Revoked {
			if _, err := licensekey.ParseRef(s); err != nil && len(s) != 16 {
				t.Fatalf("revoked %q is neither a serial nor a key id", s)
			}
		}
	})
}

// FuzzParseUsage reads usage files.
func FuzzParseUsage(f *testing.F) {
	for _, data := range allottest.ScriptFiles(f, ".usage.toml") {
		f.Add(data)
	}
	f.Add([]byte("version = 1\nsystem = \"site-42\"\nfeatures = [\"web-dialer\"]\n\n[[server]]\nname = \"nvr-1\"\ncameras = 12\nintercoms = 2\n\n" +
		"[[server]]\nname = \"nvr-2\"\n\n[[analytics]]\ntype = \"line-crossing\"\ncameras = 2\n"))
	f.Add([]byte("version = 1\nsystem = \"tower\"\nnodes = \"\"\"\n# what each node uses\ntower-a/floor-1/apt-1 sip-number=1 mobile-app=2 +guest-access\nuser:alice mobile-app=1\n\"\"\"\n"))
	f.Add([]byte("nodes = \"\"\"\nb/apt-1 camera=1\nuser:ann camera=0 +x\n\"\"\"\nversion = 1\nsystem = \"s\"\n"))
	f.Add([]byte("version = 1\nsystem = \"s\"\nx = \"\"\"\nnodes = \"\"\"\na camera=1\n\"\"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := verify.ParseUsage("fuzz.usage.toml", data)
		// The plain nodes block's path reads what the TOML library reads.
		restore := verify.SetPlainNodes(false)
		u2, err2 := verify.ParseUsage("fuzz.usage.toml", data)
		restore()
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() || !reflect.DeepEqual(u, u2) {
			t.Fatalf("with the plain block's path: %v, %+v\nwithout: %v, %+v", err, u, err2, u2)
		}
		if err != nil {
			checkFileErr(t, err, "fuzz.usage.toml")
			return
		}
		if u.System == "" {
			t.Fatal("a usage file without a system")
		}
		for _, s := range u.Servers {
			if s.Name == "" || s.Cameras < 0 || s.Intercoms < 0 {
				t.Fatalf("server %+v", s)
			}
		}
		for _, a := range u.Analytics {
			if a.Cameras < 0 {
				t.Fatalf("analytics %+v", a)
			}
		}
		if u.Tree != nil {
			for _, use := range u.Tree.Groups {
				for _, c := range use.Used {
					if c.N < 0 {
						t.Fatalf("node usage %+v", use)
					}
				}
			}
		}
	})
}

var stateKey = verify.StateKey([]string{"mac:0a1b2c3d4e5f60718293a4b5c6d7e8f9", "disk:00112233445566778899aabbccddeeff"})

// seal returns a state file: body and its MAC line.
func seal(body []byte) []byte {
	m := hmac.New(sha256.New, stateKey)
	m.Write(body)
	return append(append([]byte(nil), body...), "mac "+hex.EncodeToString(m.Sum(nil))+"\n"...)
}

const stateBody = "allot-state v1\nlast_seen 2027-05-22T10:00:00Z\nbundle site-42 Y03TZYD9ZR2ZEA5CZVZN6YE9GC 3\nbundle site-43 Y03TZYD9ZR2ZEA5CZVZN6YE9GC 1\n"

// openState reads data as a state file.
// Every failure is a rollback: a device that cannot read its state must
// not trust its clock. What reads is written and read back the same.
func openState(t *testing.T, data []byte) {
	s, err := verify.ParseState("allot.state", data, stateKey)
	if err != nil {
		if !errors.Is(err, verify.ErrRollback) {
			t.Fatalf("ParseState fails without ErrRollback: %v", err)
		}
		if strings.ContainsAny(err.Error(), "\n\r") {
			t.Fatalf("error is not one line: %q", err)
		}
		return
	}
	// One more bundle, then save and read back. The state keeps time to
	// the second.
	b := &bundle.Bundle{System: "site-44", Sequence: 7,
		WalletID: licensekey.WalletIDOf(allottest.Key("wallet").Public().(ed25519.PublicKey))}
	if err := s.Check(b, allottest.Now, verify.DefaultClockTolerance); err != nil && !errors.Is(err, verify.ErrRollback) {
		t.Fatalf("Check: %v", err)
	}
	s2, err := verify.ParseState("allot.state", s.Marshal(), stateKey)
	if err != nil {
		t.Fatalf("the state Marshal wrote does not read back: %v", err)
	}
	if !s2.LastSeen.Equal(s.LastSeen.Truncate(time.Second)) || len(s2.Seq) != len(s.Seq) ||
		s2.Serves.System != s.Serves.System || s2.Serves.Wallet != s.Serves.Wallet || !s2.Serves.Until.Equal(s.Serves.Until.Truncate(time.Second)) {
		t.Fatalf("state changed: %v %v, then %v %v", s.LastSeen, s.Seq, s2.LastSeen, s2.Seq)
	}
	for k, v := range s.Seq {
		if s2.Seq[k] != v {
			t.Fatalf("state changed: %v, then %v", s.Seq, s2.Seq)
		}
	}
}

// FuzzOpenState reads state files as they are on disk, MAC line and all.
func FuzzOpenState(f *testing.F) {
	f.Add(seal([]byte(stateBody)))
	f.Add(seal([]byte("allot-state v1\nlast_seen 0001-01-01T00:00:00Z\n")))
	f.Add([]byte(stateBody + "mac 00\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) { openState(t, data) })
}

// FuzzStateBody seals the fuzzed body with the device key, so the reader
// behind the MAC sees every mutation.
func FuzzStateBody(f *testing.F) {
	f.Add([]byte(stateBody))
	f.Add([]byte("allot-state v1\nlast_seen 2027-05-22T10:00:00+02:00\nbundle a b -1\n"))
	f.Add([]byte("allot-state v1\n"))
	f.Add([]byte(stateBody + "serves site-42 Y03TZYD9ZR2ZEA5CZVZN6YE9GC 2027-12-22T00:00:00Z\n"))
	f.Fuzz(func(t *testing.T, body []byte) { openState(t, seal(body)) })
}

// FuzzBundle verifies bundle documents against the allottest vendor root,
// with a usage file, a machine and a device state.
func FuzzBundle(f *testing.F) {
	var w *allottest.World
	for _, c := range []struct{ depth, keys int }{{2, 3}, {0, 1}, {1, 2}} {
		doc, world, err := allottest.TypicalBundle(f.TempDir(), c.depth, c.keys)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc)
		w = world
	}
	for _, doc := range allottest.ScriptFiles(f, ".lic") {
		f.Add(doc)
	}
	statuses := map[string]bool{
		verify.StatusLicensed: true, verify.StatusGrace: true, verify.StatusMalformed: true,
		verify.StatusUntrusted: true, verify.StatusExpired: true, verify.StatusNotYet: true,
		verify.StatusBinding: true, verify.StatusQuota: true, verify.StatusRollback: true,
	}
	machine := []verify.Machine{{Name: "nvr-1", Identifiers: []string{"mac:0a1b2c3d4e5f60718293a4b5c6d7e8f9"}}}
	usage := &verify.Usage{System: "site-1", Servers: []verify.ServerUsage{{Name: "nvr-1", Cameras: 5}},
		Analytics: []verify.AnalyticsUsage{{Type: "line-crossing", Cameras: 1}}}
	// Every run starts from a new, empty state.
	f.Fuzz(func(t *testing.T, doc []byte) {
		state := verify.NewState(stateKey)
		opts := verify.Options{Trust: w.Trust, Now: allottest.Now.Add(24 * time.Hour), Usage: usage, State: state,
			Machines: func(string) ([]verify.Machine, error) { return machine, nil }}
		for _, o := range []verify.Options{opts, {Trust: w.Trust, Now: allottest.Now.AddDate(1, 0, 10)}} {
			r := verify.Bundle("fuzz.lic", doc, o)
			if !statuses[r.Status] {
				t.Fatalf("status %q (error %v): a failure without a class", r.Status, r.Err)
			}
			if ok := r.Status == verify.StatusLicensed || r.Status == verify.StatusGrace; ok != (r.Err == nil) {
				t.Fatalf("status %q with error %v", r.Status, r.Err)
			}
			if strings.ContainsAny(r.Error, "\n\r") {
				t.Fatalf("error is not one line: %q", r.Error)
			}
		}
	})
}
