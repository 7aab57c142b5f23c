// Package catalog describes what a vendor sells: products, their license
// types and features, the analytics types and the level that licenses each,
// and the policies of the subscription rules (grace days, renewal horizon).
//
// A default catalog is embedded; a vendor may supply its own file. The
// default is a Go literal generated from its file, so importing the package
// or using the default costs no parse at start-up.
package catalog

import (
	"crypto/sha256"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/tomlfile"
)

//go:embed default.toml
var defaultTOML []byte

// Version is the catalog file version this package reads.
const Version = 1

// Catalog is a parsed catalog.
type Catalog struct {
	Version   int         `toml:"version"`
	Vendor    string      `toml:"vendor"`
	Policy    Policy      `toml:"policy"`
	Products  []Product   `toml:"product"`
	Analytics []Analytics `toml:"analytics"`
	Users     Users       `toml:"users"` // users of a system's quota tree (users.go)
	// Reminders maps a kind of thing that ends (ReminderKinds) to when
	// `allot remind` speaks of it.
	Reminders map[string]Reminder `toml:"reminders"`
}

// Policy holds the numbers of the subscription rules. It is the type a
// certificate carries, so that a vendor can sign the numbers a device
// bounds bundles by.
type Policy = cert.Policy

// Product is something a vendor sells licenses for.
type Product struct {
	Code     string            `toml:"code"`
	Name     string            `toml:"name"`
	Kinds    []licensekey.Kind `toml:"kinds"`
	Licenses []LicenseType     `toml:"licenses"`
	Features []string          `toml:"features"`
	// BindingRequired is the fewest hardware identifiers of a server that
	// must match for this product's licenses: `allot system create`
	// refuses less, and `allot signer certify` writes it into a root's
	// first certificate, where devices enforce it.
	BindingRequired int `toml:"binding_required"`
}

// LicenseType is a countable license of a product.
type LicenseType struct {
	Type           string `toml:"type"`
	Name           string `toml:"name"`
	AnalyticsLevel int    `toml:"analytics_level"`
}

// Analytics lists the analytics types one level licenses.
type Analytics struct {
	Level int      `toml:"level"`
	Types []string `toml:"types"`
}

var (
	defaultOnce sync.Once
	defaultCat  *Catalog
)

// Default returns the embedded default catalog. It is default.toml as
// Parse reads it, built from a Go literal (default_gen.go) so that the
// many processes that need only the default, every verify among them,
// never start the TOML decoder; TestDefaultLiteral keeps the two equal.
// The literal serves only the file it was made of: a default.toml edited
// since go generate is parsed, as it was before the literal.
func Default() *Catalog {
	defaultOnce.Do(func() {
		if sha256.Sum256(defaultTOML) == defaultSum {
			defaultCat = defaultCatalog()
			return
		}
		c, err := Parse("default.toml", defaultTOML)
		if err != nil {
			panic("catalog: embedded default does not parse: " + err.Error())
		}
		defaultCat = c
	})
	return defaultCat
}

//go:generate go run ./internal/gendefault

// DefaultSource returns the embedded default catalog's file.
func DefaultSource() []byte { return slices.Clone(defaultTOML) }

// Limits a reader enforces. Catalogs are looked up by name for every
// license type, analytics entry and feature a file mentions: the caps keep
// the lookups cheap.
const (
	MaxFileSize       = 1 << 20 // bytes of a catalog file
	MaxProducts       = 256
	MaxLicenseTypes   = 1024 // in all products
	MaxAnalyticsTypes = 1024 // in all levels
	MaxFeatures       = 1024 // of one product
)

// fileLimits bound a catalog before the TOML library reads it: tables for
// the products, license types and analytics levels, six keys a product
// and three a license type, and the strings of kinds, features and
// analytics types.
var fileLimits = tomlfile.Limits{
	Tables: MaxProducts + MaxLicenseTypes + 64,
	Keys:   6*MaxProducts + 3*MaxLicenseTypes + 2*64 + 16,
	Values: 8192,
	String: 4096,
}

// Parse parses a catalog; name is used in errors.
func Parse(name string, data []byte) (*Catalog, error) {
	var c Catalog
	if err := tomlfile.DecodeLimits(name, data, &c, fileLimits); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			return nil, tomlfile.Errorf(name, data, fe.field, "%v", fe.err)
		}
		return nil, &tomlfile.Error{File: name, Err: err}
	}
	return &c, nil
}

// fieldError is a validation error of one field, which Parse turns into
// a file:line: field: message error.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }

func ferr(field, format string, args ...any) error {
	return &fieldError{field: field, err: fmt.Errorf(format, args...)}
}

