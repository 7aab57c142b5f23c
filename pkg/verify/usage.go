package verify

import (
	"fmt"

	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/tomlfile"
)

// UsageVersion is the usage file version this package reads.
const UsageVersion = 1

// Limits of usage files.
const (
	// A usage file lists servers and analytics types: a few kilobytes. The
	// cap keeps the TOML reader's memory inside a device's budget.
	MaxUsageFileSize = 256 << 10
	maxUsageEntries  = 10_000
	maxCount         = 100_000_000
)

// Usage is what a system uses now (*.usage.toml), written by the device
// software or by hand.
type Usage struct {
	System    string           `toml:"system"`
	Features  []string         `toml:"features"`
	Servers   []ServerUsage    `toml:"server"`
	Analytics []AnalyticsUsage `toml:"analytics"`
	// Hardware lists the devices (by serial) that run on their perpetual
	// hardware license rather than on the subscription's quota.
	Hardware []string `toml:"hardware"`
}

// ServerUsage is what one server uses.
type ServerUsage struct {
	Name      string `toml:"name"`
	Cameras   int    `toml:"cameras"`
	Intercoms int    `toml:"intercoms"`
}

// AnalyticsUsage is the number of cameras assigned to one analytics type.
type AnalyticsUsage struct {
	Type    string `toml:"type"`
	Cameras int    `toml:"cameras"`
}

type usageFile struct {
	Version int `toml:"version"`
	Usage
}

// LoadUsage reads a usage file.
func LoadUsage(path string) (*Usage, error) {
	data, err := readLimited(path, MaxUsageFileSize)
	if err != nil {
		return nil, err
	}
	return ParseUsage(path, data)
}

// ParseUsage parses a usage file; name is used in errors.
func ParseUsage(name string, data []byte) (*Usage, error) {
	var f usageFile
	if err := tomlfile.Decode(name, data, &f); err != nil {
		return nil, err
	}
	errf := func(field, format string, args ...any) error {
		return tomlfile.Errorf(name, data, field, format, args...)
	}
	if f.Version != UsageVersion {
		return nil, errf("version", "%d, want %d", f.Version, UsageVersion)
	}
	u := &f.Usage
	if u.System == "" {
		return nil, errf("system", "missing")
	}
	if len(u.Servers) > maxUsageEntries {
		return nil, errf("server", "more than %d servers", maxUsageEntries)
	}
	if len(u.Analytics) > maxUsageEntries {
		return nil, errf("analytics", "more than %d entries", maxUsageEntries)
	}
	seen := map[string]bool{}
	for i, s := range u.Servers {
		field := fmt.Sprintf("server[%d]", i+1)
		if s.Name == "" {
			return nil, errf(field+".name", "missing")
		}
		if seen[s.Name] {
			return nil, errf(field+".name", "server %q is listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Cameras < 0 || s.Cameras > maxCount {
			return nil, errf(field+".cameras", "%d is not a count between 0 and %d", s.Cameras, maxCount)
		}
		if s.Intercoms < 0 || s.Intercoms > maxCount {
			return nil, errf(field+".intercoms", "%d is not a count between 0 and %d", s.Intercoms, maxCount)
		}
	}
	clear(seen)
	for i, a := range u.Analytics {
		field := fmt.Sprintf("analytics[%d]", i+1)
		if err := licensekey.ValidName(a.Type); err != nil {
			return nil, errf(field+".type", "%v", err)
		}
		if seen[a.Type] {
			return nil, errf(field+".type", "analytics type %q is listed twice", a.Type)
		}
		seen[a.Type] = true
		if a.Cameras < 0 || a.Cameras > maxCount {
			return nil, errf(field+".cameras", "%d is not a count between 0 and %d", a.Cameras, maxCount)
		}
	}
	for _, ft := range u.Features {
		if err := licensekey.ValidName(ft); err != nil {
			return nil, errf("features", "%v", err)
		}
	}
	if err := checkHardwareUsage(u.Hardware); err != nil {
		return nil, errf("hardware", "%v", err)
	}
	return u, nil
}

// checkHardwareUsage checks the device serials of a usage file's hardware
// list: valid serials, each once.
func checkHardwareUsage(serials []string) error {
	if len(serials) > maxUsageEntries {
		return fmt.Errorf("more than %d devices", maxUsageEntries)
	}
	seen := map[string]bool{}
	for _, s := range serials {
		if err := licensekey.ValidDevice(s); err != nil || s == "" {
			return fmt.Errorf("%q is not a device serial", s)
		}
		if seen[s] {
			return fmt.Errorf("device %s is listed twice", s)
		}
		seen[s] = true
	}
	return nil
}
