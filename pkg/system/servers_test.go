package system

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// withoutDevices is what ReadServers returns for a file Parse reads as s.
func withoutDevices(s *System) *System {
	c := *s
	c.Devices, c.Analytics = nil, nil
	return &c
}

// ReadServers reads what Parse reads, but the devices and analytics, and
// reports the same errors at the same lines.
func TestReadServers(t *testing.T) {
	got, err := ReadServers("site.system.toml", strings.NewReader(site), cat())
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse("site.system.toml", []byte(site), cat())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(withoutDevices(want)) {
		t.Fatalf("ReadServers = %+v\nwant %+v", got, withoutDevices(want))
	}
	for _, tc := range []struct{ old, new string }{
		{"version = 1", "version = 2"},
		{`id = "site-42"`, `id = "site 42"`},
		{`name = "nvr-2"`, `name = "nvr-1"`},
		{`["` + mac2 + `"]`, `["mac:00"]`},
		{"required = 1", "required = 2"},
		{"intercom = 1", "intercom = 1\nwidget = 3"},
		{"[binding]\nrequired = 1", "[binding]\nrequired = 1\nrequird = 1"},
		{"required = 1", `required = "one"`},
		{"camera = 2", "camera = "},
		{"[[server]]\nname = \"nvr-2\"", "[[analytics]]\n[[server]]\nname = \"nvr 2\""},
		{"[[server]]\nname = \"nvr-2\"", "[[analytics]]\ncameras = ['''\n]'''\n, \"]\"]\n# [binding]\n[[server]]\nname = \"nvr 2\""},
		{"CAM-2, AXIS", "CAM-2 \"\"\" ], \\\"\"\" AXIS"}, // the block ends early: what follows is TOML
		{"DOOR-1, 2N", "DOOR-1 \"\"\" # ok\nx = \"\"\" 2N"},
	} {
		data := strings.Replace(site, tc.old, tc.new, 1)
		_, perr := Parse("s.toml", []byte(data), cat())
		_, err := ReadServers("s.toml", strings.NewReader(data), cat())
		// The same file and line; the same message too, but where the
		// devices block ends early: TOML's is then about the text after it,
		// and ReadServers says so in its own words.
		where := func(err error) string { return strings.SplitN(err.Error(), ": ", 2)[0] }
		if err == nil || perr == nil || where(err) != where(perr) || !strings.Contains(tc.new, `""`+`"`) && err.Error() != perr.Error() {
			t.Errorf("%q → %q:\nReadServers: %v\nParse:       %v", tc.old, tc.new, err, perr)
		}
	}
}

// What ReadServers skips can be laid out any way TOML allows: its strings
// and brackets are followed, and the lines after it are the file's lines.
func TestReadServersSkips(t *testing.T) {
	head := "version = 1\nid = \"s\"\norganization = \"o\"\n"
	tail := "\n[[server]]\nname = \"a b\"\n"
	for _, skipped := range []string{
		"devices = \"\"\"\nC1, m, camera, a\n\"\"\"\n",
		"devices = '''\nC1, m, camera, a\n[[server]]\n'''\n",
		"devices = \"\"\"C1, m, camera, a\n\\\"\"\" [ { \\\\\n\"\"\"\"\"\n",
		"devices = \"\"\"\n\"\"\"",
		"devices = \"C1, m, camera, a\" # [[server]]\n",
		"\"devices\" = ''\n",
		"devices = \"\"\"\n# \"\"\"\n\n",
		"[[analytics]]\ntype = \"line-crossing\"\ncameras = [\n\"C1\", # ]\n'''\n[[server]]\n''',\n]\n[[analytics]]\n",
		"analytics = [\n{type = \"x\", cameras = []},\n]\n",
		"[analytics.x]\ny = 1\n",
	} {
		data := head + skipped + tail
		_, err := ReadServers("s.toml", strings.NewReader(data), cat())
		want := fmt.Sprintf("s.toml:%d: server[1].name: ", strings.Count(head+skipped, "\n")+3)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: %v, want %q…", skipped, err, want)
		}
	}
	for _, tc := range []struct{ data, want string }{
		{head + "devices = \"\"\"\nC1, m, camera, a\n", "s.toml:5: devices: unexpected EOF"},
		{head + "[[analytics]]\ncameras = [\"C1\",\n", "s.toml:5: analytics[1]: unexpected EOF"},
		{head + "devices = ''\ndevices = ''\n", "s.toml:5: devices: defined twice"},
		{head + "devices = 12 x\n", "s.toml:4: devices: text after the value"},
		{head + "devices = '''\n'''x\n", "s.toml:5: devices: text after the value"},
		{head + strings.Repeat("[[analytics]]\n", MaxAnalytics+1), fmt.Sprintf("s.toml:%d: analytics: %d entries, at most %d", MaxAnalytics+4, MaxAnalytics+1, MaxAnalytics)},
	} {
		_, err := ReadServers("s.toml", strings.NewReader(tc.data), cat())
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: %v, want %q", tc.data, err, tc.want)
		}
	}
}

