package allottest

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/verify"
)

// A HostileInput is a file made to cost a reader as much memory or time as
// its size allows: what the holder of a site's wallet can hand a device
// (formats/threat-model.md). Hostile writes them; the device must refuse
// each with exit code Exit, or, for the largest valid files, accept it,
// within DESIGN.md's 20 MiB and in time linear in the file's size.
type HostileInput struct {
	Name   string   // the file, named for its damage
	Damage string   // what it does, in a few words
	Args   []string // allot-verify's arguments, relative to the folder
	Exit   int      // the exit code it must end with
	Field  string   // what its error must name besides the file and a line, if anything
}

// HostileSysroot is the folder, under Hostile's, holding the fake machine
// the device state is sealed for: run allot-verify with ALLOT_SYSROOT set
// to it.
const HostileSysroot = "machine"

// Hostile writes the hostile inputs of every file a device reads into dir,
// beside the valid files each needs (site.lic, vendor.pub), each as large
// as its reader accepts, and returns them.
func Hostile(dir string) ([]HostileInput, error) {
	h := &hostile{dir: dir}
	if err := h.base(); err != nil {
		return nil, err
	}
	for _, f := range []func() error{h.bundles, h.usages, h.systems, h.catalogs, h.trusts, h.states, h.readers} {
		if err := f(); err != nil {
			return nil, err
		}
	}
	return h.inputs, nil
}

type hostile struct {
	dir    string
	inputs []HostileInput
	world  *World
}

func (h *hostile) p(name string) string { return filepath.Join(h.dir, name) }

func (h *hostile) write(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(h.p(name)), 0o755); err != nil {
		return err
	}
	return os.WriteFile(h.p(name), data, 0o644)
}

func (h *hostile) add(in HostileInput, data []byte) error {
	h.inputs = append(h.inputs, in)
	return h.write(in.Name, data)
}

// verifyWith returns allot-verify's arguments to verify site.lic with one
// more input.
func verifyWith(flags ...string) []string {
	return append([]string{"site.lic", "--trust", "vendor.pub"}, flags...)
}

// fill repeats unit (given the repetition's number) after head until the
// whole would pass size bytes, and returns what fits.
func fill(head string, size int, unit func(i int) string) []byte {
	b := make([]byte, 0, size)
	b = append(b, head...)
	for i := 0; ; i++ {
		u := unit(i)
		if len(b)+len(u) > size {
			return b
		}
		b = append(b, u...)
	}
}

// name returns a short distinct key for i: [a-z][a-z0-9]*.
func name(i int) string {
	const first, rest = "abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte{first[i%26]}
	for i /= 26; i > 0; i /= 36 {
		b = append(b, rest[i%36])
	}
	return string(b)
}

func (h *hostile) base() error {
	if err := os.MkdirAll(h.dir, 0o755); err != nil {
		return err
	}
	doc, w, err := TypicalBundle(h.dir, 2, 3)
	if err != nil {
		return err
	}
	h.world = w
	if err := h.write("site.lic", doc); err != nil {
		return err
	}
	if err := w.WriteTrust(h.p("vendor.pub")); err != nil {
		return err
	}
	return fakeMachine(h.p(HostileSysroot))
}

