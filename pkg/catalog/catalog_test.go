package catalog

import (
	"bytes"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"allot.dev/allot/pkg/licensekey"
)

// TestDefaultLiteral keeps the generated literal of the default catalog
// (default_gen.go) equal to default.toml as Parse reads it, and so
// validated: after an edit of default.toml, run go generate.
func TestDefaultLiteral(t *testing.T) {
	want, err := Parse("default.toml", defaultTOML)
	if err != nil {
		t.Fatal(err)
	}
	if got := defaultCatalog(); !reflect.DeepEqual(got, want) {
		t.Fatalf("default_gen.go differs from default.toml (run go generate ./pkg/catalog):\n got %+v\nwant %+v", got, want)
	}
}

// TestDefaultFollowsItsFile: a default.toml edited without go generate
// (a build that runs no test) is still the catalog Default returns, as it
// was before the literal: the literal serves only the file it was made of.
// Else a device would enforce the stale literal's policy, binding and
// analytics levels while DefaultSource showed the edited file.
func TestDefaultFollowsItsFile(t *testing.T) {
	saved := defaultTOML
	t.Cleanup(func() { defaultTOML, defaultOnce, defaultCat = saved, sync.Once{}, nil })
	defaultTOML = bytes.Replace(saved, []byte("grace_days = 30"), []byte("grace_days = 7"), 1)
	if bytes.Equal(defaultTOML, saved) {
		t.Fatal("no grace_days = 30 in default.toml")
	}
	defaultOnce, defaultCat = sync.Once{}, nil
	want, err := Parse("default.toml", defaultTOML)
	if err != nil {
		t.Fatal(err)
	}
	if got := Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Default is not the embedded file: grace_days %d, the file's %d", got.Policy.GraceDays, want.Policy.GraceDays)
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c != Default() {
		t.Fatal("Default parses the catalog more than once")
	}
	if c.Version != Version || c.Vendor == "" {
		t.Fatalf("version %d, vendor %q", c.Version, c.Vendor)
	}
	// The numbers of DESIGN.md's domain rules.
	if want := (Policy{GraceDays: 30, MaxRenewalYears: 5, UnallocatedExpiryYears: 5, AnalyticsRetentionDays: 7, GrowthAllowancePercent: 100}); c.Policy != want {
		t.Fatalf("policy %+v, want %+v", c.Policy, want)
	}
	wantTypes := []string{"camera", "analytics-l1", "analytics-l2", "analytics-l3", "analytics-l4",
		"intercom", "sip-number", "mobile-app", "virtual-number"}
	if got := c.LicenseTypes(); !slices.Equal(got, wantTypes) {
		t.Fatalf("LicenseTypes = %v, want %v", got, wantTypes)
	}
	// Every name the catalog holds is one a license key can carry.
	for _, p := range c.Products {
		if err := licensekey.ValidName(p.Code); err != nil {
			t.Errorf("product %q: %v", p.Code, err)
		}
		for _, f := range p.Features {
			if err := licensekey.ValidName(f); err != nil {
				t.Errorf("feature %q: %v", f, err)
			}
		}
		for _, l := range p.Licenses {
			if l.Name == "" || l.AnalyticsLevel != licensekey.AnalyticsLevel(l.Type) {
				t.Errorf("license type %+v", l)
			}
		}
	}
	// The domain's features and analytics types, level by level.
	intercom, err := c.Product("intercom")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"sip-trunk", "web-dialer", "mobile-app", "ukey2", "remote-door-opening",
		"siri-apple-watch", "guest-access", "elevator", "amenities-reservation", "license-plate-recognition"} {
		if !slices.Contains(intercom.Features, f) {
			t.Errorf("intercom lacks feature %s", f)
		}
	}
	levels := map[string]int{
		"loud-sound": 1, "smoke-fire": 1, "line-crossing": 1, "camera-damage": 1, "camera-overlap": 1,
		"vandalism": 1, "zone-intrusion": 1, "object-counting": 2, "visitor-counting": 2,
		"face-recognition": 3, "license-plate-recognition": 3, "container-number-recognition": 3,
	}
	for typ, want := range levels {
		if got, err := c.AnalyticsLevel(typ); err != nil || got != want {
			t.Errorf("AnalyticsLevel(%s) = %d, %v; want %d", typ, got, err, want)
		}
	}
	if _, err := c.AnalyticsLevel("mind-reading"); err == nil {
		t.Error("AnalyticsLevel of an unknown type succeeded")
	}
}

