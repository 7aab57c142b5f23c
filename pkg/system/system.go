// Package system reads and writes system description files
// (*.system.toml): what a site is made of and what it needs licensed.
//
// A system file names the system and its organization, lists the servers
// with the keyed hashes of their hardware identifiers (package hwid), lists
// the devices (cameras and intercoms) and the server each is bound to, and
// states the current need per license type and the analytics assignments.
// People edit these files by hand; every error names the file, the line and
// the field.
package system

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/tomlfile"
	"allot.dev/allot/pkg/tree"
)

// Version is the file version this package writes and reads.
const Version = 1

// Limits a reader enforces.
const (
	MaxFileSize    = 64 << 20
	MaxServers     = 1024
	MaxIdentifiers = 32
	MaxDevices     = 1_000_000
	// MaxAnalytics bounds the [[analytics]] entries, and MaxAssignments
	// the cameras they list in all.
	MaxAnalytics   = 1024
	MaxAssignments = MaxDevices
	maxIDLen       = 64
)

// fileLimits bound a system file before the TOML library reads it: tables
// for the servers and analytics entries, their keys and the need's, the
// identifiers and the cameras assigned, and the devices block, a string
// as long as the file.
var fileLimits = tomlfile.Limits{
	Tables: MaxServers + MaxAnalytics + treeTables + 16,
	Keys:   2*MaxServers + 2*MaxAnalytics + catalog.MaxLicenseTypes + treeKeys + 16,
	Values: 2*MaxServers*MaxIdentifiers + MaxAssignments + treeValues + 16,
	String: MaxFileSize,
}

// Device types.
const (
	Camera   = "camera"
	Intercom = "intercom"
)

// System is a parsed system description.
type System struct {
	ID           string         `toml:"id"`
	Organization string         `toml:"organization"`
	Binding      Binding        `toml:"binding"`
	Need         map[string]int `toml:"need"`
	Servers      []Server       `toml:"server"`
	Devices      []Device       `toml:"-"`
	Analytics    []Assignment   `toml:"analytics"`
	Floating     bool           `toml:"floating"` // one pool, a share per server (allocate)
	Tree         tree.Tree      `toml:"-"`        // [[group]] and [[user]] (tree.go)
}

// Binding says how many of a server's identifiers must match for a bundle
// to count as running on that server.
type Binding struct {
	Required int `toml:"required"`
}

// Server is a machine of the system.
type Server struct {
	Name        string   `toml:"name"`
	Identifiers []string `toml:"identifiers"` // keyed hashes, "kind:hex"
	// OrgIdentifiers are the same identifiers keyed by the organization
	// (hwid.OrgHash): allocate refuses a machine another system of the
	// wallet licenses, and audit finds it. Optional: never used for the
	// binding.
	OrgIdentifiers []string `toml:"org_identifiers,omitempty"`
}

// Device is a camera or intercom bound to a server.
type Device struct {
	Serial string `json:"serial"`
	Model  string `json:"model"`
	Type   string `json:"type"`
	Server string `json:"server"`
}

// Assignment assigns cameras to an analytics type.
type Assignment struct {
	Type    string   `toml:"type"`
	Cameras []string `toml:"cameras"`
}

// file is the on-disk layout: devices are a text block, one device a line,
// which is both easier to edit than a table per device and fast to read for
// sites with a hundred thousand cameras.
type file struct {
	Version      int            `toml:"version"`
	ID           string         `toml:"id"`
	Organization string         `toml:"organization"`
	Floating     bool           `toml:"floating"`
	Binding      Binding        `toml:"binding"`
	Need         map[string]int `toml:"need"`
	Devices      string         `toml:"devices"`
	Servers      []Server       `toml:"server"`
	Analytics    []Assignment   `toml:"analytics"`
	Groups       []groupTOML    `toml:"group"`
	Users        []userTOML     `toml:"user"`
}

// Parse parses a system file; name is used in errors.
func Parse(name string, data []byte, cat *catalog.Catalog) (*System, error) {
	if len(data) > MaxFileSize {
		return nil, &tomlfile.Error{File: name, Err: fmt.Errorf("larger than %d MiB", MaxFileSize>>20)}
	}
	return parse(name, data, cat, fileLimits)
}