// bundles: a bundle's payload is parsed after its signature is checked,
// and anyone may sign one; the wallet's holder signs with the key the
// payload names.
func (h *hostile) bundles() error {
	wk := Key("wallet")
	seal := func(in HostileInput, payload []byte) error {
		doc, err := sign.Seal(wk, bundle.Namespace, payload)
		if err != nil {
			return err
		}
		in.Args = []string{in.Name, "--trust", "vendor.pub"}
		return h.add(in, doc)
	}
	// What the signature's armor leaves of the 4 MiB a bundle may have.
	size := bundle.MaxSize - 1024
	header := "version = 1\n"
	for _, c := range []struct {
		in   HostileInput
		head string
		unit func(i int) string
	}{
		{HostileInput{Name: "bundle-tiny-tables.lic", Damage: "4 MiB of [[funding]] headers", Exit: 3, Field: "line"},
			header, func(int) string { return "[[funding]]\n" }},
		{HostileInput{Name: "bundle-tiny-fields.lic", Damage: "4 MiB of a = 1 in tables of 26 fields", Exit: 3, Field: "line"},
			header, func(i int) string {
				if i%26 == 0 {
					return "[[f]]\n" + string(rune('a'+i%26)) + " = 1\n"
				}
				return string(rune('a'+i%26)) + " = 1\n"
			}},
		{HostileInput{Name: "bundle-one-table-fields.lic", Damage: "4 MiB of distinct keys in one table", Exit: 3, Field: "line"},
			header + "[t]\n", func(i int) string { return name(i) + " = 1\n" }},
		{HostileInput{Name: "bundle-huge-arrays.lic", Damage: "4 MiB of arrays of empty strings", Exit: 3, Field: "line"},
			header, func(i int) string { return name(i) + " = [" + strings.Repeat(`"", `, 16000) + "\"\"]\n" }},
		{HostileInput{Name: "bundle-tree-headers.lic", Damage: "4 MiB of [[group]] and [[user]] sections, past the tree's limits", Exit: 3, Field: "line"},
			header, func(i int) string {
				if i%2 == 0 {
					return "[[group]]\npath = \"" + name(i) + "\"\n"
				}
				return "[[user]]\nname = \"" + name(i) + "\"\n"
			}},
		{HostileInput{Name: "bundle-tree-blank-lines.lic", Damage: "4 MiB of blank lines inside the tree", Exit: 3, Field: "line"},
			header + "[[group]]\npath = \"a\"\n", func(i int) string { return "\n" }},
		{HostileInput{Name: "bundle-long-strings.lic", Damage: "4 MiB of 64 KiB strings", Exit: 3, Field: "line"},
			header, func(i int) string { return name(i) + " = \"" + strings.Repeat("x", 65000) + "\"\n" }},
	} {
		if err := seal(c.in, fill(c.head, size, c.unit)); err != nil {
			return err
		}
	}
	// The largest bundle a device must accept: MaxFunding keys, each with
	// its own signature, funding one camera for a year each.
	doc, err := h.maxBundle(bundle.MaxFunding, bundle.Binding{Servers: []bundle.Server{{Name: "nvr-1", Identifiers: []string{}}}})
	if err != nil {
		return err
	}
	if err := h.add(HostileInput{Name: "bundle-max-funding.lic", Damage: fmt.Sprintf("valid, %d funding keys", bundle.MaxFunding),
		Args: []string{"bundle-max-funding.lic", "--trust", "vendor.pub"}, Exit: 0}, doc); err != nil {
		return err
	}
	// The most servers and identifiers, checked against a system file of
	// the same servers: each server's identifiers against every server's.
	servers := make([]bundle.Server, bundle.MaxServers)
	for i := range servers {
		servers[i] = bundle.Server{Name: fmt.Sprintf("nvr-%d", i), Identifiers: identifiers("bundle", i)}
	}
	doc, err = h.maxBundle(1, bundle.Binding{Required: 1, Servers: servers})
	if err != nil {
		return err
	}
	var sys strings.Builder
	sys.WriteString("version = 1\nid = \"site-1\"\norganization = \"Fixture Org\"\n[binding]\nrequired = 1\n")
	for i := range system.MaxServers {
		fmt.Fprintf(&sys, "[[server]]\nname = \"nvr-%d\"\nidentifiers = [\"%s\"]\n", i, strings.Join(identifiers("bundle", i), `", "`))
	}
	if err := h.write("system-max-servers.system.toml", []byte(sys.String())); err != nil {
		return err
	}
	return h.add(HostileInput{Name: "bundle-max-servers.lic", Damage: fmt.Sprintf("valid, %d servers of %d identifiers, against as many in system-max-servers.system.toml",
		bundle.MaxServers, system.MaxIdentifiers),
		Args: []string{"bundle-max-servers.lic", "--trust", "vendor.pub", "--system", "system-max-servers.system.toml"}, Exit: 0}, doc)
}

// identifiers returns system.MaxIdentifiers keyed hashes of their own for
// server i of what.
func identifiers(what string, i int) []string {
	ids := make([]string, system.MaxIdentifiers)
	for j := range ids {
		ids[j] = hwid.Hash("site-1", hwid.Identifier{Kind: hwid.Disk, Value: fmt.Sprintf("%s-%d-%d", what, i, j)})
	}
	return ids
}

// maxBundle signs a valid bundle bound as binding says, funded by n keys
// of one camera for a year each.
func (h *hostile) maxBundle(n int, binding bundle.Binding) ([]byte, error) {
	w := h.world
	wk := Key("wallet")
	wid := licensekey.WalletIDOf(wk.Public().(ed25519.PublicKey))
	from := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	b := &bundle.Bundle{ID: fmt.Sprintf("max-%d", n), Sequence: 1, Organization: "Fixture Org", System: "site-1",
		Issued: Now, Features: []string{}, AnalyticsRetentionDays: 7,
		Validity: bundle.Validity{From: from, Until: from.AddDate(1, 0, 0), GraceUntil: from.AddDate(1, 1, 0)},
		Binding:  binding,
		Periods:  []bundle.Period{{From: from, Until: from.AddDate(1, 0, 0), Quota: map[string]int{"camera": n}}},
	}
	keys, err := w.Keys(n, 1, 12, wid)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		b.Funding = append(b.Funding, bundle.Funding{Key: k, Period: 1, License: "camera", Months: 12})
	}
	for _, c := range w.Chain {
		b.Certificates = append(b.Certificates, c.Document())
	}
	return bundle.Seal(b, wk)
}

