package system

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/tomlfile"
)

var (
	mac1  = hwid.Hash("site-42", hwid.Identifier{Kind: hwid.MAC, Value: "00:1a:2b:3c:4d:5e"})
	disk1 = hwid.Hash("site-42", hwid.Identifier{Kind: hwid.Disk, Value: "WD-1"})
	mac2  = hwid.Hash("site-42", hwid.Identifier{Kind: hwid.MAC, Value: "00:1a:2b:3c:4d:5f"})
)

// site is a hand-written system file; the line numbers in the tests below
// refer to it.
var site = `# Site 42, edited by hand.
version = 1
id = "site-42"
organization = "Acme Security"

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

[[server]]
name = "nvr-1"
identifiers = ["` + mac1 + `", "` + disk1 + `"]

[[server]]
name = "nvr-2"
identifiers = ["` + mac2 + `"]

[[analytics]]
type = "line-crossing"
cameras = ["CAM-1", "CAM-2"]
`

func cat() *catalog.Catalog { return catalog.Default() }

func wantSite() *System {
	return &System{
		ID: "site-42", Organization: "Acme Security", Binding: Binding{Required: 1},
		Need: map[string]int{"camera": 2, "intercom": 1},
		Servers: []Server{
			{Name: "nvr-1", Identifiers: []string{mac1, disk1}},
			{Name: "nvr-2", Identifiers: []string{mac2}},
		},
		Devices: []Device{
			{Serial: "CAM-1", Model: "AXIS P3265-LVE (2024)", Type: Camera, Server: "nvr-1"},
			{Serial: "CAM-2", Model: "AXIS P3265-LVE", Type: Camera, Server: "nvr-1"},
			{Serial: "DOOR-1", Model: "2N IP Verso", Type: Intercom, Server: "nvr-2"},
		},
		Analytics: []Assignment{{Type: "line-crossing", Cameras: []string{"CAM-1", "CAM-2"}}},
	}
}

func TestParse(t *testing.T) {
	s, err := Parse("site.system.toml", []byte(site), cat())
	if err != nil {
		t.Fatal(err)
	}
	if want := wantSite(); !reflect.DeepEqual(s, want) {
		t.Fatalf("Parse =\n%+v\nwant\n%+v", s, want)
	}
	counts := s.Counts()
	if want := map[string]map[string]int{"nvr-1": {Camera: 2}, "nvr-2": {Intercom: 1}}; !reflect.DeepEqual(counts, want) {
		t.Fatalf("Counts = %v, want %v", counts, want)
	}
	if srv, ok := s.Server("nvr-2"); !ok || srv.Name != "nvr-2" || len(srv.Identifiers) != 1 {
		t.Fatalf("Server(nvr-2) = %v, %v", srv, ok)
	}
	if _, ok := s.Server("nvr-3"); ok {
		t.Fatal("Server finds a server that is not there")
	}
	if err := s.Check(cat()); err != nil {
		t.Fatalf("Check of a parsed system: %v", err)
	}
}