func (c *Catalog) validate() error {
	if c.Version != Version {
		return ferr("version", "%d, want %d", c.Version, Version)
	}
	if len(c.Products) == 0 {
		return ferr("product", "no products")
	}
	if len(c.Products) > MaxProducts {
		return ferr("product", "%d products, at most %d", len(c.Products), MaxProducts)
	}
	if err := c.Policy.Validate(); err != nil {
		field, msg, _ := strings.Cut(err.Error(), ": ")
		return ferr(field, "%s", msg)
	}
	if err := c.validateReminders(); err != nil {
		return err
	}
	types := map[string]bool{}
	codes := map[string]bool{}
	for i, pr := range c.Products {
		field := fmt.Sprintf("product[%d]", i+1)
		if err := licensekey.ValidName(pr.Code); err != nil {
			return ferr(field+".code", "%v", err)
		}
		// Lookups are by code: a second product of one code would be
		// unreachable.
		if codes[pr.Code] {
			return ferr(field+".code", "%q is defined twice", pr.Code)
		}
		codes[pr.Code] = true
		if len(pr.Kinds) == 0 {
			return ferr(field+".kinds", "none")
		}
		if len(types)+len(pr.Licenses) > MaxLicenseTypes {
			return ferr(field+".licenses", "more than %d license types in the catalog", MaxLicenseTypes)
		}
		if len(pr.Features) > MaxFeatures {
			return ferr(field+".features", "%d features, at most %d", len(pr.Features), MaxFeatures)
		}
		if pr.BindingRequired < 0 || pr.BindingRequired > cert.MaxBindingRequired {
			return ferr(field+".binding_required", "%d is not between 0 and %d", pr.BindingRequired, cert.MaxBindingRequired)
		}
		for _, l := range pr.Licenses {
			if err := licensekey.ValidName(l.Type); err != nil {
				return ferr(field+".licenses", "%v", err)
			}
			if types[l.Type] {
				return ferr(field+".licenses", "license type %q is defined twice", l.Type)
			}
			types[l.Type] = true
			if l.AnalyticsLevel != licensekey.AnalyticsLevel(l.Type) {
				return ferr(field+".licenses", "license type %q: analytics_level %d, but the name says %d",
					l.Type, l.AnalyticsLevel, licensekey.AnalyticsLevel(l.Type))
			}
		}
		for _, f := range pr.Features {
			if err := licensekey.ValidName(f); err != nil {
				return ferr(field+".features", "%v", err)
			}
		}
	}
	if err := c.Users.validate(); err != nil {
		return err
	}
	level := map[string]int{}
	for i, a := range c.Analytics {
		field := fmt.Sprintf("analytics[%d]", i+1)
		if a.Level < 1 || a.Level > 3 {
			return ferr(field+".level", "%d is not 1, 2 or 3 (level 4 licenses every type)", a.Level)
		}
		if len(level)+len(a.Types) > MaxAnalyticsTypes {
			return ferr(field+".types", "more than %d analytics types in the catalog", MaxAnalyticsTypes)
		}
		// An analytics type needs one level, or the license it needs is
		// ambiguous.
		for _, t := range a.Types {
			if l, ok := level[t]; ok {
				return ferr(field+".types", "%q is listed at level %d and level %d", t, l, a.Level)
			}
			level[t] = a.Level
		}
	}
	return nil
}

// Product returns the product with code, or an error listing the codes.
func (c *Catalog) Product(code string) (*Product, error) {
	for i := range c.Products {
		if c.Products[i].Code == code {
			return &c.Products[i], nil
		}
	}
	var codes []string
	for _, p := range c.Products {
		codes = append(codes, p.Code)
	}
	return nil, fmt.Errorf("unknown product %q (the catalog has %s)", code, strings.Join(codes, ", "))
}

// LicenseType returns the license type with name t and its product.
func (c *Catalog) LicenseType(t string) (*LicenseType, *Product, error) {
	for i := range c.Products {
		p := &c.Products[i]
		for j := range p.Licenses {
			if p.Licenses[j].Type == t {
				return &p.Licenses[j], p, nil
			}
		}
	}
	return nil, nil, fmt.Errorf("unknown license type %q (the catalog has %s)", t, strings.Join(c.LicenseTypes(), ", "))
}

// LicenseTypes returns every license type name, in catalog order.
func (c *Catalog) LicenseTypes() []string {
	var ts []string
	for _, p := range c.Products {
		for _, l := range p.Licenses {
			ts = append(ts, l.Type)
		}
	}
	return ts
}

// AnalyticsLevel returns the level that licenses an analytics type.
func (c *Catalog) AnalyticsLevel(analyticsType string) (int, error) {
	for _, a := range c.Analytics {
		if slices.Contains(a.Types, analyticsType) {
			return a.Level, nil
		}
	}
	return 0, fmt.Errorf("unknown analytics type %q", analyticsType)
}

// CheckKey reports whether the catalog sells k: its product, of its kind,
// with its license types and features. The error starts with the field at
// fault: "product: ", "kind: ", "license: " or "feature: ".
func (c *Catalog) CheckKey(k *licensekey.Key) error {
	prod, err := c.Product(k.Product)
	if err != nil {
		return fmt.Errorf("product: %v", err)
	}
	if !prod.HasKind(k.Kind) {
		return fmt.Errorf("kind: product %s is not sold as %s licenses", prod.Code, k.Kind)
	}
	for _, l := range k.Licenses {
		if _, ok := prod.LicenseType(l.Type); !ok {
			return fmt.Errorf("license: product %s has no license type %q", prod.Code, l.Type)
		}
	}
	for _, f := range k.Features {
		if !slices.Contains(prod.Features, f) {
			return fmt.Errorf("feature: product %s has no feature %q", prod.Code, f)
		}
	}
	return nil
}

// HasKind reports whether p sells licenses of kind k.
func (p *Product) HasKind(k licensekey.Kind) bool { return slices.Contains(p.Kinds, k) }

// LicenseType returns p's license type t, if p has it.
func (p *Product) LicenseType(t string) (*LicenseType, bool) {
	for i := range p.Licenses {
		if p.Licenses[i].Type == t {
			return &p.Licenses[i], true
		}
	}
	return nil, false
}