// usages: a usage file may have verify.MaxUsageFileSize bytes.
func (h *hostile) usages() error {
	size := verify.MaxUsageFileSize
	header := "version = 1\nsystem = \"site-1\"\n"
	for _, c := range []struct {
		in   HostileInput
		head string
		unit func(i int) string
	}{
		{HostileInput{Name: "usage-tiny-tables.usage.toml", Damage: "256 KiB of [[server]] headers", Exit: 3, Field: "server"},
			header, func(int) string { return "[[server]]\n" }},
		{HostileInput{Name: "usage-many-keys.usage.toml", Damage: "256 KiB of distinct keys in one table", Exit: 3, Field: "x."},
			header + "[x]\n", func(i int) string { return name(i) + " = 1\n" }},
		{HostileInput{Name: "usage-huge-array.usage.toml", Damage: "256 KiB array of strings", Exit: 3, Field: "features"},
			header + "features = [", func(int) string { return `"a", ` }},
		{HostileInput{Name: "usage-inline-tables.usage.toml", Damage: "256 KiB of inline tables", Exit: 3, Field: "server"},
			header + "server = [", func(int) string { return `{}, ` }},
		{HostileInput{Name: "usage-max-entries.usage.toml", Damage: "1,024 servers, analytics entries and features", Exit: 12},
			header + "features = [" + strings.Repeat(`"a", `, verify.MaxUsageFeatures-1) + "\"a\"]\n", func(i int) string {
				if i < verify.MaxUsageServers {
					return fmt.Sprintf("[[server]]\nname = \"nvr-%d\"\ncameras = 1\nintercoms = 1\n", i)
				}
				if i < verify.MaxUsageServers+verify.MaxUsageAnalytics {
					return fmt.Sprintf("[[analytics]]\ntype = \"t%d\"\ncameras = 1\n", i)
				}
				return strings.Repeat("x", size)
			}},
	} {
		data := fill(c.head, size-2, c.unit)
		if c.in.Name == "usage-huge-array.usage.toml" || c.in.Name == "usage-inline-tables.usage.toml" {
			data = append(data, "]\n"...)
		}
		c.in.Args = verifyWith("--usage", c.in.Name)
		if err := h.add(c.in, data); err != nil {
			return err
		}
	}
	return nil
}

// systems: a system file may have system.MaxFileSize bytes, and the
// largest valid one lists system.MaxDevices devices.
func (h *hostile) systems() error {
	size := system.MaxFileSize
	header := "version = 1\nid = \"site-1\"\norganization = \"Fixture Org\"\n"
	server := "[[server]]\nname = \"nvr-1\"\nidentifiers = []\n"
	for _, c := range []struct {
		in   HostileInput
		head string
		unit func(i int) string
		tail string
	}{
		{HostileInput{Name: "system-max-devices.system.toml", Damage: fmt.Sprintf("valid, %d devices", system.MaxDevices), Exit: 0},
			header + "devices = \"\"\"\n", func(i int) string {
				if i >= system.MaxDevices {
					return strings.Repeat("x", size)
				}
				return fmt.Sprintf("CAM-%07d, AXIS P3265, camera, nvr-1\n", i)
			}, "\"\"\"\n" + server},
		{HostileInput{Name: "system-tiny-tables.system.toml", Damage: "64 MiB of [[server]] headers", Exit: 3},
			header, func(int) string { return "[[server]]\n" }, ""},
		{HostileInput{Name: "system-many-keys.system.toml", Damage: "64 MiB of distinct keys in [need]", Exit: 3},
			header + server + "[need]\n", func(i int) string { return name(i) + " = 1\n" }, ""},
		{HostileInput{Name: "system-huge-array.system.toml", Damage: "64 MiB array of strings", Exit: 3},
			header + "[[server]]\nname = \"nvr-1\"\nidentifiers = [", func(int) string { return `"", ` }, "]\n"},
	} {
		data := fill(c.head, size-len(c.tail), c.unit)
		data = append(data, c.tail...)
		c.in.Args = verifyWith("--system", c.in.Name)
		if err := h.add(c.in, data); err != nil {
			return err
		}
	}
	return nil
}