// repeatReader reads head, then unit n times, then tail, without holding
// the whole.
func repeatReader(head, unit string, n int, tail string) io.Reader {
	return io.MultiReader(strings.NewReader(head), &repeated{unit: unit, n: n}, strings.NewReader(tail))
}

type repeated struct {
	unit string
	n    int
	buf  []byte
}

func (r *repeated) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.n > 0 {
		r.buf = append(r.buf, r.unit...)
		r.n--
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[n:])]
	return n, nil
}

// ReadServers reads the largest system file in a few MiB, and refuses the
// most costly ones at no more: Parse would hold the file, its devices
// block and a million devices, 500 MiB, and took 2 to 4 GB for 64 MiB of
// tiny tables or keys.
func TestReadServersAllocations(t *testing.T) {
	head := "version = 1\nid = \"site-1\"\norganization = \"o\"\n"
	server := "[[server]]\nname = \"nvr-1\"\nidentifiers = []\n"
	for _, tc := range []struct {
		name string
		r    io.Reader
		want string // the error, "" for none
	}{
		{"max devices", repeatReader(head+"devices = \"\"\"\n", "CAM-1234567, AXIS P3265-LVE, camera, nvr-1\n", MaxDevices, "\"\"\"\n"+server), ""},
		{"analytics", repeatReader(head+server, "[[analytics]]\ntype = \"line-crossing\"\ncameras = [\"CAM-1234567\", \"CAM-1234568\"]\n", MaxAnalytics, ""), ""},
		{"tiny tables", repeatReader(head, "[[server]]\n", MaxFileSize/11, ""), "more than 2 MiB besides the devices and analytics"},
		{"tiny analytics", repeatReader(head+server, "[[analytics]]\n", MaxFileSize/14, ""), "analytics: 1025 entries, at most 1024"},
		{"keys", repeatReader(head+server+"[need]\n", "a = 1\n", MaxFileSize/6, ""), "more than 2 MiB besides the devices and analytics"},
		{"larger", repeatReader(head+"devices = \"\"\"\n", "CAM-1, m, camera, nvr-1\n", MaxFileSize/20, "\"\"\"\n"), "larger than 64 MiB"},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := ReadServers("s.toml", tc.r, cat())
		runtime.ReadMemStats(&after)
		got := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %.1f MiB allocated: %v", tc.name, float64(got)/(1<<20), err)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if got > 12<<20 {
			t.Errorf("%s: ReadServers allocated %d MiB", tc.name, got>>20)
		}
	}
}

// A date outside 1970 to 9999 is malformed for ReadServers as for Parse.
func TestReadServersDateRange(t *testing.T) {
	data := strings.Replace(site, "camera = 2", "camera = 1969-12-31", 1)
	want := fmt.Sprintf("s.toml:%d: need.camera: date 1969-12-31: want a year from 1970 to 9999", lineOf(t, data, "camera = 1969"))
	if _, err := ReadServers("s.toml", strings.NewReader(data), cat()); err == nil || err.Error() != want {
		t.Errorf("ReadServers: %v, want %q", err, want)
	}
}