func TestCountsServerWithoutDevices(t *testing.T) {
	s := wantSite()
	s.Servers = append(s.Servers, Server{Name: "spare"})
	c := s.Counts()
	if m, ok := c["spare"]; !ok || len(m) != 0 {
		t.Fatalf("Counts[spare] = %v, %v; want an empty map", m, ok)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	created := time.Date(2026, 11, 22, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	for name, s := range map[string]*System{
		"site": wantSite(),
		"bare": {ID: "s", Organization: "o", Need: map[string]int{}, Servers: []Server{{Name: "a", Identifiers: []string{}}}},
		"quotes and unicode": func() *System {
			s := wantSite()
			s.Organization = `Ünïcödé "Security" \ Co. 日本` + "\t#1 ''' \"\"\""
			return s
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			data := s.Marshal(created)
			if !strings.Contains(string(data), "2026-11-22T09:00:00Z") {
				t.Errorf("the creation time is not written in UTC:\n%s", data)
			}
			got, err := Parse("m.system.toml", data, cat())
			if err != nil {
				t.Fatalf("Parse(Marshal): %v\n%s", err, data)
			}
			if !reflect.DeepEqual(got, s) {
				t.Fatalf("Parse(Marshal(s)) =\n%+v\nwant\n%+v\nfile:\n%s", got, s, data)
			}
			if again := got.Marshal(created); string(again) != string(data) {
				t.Fatalf("Marshal is not stable:\n%s\nthen\n%s", data, again)
			}
		})
	}
}

// lineOf returns the 1-based line of site that contains s.
func lineOf(t *testing.T, data, s string) int {
	t.Helper()
	i := strings.Index(data, s)
	if i < 0 {
		t.Fatalf("%q is not in the file", s)
	}
	return strings.Count(data[:i], "\n") + 1
}

// TestErrors damages the file in one place at a time; every error names
// the file, the line of the damage and the field.
func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		field    string
		at       string // text on the line the error must name; new if empty
		msg      string
	}{
		{"version", "version = 1", "version = 2", "version", "", "2, want 1"},
		{"id with a space", `id = "site-42"`, `id = "site 42"`, "id", "", "not allowed"},
		{"id empty", `id = "site-42"`, `id = ""`, "id", "", "missing"},
		{"id too long", `id = "site-42"`, `id = "` + strings.Repeat("x", 65) + `"`, "id", "", "longer"},
		{"organization blank", `organization = "Acme Security"`, `organization = "  "`, "organization", "", "missing"},
		{"server name", `name = "nvr-2"`, `name = "nvr 2"`, "server[2].name", "", "not allowed"},
		{"server twice", `name = "nvr-2"`, `name = "nvr-1"`, "server[2].name", `name = "nvr-1"` + "\nidentifiers = [\"" + mac2, "twice"},
		{"identifier", `["` + mac2 + `"]`, `["mac:00"]`, "server[2].identifiers", "", "32 hexadecimal"},
		{"raw identifier", `["` + mac2 + `"]`, `["mac=00:1a:2b:3c:4d:5f"]`, "server[2].identifiers", "", "kind:hash"},
		{"identifier twice", `", "` + disk1 + `"]`, `", "` + mac1 + `"]`, "server[1].identifiers", "", "twice"},
		{"binding too high", "required = 1", "required = 2", "binding.required", "", "fewest"},
		{"binding negative", "required = 1", "required = -1", "binding.required", "", "want 0"},
		{"need unknown type", "intercom = 1", "intercom = 1\nwidget = 3", "need.widget", "widget = 3", "unknown license type"},
		{"need negative", "camera = 2", "camera = -2", "need.camera", "", "quantity"},
		{"analytics type", `type = "line-crossing"`, `type = "mind-reading"`, "analytics[1].type", "", "unknown analytics type"},
		{"analytics camera missing", `cameras = ["CAM-1", "CAM-2"]`, `cameras = ["CAM-1", "CAM-9"]`, "analytics[1].cameras", "", "CAM-9"},
		{"analytics on an intercom", `cameras = ["CAM-1", "CAM-2"]`, `cameras = ["DOOR-1"]`, "analytics[1].cameras", "", "DOOR-1"},
		{"unknown field", "[binding]\nrequired = 1", "[binding]\nrequired = 1\nrequird = 1", "binding.requird", "requird = 1", "unknown field"},
		{"unknown top-level field", "organization = \"Acme Security\"", "organization = \"Acme Security\"\ncolour = \"red\"", "colour", "colour = ", "unknown field"},
		{"type error", "required = 1", `required = "one"`, "binding.required", "", ""},
		{"syntax error", "camera = 2", "camera = ", "need.camera", "camera = ", ""},
		// The devices block: errors on the device's own line.
		{"device fields", "CAM-2, AXIS P3265-LVE, camera, nvr-1", "CAM-2, AXIS P3265-LVE, camera", "devices", "", "3 fields"},
		{"device serial", "CAM-2, AXIS", "CAM 2, AXIS", "devices", "", "serial"},
		{"device model", "AXIS P3265-LVE, camera", "AXIS P3265=LVE, camera", "devices", "", "model"},
		{"device type", "CAM-2, AXIS P3265-LVE, camera", "CAM-2, AXIS P3265-LVE, doorbell", "devices", "", "camera or intercom"},
		{"device server", "DOOR-1, 2N IP Verso, intercom, nvr-2", "DOOR-1, 2N IP Verso, intercom, nvr-9", "devices", "", `"nvr-9"`},
		{"device twice", "DOOR-1, 2N IP Verso, intercom, nvr-2", "CAM-1, 2N IP Verso, intercom, nvr-2", "devices", "", "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(site, tt.old) {
				t.Fatalf("%q is not in the file", tt.old)
			}
			data := strings.Replace(site, tt.old, tt.new, 1)
			at := tt.at
			if at == "" {
				at = tt.new
			}
			want := lineOf(t, data, at)
			_, err := Parse("site.system.toml", []byte(data), cat())
			var e *tomlfile.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse = %v (%T), want a *tomlfile.Error", err, err)
			}
			if e.File != "site.system.toml" || e.Line != want || e.Field != tt.field {
				t.Fatalf("Parse = %v\n(file %q line %d field %q), want line %d field %q", err, e.File, e.Line, e.Field, want, tt.field)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Parse = %v, want it to say %q", err, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("site.system.toml:%d: ", want)) {
				t.Fatalf("Parse = %v, want it to start with the file and line", err)
			}
		})
	}
}