func parse(name string, data []byte, cat *catalog.Catalog, lim tomlfile.Limits) (*System, error) {
	var f file
	if err := tomlfile.DecodeLimits(name, data, &f, lim); err != nil {
		return nil, err
	}
	errf := func(field, format string, args ...any) error {
		return tomlfile.Errorf(name, data, field, format, args...)
	}
	if f.Version != Version {
		return nil, errf("version", "%d, want %d", f.Version, Version)
	}
	s := &System{
		ID: f.ID, Organization: f.Organization, Floating: f.Floating, Binding: f.Binding,
		Need: f.Need, Servers: f.Servers, Analytics: f.Analytics,
		Tree: treeOf(f.Groups, f.Users),
	}
	if s.Need == nil {
		s.Need = map[string]int{}
	}
	devices, lines, err := parseDevices(f.Devices)
	if err != nil {
		var le *lineError
		if errors.As(err, &le) {
			return nil, &tomlfile.Error{File: name, Line: blockLine(data, le.line), Field: "devices", Err: le.err}
		}
		return nil, errf("devices", "%v", err)
	}
	s.Devices = devices
	if err := s.check(cat); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			if fe.device > 0 {
				// A device's problem is reported on the device's own line.
				return nil, &tomlfile.Error{File: name, Line: blockLine(data, lines[fe.device-1]), Field: fe.field, Err: fe.err}
			}
			return nil, errf(fe.field, "%v", fe.err)
		}
		var te *TreeError
		if errors.As(err, &te) {
			return nil, errf(te.Field, "%v", te.Err)
		}
		return nil, &tomlfile.Error{File: name, Err: err}
	}
	return s, nil
}

// blockLine maps line n of the devices block to a line of the file. TOML
// drops a newline that immediately follows the opening delimiter of a
// multi-line string, basic or literal, so such a block has its first line
// one below the key; otherwise the block's first line is the key's.
func blockLine(data []byte, n int) int {
	key := tomlfile.Line(data, "devices")
	if key == 0 {
		return 0
	}
	lines := bytes.SplitN(data, []byte("\n"), key+1)
	_, value, _ := bytes.Cut(lines[key-1], []byte("="))
	value = bytes.TrimLeft(value, " \t")
	for _, delim := range []string{`"""`, `'''`} {
		if rest, ok := bytes.CutPrefix(value, []byte(delim)); ok && len(bytes.TrimSuffix(rest, []byte("\r"))) == 0 {
			return key + n
		}
	}
	return key + n - 1
}

type fieldError struct {
	field  string
	device int // 1-based index of the device the error is about, or 0
	err    error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }

func fieldErr(field, format string, args ...any) error {
	return &fieldError{field: field, err: fmt.Errorf(format, args...)}
}

// Check validates s against cat, as Parse does; Create uses it before it
// writes anything.
func (s *System) Check(cat *catalog.Catalog) error { return s.check(cat) }

func (s *System) check(cat *catalog.Catalog) error {
	if err := ValidID(s.ID); err != nil {
		return fieldErr("id", "%v", err)
	}
	if strings.TrimSpace(s.Organization) == "" {
		return fieldErr("organization", "missing")
	}
	if len(s.Servers) == 0 {
		return fieldErr("server", "no servers: a system has at least one [[server]]")
	}
	if len(s.Servers) > MaxServers {
		return fieldErr("server", "%d servers, at most %d", len(s.Servers), MaxServers)
	}
	servers := map[string]bool{}
	for i, srv := range s.Servers {
		field := fmt.Sprintf("server[%d]", i+1)
		if err := ValidID(srv.Name); err != nil {
			return fieldErr(field+".name", "%v", err)
		}
		if servers[srv.Name] {
			return fieldErr(field+".name", "server %q is listed twice", srv.Name)
		}
		servers[srv.Name] = true
		if err := validHashes(field+".identifiers", srv.Identifiers); err != nil {
			return err
		}
		if err := validHashes(field+".org_identifiers", srv.OrgIdentifiers); err != nil {
			return err
		}
	}
	minIDs := len(s.Servers[0].Identifiers)
	for _, srv := range s.Servers {
		minIDs = min(minIDs, len(srv.Identifiers))
	}
	// 0 leaves the system unbound: its bundles run on any hardware.
	if r := s.Binding.Required; r < 0 || r > minIDs {
		return fieldErr("binding.required", "%d: want 0 (not bound) to %d, the fewest identifiers a server has", r, minIDs)
	}
	for t, q := range s.Need {
		if _, _, err := cat.LicenseType(t); err != nil {
			return fieldErr("need."+t, "%v", err)
		}
		if q < 0 || q > licensekey.MaxQuantity*100 {
			return fieldErr("need."+t, "%d is not a quantity between 0 and %d", q, licensekey.MaxQuantity*100)
		}
	}
	if len(s.Devices) > MaxDevices {
		return fieldErr("devices", "%d devices, at most %d", len(s.Devices), MaxDevices)
	}
	serials := make(map[string]string, len(s.Devices))
	for i, d := range s.Devices {
		if !servers[d.Server] {
			return &fieldError{field: "devices", device: i + 1,
				err: fmt.Errorf("device %s: server %q is not a [[server]] of this file", d.Serial, d.Server)}
		}
		if _, dup := serials[d.Serial]; dup {
			return &fieldError{field: "devices", device: i + 1, err: fmt.Errorf("device %s is listed twice", d.Serial)}
		}
		serials[d.Serial] = d.Type
	}
	if len(s.Analytics) > MaxAnalytics {
		return fieldErr("analytics", "%d entries, at most %d", len(s.Analytics), MaxAnalytics)
	}
	assigned := 0
	for i, a := range s.Analytics {
		field := fmt.Sprintf("analytics[%d]", i+1)
		if assigned += len(a.Cameras); assigned > MaxAssignments {
			return fieldErr(field+".cameras", "more than %d cameras assigned in all", MaxAssignments)
		}
		if _, err := cat.AnalyticsLevel(a.Type); err != nil {
			return fieldErr(field+".type", "%v", err)
		}
		for _, c := range a.Cameras {
			if t, ok := serials[c]; !ok || t != Camera {
				return fieldErr(field+".cameras", "%q is not a camera listed in devices", c)
			}
		}
	}
	return s.checkTree(cat)
}