func TestLookups(t *testing.T) {
	c := Default()
	vms, err := c.Product("vms")
	if err != nil {
		t.Fatal(err)
	}
	if !vms.HasKind(licensekey.Hardware) || !vms.HasKind(licensekey.Expansion) || !vms.HasKind(licensekey.Subscription) {
		t.Errorf("vms kinds %v", vms.Kinds)
	}
	intercom, _ := c.Product("intercom")
	if intercom.HasKind(licensekey.Hardware) || !intercom.HasKind(licensekey.Subscription) {
		t.Errorf("intercom kinds %v", intercom.Kinds)
	}
	// Product returns the catalog's own entry, not a copy.
	if p, _ := c.Product("vms"); p != vms {
		t.Error("Product returns a copy")
	}
	_, err = c.Product("toaster")
	if err == nil || !strings.Contains(err.Error(), "vms, intercom") {
		t.Errorf("unknown product: %v, want the codes listed", err)
	}

	lt, p, err := c.LicenseType("analytics-l4")
	if err != nil || p.Code != "vms" || lt.Type != "analytics-l4" || lt.AnalyticsLevel != 4 {
		t.Fatalf("LicenseType(analytics-l4) = %+v, %+v, %v", lt, p, err)
	}
	if lt, p, err := c.LicenseType("sip-number"); err != nil || p.Code != "intercom" || lt.AnalyticsLevel != 0 {
		t.Fatalf("LicenseType(sip-number) = %+v, %+v, %v", lt, p, err)
	}
	if _, _, err := c.LicenseType("widget"); err == nil || !strings.Contains(err.Error(), "camera") {
		t.Errorf("unknown license type: %v, want the types listed", err)
	}
	if got, ok := vms.LicenseType("camera"); !ok || got.Type != "camera" {
		t.Errorf("vms.LicenseType(camera) = %v, %v", got, ok)
	}
	if _, ok := vms.LicenseType("intercom"); ok {
		t.Error("vms has the intercom's license type")
	}
}

func TestDefaultSource(t *testing.T) {
	src := DefaultSource()
	c, err := Parse("default.toml", src)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Fatal("DefaultSource does not parse to Default")
	}
	src[0] ^= 0xff
	if again := DefaultSource(); again[0] == src[0] {
		t.Fatal("DefaultSource returns the embedded bytes, not a copy")
	}
}

