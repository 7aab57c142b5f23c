package catalog_test

// A fuzz target for catalog files, seeded with the embedded default
// catalog and variations of it.

import (
	"strings"
	"testing"

	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/licensekey"
)

// FuzzParse reads catalog files. Errors are one line; a catalog that
// parses answers every lookup of what it lists.
func FuzzParse(f *testing.F) {
	src := string(catalog.DefaultSource())
	f.Add([]byte(src))
	f.Add([]byte(strings.Replace(src, "level = 3\n", "level = 4\n", 1)))
	f.Add([]byte(strings.Replace(src, `code = "intercom"`, `code = "vms"`, 1)))
	f.Add([]byte("version = 1\n[policy]\nmax_renewal_years = 1\nunallocated_expiry_years = 1\n" +
		"[[product]]\ncode = \"p\"\nkinds = [\"hardware\"]\nlicenses = [{ type = \"t\" }]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := catalog.Parse("fuzz.toml", data)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "fuzz.toml") || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error is not one line naming the file: %q", msg)
			}
			return
		}
		for _, p := range c.Products {
			if got, err := c.Product(p.Code); err != nil || got.Code != p.Code {
				t.Fatalf("Product(%q) = %v, %v", p.Code, got, err)
			}
			for _, l := range p.Licenses {
				if _, ok := p.LicenseType(l.Type); !ok {
					t.Fatalf("product %s has no license type %s", p.Code, l.Type)
				}
				lt, owner, err := c.LicenseType(l.Type)
				if err != nil || lt.Type != l.Type || owner.Code != p.Code {
					t.Fatalf("LicenseType(%q) = %v, %v, %v", l.Type, lt, owner, err)
				}
				if lt.AnalyticsLevel != licensekey.AnalyticsLevel(l.Type) {
					t.Fatalf("license type %s of level %d", l.Type, lt.AnalyticsLevel)
				}
			}
			for _, k := range p.Kinds {
				if !p.HasKind(k) {
					t.Fatalf("product %s lacks its own kind %s", p.Code, k)
				}
			}
		}
		if n := len(c.LicenseTypes()); n > len(data) {
			t.Fatalf("%d license types from %d bytes", n, len(data))
		}
		for _, a := range c.Analytics {
			for _, typ := range a.Types {
				if lvl, err := c.AnalyticsLevel(typ); err != nil || lvl != a.Level {
					t.Fatalf("AnalyticsLevel(%q) = %d, %v, want %d", typ, lvl, err, a.Level)
				}
			}
		}
		if _, err := c.Product("no such product"); err == nil {
			t.Fatal("an unknown product was found")
		}
	})
}