func TestErrorsNoServers(t *testing.T) {
	data := site[:strings.Index(site, "[[server]]")]
	data = strings.Replace(data, "DOOR-1, 2N IP Verso, intercom, nvr-2\n", "", 1)
	data = strings.Replace(data, "CAM-1, AXIS P3265-LVE (2024), camera, nvr-1\nCAM-2, AXIS P3265-LVE, camera, nvr-1\n", "", 1)
	_, err := Parse("s.toml", []byte(data), cat())
	var e *tomlfile.Error
	if !errors.As(err, &e) || e.Field != "server" || !strings.Contains(err.Error(), "no servers") {
		t.Fatalf("no servers: %v", err)
	}
}

func TestTooMany(t *testing.T) {
	s := wantSite()
	for i := range MaxIdentifiers + 1 {
		s.Servers[1].Identifiers = append(s.Servers[1].Identifiers, hwid.Hash("x", hwid.Identifier{Kind: hwid.Disk, Value: fmt.Sprint(i)}))
	}
	data := s.Marshal(time.Time{})
	_, err := Parse("s.toml", data, cat())
	var e *tomlfile.Error
	if !errors.As(err, &e) || e.Field != "server[2].identifiers" || e.Line != lineOf(t, string(data), "identifiers = [\""+mac2) {
		t.Fatalf("too many identifiers: %v", err)
	}
}

// TestDevicesBlockLines: a device's line in the file is found whether the
// block starts on the line after the key or on the key's own line, with
// either kind of multi-line string.
func TestDevicesBlockLines(t *testing.T) {
	head := "version = 1\nid = \"s\"\norganization = \"o\"\n"
	tail := "\n[[server]]\nname = \"a\"\n"
	tests := []struct {
		name, devices string
		line          int // of the bad device in the whole file
	}{
		{"next line", "devices = \"\"\"\nC1, m, camera, a\nC2, m, camera, b\n\"\"\"\n", 6},
		{"next line, literal", "devices = '''\nC1, m, camera, a\nC2, m, camera, b\n'''\n", 6},
		{"next line, CRLF after the quotes", "devices = \"\"\"\r\nC1, m, camera, a\nC2, m, camera, b\n\"\"\"\n", 6},
		{"key's line", "devices = \"\"\"C1, m, camera, a\nC2, m, camera, b\n\"\"\"\n", 5},
		{"key's line, literal", "devices = '''C1, m, camera, a\nC2, m, camera, b\n'''\n", 5},
		{"key's line, first device bad", "devices = \"\"\"C2, m, camera, b\nC1, m, camera, a\n\"\"\"\n", 4},
		{"spaces after the quotes", "devices = \"\"\"  \nC1, m, camera, a\nC2, m, camera, b\n\"\"\"\n", 6},
		{"one line", "devices = \"\"\"C1, m, camera, a\"\"\"\nother = 1\n", 0},
		{"plain string", "devices = \"C2, m, camera, b\"\n", 4},
		{"after comments and blank lines", "devices = \"\"\"\n# header\n\nC1, m, camera, a\n   \n# c\nC2, m, camera, b\n\"\"\"\n", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := head + tt.devices + tail
			_, err := Parse("s.toml", []byte(data), cat())
			var e *tomlfile.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse = %v, want a *tomlfile.Error", err)
			}
			if tt.line == 0 {
				// An unknown field follows; the device line is fine.
				if e.Field != "other" {
					t.Fatalf("Parse = %v", err)
				}
				return
			}
			if e.Line != tt.line || e.Field != "devices" || !strings.Contains(err.Error(), `"b"`) {
				t.Fatalf("Parse = %v (line %d), want line %d:\n%s", err, e.Line, tt.line, data)
			}
			if got := strings.Split(data, "\n")[e.Line-1]; !strings.Contains(got, "C2") {
				t.Fatalf("line %d is %q, not the bad device", e.Line, got)
			}
		})
	}
	// The same mapping for a line that does not parse at all.
	data := head + "devices = '''\nC1, m, camera, a\nC2, m\n'''\n" + tail
	_, err := Parse("s.toml", []byte(data), cat())
	var e *tomlfile.Error
	if !errors.As(err, &e) || e.Line != 6 || !strings.Contains(err.Error(), "2 fields") {
		t.Fatalf("bad device line in a literal block: %v", err)
	}
}