// catalogs: a catalog may have catalog.MaxFileSize bytes. Its analytics
// types are looked up once per analytics entry of the usage file: many of
// both must not cost their product.
func (h *hostile) catalogs() error {
	size := catalog.MaxFileSize
	def := string(catalog.DefaultSource())
	for _, c := range []struct {
		in   HostileInput
		head string
		unit func(i int) string
		tail string
	}{
		{HostileInput{Name: "catalog-tiny-tables.toml", Damage: "1 MiB of [[product]] headers", Exit: 3, Field: "product"},
			"version = 1\n", func(int) string { return "[[product]]\n" }, ""},
		{HostileInput{Name: "catalog-many-types.toml", Damage: "1 MiB of analytics types", Exit: 3, Field: "types"},
			def + "\n[[analytics]]\nlevel = 3\ntypes = [", func(i int) string { return `"` + name(i) + `", ` }, "\"zz\"]\n"},
	} {
		data := fill(c.head, size-len(c.tail), c.unit)
		data = append(data, c.tail...)
		c.in.Args = verifyWith("--catalog", c.in.Name)
		if err := h.add(c.in, data); err != nil {
			return err
		}
	}
	// The most analytics types (the default catalog has 12), and a usage
	// file that names each, the last first: each is looked up among all.
	var types, usage []string
	for i := range catalog.MaxAnalyticsTypes - 12 {
		types = append(types, fmt.Sprintf("%q", "t"+name(i)))
	}
	for i := range types {
		usage = append(usage, fmt.Sprintf("[[analytics]]\ntype = %s\ncameras = 1\n", types[len(types)-1-i]))
	}
	cat := strings.Replace(def, "[[analytics]]\nlevel = 1\ntypes = [", "[[analytics]]\nlevel = 1\ntypes = ["+strings.Join(types, ", ")+", ", 1)
	if err := h.write("usage-max-analytics.usage.toml", []byte("version = 1\nsystem = \"site-1\"\n"+strings.Join(usage, ""))); err != nil {
		return err
	}
	return h.add(HostileInput{Name: "catalog-max-types.toml", Damage: fmt.Sprintf("valid, %d analytics types, each looked up by a usage entry", catalog.MaxAnalyticsTypes),
		Args: verifyWith("--catalog", "catalog-max-types.toml", "--usage", "usage-max-analytics.usage.toml"), Exit: 13}, []byte(cat))
}

// trusts: a trust file may have verify.MaxTrustFileSize bytes.
func (h *hostile) trusts() error {
	size := verify.MaxTrustFileSize
	root := sign.MarshalAuthorized(h.world.Vendor.Public().(ed25519.PublicKey), "vendor")
	for _, c := range []struct {
		in   HostileInput
		head string
		unit func(i int) string
		tail string
	}{
		{HostileInput{Name: "trust-tiny-tables.trust.toml", Damage: "256 KiB of [[x]] headers", Exit: 3, Field: "x"},
			"version = 1\n", func(int) string { return "[[x]]\n" }, ""},
		{HostileInput{Name: "trust-huge-array.trust.toml", Damage: "256 KiB of revoked serials", Exit: 3, Field: "revoked"},
			"version = 1\nroots = [\"" + root + "\"]\nrevoked = [", func(i int) string { return fmt.Sprintf(`"%016x", `, i) }, "\"ffffffffffffffff\"]\n"},
		{HostileInput{Name: "trust-many-roots.pub", Damage: "256 KiB of root key lines", Exit: 3, Field: "root keys"},
			"", func(int) string { return root + "\n" }, ""},
	} {
		data := fill(c.head, size-len(c.tail), c.unit)
		data = append(data, c.tail...)
		c.in.Args = []string{"site.lic", "--trust", c.in.Name}
		if err := h.add(c.in, data); err != nil {
			return err
		}
	}
	return nil
}

// states: a device state may have verify.MaxStateFileSize bytes, sealed
// with the machine's key, which whoever has the machine can compute.
func (h *hostile) states() error {
	ids, err := hwid.Collect(os.DirFS(h.p(HostileSysroot)))
	if err != nil {
		return err
	}
	wid := licensekey.WalletIDOf(Key("wallet").Public().(ed25519.PublicKey)).String()
	body := fill("allot-state v1\nlast_seen 2026-11-22T10:00:00Z\n", verify.MaxStateFileSize-80,
		func(i int) string { return "bundle s" + name(i) + " " + wid + " 1\n" })
	m := hmac.New(sha256.New, verify.DeviceKey(ids))
	m.Write(body)
	data := append(body, "mac "+hex.EncodeToString(m.Sum(nil))+"\n"...)
	return h.add(HostileInput{Name: "state-many-bundles/" + verify.StateFile, Damage: "1 MiB of bundle lines, sealed",
		Args: verifyWith("--state", "state-many-bundles"), Exit: 14, Field: "bundle"}, data)
}

// fakeMachine lays out the files hwid.Collect reads under root.
func fakeMachine(root string) error {
	files := map[string]string{
		"etc/machine-id":              "6f1c9e0a4b2d4e8f9a3c5b7d1e2f4a6c\n",
		"sys/block/sda/device/serial": "S4EWNX0R812345\n",
	}
	for f, content := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
