package hwid

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

var dir = &fstest.MapFile{Mode: fs.ModeDir | 0o755}

// machine is the tree of a server with one of everything, and the things
// Collect must skip beside them.
func machine() fstest.MapFS {
	return fstest.MapFS{
		"etc/machine-id":                   file("4C4C4544004A4D1080374AC04F4A4D32\n"),
		"var/lib/dbus/machine-id":          file("ffffffffffffffffffffffffffffffff\n"),
		"sys/class/dmi/id/product_uuid":    file("4C4C4544-004A-4D10-8037-CAC04F4A4D32\n"),
		"sys/class/dmi/id/board_serial":    file(".7JMJ8K2.CN7016350B00A3.\n"),
		"sys/class/dmi/id/product_serial":  file("To Be Filled By O.E.M.\n"),
		"sys/class/dmi/id/chassis_serial":  file("7JMJ8K2\n"),
		"sys/class/net/eth0/address":       file("00:1A:2B:3C:4D:5E\n"),
		"sys/class/net/eth0/device":        dir,
		"sys/class/net/eth1/address":       file("00:1a:2b:3c:4d:5f\n"),
		"sys/class/net/eth1/device/uevent": file("DRIVER=e1000e\n"),
		"sys/class/net/bond0/address":      file("00:1a:2b:3c:4d:5e\n"), // a bond repeats eth0's MAC
		"sys/class/net/bond0/device":       dir,
		"sys/class/net/wlan0/address":      file("02:42:ac:11:00:02\n"), // locally administered
		"sys/class/net/wlan0/device":       dir,
		"sys/class/net/usb0/address":       file("da:a1:19:00:00:01\n"), // locally administered (bit 1 of 0xda)
		"sys/class/net/usb0/device":        dir,
		"sys/class/net/docker0/address":    file("00:1a:2b:00:00:99\n"), // no device: virtual
		"sys/class/net/lo/address":         file("00:00:00:00:00:00\n"),
		"sys/class/net/eth2/address":       file("00:00:00:00:00:00\n"), // physical, but no MAC
		"sys/class/net/eth2/device":        dir,
		"sys/class/net/eth3/address":       file("not a mac\n"),
		"sys/class/net/eth3/device":        dir,
		"sys/class/net/eth4/device":        dir, // no address file
		"sys/block/sda/device/serial":      file("  WD-WCC4N1234567  \n"),
		"sys/block/nvme0n1/serial":         file("S4EWNX0N123456\n"),
		"sys/block/nvme0n1/device/serial":  file(""),             // empty: the next file is tried
		"sys/block/sdb/device/serial":      file("0000000000\n"), // placeholder
		"sys/block/loop0/device/serial":    file("LOOP-SERIAL\n"),
		"sys/block/dm-0/serial":            file("DM-SERIAL\n"),
		"sys/block/sr0/device/serial":      file("CDROM-SERIAL\n"),
		"sys/block/zram0/serial":           file("ZRAM\n"),
		"sys/block/md127/serial":           file("MD\n"),
		"sys/block/nbd0/serial":            file("NBD\n"),
		"sys/block/ram0/serial":            file("RAM\n"),
		"sys/block/mmcblk0/device/serial":  file("0x1234abcd\n"),
		"sys/block/vda":                    dir, // no serial at all
	}
}

