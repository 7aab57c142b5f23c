package status_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/status"
	"allot.dev/allot/pkg/verify"
)

var now = time.Date(2027, 5, 22, 10, 0, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// sealed returns a bundle of system id, signed by a wallet but funded by
// keys that are only names: status without a trust file checks the
// wallet's signature alone.
func sealed(t *testing.T, id string, seq int, from, until time.Time, quota map[string]int, servers ...string) []byte {
	t.Helper()
	b := &bundle.Bundle{
		ID: fmt.Sprintf("%s-%d", id, seq), Sequence: seq, Organization: "Acme Security", System: id,
		Issued: from.Add(time.Duration(seq) * time.Hour), AnalyticsRetentionDays: 7,
		Validity: bundle.Validity{From: from, Until: until, GraceUntil: until.AddDate(0, 0, 30)},
		Periods:  []bundle.Period{{From: from, Until: until, Quota: quota}},
		Funding:  []bundle.Funding{{Key: "KEY", Period: 1, License: "camera", Months: 12}},
	}
	for _, s := range servers {
		b.Binding.Servers = append(b.Binding.Servers, bundle.Server{Name: s, Identifiers: []string{}})
	}
	doc, err := bundle.Seal(b, allottest.Key("wallet"))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// state returns a device state file that accepted bundle seq of system
// id, last seen at seen.
func state(t *testing.T, id string, seq int, seen time.Time) []byte {
	t.Helper()
	st := verify.NewState(verify.DeviceKey([]hwid.Identifier{{Kind: hwid.MachineID, Value: id}}))
	doc := sealed(t, id, seq, day(2026, 11, 22), day(2027, 11, 22), map[string]int{"camera": 1}, "nvr-1")
	b, err := bundle.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Check(b, seen, time.Hour); err != nil {
		t.Fatal(err)
	}
	return st.Marshal()
}

func find[T any](t *testing.T, list []T, what string, match func(T) bool) T {
	t.Helper()
	for _, x := range list {
		if match(x) {
			return x
		}
	}
	t.Fatalf("no %s in %+v", what, list)
	var zero T
	return zero
}

func license(t *testing.T, s status.System, typ string) status.License {
	return find(t, s.Licenses, typ, func(l status.License) bool { return l.Type == typ })
}

func server(t *testing.T, s status.System, name string) status.Server {
	return find(t, s.Servers, name, func(sv status.Server) bool { return sv.Name == name })
}

func num(p *int64) string {
	if p == nil {
		return "-"
	}
	b, _ := json.Marshal(*p)
	return string(b)
}

func TestBuild(t *testing.T) {
	year := []time.Time{day(2026, 11, 22), day(2027, 11, 22)}
	usage := `version = 1
system = "site-1"

[[server]]
name = "nvr-1"
cameras = 5

[[analytics]]
type = "line-crossing"
cameras = 3

[[analytics]]
type = "face-recognition"
cameras = 1
users = 40
`
	r := status.Build(status.Input{
		Now: now,
		Bundles: []status.File{
			{Name: "site-1.lic", Data: sealed(t, "site-1", 2, year[0], year[1],
				map[string]int{"camera": 8, "analytics-l1": 2, "analytics-l3": 1}, "nvr-1", "nvr-2")},
			{Name: "old/site-1.lic", Data: sealed(t, "site-1", 1, year[0], year[1], map[string]int{"camera": 4}, "nvr-1")},
			{Name: "site-2.lic", Data: sealed(t, "site-2", 1, day(2025, 1, 1), day(2026, 1, 1), map[string]int{"camera": 3}, "nvr-1")},
			{Name: "notes.lic", Data: []byte("not a bundle\n")},
			{Name: "missing.lic", Err: &fs.PathError{Op: "open", Path: "missing.lic", Err: fs.ErrNotExist}},
		},
		Usages: []status.File{
			{Name: "site-1.usage.toml", Data: []byte(usage)},
			{Name: "site-3.usage.toml", Data: []byte("version = 1\nsystem = \"site-3\"\n\n[[server]]\nname = \"nvr-9\"\n")},
			{Name: "bad.usage.toml", Data: []byte("version = 1\nsystem = \"site-4\"\ncamera = 2\n")},
		},
		States: []status.StateFile{
			{File: status.File{Name: "nvr-1/allot.state", Data: state(t, "site-1", 2, now.Add(-time.Hour))}, Server: "nvr-1"},
			{File: status.File{Name: "nvr-7/allot.state", Data: state(t, "site-1", 2, now)}, Server: "nvr-7"},
			{File: status.File{Name: "x/allot.state", Data: []byte("garbage\nmac 00\n")}, Server: "x"},
		},
	})
	if r.Trust != status.TrustWallet {
		t.Errorf("trust %q", r.Trust)
	}
	if len(r.Systems) != 3 {
		t.Fatalf("%d systems: %+v", len(r.Systems), r.Systems)
	}

	s1 := r.Systems[0]
	if s1.System != "site-1" || s1.Status != status.SystemActive || s1.Bundle != "site-1.lic" || s1.Sequence != 2 || s1.Usage != "site-1.usage.toml" {
		t.Errorf("site-1: %+v", s1)
	}
	var types []string
	for _, l := range s1.Licenses {
		types = append(types, l.Type)
	}
	if got := strings.Join(types, " "); got != "camera analytics-l1 analytics-l2 analytics-l3 analytics-l4" {
		t.Errorf("rows %s", got)
	}
	for _, c := range []struct {
		typ             string
		used, available string
		total           int64
	}{
		{"camera", "5", "3", 8},
		{"analytics-l1", "2", "0", 2}, // three line crossings: two at level 1...
		{"analytics-l2", "0", "0", 0},
		{"analytics-l3", "1", "0", 1},
		{"analytics-l4", "1", "-1", 0}, // ...and one against level 4, which the bundle lacks
	} {
		l := license(t, s1, c.typ)
		if num(l.Used) != c.used || num(l.Available) != c.available || l.Total != c.total || l.Shared != 0 {
			t.Errorf("%s: used %s available %s total %d shared %d, want %s %s %d 0", c.typ, num(l.Used), num(l.Available), l.Total, l.Shared, c.used, c.available, c.total)
		}
	}
	if camera := license(t, s1, "camera"); camera.Name != "Camera channel" {
		t.Errorf("camera's name %q", camera.Name)
	}
	if f := s1.FaceRecognition; f == nil || f.Users != 40 || f.Devices != 1 {
		t.Errorf("face recognition %+v", f)
	}
	d := s1.Dates
	if !d.SubscriptionUntil.Equal(year[1]) || !d.SupportUntil.Equal(year[1]) || !d.GraceUntil.Equal(day(2027, 12, 22)) ||
		d.AnalyticsDataDeleted == nil || !d.AnalyticsDataDeleted.Equal(day(2027, 12, 29)) {
		t.Errorf("dates %+v", d)
	}
	if sv := server(t, s1, "nvr-1"); sv.Status != status.ServerActive || sv.LastRecheck == nil ||
		!sv.LastRecheck.Equal(now.Add(-time.Hour)) || sv.State != "nvr-1/allot.state" {
		t.Errorf("nvr-1: %+v", sv)
	}
	if sv := server(t, s1, "nvr-2"); sv.Status != status.ServerInactive || sv.Reason != "no usage reported: not in site-1.usage.toml" || sv.LastRecheck != nil {
		t.Errorf("nvr-2: %+v", sv)
	}
	// A device that accepted site-1's bundle, under a name the bundle
	// does not license.
	if sv := server(t, s1, "nvr-7"); sv.Status != status.ServerNoData || sv.Reason != "not a server of site-1.lic" || sv.LastRecheck == nil {
		t.Errorf("nvr-7: %+v", sv)
	}

	s2 := r.Systems[1]
	if s2.System != "site-2" || s2.Status != status.SystemExpired || s2.Usage != "" || s2.FaceRecognition != nil {
		t.Errorf("site-2: %+v", s2)
	}
	if l := license(t, s2, "camera"); l.Total != 0 || l.Used != nil || l.Available != nil {
		t.Errorf("site-2 camera: %+v", l)
	}
	if sv := server(t, s2, "nvr-1"); sv.Status != status.ServerInactive || sv.Reason != "expired: the grace period ended 2026-01-31" {
		t.Errorf("site-2 nvr-1: %+v", sv)
	}
	if s2.Dates.AnalyticsDataDeleted != nil {
		t.Errorf("site-2 carries no analytics, but its data is deleted %s", s2.Dates.AnalyticsDataDeleted)
	}

	s3 := r.Systems[2]
	if s3.System != "site-3" || s3.Status != status.SystemNoData || len(s3.Licenses) != 0 || s3.Dates != nil {
		t.Errorf("site-3: %+v", s3)
	}
	if sv := server(t, s3, "nvr-9"); sv.Status != status.ServerNoData {
		t.Errorf("site-3 nvr-9: %+v", sv)
	}

	var problems []string
	for _, p := range r.Problems {
		problems = append(problems, p.Error)
	}
	want := []string{
		"notes.lic: malformed bundle: ",
		"missing.lic: file does not exist",
		"bad.usage.toml:3: camera: unknown field",
		"x/allot.state: not a state file",
	}
	if len(problems) != len(want) {
		t.Fatalf("problems %q", problems)
	}
	for i := range want {
		if !strings.HasPrefix(problems[i], want[i]) {
			t.Errorf("problem %d: %q, want %q…", i, problems[i], want[i])
		}
	}
	if errclass.ExitCode(r.Problems[0].Err) != errclass.ExitInput || !errors.Is(r.Problems[1].Err, fs.ErrNotExist) {
		t.Errorf("problem classes: %v, %v", r.Problems[0].Err, r.Problems[1].Err)
	}
	if len(r.Notes) != 1 || r.Notes[0] != "old/site-1.lic: superseded by site-1.lic (sequence 2 of system site-1)" {
		t.Errorf("notes %q", r.Notes)
	}
}

// Outside the validity, and in the grace.
func TestBuildTime(t *testing.T) {
	doc := sealed(t, "site-1", 1, day(2027, 6, 1), day(2028, 6, 1), map[string]int{"camera": 8}, "nvr-1")
	usage := []status.File{{Name: "u.toml", Data: []byte("version = 1\nsystem = \"site-1\"\n\n[[server]]\nname = \"nvr-1\"\ncameras = 2\n")}}
	for _, c := range []struct {
		now            time.Time
		system, server string
		total          int64
	}{
		{day(2027, 5, 31), status.SystemNotYet, status.ServerInactive, 0},
		{day(2027, 6, 1), status.SystemActive, status.ServerActive, 8},
		{day(2028, 6, 10), status.SystemGrace, status.ServerActive, 8},
		{day(2028, 7, 1), status.SystemExpired, status.ServerInactive, 0},
	} {
		r := status.Build(status.Input{Now: c.now, Bundles: []status.File{{Name: "a.lic", Data: doc}}, Usages: usage})
		s := r.Systems[0]
		if s.Status != c.system || s.Servers[0].Status != c.server || s.Licenses[0].Total != c.total {
			t.Errorf("%s: %s, server %+v, camera %+v", c.now.Format(time.DateOnly), s.Status, s.Servers[0], s.Licenses[0])
		}
	}
}

// With a trust file, status checks a bundle as verify checks its
// authority: a bundle whose keys chain to another vendor has no data.
func TestBuildTrust(t *testing.T) {
	doc, w, err := allottest.TypicalBundle(t.TempDir(), 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	in := status.Input{Now: allottest.Now, Bundles: []status.File{{Name: "site-1.lic", Data: doc}}, Trust: w.Trust, TrustName: "vendor.pub"}
	r := status.Build(in)
	if r.Trust != status.TrustChain || r.TrustFile != "vendor.pub" || len(r.Problems) != 0 || r.Systems[0].Status != status.SystemActive {
		t.Fatalf("trusted: %+v", r)
	}
	other, err := allottest.NewNamedWorld("other", 1)
	if err != nil {
		t.Fatal(err)
	}
	in.Trust = other.Trust
	r = status.Build(in)
	if len(r.Problems) != 1 || !errors.Is(r.Problems[0].Err, verify.ErrTrust) || len(r.Systems) != 0 {
		t.Fatalf("another vendor: %+v", r)
	}
	// Without a trust file, the same bundle shows: its wallet signed it.
	in.Trust = nil
	if r = status.Build(in); len(r.Problems) != 0 || len(r.Systems) != 1 {
		t.Fatalf("wallet signature only: %+v", r)
	}
	// A bundle another key signed is refused either way.
	forged := []byte(strings.Replace(string(doc), "Fixture Org", "Fixture Orc", 1))
	r = status.Build(status.Input{Now: allottest.Now, Bundles: []status.File{{Name: "f.lic", Data: forged}}})
	if len(r.Problems) != 1 || !errors.Is(r.Problems[0].Err, sign.ErrSignature) {
		t.Fatalf("forged: %+v", r.Problems)
	}
}
