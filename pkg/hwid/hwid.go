// Package hwid collects a machine's hardware identifiers and turns them into
// keyed hashes, the only form in which allot stores or compares them.
//
// Collect reads Linux's machine-id, the DMI product UUID and serials (where
// the process may read them), the MAC addresses of physical network
// interfaces and the serials of physical disks. It reads through an fs.FS
// rooted at "/", so tests and containers can point it at another tree.
//
// A hash is HMAC-SHA256 keyed by the system id, truncated to 128 bits and
// written "kind:hex". Keying by the system id means the same MAC address
// hashes differently in two sites' files; it does not make a guessable
// identifier (a MAC address has 48 bits) secret.
package hwid

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Identifier kinds.
const (
	MachineID     = "machine-id"
	ProductUUID   = "product-uuid"
	BoardSerial   = "board-serial"
	ProductSerial = "product-serial"
	ChassisSerial = "chassis-serial"
	MAC           = "mac"
	Disk          = "disk"
)

// Kinds lists every identifier kind, in the order Collect reports them.
var Kinds = []string{MachineID, ProductUUID, BoardSerial, ProductSerial, ChassisSerial, MAC, Disk}

// Identifier is a raw hardware identifier. It never leaves the process:
// only its Hash is written anywhere.
type Identifier struct {
	Kind  string
	Value string
}

// maxRead bounds what Collect reads from any one file.
const maxRead = 4096