func TestParseRejects(t *testing.T) {
	src := string(DefaultSource())
	tests := []struct {
		name     string
		old, new string
		msg      string
	}{
		{"version", "version = 1", "version = 2", "version"},
		{"syntax", "version = 1", "version = ", "version"},
		{"unknown field", "version = 1", "version = 1\nlicence = 1", "unknown field"},
		{"unknown product field", `code = "vms"`, "code = \"vms\"\nprice = 1", "unknown field"},
		{"negative grace", "grace_days = 30", "grace_days = -1", "policy"},
		{"no renewal", "max_renewal_years = 5", "max_renewal_years = 0", "policy"},
		{"no expiry", "unallocated_expiry_years = 5", "unallocated_expiry_years = 0", "policy"},
		{"negative retention", "analytics_retention_days = 7", "analytics_retention_days = -7", "policy"},
		{"negative growth", "growth_allowance_percent = 100", "growth_allowance_percent = -1", "policy"},
		{"bad code", `code = "vms"`, `code = "VMS"`, "product[1].code"},
		{"code twice", `code = "intercom"`, `code = "vms"`, "defined twice"},
		{"no kinds", `kinds = ["subscription"]`, `kinds = []`, "kinds"},
		{"unknown kind", `kinds = ["subscription"]`, `kinds = ["lifetime"]`, "lifetime"},
		{"bad license type", `type = "sip-number"`, `type = "SIP number"`, "licenses"},
		{"license type twice", `type = "mobile-app"`, `type = "camera"`, "defined twice"},
		{"analytics level mismatch", `analytics_level = 3 }`, `analytics_level = 2 }`, "analytics_level"},
		{"analytics level missing", `{ type = "analytics-l1", name = "Analytics level 1", analytics_level = 1 }`, `{ type = "analytics-l1", name = "Analytics level 1" }`, "analytics_level"},
		{"bad feature", `"sip-trunk"`, `"SIP trunk"`, "features"},
		{"analytics level 4", "level = 3\n", "level = 4\n", "level 4"},
		{"analytics level 0", "level = 1\n", "level = 0\n", "analytics[1].level: 0 is not 1, 2 or 3"},
		{"reminder kind", "key-expiry = {", "licence-expiry = {", "reminders.licence-expiry: unknown"},
		{"reminder days 0", `grace = { days = 30`, `grace = { days = 0`, "reminders.grace.days: 0 is not between 1 and 3650"},
		{"reminder days", `group = { days = 14`, `group = { days = 3651`, "reminders.group.days"},
		{"reminder every", `every = "30d"`, `every = "monthly"`, `reminders.key-expiry.every: "monthly" is not once, daily, weekly, 30d`},
		{"reminder field", `every = "30d"`, `every = "30d", hour = 9`, "unknown field"},
		{"analytics type at two levels", `types = ["object-counting", "visitor-counting"]`, `types = ["object-counting", "vandalism"]`, "vandalism"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(src, tt.old) {
				t.Fatalf("%q is not in the default catalog", tt.old)
			}
			c, err := Parse("vendor.toml", []byte(strings.Replace(src, tt.old, tt.new, 1)))
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", c)
			}
			// file:line: field: message, the line where the damage is.
			if !regexp.MustCompile(`^vendor\.toml:[1-9][0-9]*: `).MatchString(err.Error()) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Parse = %v, want vendor.toml:LINE: …%s…", err, tt.msg)
			}
		})
	}
	if _, err := Parse("empty.toml", nil); err == nil {
		t.Fatal("an empty catalog parsed")
	}
	if _, err := Parse("noproducts.toml", []byte("version = 1\n[policy]\nmax_renewal_years = 1\nunallocated_expiry_years = 1\n")); err == nil || !strings.Contains(err.Error(), "no products") {
		t.Fatalf("a catalog without products: %v", err)
	}
}

func TestReminders(t *testing.T) {
	c := Default()
	for kind, want := range map[string]Reminder{
		"subscription": {30, "weekly"}, "grace": {30, "weekly"}, "group": {14, "weekly"}, "key-expiry": {90, "30d"},
	} {
		if got := c.Reminder(kind); got != want {
			t.Errorf("Reminder(%s) = %+v, want %+v", kind, got, want)
		}
	}
	// A vendor catalog without [reminders] gets the default for each kind.
	var bare Catalog
	if got := bare.Reminder("grace"); got != DefaultReminder || DefaultReminder.Validate() != nil {
		t.Errorf("no [reminders]: %+v", got)
	}
	for every, days := range map[string]int{"once": 0, "daily": 1, "weekly": 7, "30d": 30} {
		if d, ok := ReminderInterval(every); !ok || d != days {
			t.Errorf("ReminderInterval(%s) = %d, %v", every, d, ok)
		}
	}
	for _, bad := range []string{"", "Weekly", "7d", "monthly"} {
		if _, ok := ReminderInterval(bad); ok {
			t.Errorf("ReminderInterval(%q) accepted", bad)
		}
	}
}

// CheckKey refuses what the catalog does not sell, naming the field.
func TestCheckKey(t *testing.T) {
	cat := Default()
	ok := licensekey.Key{Kind: licensekey.Subscription, Product: "intercom",
		Licenses: []licensekey.License{{Type: "intercom", Quantity: 1}}, Features: []string{"web-dialer"}}
	if err := cat.CheckKey(&ok); err != nil {
		t.Fatalf("a key the catalog sells: %v", err)
	}
	for want, edit := range map[string]func(k *licensekey.Key){
		"product: ": func(k *licensekey.Key) { k.Product = "toaster" },
		"kind: ":    func(k *licensekey.Key) { k.Kind = licensekey.Hardware },
		"license: ": func(k *licensekey.Key) { k.Licenses = []licensekey.License{{Type: "camera", Quantity: 1}} },
		"feature: ": func(k *licensekey.Key) { k.Features = []string{"teleport"} },
	} {
		k := ok
		edit(&k)
		if err := cat.CheckKey(&k); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
}