func uniq(v []string) map[string]bool {
	m := make(map[string]bool, len(v))
	for _, x := range v {
		m[x] = true
	}
	return m
}

// validHashes checks a list of keyed identifier hashes.
func validHashes(field string, hs []string) error {
	if len(hs) > MaxIdentifiers {
		return fieldErr(field, "%d identifiers, at most %d", len(hs), MaxIdentifiers)
	}
	for _, h := range hs {
		if err := hwid.ValidHash(h); err != nil {
			return fieldErr(field, "%v", err)
		}
	}
	if len(uniq(hs)) != len(hs) {
		return fieldErr(field, "an identifier is listed twice")
	}
	return nil
}

// ValidID checks system ids, server names and the like: 1 to 64 characters
// of letters, digits, '.', '_' and '-'.
func ValidID(s string) error {
	if s == "" {
		return errors.New("missing")
	}
	if len(s) > maxIDLen {
		return fmt.Errorf("%q is longer than %d characters", s, maxIDLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%q: %s is not allowed (letters, digits, '.', '_', '-')", s, describeByte(c))
		}
	}
	return nil
}

// validModel checks a device model: like an id, but spaces, '/', '+' and
// parentheses are allowed too ("AXIS P3265-LVE (2024)").
func validModel(s string) error {
	if err := ValidID(strings.Map(func(r rune) rune {
		if strings.ContainsRune(" /+()", r) {
			return '-'
		}
		return r
	}, s)); err != nil {
		return fmt.Errorf("%q: want letters, digits, spaces and . _ - / + ( )", s)
	}
	return nil
}

// describeByte names a byte for a message: a printable ASCII character as
// itself, anything else by its value, which a terminal cannot mangle.
func describeByte(c byte) string {
	if c >= 0x21 && c < 0x7f {
		return fmt.Sprintf("character %q", c)
	}
	return fmt.Sprintf("byte %#02x", c)
}

type lineError struct {
	line int // 1-based line within the block
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }

// parseDevices reads the devices block: one device a line, "serial, model,
// type, server"; blank lines and lines starting with '#' are skipped. It
// also returns the 1-based line of the block each device is on.
func parseDevices(block string) ([]Device, []int, error) {
	var devs []Device
	var lines []int
	sc := bufio.NewScanner(strings.NewReader(block))
	sc.Buffer(nil, 4096)
	n := 0
	for n = 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if len(devs) == MaxDevices {
			return nil, nil, &lineError{n, fmt.Errorf("more than %d devices", MaxDevices)}
		}
		f := strings.Split(line, ",")
		if len(f) != 4 {
			return nil, nil, &lineError{n, fmt.Errorf("%d fields, want 4: serial, model, type, server", len(f))}
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		d := Device{Serial: f[0], Model: f[1], Type: f[2], Server: f[3]}
		if err := ValidID(d.Serial); err != nil {
			return nil, nil, &lineError{n, fmt.Errorf("serial: %v", err)}
		}
		if err := validModel(d.Model); err != nil {
			return nil, nil, &lineError{n, fmt.Errorf("model: %v", err)}
		}
		if d.Type != Camera && d.Type != Intercom {
			return nil, nil, &lineError{n, fmt.Errorf("type %q: want camera or intercom", d.Type)}
		}
		devs = append(devs, d)
		lines = append(lines, n)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, &lineError{n, fmt.Errorf("longer than 4096 bytes")}
	}
	return devs, lines, nil
}

