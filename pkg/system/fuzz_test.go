package system_test

// Fuzz targets for system description files and devices files. Every error
// must be a *tomlfile.Error of one line naming a line of the file, and
// every file that parses must survive Marshal and Parse unchanged.

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/tomlfile"
)

// checkErr checks that err is a *tomlfile.Error of one line whose line is
// in data.
func checkErr(t *testing.T, err error, data []byte) {
	t.Helper()
	var e *tomlfile.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not a *tomlfile.Error: %v", err, err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
	if n := bytes.Count(data, []byte("\n")) + 1; e.Line < 0 || e.Line > n {
		t.Fatalf("error names line %d of %d: %v", e.Line, n, err)
	}
}

// normal makes empty slices nil and empty maps empty, which a file cannot
// tell apart.
func normal(s *system.System) *system.System {
	c := *s
	c.Servers = nil
	for _, srv := range s.Servers {
		if len(srv.Identifiers) == 0 {
			srv.Identifiers = nil
		}
		c.Servers = append(c.Servers, srv)
	}
	c.Analytics = nil
	for _, a := range s.Analytics {
		if len(a.Cameras) == 0 {
			a.Cameras = nil
		}
		c.Analytics = append(c.Analytics, a)
	}
	if len(c.Devices) == 0 {
		c.Devices = nil
	}
	return &c
}

func seedSystem() []byte {
	id := func(v string) string { return hwid.Hash("site-42", hwid.Identifier{Kind: hwid.MAC, Value: v}) }
	return []byte(`# Site 42, edited by hand.
version = 1
id = "site-42"
organization = "Acme \"Security\"\t\u00e9"

devices = """
# serial, model, type, server
CAM-1, AXIS P3265-LVE (2024), camera, nvr-1
CAM-2, AXIS P3265-LVE, camera, nvr-1

DOOR-1, 2N IP Verso, intercom, nvr-2
"""

[binding]
required = 1

[need]
camera = 2
intercom = 1
analytics-l1 = 2

[[server]]
name = "nvr-1"
identifiers = ["` + id("a") + `", "` + id("b") + `"]

[[server]]
name = "nvr-2"
identifiers = ["` + id("c") + `"]

[[analytics]]
type = "line-crossing"
cameras = ["CAM-1", "CAM-2"]

[[analytics]]
type = "face-recognition"
`)
}

// FuzzParse reads system files against the default catalog.
func FuzzParse(f *testing.F) {
	f.Add(seedSystem())
	f.Add([]byte(strings.Replace(string(seedSystem()), `devices = """`, `devices = '''`, 1)))
	for _, data := range allottest.ScriptFiles(f, ".system.toml") {
		f.Add(data)
	}
	f.Add([]byte("version = 1\nid = \"x\"\norganization = \"o\"\n[[server]]\nname = \"s\"\n"))
	cat := catalog.Default()
	created := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := system.Parse("fuzz.system.toml", data, cat)
		if err != nil {
			checkErr(t, err, data)
			return
		}
		if err := s.Check(cat); err != nil {
			t.Fatalf("Check refuses what Parse accepted: %v", err)
		}
		out := s.Marshal(created)
		s2, err := system.Parse("again.system.toml", out, cat)
		if err != nil {
			t.Fatalf("Marshal's output does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(normal(s2), normal(s)) {
			t.Fatalf("Marshal and Parse changed the system:\n%+v\n%+v\n%s", s, s2, out)
		}
		counts := s.Counts()
		n := 0
		for _, srv := range s.Servers {
			if _, ok := s.Server(srv.Name); !ok {
				t.Fatalf("server %q not found", srv.Name)
			}
			for _, c := range counts[srv.Name] {
				n += c
			}
		}
		if n != len(s.Devices) {
			t.Fatalf("counts add up to %d of %d devices", n, len(s.Devices))
		}
	})
}

// FuzzParseDevices reads devices files, as `allot system create --devices`
// does.
func FuzzParseDevices(f *testing.F) {
	for _, data := range allottest.ScriptFiles(f, ".txt") {
		if bytes.Contains(data, []byte(", camera, ")) || bytes.Contains(data, []byte(",camera,")) {
			f.Add(data)
		}
	}
	f.Add([]byte("# serial, model, type, server\nCAM-1, AXIS P3265-LVE, camera, nvr-1\n\n  DOOR-1 ,2N IP Verso,intercom,nvr-2  \n"))
	f.Add([]byte("CAM-1, m, camera, nvr-1\r\nCAM-1, m, camera, nvr-2\r\n"))
	servers := []string{"nvr-1", "nvr-2"}
	f.Fuzz(func(t *testing.T, data []byte) {
		devs, err := system.ParseDevices("devices.txt", data, servers)
		if err != nil {
			checkErr(t, err, data)
			return
		}
		// The devices, written one a line, read back the same.
		var b bytes.Buffer
		for _, d := range devs {
			if d.Server != "nvr-1" && d.Server != "nvr-2" {
				t.Fatalf("device %s on unknown server %q", d.Serial, d.Server)
			}
			b.WriteString(d.Serial + ", " + d.Model + ", " + d.Type + ", " + d.Server + "\n")
		}
		again, err := system.ParseDevices("again.txt", b.Bytes(), servers)
		if err != nil {
			t.Fatalf("devices written back do not parse: %v\n%s", err, b.Bytes())
		}
		if len(devs) > 0 && !reflect.DeepEqual(again, devs) {
			t.Fatalf("devices changed:\n%+v\n%+v", devs, again)
		}
	})
}

// ReadServers, the device's reader, agrees with Parse on every system file
// of the script tests and of the bad-input catalogue: the same servers,
// or an error on the same line, but for damage in the devices block and
// the analytics, which it does not read.
func TestReadServersAgrees(t *testing.T) {
	files := allottest.ScriptFiles(t, ".system.toml")
	bad, err := filepath.Glob("../../testdata/bad/*.system.toml")
	if err != nil || len(bad) == 0 {
		t.Fatalf("no system files in testdata/bad: %v", err)
	}
	for _, p := range bad {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
	}
	cat := catalog.Default()
	for i, data := range files {
		want, perr := system.Parse("s.toml", data, cat)
		got, err := system.ReadServers("s.toml", bytes.NewReader(data), cat)
		where := func(err error) string { return strings.SplitN(err.Error(), ": ", 2)[0] }
		switch {
		case perr == nil && err == nil:
			if !reflect.DeepEqual(normal(got).Servers, normal(want).Servers) || got.ID != want.ID || got.Binding != want.Binding {
				t.Errorf("file %d: ReadServers = %+v, Parse = %+v", i, got, want)
			}
		case perr != nil && err != nil && where(err) == where(perr):
		case perr != nil && (strings.Contains(perr.Error(), "devices") || strings.Contains(perr.Error(), "analytics")):
			// Damage ReadServers passes over.
		default:
			t.Errorf("file %d:\nReadServers: %v\nParse:       %v", i, err, perr)
		}
	}
}