func TestParseDevices(t *testing.T) {
	data := "# serial, model, type, server\nCAM-1, AXIS P3265-LVE, camera, nvr-1\n\n  DOOR-1 ,2N IP Verso,intercom,nvr-2  \n"
	servers := []string{"a", "nvr-1", "nvr-2"}
	devs, err := ParseDevices("devices.txt", []byte(data), servers)
	if err != nil {
		t.Fatal(err)
	}
	want := []Device{
		{Serial: "CAM-1", Model: "AXIS P3265-LVE", Type: Camera, Server: "nvr-1"},
		{Serial: "DOOR-1", Model: "2N IP Verso", Type: Intercom, Server: "nvr-2"},
	}
	if !reflect.DeepEqual(devs, want) {
		t.Fatalf("ParseDevices = %+v", devs)
	}
	if devs, err := ParseDevices("empty.txt", nil, servers); err != nil || len(devs) != 0 {
		t.Fatalf("empty file: %v, %v", devs, err)
	}
	for _, tt := range []struct {
		data string
		line int
		msg  string
	}{
		{"CAM-1, m, camera, a\nCAM-2, m, camera\n", 2, "3 fields"},
		{"# c\n\nCAM-1, m, camera, a, extra\n", 3, "5 fields"},
		{"CAM-1, m, lamp, a\n", 1, "camera or intercom"},
		{", m, camera, a\n", 1, "serial"},
		{"CAM-1, , camera, a\n", 1, "model"},
		{"CAM-1, m;, camera, a\n", 1, "model"},
		{"CAM-1, m, camera, a\n# c\nCAM-2, m, camera, nvr-9\n", 3, `server "nvr-9" is not a server of the system`},
		{"CAM-1, m, camera, a\nCAM-1, m, camera, nvr-1\n", 2, "listed twice"},
	} {
		_, err := ParseDevices("devices.txt", []byte(tt.data), servers)
		var e *tomlfile.Error
		if !errors.As(err, &e) || e.File != "devices.txt" || e.Line != tt.line || e.Field != "" || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseDevices(%q) = %v, want devices.txt:%d: …%s…", tt.data, err, tt.line, tt.msg)
		}
	}
	long := "CAM-1, " + strings.Repeat("m", 5000) + ", camera, a\n"
	if _, err := ParseDevices("devices.txt", []byte(long), servers); err == nil {
		t.Error("a line longer than 4096 bytes was accepted")
	}
}

func TestCheck(t *testing.T) {
	s := wantSite()
	if err := s.Check(cat()); err != nil {
		t.Fatal(err)
	}
	s.Devices = append(s.Devices, Device{Serial: "CAM-3", Model: "m", Type: Camera, Server: "nvr-7"})
	if err := s.Check(cat()); err == nil || !strings.Contains(err.Error(), "nvr-7") {
		t.Fatalf("Check = %v, want the unknown server named", err)
	}
}