func TestCollect(t *testing.T) {
	got, err := Collect(machine())
	if err != nil {
		t.Fatal(err)
	}
	want := []Identifier{
		{MachineID, "4c4c4544004a4d1080374ac04f4a4d32"},
		{ProductUUID, "4c4c4544-004a-4d10-8037-cac04f4a4d32"},
		{BoardSerial, ".7JMJ8K2.CN7016350B00A3."},
		{ChassisSerial, "7JMJ8K2"},
		{MAC, "00:1a:2b:3c:4d:5e"},
		{MAC, "00:1a:2b:3c:4d:5f"},
		{Disk, "0x1234abcd"},
		{Disk, "S4EWNX0N123456"},
		{Disk, "WD-WCC4N1234567"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Collect =\n%v\nwant\n%v", got, want)
	}
}

func TestCollectMachineIDFallback(t *testing.T) {
	m := fstest.MapFS{"var/lib/dbus/machine-id": file("ABCDEF0123456789abcdef0123456789\n")}
	got, err := Collect(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Identifier{{MachineID, "abcdef0123456789abcdef0123456789"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Collect = %v, want %v", got, want)
	}
	// An empty /etc/machine-id (a first boot) falls back too.
	m["etc/machine-id"] = file("\n")
	if got2, err := Collect(m); err != nil || !reflect.DeepEqual(got2, got) {
		t.Fatalf("empty /etc/machine-id: %v, %v", got2, err)
	}
}

func TestCollectPlaceholders(t *testing.T) {
	for _, v := range []string{
		"None", "0", "Default string", "Not Specified", "Not Applicable", "To be filled by O.E.M.",
		"System Serial Number", "Chassis Serial Number", "Base Board Serial Number", "0123456789",
		"00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
		"03000200-0400-0500-0006-000700080009", "0000", "--", "   ",
	} {
		m := fstest.MapFS{
			"sys/class/dmi/id/product_uuid":   file(v + "\n"),
			"sys/class/dmi/id/board_serial":   file(v + "\n"),
			"sys/class/dmi/id/product_serial": file(v + "\n"),
			"sys/class/dmi/id/chassis_serial": file(v + "\n"),
			"sys/block/sda/device/serial":     file(v + "\n"),
		}
		if got, err := Collect(m); err == nil {
			t.Errorf("placeholder %q collected as %v", v, got)
		}
	}
}

func TestCollectNothing(t *testing.T) {
	for name, m := range map[string]fstest.MapFS{
		"empty":   {},
		"virtual": {"sys/class/net/lo/address": file("00:00:00:00:00:00\n"), "sys/block/loop0/serial": file("X\n")},
	} {
		if got, err := Collect(m); err == nil {
			t.Errorf("%s: Collect = %v, want an error", name, got)
		}
	}
}

// TestCollectReadsBounded: a huge file is read only up to its limit.
func TestCollectReadsBounded(t *testing.T) {
	m := fstest.MapFS{"etc/machine-id": file(strings.Repeat("a", 10*maxRead))}
	got, err := Collect(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Value) > maxRead {
		t.Fatalf("read %d bytes, at most %d", len(got[0].Value), maxRead)
	}
}

func TestHash(t *testing.T) {
	mac := Identifier{MAC, "00:1a:2b:3c:4d:5e"}
	h := Hash("site-42", mac)
	if err := ValidHash(h); err != nil {
		t.Fatalf("Hash = %q: %v", h, err)
	}
	if !strings.HasPrefix(h, "mac:") || len(h) != len("mac:")+32 || strings.ToLower(h) != h {
		t.Fatalf("Hash = %q, want mac: and 32 lower-case hexadecimal digits", h)
	}
	// The construction, pinned: system files written today must match the
	// hashes of every later version.
	m := hmac.New(sha256.New, []byte("allot-hwid-v1\x00site-42"))
	m.Write([]byte("mac\x0000:1a:2b:3c:4d:5e"))
	if want := "mac:" + hex.EncodeToString(m.Sum(nil)[:16]); h != want {
		t.Fatalf("Hash = %q, want %q", h, want)
	}
	if Hash("site-42", mac) != h {
		t.Fatal("Hash is not deterministic")
	}
	// Keyed by the system id.
	if Hash("site-43", mac) == h || Hash("", mac) == h {
		t.Fatal("the same identifier hashes alike for two systems")
	}
	// Normalised as Collect normalises, so typed and collected values agree.
	if Hash("site-42", Identifier{MAC, " 00:1A:2B:3C:4D:5E\n"}) != h {
		t.Fatal("upper-case MAC hashes differently")
	}
	// Kinds are separated: the same value of two kinds differs.
	if strings.TrimPrefix(Hash("s", Identifier{Disk, "X1"}), "disk:") == strings.TrimPrefix(Hash("s", Identifier{BoardSerial, "X1"}), "board-serial:") {
		t.Fatal("kind is not part of the hashed message")
	}
	// Serials keep their case.
	if Hash("s", Identifier{Disk, "abc"}) == Hash("s", Identifier{Disk, "ABC"}) {
		t.Fatal("disk serials are case-folded")
	}
	// Boundary between system id and kind/value is unambiguous.
	if Hash("a", Identifier{MAC, "b"}) == Hash("a\x00mac", Identifier{MAC, "b"}) {
		t.Fatal("hash input is ambiguous")
	}
}

// TestHashNeverRaw: no hash carries its identifier, in any case, nor its
// hexadecimal form.
func TestHashNeverRaw(t *testing.T) {
	ids, err := Collect(machine())
	if err != nil {
		t.Fatal(err)
	}
	hs := HashAll("site-42", ids)
	if len(hs) != len(ids) {
		t.Fatalf("HashAll: %d hashes for %d identifiers", len(hs), len(ids))
	}
	seen := map[string]bool{}
	for i, h := range hs {
		if h != Hash("site-42", ids[i]) {
			t.Fatalf("HashAll[%d] differs from Hash", i)
		}
		if seen[h] {
			t.Fatalf("two identifiers hash to %s", h)
		}
		seen[h] = true
		v := strings.ToLower(ids[i].Value)
		for _, raw := range []string{v, strings.ReplaceAll(v, ":", ""), strings.ReplaceAll(v, "-", ""), hex.EncodeToString([]byte(v))} {
			if strings.Contains(strings.ToLower(h), raw) {
				t.Errorf("hash %s contains the raw identifier %q", h, raw)
			}
		}
	}
}

func TestParseIdentifier(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Identifier
	}{
		{"mac=00:1A:2B:3C:4D:5E", Identifier{MAC, "00:1A:2B:3C:4D:5E"}},
		{"disk=WD=1", Identifier{Disk, "WD=1"}},
		{"machine-id=abc", Identifier{MachineID, "abc"}},
	} {
		got, err := ParseIdentifier(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseIdentifier(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, k := range Kinds {
		if _, err := ParseIdentifier(k + "=x"); err != nil {
			t.Errorf("kind %s: %v", k, err)
		}
	}
	for _, bad := range []string{"", "mac", "mac=", "=x", "serial=x", "MAC=x", "mac:00"} {
		if got, err := ParseIdentifier(bad); err == nil {
			t.Errorf("ParseIdentifier(%q) = %v, want an error", bad, got)
		}
	}
}

func TestValidHash(t *testing.T) {
	good := Hash("s", Identifier{Disk, "x"})
	if err := ValidHash(good); err != nil {
		t.Fatal(err)
	}
	sum := strings.TrimPrefix(good, "disk:")
	for _, bad := range []string{
		"", sum, "disk", "disk:", "disk:" + sum[:31], "disk:" + sum + "0", "disk:" + sum[:30] + "zz",
		"serial:" + sum, ":" + sum, "disk=" + sum, "disk:" + sum[:16] + ":" + sum[16:],
		"disk:" + strings.ToUpper(sum), // Matches compares strings: an upper-case copy would never match
	} {
		if ValidHash(bad) == nil {
			t.Errorf("ValidHash(%q) accepted it", bad)
		}
	}
}

func TestMatches(t *testing.T) {
	have := []string{"mac:a", "disk:b", "machine-id:c"}
	tests := []struct {
		want []string
		n    int
	}{
		{nil, 0},
		{[]string{"mac:a"}, 1},
		{[]string{"mac:a", "disk:b", "disk:z"}, 2},
		{[]string{"mac:x"}, 0},
		{[]string{"mac:a", "disk:b", "machine-id:c"}, 3},
	}
	for _, tt := range tests {
		if got := Matches(have, tt.want); got != tt.n {
			t.Errorf("Matches(%v) = %d, want %d", tt.want, got, tt.n)
		}
	}
	if Matches(nil, []string{"mac:a"}) != 0 {
		t.Error("Matches with nothing on hand")
	}
}
