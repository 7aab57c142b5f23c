package verify

import (
	"fmt"

	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/tomlfile"
	"allot.dev/allot/pkg/tree"
)

// UsageVersion is the usage file version this package reads.
const UsageVersion = 1

// Limits of usage files.
const (
	// A usage file lists servers and analytics types, a few kilobytes, and
	// one line per node of a quota tree (at most 20,000: a bundle's tree).
	// The cap keeps the TOML reader's memory inside a device's budget.
	MaxUsageFileSize = 1 << 20
	// MaxUsageServers bounds the [[server]] entries: a usage file's
	// servers must be servers of the bundle, which has at most
	// bundle.MaxServers.
	MaxUsageServers = 1024
	// MaxUsageAnalytics bounds the [[analytics]] entries, one per
	// analytics type of the catalog, which has at most
	// catalog.MaxAnalyticsTypes.
	MaxUsageAnalytics = 1024
	// MaxUsageFeatures bounds the features.
	MaxUsageFeatures = 1024
	// MaxUsageHardware bounds the devices listed on hardware licenses.
	MaxUsageHardware = 4096
	maxCount         = 100_000_000
	maxUsageString   = 1024
)

// usageLimits bound a usage file before the TOML library reads it: the
// entries above, three keys a server and two an analytics entry, and
// strings no longer than an id.
var usageLimits = tomlfile.Limits{
	Tables: MaxUsageServers + MaxUsageAnalytics + 8,
	Keys:   3*MaxUsageServers + 2*MaxUsageAnalytics + 8,
	Values: MaxUsageServers + MaxUsageAnalytics + MaxUsageFeatures + MaxUsageHardware + 8,
	// The nodes block is one string: as long as the file.
	String: MaxUsageFileSize,
}

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
	// Nodes is what each node of the quota tree uses, one a line
	// (usage_tree.go); Tree is it parsed.
	Nodes string      `toml:"nodes"`
	Tree  *tree.Usage `toml:"-"`
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
	// Users counts the people enrolled for face recognition, which the
	// licensing page shows beside its cameras (devices). No quota counts
	// it; other types have none.
	Users int `toml:"users"`
}

// FaceRecognition is the one analytics type that counts users too.
const FaceRecognition = "face-recognition"

type usageFile struct {
	Version int `toml:"version"`
	Usage
}

// ParseUsage parses a usage file; name is used in errors.
func ParseUsage(name string, data []byte) (*Usage, error) {
	var f usageFile
	if err := decodeUsage(name, data, &f); err != nil {
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
	if len(u.Servers) > MaxUsageServers {
		return nil, errf(fmt.Sprintf("server[%d]", MaxUsageServers+1), "more than %d servers", MaxUsageServers)
	}
	if len(u.Analytics) > MaxUsageAnalytics {
		return nil, errf(fmt.Sprintf("analytics[%d]", MaxUsageAnalytics+1), "more than %d entries", MaxUsageAnalytics)
	}
	if len(u.Features) > MaxUsageFeatures {
		return nil, errf("features", "more than %d features", MaxUsageFeatures)
	}
	seen := map[string]bool{}
	for i, s := range u.Servers {
		field := fmt.Sprintf("server[%d]", i+1)
		if s.Name == "" {
			return nil, errf(field+".name", "missing")
		}
		// The reader's string limit is the nodes block's, the file's size:
		// a name gets the limit every other string of the file had.
		if len(s.Name) > maxUsageString {
			return nil, errf(field+".name", "a string of more than %d bytes", maxUsageString)
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
		if a.Users < 0 || a.Users > maxCount {
			return nil, errf(field+".users", "%d is not a count between 0 and %d", a.Users, maxCount)
		}
		if a.Users != 0 && a.Type != FaceRecognition {
			return nil, errf(field+".users", "users are counted for %s only, not for %s", FaceRecognition, a.Type)
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
	if err := u.checkNodes(name, data); err != nil {
		return nil, err
	}
	return u, nil
}

// checkHardwareUsage checks the device serials of a usage file's hardware
// list: valid serials, each once.
func checkHardwareUsage(serials []string) error {
	if len(serials) > MaxUsageHardware {
		return fmt.Errorf("more than %d devices", MaxUsageHardware)
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