// Collect reads the identifiers of the machine whose root file system is
// root. Identifiers that do not exist or cannot be read are skipped; an
// error is returned only if none at all is found.
func Collect(root fs.FS) ([]Identifier, error) {
	var ids []Identifier
	add := func(kind, value string) {
		value = normalize(kind, value)
		if value == "" || placeholder(value) {
			return
		}
		id := Identifier{kind, value}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if v, ok := readValue(root, "etc/machine-id"); ok {
		add(MachineID, v)
	} else if v, ok := readValue(root, "var/lib/dbus/machine-id"); ok {
		add(MachineID, v)
	}
	for kind, file := range map[string]string{
		ProductUUID: "product_uuid", BoardSerial: "board_serial",
		ProductSerial: "product_serial", ChassisSerial: "chassis_serial",
	} {
		if v, ok := readValue(root, "sys/class/dmi/id/"+file); ok {
			add(kind, v)
		}
	}
	if ents, err := fs.ReadDir(root, "sys/class/net"); err == nil {
		for _, e := range ents {
			dir := path.Join("sys/class/net", e.Name())
			// Only physical interfaces have a device link; bridges, veths,
			// tunnels and the loopback do not.
			if _, err := fs.Stat(root, dir+"/device"); err != nil {
				continue
			}
			if v, ok := readValue(root, dir+"/address"); ok && globalMAC(v) {
				add(MAC, v)
			}
		}
	}
	if ents, err := fs.ReadDir(root, "sys/block"); err == nil {
		for _, e := range ents {
			name := e.Name()
			if virtualDisk(name) {
				continue
			}
			for _, f := range []string{"device/serial", "serial"} {
				if v, ok := readValue(root, path.Join("sys/block", name, f)); ok {
					add(Disk, v)
					break
				}
			}
		}
	}
	slices.SortStableFunc(ids, func(a, b Identifier) int {
		return slices.Index(Kinds, a.Kind) - slices.Index(Kinds, b.Kind)
	})
	if len(ids) == 0 {
		return nil, errors.New("no hardware identifiers found (machine-id, DMI, network interfaces, disks)")
	}
	return ids, nil
}

func readValue(root fs.FS, name string) (string, bool) {
	f, err := root.Open(name)
	if err != nil {
		return "", false
	}
	defer f.Close()
	buf := make([]byte, maxRead)
	n, _ := f.Read(buf)
	v := strings.TrimSpace(string(buf[:n]))
	return v, v != ""
}

func normalize(kind, v string) string {
	v = strings.TrimSpace(v)
	switch kind {
	case MAC:
		return normalizeMAC(v)
	case MachineID, ProductUUID:
		return strings.ToLower(v)
	}
	return v
}

// normalizeMAC writes a MAC address the way Linux shows it, so that
// "AA-BB-CC-DD-EE-FF", "aabb.ccdd.eeff" and "aa:bb:cc:dd:ee:ff" hash alike.
func normalizeMAC(v string) string {
	hexDigits := strings.Map(func(r rune) rune {
		switch r {
		case ':', '-', '.':
			return -1
		}
		return r
	}, strings.ToLower(v))
	if b, err := hex.DecodeString(hexDigits); err != nil || len(b) != 6 {
		return strings.ToLower(v)
	}
	parts := make([]string, 6)
	for i := range parts {
		parts[i] = hexDigits[2*i : 2*i+2]
	}
	return strings.Join(parts, ":")
}

// placeholder reports values firmware writes when it has no real serial.
func placeholder(v string) bool {
	switch strings.ToLower(v) {
	case "none", "0", "default string", "not specified", "not applicable",
		"to be filled by o.e.m.", "system serial number", "chassis serial number",
		"base board serial number", "0123456789", "00000000-0000-0000-0000-000000000000",
		"ffffffff-ffff-ffff-ffff-ffffffffffff", "03000200-0400-0500-0006-000700080009":
		return true
	}
	return strings.Trim(v, "0:-") == ""
}

// globalMAC reports whether a MAC address is a burned-in one: not all zero
// and not locally administered (randomised or assigned by software).
func globalMAC(v string) bool {
	b, err := hex.DecodeString(strings.ReplaceAll(v, ":", ""))
	if err != nil || len(b) != 6 {
		return false
	}
	return b[0]&0x02 == 0 && strings.Trim(v, "0:") != ""
}

func virtualDisk(name string) bool {
	for _, p := range []string{"loop", "ram", "dm-", "sr", "zram", "md", "nbd"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Hash returns the keyed hash of id for the system systemID: "kind:" and
// 32 hexadecimal digits.
func Hash(systemID string, id Identifier) string {
	mac := hmac.New(sha256.New, []byte("allot-hwid-v1\x00"+systemID))
	mac.Write([]byte(id.Kind))
	mac.Write([]byte{0})
	mac.Write([]byte(normalize(id.Kind, id.Value)))
	return id.Kind + ":" + hex.EncodeToString(mac.Sum(nil)[:16])
}

// OrgHash returns the keyed hash of id for the organization org: "kind:"
// and 32 hexadecimal digits, like Hash. Hash keys by the system, so one
// machine collected for two systems has unrelated hashes; OrgHash keys by
// the organization (case and spacing ignored), so allocate and audit can
// find one machine in two systems of an organization, and nothing across
// organizations.
func OrgHash(org string, id Identifier) string {
	return Hash("\x00org\x00"+strings.ToLower(strings.Join(strings.Fields(org), " ")), id)
}

// OrgHashAll hashes every identifier for the organization org.
func OrgHashAll(org string, ids []Identifier) []string {
	hs := make([]string, len(ids))
	for i, id := range ids {
		hs[i] = OrgHash(org, id)
	}
	return hs
}

// HashAll hashes every identifier.
func HashAll(systemID string, ids []Identifier) []string {
	hs := make([]string, len(ids))
	for i, id := range ids {
		hs[i] = Hash(systemID, id)
	}
	return hs
}

// ParseIdentifier parses a raw identifier given as "kind=value".
func ParseIdentifier(s string) (Identifier, error) {
	kind, value, ok := strings.Cut(s, "=")
	if !ok || value == "" {
		return Identifier{}, fmt.Errorf("identifier %q: want kind=value", s)
	}
	if !slices.Contains(Kinds, kind) {
		return Identifier{}, fmt.Errorf("identifier %q: unknown kind %q (want one of %s)", s, kind, strings.Join(Kinds, ", "))
	}
	return Identifier{kind, value}, nil
}

// ValidHash checks the form of a hashed identifier: a known kind, a colon
// and 32 hexadecimal digits.
func ValidHash(h string) error {
	kind, sum, ok := strings.Cut(h, ":")
	if !ok || !slices.Contains(Kinds, kind) {
		return fmt.Errorf("identifier %q: want kind:hash with kind one of %s", h, strings.Join(Kinds, ", "))
	}
	if b, err := hex.DecodeString(sum); err != nil || len(b) != 16 {
		return fmt.Errorf("identifier %q: want 32 hexadecimal digits after the kind", h)
	}
	// Hashes are compared as strings, so only the form Hash writes may
	// pass: an upper-case copy would never match.
	if strings.ToLower(sum) != sum {
		return fmt.Errorf("identifier %q: want the hash in lower case, as allot fingerprint prints it", h)
	}
	return nil
}

// Matches counts the hashes that appear in both have and want.
func Matches(have, want []string) int {
	n := 0
	for _, w := range want {
		if slices.Contains(have, w) {
			n++
		}
	}
	return n
}