// Marshal returns the file form of s, laid out for people to read and edit.
func (s *System) Marshal(created time.Time) []byte {
	var b bytes.Buffer
	q := tomlfile.Quote
	fmt.Fprintf(&b, "# allot system description, written %s.\n", created.UTC().Format(time.RFC3339))
	b.WriteString("# Edit it by hand or with `allot system create`; check it with `allot system inspect`.\n")
	fmt.Fprintf(&b, "version = %d\nid = %s\norganization = %s\n", Version, q(s.ID), q(s.Organization))
	if s.Floating {
		b.WriteString("# One pool for all the servers, divided among them by where the devices are bound.\nfloating = true\n")
	}
	b.WriteString("\n# Devices, one a line: serial, model, type (camera or intercom), server.\n")
	b.WriteString("devices = \"\"\"\n")
	for _, d := range s.Devices {
		fmt.Fprintf(&b, "%s, %s, %s, %s\n", d.Serial, d.Model, d.Type, d.Server)
	}
	b.WriteString("\"\"\"\n")
	b.WriteString("\n# How many identifiers of a server must match on the device.\n")
	fmt.Fprintf(&b, "[binding]\nrequired = %d\n", s.Binding.Required)
	b.WriteString("\n# The current need: how many licenses of each type the system uses.\n[need]\n")
	for _, t := range slices.Sorted(maps.Keys(s.Need)) {
		fmt.Fprintf(&b, "%s = %d\n", t, s.Need[t])
	}
	for _, srv := range s.Servers {
		b.WriteString("\n[[server]]\n")
		fmt.Fprintf(&b, "name = %s\n", q(srv.Name))
		b.WriteString("# Keyed hashes of hardware identifiers (allot fingerprint); never raw values.\n")
		fmt.Fprintf(&b, "identifiers = %s\n", tomlfile.QuoteList(srv.Identifiers))
		if len(srv.OrgIdentifiers) > 0 {
			b.WriteString("# The same, keyed by the organization: one machine in two systems is found.\n")
			fmt.Fprintf(&b, "org_identifiers = %s\n", tomlfile.QuoteList(srv.OrgIdentifiers))
		}
	}
	for _, a := range s.Analytics {
		b.WriteString("\n[[analytics]]\n")
		fmt.Fprintf(&b, "type = %s\ncameras = %s\n", q(a.Type), tomlfile.QuoteList(a.Cameras))
	}
	s.marshalTree(&b)
	return b.Bytes()
}

// Counts returns the number of devices of each type bound to each server.
func (s *System) Counts() map[string]map[string]int {
	m := map[string]map[string]int{}
	for _, srv := range s.Servers {
		m[srv.Name] = map[string]int{}
	}
	for _, d := range s.Devices {
		m[d.Server][d.Type]++
	}
	return m
}

// Server returns the server named name.
func (s *System) Server(name string) (*Server, bool) {
	for i := range s.Servers {
		if s.Servers[i].Name == name {
			return &s.Servers[i], true
		}
	}
	return nil, false
}

// ParseDevices reads a devices file: the lines of a system file's devices
// block, "serial, model, type, server". Each device must be bound to one of
// servers and listed once; name is used in errors.
func ParseDevices(name string, data []byte, servers []string) ([]Device, error) {
	devs, lines, err := parseDevices(string(data))
	if err != nil {
		var le *lineError
		if errors.As(err, &le) {
			return nil, &tomlfile.Error{File: name, Line: le.line, Err: le.err}
		}
		return nil, &tomlfile.Error{File: name, Err: err}
	}
	known := uniq(servers)
	seen := make(map[string]bool, len(devs))
	for i, d := range devs {
		if !known[d.Server] {
			return nil, &tomlfile.Error{File: name, Line: lines[i],
				Err: fmt.Errorf("device %s: server %q is not a server of the system (%s)", d.Serial, d.Server, strings.Join(servers, ", "))}
		}
		if seen[d.Serial] {
			return nil, &tomlfile.Error{File: name, Line: lines[i], Err: fmt.Errorf("device %s is listed twice", d.Serial)}
		}
		seen[d.Serial] = true
	}
	return devs, nil
}
