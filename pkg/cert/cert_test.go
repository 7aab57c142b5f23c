package cert

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
)

func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("allot cert test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func pubOf(priv ed25519.PrivateKey) ed25519.PublicKey { return priv.Public().(ed25519.PublicKey) }

func subject(priv ed25519.PrivateKey, comment string) sign.PublicKey {
	return sign.PublicKey{Key: pubOf(priv), Comment: comment}
}

// counter is a deterministic random source, so serials differ and stay
// stable.
type counter struct{ n uint64 }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		if i%8 == 0 {
			c.n++
		}
		p[i] = byte(c.n >> (8 * (7 - i%8)))
	}
	return len(p), nil
}

var (
	validFrom  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	validUntil = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	allKinds   = []licensekey.Kind{licensekey.Subscription, licensekey.Hardware, licensekey.Expansion}
)

func wideScope() Scope {
	return Scope{
		Products:      []string{"intercom", "vms"},
		Kinds:         slices.Clone(allKinds),
		Licenses:      map[string]int{"camera": 1000, "intercom": 500, "analytics-l1": 100},
		Features:      []string{"elevator", "web-dialer"},
		MaxTermMonths: 60,
		Bearer:        true,
	}
}

// world is a vendor root and a chain root → distributor → reseller →
// sub-reseller, each scope narrower than the one above.
type world struct {
	t                          *testing.T
	rand                       *counter
	root, dist, reseller, sub  ed25519.PrivateKey
	distCert, resCert, subCert *Certificate
	trust                      *Trust
}

func newWorld(t *testing.T) *world {
	w := &world{t: t, rand: &counter{},
		root: testKey("root"), dist: testKey("dist"), reseller: testKey("reseller"), sub: testKey("sub")}
	w.trust = &Trust{Roots: []ed25519.PublicKey{pubOf(testKey("old root")), pubOf(w.root)}}

	s := wideScope()
	w.distCert = w.issue(w.root, nil, "distributor", w.dist, validFrom, validUntil, s)

	s.Licenses = map[string]int{"camera": 200, "intercom": 100, "analytics-l1": 50}
	s.MaxTermMonths = 36
	w.resCert = w.issue(w.dist, Chain{w.distCert}, "reseller", w.reseller, validFrom.AddDate(0, 1, 0), validUntil.AddDate(-1, 0, 0), s)

	s.Products = []string{"vms"}
	s.Kinds = []licensekey.Kind{licensekey.Subscription, licensekey.Hardware}
	s.Licenses = map[string]int{"camera": 100, "analytics-l1": 50}
	s.Features = []string{"web-dialer"}
	s.MaxTermMonths = 24
	s.Bearer = false
	w.subCert = w.issue(w.reseller, Chain{w.distCert, w.resCert}, "reseller", w.sub, validFrom.AddDate(0, 2, 0), validUntil.AddDate(-2, 0, 0), s)
	return w
}

func (w *world) chain() Chain { return Chain{w.distCert, w.resCert, w.subCert} }

func (w *world) issue(parent ed25519.PrivateKey, chain Chain, role string, child ed25519.PrivateKey, from, until time.Time, s Scope) *Certificate {
	w.t.Helper()
	c, err := Issue(parent, chain, Template{Role: role, Subject: subject(child, role),
		ValidFrom: from, ValidUntil: until, Scope: s}, w.rand)
	if err != nil {
		w.t.Fatalf("Issue %s: %v", role, err)
	}
	return c
}

// key signs a license key with priv; f adjusts the default, a 12-month
// subscription for 10 cameras issued in 2027, before it is signed.
func (w *world) key(priv ed25519.PrivateKey, f func(*licensekey.Key)) *licensekey.Key {
	w.t.Helper()
	k := &licensekey.Key{Kind: licensekey.Subscription, Issued: time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC),
		TermMonths: 12, Product: "vms", Licenses: []licensekey.License{{Type: "camera", Quantity: 10}},
		Wallet: licensekey.WalletIDOf(pubOf(testKey("wallet")))}
	if f != nil {
		f(k)
	}
	text, err := k.Sign(priv, w.rand)
	if err != nil {
		w.t.Fatalf("signing a key: %v", err)
	}
	parsed, err := licensekey.Parse(text)
	if err != nil {
		w.t.Fatal(err)
	}
	return parsed
}

func TestIssueParse(t *testing.T) {
	w := newWorld(t)
	c := w.resCert
	got, err := Parse(c.Document())
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, c.Document())
	}
	if got.Serial != c.Serial || got.Role != "reseller" || !got.Subject.Key.Equal(pubOf(w.reseller)) ||
		got.Subject.Comment != "reseller" || !got.Issuer.Equal(pubOf(w.dist)) ||
		!got.ValidFrom.Equal(c.ValidFrom) || !got.ValidUntil.Equal(c.ValidUntil) {
		t.Fatalf("Parse = %+v\nwant %+v", got, c)
	}
	if !slices.Equal(got.Scope.Products, c.Scope.Products) || !slices.Equal(got.Scope.Kinds, c.Scope.Kinds) ||
		!maps.Equal(got.Scope.Licenses, c.Scope.Licenses) || !slices.Equal(got.Scope.Features, c.Scope.Features) ||
		got.Scope.MaxTermMonths != c.Scope.MaxTermMonths || got.Scope.Bearer != c.Scope.Bearer {
		t.Fatalf("scope %+v, want %+v", got.Scope, c.Scope)
	}
	if !bytes.Equal(got.Document(), c.Document()) {
		t.Fatal("Document() is not the bytes parsed")
	}
	if len(c.Serial) != 16 || c.Serial == w.distCert.Serial {
		t.Fatalf("serials %q and %q", c.Serial, w.distCert.Serial)
	}
	// The payload is readable TOML and names the subject and issuer keys.
	payload, _, _, err := sign.Split(c.Document())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"role = \"reseller\"", sign.MarshalAuthorized(pubOf(w.reseller), "reseller"), sign.MarshalAuthorized(pubOf(w.dist), "")} {
		if !strings.Contains(string(payload), want) {
			t.Errorf("payload does not contain %q:\n%s", want, payload)
		}
	}
}

func TestIssueNormalizesScope(t *testing.T) {
	w := newWorld(t)
	s := wideScope()
	s.Products = []string{"vms", "intercom", "vms"}
	s.Kinds = []licensekey.Kind{licensekey.Expansion, licensekey.Subscription, licensekey.Expansion}
	s.Features = []string{"web-dialer", "elevator", "web-dialer"}
	c := w.issue(w.root, nil, "distributor", w.dist, validFrom, validUntil, s)
	if !slices.Equal(c.Scope.Products, []string{"intercom", "vms"}) ||
		!slices.Equal(c.Scope.Kinds, []licensekey.Kind{licensekey.Subscription, licensekey.Expansion}) ||
		!slices.Equal(c.Scope.Features, []string{"elevator", "web-dialer"}) {
		t.Fatalf("scope not sorted and de-duplicated: %+v", c.Scope)
	}
	// The template's slices are not modified.
	if s.Products[0] != "vms" {
		t.Fatal("Issue sorted the caller's slice")
	}
}

func TestIssueRejectsInvalid(t *testing.T) {
	w := newWorld(t)
	tests := map[string]func(*Template){
		"role":             func(tp *Template) { tp.Role = "vendor" },
		"no role":          func(tp *Template) { tp.Role = "" },
		"validity reverse": func(tp *Template) { tp.ValidUntil = tp.ValidFrom.Add(-time.Second) },
		"validity empty":   func(tp *Template) { tp.ValidUntil = tp.ValidFrom },
		"no valid from":    func(tp *Template) { tp.ValidFrom = time.Time{} },
		"no products":      func(tp *Template) { tp.Scope.Products = nil },
		"bad product":      func(tp *Template) { tp.Scope.Products = []string{"VMS"} },
		"no kinds":         func(tp *Template) { tp.Scope.Kinds = nil },
		"bad kind":         func(tp *Template) { tp.Scope.Kinds = []licensekey.Kind{7} },
		"no licenses":      func(tp *Template) { tp.Scope.Licenses = nil },
		"bad license":      func(tp *Template) { tp.Scope.Licenses = map[string]int{"Camera": 1} },
		"quantity 0":       func(tp *Template) { tp.Scope.Licenses = map[string]int{"camera": 0} },
		"quantity too big": func(tp *Template) { tp.Scope.Licenses = map[string]int{"camera": licensekey.MaxQuantity + 1} },
		"bad feature":      func(tp *Template) { tp.Scope.Features = []string{"web dialer"} },
		"term too long":    func(tp *Template) { tp.Scope.MaxTermMonths = licensekey.MaxTermMonths + 1 },
		"negative term":    func(tp *Template) { tp.Scope.MaxTermMonths = -1 },
		"too many products": func(tp *Template) {
			tp.Scope.Products = nil
			for i := range MaxListLen + 1 {
				tp.Scope.Products = append(tp.Scope.Products, "p"+strings.Repeat("x", i%30)+string(rune('a'+i/30)))
			}
		},
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			tp := Template{Role: "distributor", Subject: subject(w.dist, "d"), ValidFrom: validFrom, ValidUntil: validUntil, Scope: wideScope()}
			f(&tp)
			if c, err := Issue(w.root, nil, tp, w.rand); err == nil {
				t.Fatalf("Issue accepted it:\n%s", c.Document())
			}
		})
	}
	// A failing random source is an error.
	if _, err := Issue(w.root, nil, Template{Role: "distributor", Subject: subject(w.dist, "d"),
		ValidFrom: validFrom, ValidUntil: validUntil, Scope: wideScope()}, bytes.NewReader(nil)); err == nil {
		t.Fatal("Issue with an empty random source succeeded")
	}
	// The signer must be the subject of the parent chain's leaf.
	if _, err := Issue(w.reseller, Chain{w.distCert}, Template{Role: "reseller", Subject: subject(w.sub, "s"),
		ValidFrom: validFrom, ValidUntil: validUntil, Scope: w.resCert.Scope}, w.rand); err == nil {
		t.Fatal("Issue with a key that is not the parent certificate's subject succeeded")
	}
}

func TestChainDepthThree(t *testing.T) {
	w := newWorld(t)
	chain := w.chain()
	if err := chain.Verify(w.trust); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if chain.Leaf() != w.subCert || (Chain{}).Leaf() != nil {
		t.Fatal("Leaf")
	}
	// The certificate file round-trips through ParseChain.
	parsed, err := ParseChain(chain.Document())
	if err != nil {
		t.Fatalf("ParseChain: %v", err)
	}
	if len(parsed) != 3 {
		t.Fatalf("ParseChain: %d certificates", len(parsed))
	}
	for i := range parsed {
		if parsed[i].Serial != chain[i].Serial || !bytes.Equal(parsed[i].Document(), chain[i].Document()) {
			t.Fatalf("certificate %d differs", i+1)
		}
	}
	if !bytes.Equal(parsed.Document(), chain.Document()) {
		t.Fatal("Document of the parsed chain differs")
	}
	if err := parsed.Verify(w.trust); err != nil {
		t.Fatalf("Verify of the parsed chain: %v", err)
	}
	// A key by the sub-reseller, inside every scope, is authorized.
	k := w.key(w.sub, nil)
	if err := parsed.Authorize(k, w.trust); err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	// The empty chain verifies (a root issuing on its own authority) and
	// authorizes keys signed by a root.
	if err := (Chain{}).Verify(w.trust); err != nil {
		t.Fatal(err)
	}
	if err := (Chain{}).Authorize(w.key(w.root, nil), w.trust); err != nil {
		t.Fatalf("key signed by the root: %v", err)
	}
	if err := (Chain{}).Authorize(k, w.trust); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("key by a non-root with no chain: %v, want ErrUntrusted", err)
	}
}

func TestUntrustedRoot(t *testing.T) {
	w := newWorld(t)
	other := &Trust{Roots: []ed25519.PublicKey{pubOf(testKey("other vendor"))}}
	if err := w.chain().Verify(other); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("Verify against another root: %v, want ErrUntrusted", err)
	}
	if err := w.chain().Verify(&Trust{}); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("Verify with no roots: %v, want ErrUntrusted", err)
	}
	// A chain that starts below the root is not trusted either.
	if err := (Chain{w.resCert, w.subCert}).Verify(w.trust); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("chain without its first link: %v, want ErrUntrusted", err)
	}
	// A same-shaped chain from another vendor's root.
	rogue := testKey("rogue root")
	rc := w.issue(rogue, nil, "distributor", w.dist, validFrom, validUntil, wideScope())
	if err := (Chain{rc, w.resCert, w.subCert}).Verify(w.trust); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("chain from a rogue root: %v, want ErrUntrusted", err)
	}
}

func TestChainLinks(t *testing.T) {
	w := newWorld(t)
	// Skipping a level breaks the link: sub's certificate is not issued by
	// the distributor.
	if err := (Chain{w.distCert, w.subCert}).Verify(w.trust); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("chain with a gap: %v, want ErrUntrusted", err)
	}
	if _, err := ParseChain(append(bytes.Clone(w.distCert.Document()), w.subCert.Document()...)); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("ParseChain with a gap: %v, want ErrUntrusted", err)
	}
	// Out of order.
	if _, err := ParseChain(append(bytes.Clone(w.resCert.Document()), w.distCert.Document()...)); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("ParseChain out of order: %v, want ErrUntrusted", err)
	}
}

func TestRevoked(t *testing.T) {
	w := newWorld(t)
	k := w.key(w.sub, nil)
	for _, c := range w.chain() {
		trust := *w.trust
		trust.Revoked = map[string]bool{c.Serial: true}
		if err := w.chain().Verify(&trust); !errors.Is(err, ErrRevoked) {
			t.Errorf("certificate %s revoked: Verify = %v, want ErrRevoked", c.Role, err)
		}
	}
	trust := *w.trust
	trust.Revoked = map[string]bool{k.ID(): true}
	if err := w.chain().Verify(&trust); err != nil {
		t.Fatalf("revoking a key does not revoke the chain: %v", err)
	}
	if err := w.chain().Authorize(k, &trust); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked key: Authorize = %v, want ErrRevoked", err)
	}
	// Another key of the same issuer is still authorized.
	if err := w.chain().Authorize(w.key(w.sub, nil), &trust); err != nil {
		t.Fatalf("unrevoked key: %v", err)
	}
	// A revoked serial of another issuer does not hit this key.
	other := k.ID()
	other = strings.Repeat("0", 16) + other[16:]
	trust.Revoked = map[string]bool{other: true}
	if err := w.chain().Authorize(k, &trust); err != nil {
		t.Fatalf("same serial, other issuer revoked: %v", err)
	}
}

// widening widens one field of a template's scope or validity.
type widening struct {
	name string
	f    func(*Template)
}

func widenings() []widening {
	return []widening{
		{"product", func(tp *Template) { tp.Scope.Products = append(slices.Clone(tp.Scope.Products), "intercom") }},
		{"kind", func(tp *Template) { tp.Scope.Kinds = slices.Clone(allKinds) }},
		{"license type", func(tp *Template) {
			tp.Scope.Licenses = maps.Clone(tp.Scope.Licenses)
			tp.Scope.Licenses["analytics-l4"] = 1
		}},
		{"quantity", func(tp *Template) {
			tp.Scope.Licenses = maps.Clone(tp.Scope.Licenses)
			tp.Scope.Licenses["camera"]++
		}},
		{"feature", func(tp *Template) { tp.Scope.Features = append(slices.Clone(tp.Scope.Features), "elevator") }},
		{"term", func(tp *Template) { tp.Scope.MaxTermMonths++ }},
		{"bearer", func(tp *Template) { tp.Scope.Bearer = true }},
		{"valid from", func(tp *Template) { tp.ValidFrom = tp.ValidFrom.Add(-time.Second) }},
		{"valid until", func(tp *Template) { tp.ValidUntil = tp.ValidUntil.Add(time.Second) }},
	}
}

// TestChildExceedsParent widens a child's scope in each field, one at a
// time, beyond its parent's (the sub-reseller's certificate, the
// narrowest): Issue refuses it, and a forged certificate made by signing it
// directly is refused by Chain.Verify.
func TestChildExceedsParent(t *testing.T) {
	w := newWorld(t)
	parent := w.subCert
	grandchild := testKey("grandchild")
	for _, wd := range widenings() {
		t.Run(wd.name, func(t *testing.T) {
			tp := Template{Role: "reseller", Subject: subject(grandchild, "g"),
				ValidFrom: parent.ValidFrom, ValidUntil: parent.ValidUntil, Scope: parent.Scope}
			// The unchanged template lies inside the parent.
			if _, err := Issue(w.sub, w.chain(), tp, w.rand); err != nil {
				t.Fatalf("the parent's own scope: %v", err)
			}
			wd.f(&tp)
			if c, err := Issue(w.sub, w.chain(), tp, w.rand); !errors.Is(err, ErrScope) {
				t.Fatalf("Issue = %v, want ErrScope:\n%s", err, c.Document())
			}
			// Forge: sign the wider certificate without the parent check.
			forged, err := Issue(w.sub, nil, tp, w.rand)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(forged.Document()); err != nil {
				t.Fatalf("the forged certificate's signature is valid: %v", err)
			}
			if err := parent.Contains(forged); !errors.Is(err, ErrScope) {
				t.Fatalf("Contains = %v, want ErrScope", err)
			}
			chain := append(w.chain(), forged)
			if err := chain.Verify(w.trust); !errors.Is(err, ErrScope) {
				t.Fatalf("Verify = %v, want ErrScope", err)
			}
			parsed, err := ParseChain(chain.Document())
			if err != nil {
				t.Fatal(err)
			}
			if err := parsed.Verify(w.trust); !errors.Is(err, ErrScope) {
				t.Fatalf("Verify of the parsed file = %v, want ErrScope", err)
			}
			pool := NewPool(w.trust)
			pool.Add(chain...)
			if _, err := pool.ChainFor(sign.IDOf(pubOf(grandchild))); !errors.Is(err, ErrScope) {
				t.Fatalf("Pool.ChainFor = %v, want ErrScope", err)
			}
		})
	}
}

// TestForgedMiddle: a reseller certificate wider than the distributor's,
// with a sub-reseller certificate inside it, is refused at the link where
// the scope grows, however deep.
func TestForgedMiddle(t *testing.T) {
	w := newWorld(t)
	s := w.distCert.Scope
	s.Licenses = map[string]int{"camera": 5000}
	forged, err := Issue(w.dist, nil, Template{Role: "reseller", Subject: subject(w.reseller, "r"),
		ValidFrom: validFrom, ValidUntil: validUntil, Scope: s}, w.rand)
	if err != nil {
		t.Fatal(err)
	}
	if err := (Chain{w.distCert, forged, w.subCert}).Verify(w.trust); !errors.Is(err, ErrScope) {
		t.Fatalf("Verify = %v, want ErrScope", err)
	}
}

func TestAllows(t *testing.T) {
	w := newWorld(t)
	c := w.subCert // vms; subscription, hardware; camera ≤ 100, analytics-l1 ≤ 50; web-dialer; 24 months; no bearer
	tests := []struct {
		name string
		f    func(*licensekey.Key)
		ok   bool
	}{
		{"inside", nil, true},
		{"at the limits", func(k *licensekey.Key) {
			k.Licenses = []licensekey.License{{Type: "camera", Quantity: 100}, {Type: "analytics-l1", Quantity: 50}}
			k.TermMonths = 24
			k.Features = []string{"web-dialer"}
		}, true},
		{"hardware, no term limit", func(k *licensekey.Key) { k.Kind = licensekey.Hardware; k.TermMonths = 0 }, true},
		{"issued on the first day", func(k *licensekey.Key) { k.Issued = c.ValidFrom.UTC().Truncate(24 * time.Hour) }, true},
		{"issued on the last day", func(k *licensekey.Key) { k.Issued = c.ValidUntil.UTC().Truncate(24 * time.Hour) }, true},
		{"product", func(k *licensekey.Key) { k.Product = "intercom" }, false},
		{"license type", func(k *licensekey.Key) { k.Licenses = []licensekey.License{{Type: "intercom", Quantity: 1}} }, false},
		{"quantity", func(k *licensekey.Key) { k.Licenses[0].Quantity = 101 }, false},
		{"second license over", func(k *licensekey.Key) {
			k.Licenses = append(k.Licenses, licensekey.License{Type: "analytics-l1", Quantity: 51})
		}, false},
		{"feature", func(k *licensekey.Key) { k.Features = []string{"elevator"} }, false},
		{"term", func(k *licensekey.Key) { k.TermMonths = 25 }, false},
		{"bearer", func(k *licensekey.Key) { k.Bearer = true }, false},
		{"kind", func(k *licensekey.Key) { k.Kind = licensekey.Expansion; k.TermMonths = 0 }, false},
		{"issued before", func(k *licensekey.Key) { k.Issued = c.ValidFrom.AddDate(0, 0, -1).Truncate(24 * time.Hour) }, false},
		{"issued after", func(k *licensekey.Key) { k.Issued = c.ValidUntil.AddDate(0, 0, 1).Truncate(24 * time.Hour) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := w.key(w.sub, tt.f)
			err := c.Allows(k)
			if tt.ok && err != nil {
				t.Fatalf("Allows = %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrScope) {
				t.Fatalf("Allows = %v, want ErrScope", err)
			}
			// Authorize agrees with Allows on the leaf.
			if err := w.chain().Authorize(k, w.trust); (err == nil) != tt.ok {
				t.Fatalf("Authorize = %v", err)
			}
		})
	}
}

// TestStrictestLevelWins: Authorize checks a key against every level, not
// only the leaf. The leaf here is forged wider than its parent, and the
// key fits the leaf but not the parent.
func TestStrictestLevelWins(t *testing.T) {
	w := newWorld(t)
	s := w.resCert.Scope
	s.Licenses = map[string]int{"camera": 900, "intercom": 100, "analytics-l1": 50} // the reseller allows 200 cameras
	s.MaxTermMonths = 60                                                            // the reseller allows 36
	s.Bearer = true
	forged, err := Issue(w.reseller, nil, Template{Role: "reseller", Subject: subject(w.sub, "s"),
		ValidFrom: w.resCert.ValidFrom, ValidUntil: w.resCert.ValidUntil, Scope: s}, w.rand)
	if err != nil {
		t.Fatal(err)
	}
	chain := Chain{w.distCert, w.resCert, forged}
	for name, f := range map[string]func(*licensekey.Key){
		"quantity": func(k *licensekey.Key) { k.Licenses[0].Quantity = 500 },
		"term":     func(k *licensekey.Key) { k.TermMonths = 48 },
	} {
		k := w.key(w.sub, f)
		if err := forged.Allows(k); err != nil {
			t.Fatalf("%s: the leaf allows it: %v", name, err)
		}
		if err := chain.Authorize(k, w.trust); !errors.Is(err, ErrScope) || !strings.Contains(err.Error(), w.resCert.Serial) {
			t.Fatalf("%s: Authorize = %v, want ErrScope naming certificate %s", name, err, w.resCert.Serial)
		}
	}
	// Bearer keys: the reseller allows them, so does the forged leaf, but
	// the sub-reseller's real certificate does not; with the real chain
	// the leaf refuses.
	bearer := w.key(w.sub, func(k *licensekey.Key) { k.Bearer = true; k.Wallet = licensekey.WalletID{} })
	if err := w.chain().Authorize(bearer, w.trust); !errors.Is(err, ErrScope) {
		t.Fatalf("bearer: Authorize = %v, want ErrScope", err)
	}
	// A key inside every level is authorized through the forged chain too
	// (Authorize assumes a verified chain; Verify is what refuses it).
	if err := chain.Authorize(w.key(w.sub, nil), w.trust); err != nil {
		t.Fatalf("key inside every level: %v", err)
	}
	if err := chain.Verify(w.trust); !errors.Is(err, ErrScope) {
		t.Fatalf("Verify of the forged chain: %v, want ErrScope", err)
	}
}

func TestAuthorizeSigner(t *testing.T) {
	w := newWorld(t)
	// A key signed by the reseller does not pass as the sub-reseller's.
	k := w.key(w.reseller, nil)
	if err := w.chain().Authorize(k, w.trust); !errors.Is(err, sign.ErrSignature) {
		t.Fatalf("key by another signer: %v, want ErrSignature", err)
	}
	if err := (Chain{w.distCert, w.resCert}).Authorize(k, w.trust); err != nil {
		t.Fatalf("key by the reseller with its own chain: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	w := newWorld(t)
	doc := w.resCert.Document()
	payload, _, _, err := sign.Split(doc)
	if err != nil {
		t.Fatal(err)
	}
	// reseal signs an edited payload with the distributor's key, so only
	// the edit is wrong.
	reseal := func(p string) []byte {
		d, err := sign.Seal(w.dist, Namespace, []byte(p))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	replace := func(old, new string) []byte {
		if !strings.Contains(string(payload), old) {
			t.Fatalf("payload has no %q", old)
		}
		return reseal(strings.Replace(string(payload), old, new, 1))
	}
	if _, err := Parse(reseal(string(payload))); err != nil {
		t.Fatalf("the resealed original: %v", err)
	}
	otherNS, err := sign.Seal(w.dist, "allot-bundle-v1", payload)
	if err != nil {
		t.Fatal(err)
	}
	wrongSigner, err := sign.Seal(w.root, Namespace, payload)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(doc)
	flipped[bytes.Index(flipped, []byte("camera"))] ^= 1

	tests := []struct {
		name string
		doc  []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"payload only", payload, ErrMalformed},
		{"too large", append(bytes.Repeat([]byte("#\n"), MaxDocumentSize/2), doc...), ErrMalformed},
		{"altered", flipped, sign.ErrSignature},
		{"other namespace", otherNS, sign.ErrSignature},
		{"signed by another key", wrongSigner, sign.ErrSignature},
		{"version 2", replace("version = 1", "version = 2"), ErrMalformed},
		{"unknown field", replace("version = 1", "version = 1\ncolour = \"red\""), ErrMalformed},
		{"unknown scope field", replace("[scope]", "[scope]\n  regions = [\"eu\"]"), ErrMalformed},
		{"bad subject", replace("subject = \"ssh-ed25519 ", "subject = \"ssh-rsa "), ErrMalformed},
		{"bad role", replace("role = \"reseller\"", "role = \"vendor\""), ErrMalformed},
		{"bad kind", replace("\"subscription\"", "\"lifetime\""), ErrMalformed},
		{"not toml", reseal("this is not toml\n"), ErrMalformed},
		{"trailing data", append(bytes.Clone(doc), "more\n"...), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.doc)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse = %v, %v; want %v", c, err, tt.want)
			}
		})
	}
}

func TestParseChainRejects(t *testing.T) {
	w := newWorld(t)
	for name, data := range map[string][]byte{
		"empty":   nil,
		"blank":   []byte("\n\n"),
		"garbage": []byte("hello\n"),
		"second certificate truncated": append(bytes.Clone(w.distCert.Document()),
			w.resCert.Document()[:len(w.resCert.Document())/2]...),
	} {
		if _, err := ParseChain(data); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseChain = %v, want ErrMalformed", name, err)
		}
	}
	// More than MaxDepth certificates: a long chain of signers, each
	// certifying the next.
	var chain Chain
	prev := w.root
	for i := range MaxDepth + 1 {
		next := testKey("level " + string(rune('a'+i)))
		chain = append(chain, w.issue(prev, chain, "reseller", next, validFrom, validUntil, wideScope()))
		prev = next
	}
	if _, err := ParseChain(chain[:MaxDepth].Document()); err != nil {
		t.Fatalf("a chain of %d: %v", MaxDepth, err)
	}
	if _, err := ParseChain(chain.Document()); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a chain of %d: %v, want ErrMalformed", MaxDepth+1, err)
	}
}

func TestPoolChainFor(t *testing.T) {
	w := newWorld(t)
	pool := NewPool(w.trust)
	if !pool.Add(w.subCert, w.resCert, w.distCert) {
		t.Fatal("Add reported nothing new")
	}
	if pool.Add(w.resCert) {
		t.Fatal("Add of a duplicate reported something new")
	}
	if n := len(pool.All()); n != 3 {
		t.Fatalf("All: %d certificates", n)
	}
	for _, tc := range []struct {
		signer ed25519.PrivateKey
		want   Chain
	}{
		{w.sub, w.chain()},
		{w.reseller, Chain{w.distCert, w.resCert}},
		{w.dist, Chain{w.distCert}},
		{w.root, Chain{}},
	} {
		got, err := pool.ChainFor(sign.IDOf(pubOf(tc.signer)))
		if err != nil {
			t.Fatalf("ChainFor: %v", err)
		}
		if !slices.Equal(got, tc.want) {
			t.Fatalf("ChainFor = %d certificates, want %d", len(got), len(tc.want))
		}
	}
	if _, err := pool.ChainFor(sign.IDOf(pubOf(testKey("stranger")))); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("unknown signer: %v, want ErrUntrusted", err)
	}
	// Without the distributor's certificate there is no way to the root.
	gap := NewPool(w.trust)
	gap.Add(w.resCert, w.subCert)
	if _, err := gap.ChainFor(sign.IDOf(pubOf(w.sub))); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("missing link: %v, want ErrUntrusted", err)
	}
	// Adding it later is seen: results are not cached across Add.
	gap.Add(w.distCert)
	if got, err := gap.ChainFor(sign.IDOf(pubOf(w.sub))); err != nil || len(got) != 3 {
		t.Fatalf("after adding the missing link: %d, %v", len(got), err)
	}
	// Revocation is applied to chains the pool builds.
	revoked := *w.trust
	revoked.Revoked = map[string]bool{w.resCert.Serial: true}
	rp := NewPool(&revoked)
	rp.Add(w.chain()...)
	if _, err := rp.ChainFor(sign.IDOf(pubOf(w.sub))); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked middle: %v, want ErrRevoked", err)
	}
}

func TestPoolCycle(t *testing.T) {
	w := newWorld(t)
	a, b, c := testKey("a"), testKey("b"), testKey("c")
	// a and b certify each other; c is certified by b. None reaches a root.
	ab := w.issue(a, nil, "reseller", b, validFrom, validUntil, wideScope())
	ba := w.issue(b, nil, "reseller", a, validFrom, validUntil, wideScope())
	bc := w.issue(b, nil, "reseller", c, validFrom, validUntil, wideScope())
	pool := NewPool(w.trust)
	pool.Add(ab, ba, bc)
	for _, k := range []ed25519.PrivateKey{a, b, c} {
		if _, err := pool.ChainFor(sign.IDOf(pubOf(k))); !errors.Is(err, ErrUntrusted) {
			t.Fatalf("cycle: %v, want ErrUntrusted", err)
		}
	}
}

// TestPoolCycleWithWayOut: a and b certify each other, and the root also
// certifies a. Both have a chain, whichever is asked for first and
// whatever order the certificates were added in.
func TestPoolCycleWithWayOut(t *testing.T) {
	w := newWorld(t)
	a, b := testKey("a"), testKey("b")
	ba := w.issue(b, nil, "reseller", a, validFrom, validUntil, wideScope())
	ab := w.issue(a, nil, "reseller", b, validFrom, validUntil, wideScope())
	ra := w.issue(w.root, nil, "distributor", a, validFrom, validUntil, wideScope())
	certs := []*Certificate{ba, ab, ra}
	for _, order := range permutations(len(certs)) {
		for _, first := range []ed25519.PrivateKey{a, b} {
			pool := NewPool(w.trust)
			for _, i := range order {
				pool.Add(certs[i])
			}
			for _, signer := range []ed25519.PrivateKey{first, a, b} {
				chain, err := pool.ChainFor(sign.IDOf(pubOf(signer)))
				if err != nil {
					t.Fatalf("order %v, %s asked first: ChainFor(%s): %v", order, name(first, a), name(signer, a), err)
				}
				if err := chain.Verify(w.trust); err != nil || !chain.Leaf().Subject.Key.Equal(pubOf(signer)) {
					t.Fatalf("order %v: the chain found does not verify for its signer: %v", order, err)
				}
			}
		}
	}
}

// name names a or b in messages.
func name(k, a ed25519.PrivateKey) string {
	if k.Equal(a) {
		return "a"
	}
	return "b"
}

func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

// TestPoolMultipleCandidates: a signer certified twice (a renewal: an old,
// narrower certificate and a new one) by the same parent. A child
// certificate that only the new one contains must still get a chain, in
// whichever order the certificates were added.
func TestPoolMultipleCandidates(t *testing.T) {
	w := newWorld(t)
	old := wideScope()
	old.Products = []string{"vms"}
	oldCert := w.issue(w.root, nil, "distributor", w.dist, validFrom, validFrom.AddDate(1, 0, 0), old)
	newCert := w.issue(w.root, nil, "distributor", w.dist, validFrom.AddDate(1, 0, 0), validUntil, wideScope())
	s := wideScope()
	s.Products = []string{"intercom"}
	child := w.issue(w.dist, Chain{newCert}, "reseller", w.reseller, validFrom.AddDate(1, 1, 0), validUntil, s)
	if err := oldCert.Contains(child); !errors.Is(err, ErrScope) {
		t.Fatalf("the old certificate contains the child: %v", err)
	}
	certs := []*Certificate{oldCert, newCert, child}
	for _, order := range permutations(len(certs)) {
		pool := NewPool(w.trust)
		for _, i := range order {
			pool.Add(certs[i])
		}
		chain, err := pool.ChainFor(sign.IDOf(pubOf(w.reseller)))
		if err != nil {
			t.Fatalf("order %v: ChainFor = %v", order, err)
		}
		if !slices.Equal(chain, Chain{newCert, child}) {
			t.Fatalf("order %v: ChainFor = %d certificates, want the new distributor certificate and the child", order, len(chain))
		}
		// The signer itself gets a chain, either of its two.
		if _, err := pool.ChainFor(sign.IDOf(pubOf(w.dist))); err != nil {
			t.Fatalf("order %v: ChainFor(distributor) = %v", order, err)
		}
	}
	// An untrusted candidate before a trusted one does not hide it.
	rogue := w.issue(testKey("rogue"), nil, "distributor", w.dist, validFrom, validUntil, wideScope())
	pool := NewPool(w.trust)
	pool.Add(rogue, w.distCert)
	if chain, err := pool.ChainFor(sign.IDOf(pubOf(w.dist))); err != nil || !slices.Equal(chain, Chain{w.distCert}) {
		t.Fatalf("rogue candidate first: %d certificates, %v", len(chain), err)
	}
}

// TestPoolDepthLimit: a chain longer than MaxDepth is refused by the pool.
func TestPoolDepthLimit(t *testing.T) {
	w := newWorld(t)
	var chain Chain
	prev := w.root
	var keys []ed25519.PrivateKey
	for i := range MaxDepth + 1 {
		next := testKey("deep " + string(rune('a'+i)))
		chain = append(chain, w.issue(prev, chain, "reseller", next, validFrom, validUntil, wideScope()))
		keys = append(keys, next)
		prev = next
	}
	pool := NewPool(w.trust)
	pool.Add(chain...)
	if got, err := pool.ChainFor(sign.IDOf(pubOf(keys[MaxDepth-1]))); err != nil || len(got) != MaxDepth {
		t.Fatalf("chain of %d: %d, %v", MaxDepth, len(got), err)
	}
	if _, err := pool.ChainFor(sign.IDOf(pubOf(keys[MaxDepth]))); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("chain of %d: %v, want ErrUntrusted", MaxDepth+1, err)
	}
}

// TestPoolAuthorize: a signer with two certificates, an old one that
// expired and a renewed one; a key issued under the renewed one is
// authorized through it, whichever was added first.
func TestPoolAuthorize(t *testing.T) {
	w := newWorld(t)
	oldCert := w.issue(w.root, nil, "distributor", w.dist, validFrom, validFrom.AddDate(1, 0, 0), wideScope())
	newCert := w.issue(w.root, nil, "distributor", w.dist, validFrom.AddDate(1, 0, 0), validUntil, wideScope())
	k := w.key(w.dist, func(k *licensekey.Key) { k.Issued = validFrom.AddDate(2, 0, 0) })
	if err := oldCert.Allows(k); !errors.Is(err, ErrScope) {
		t.Fatalf("the old certificate allows the key: %v", err)
	}
	for _, order := range [][]*Certificate{{oldCert, newCert}, {newCert, oldCert}} {
		pool := NewPool(w.trust)
		pool.Add(order...)
		chain, err := pool.Authorize(k)
		if err != nil {
			t.Fatalf("Authorize: %v", err)
		}
		if !slices.Equal(chain, Chain{newCert}) {
			t.Fatal("Authorize chose the old certificate")
		}
	}
	// A key no chain allows reports the first chain's reason.
	pool := NewPool(w.trust)
	pool.Add(oldCert, newCert)
	tooMany := w.key(w.dist, func(k *licensekey.Key) { k.Licenses[0].Quantity = 1001 })
	if _, err := pool.Authorize(tooMany); !errors.Is(err, ErrScope) {
		t.Fatalf("key outside every certificate: %v, want ErrScope", err)
	}
	// A key by a root needs no certificate; one by a stranger has no chain.
	if chain, err := pool.Authorize(w.key(w.root, nil)); err != nil || len(chain) != 0 {
		t.Fatalf("key by the root: %d, %v", len(chain), err)
	}
	if _, err := pool.Authorize(w.key(testKey("stranger"), nil)); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("key by a stranger: %v, want ErrUntrusted", err)
	}
	revoked := *w.trust
	revoked.Revoked = map[string]bool{k.ID(): true}
	rp := NewPool(&revoked)
	rp.Add(oldCert, newCert)
	if _, err := rp.Authorize(k); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked key: %v, want ErrRevoked", err)
	}
}

// TestPoolErrors pins the shape of the messages people see: they name the
// signer that was asked for, and say why there is no chain.
func TestPoolErrors(t *testing.T) {
	w := newWorld(t)
	stranger := sign.IDOf(pubOf(testKey("stranger")))
	pool := NewPool(w.trust)
	_, err := pool.ChainFor(stranger)
	if want := "signer " + stranger.String() + ": no certificate for it, and it is not a trusted root"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("ChainFor(stranger) = %v, want %q…", err, want)
	}
	// A chain that leads to another vendor's root.
	other := &Trust{Roots: []ed25519.PublicKey{pubOf(testKey("other vendor"))}}
	op := NewPool(other)
	op.Add(w.chain()...)
	sub := sign.IDOf(pubOf(w.sub))
	_, err = op.ChainFor(sub)
	if !errors.Is(err, ErrUntrusted) || !strings.HasPrefix(err.Error(), "signer "+sub.String()+": ") ||
		!strings.Contains(err.Error(), "not a trusted root") {
		t.Fatalf("ChainFor through an untrusted root = %v", err)
	}
	// A cycle says so.
	a, b := testKey("a"), testKey("b")
	cp := NewPool(w.trust)
	cp.Add(w.issue(a, nil, "reseller", b, validFrom, validUntil, wideScope()),
		w.issue(b, nil, "reseller", a, validFrom, validUntil, wideScope()))
	if _, err := cp.ChainFor(sign.IDOf(pubOf(a))); !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("cycle: %v", err)
	}
}

// A signer certified many times (a bundle may carry hundreds of
// certificates) costs one signature check per key, not one per
// certificate.
func TestPoolAuthorizeChecksASignatureOnce(t *testing.T) {
	root := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	child := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	trust := &Trust{Roots: []ed25519.PublicKey{root.Public().(ed25519.PublicKey)}, Revoked: map[string]bool{}}
	pool := NewPool(trust)
	checks := 0
	verify := pool.verifyKey
	pool.verifyKey = func(k *licensekey.Key, issuer ed25519.PublicKey) error {
		checks++
		return verify(k, issuer)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	serials := &countingReader{}
	// 50 certificates for the same key that do not allow the key's license
	// type, then one that does.
	for i := 0; i <= 50; i++ {
		lic := map[string]int{"intercom": 10}
		if i == 50 {
			lic = map[string]int{"camera": 10}
		}
		c, err := Issue(root, nil, Template{Role: "reseller", Subject: sign.PublicKey{Key: child.Public().(ed25519.PublicKey)},
			ValidFrom: from, ValidUntil: from.AddDate(1, 0, 0),
			Scope: Scope{Products: []string{"vms"}, Kinds: []licensekey.Kind{licensekey.Subscription}, Licenses: lic, MaxTermMonths: 12, Bearer: true}},
			serials)
		if err != nil {
			t.Fatal(err)
		}
		pool.Add(c)
	}
	k := &licensekey.Key{Kind: licensekey.Subscription, Product: "vms", TermMonths: 12, Issued: from.AddDate(0, 1, 0),
		Licenses: []licensekey.License{{Type: "camera", Quantity: 1}}, Bearer: true}
	text, err := k.Sign(child, serials)
	if err != nil {
		t.Fatal(err)
	}
	key, err := licensekey.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if chains, _ := pool.chainsFor(key.Issuer); len(chains) != 51 {
		t.Fatalf("%d chains to the signer, want 51", len(chains))
	}
	chain, err := pool.Authorize(key)
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	if chain.Leaf().Scope.Licenses["camera"] != 10 {
		t.Fatal("the wrong certificate authorized the key")
	}
	if checks != 1 {
		t.Fatalf("%d signature checks for one key under 51 certificates of one signer, want 1", checks)
	}
}

// countingReader is a deterministic byte stream that does not repeat soon,
// for serials.
type countingReader struct{ n uint64 }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		r.n++
		p[i] = byte(r.n * 0x9e3779b97f4a7c15 >> 56)
	}
	return len(p), nil
}

// A certificate's policy and binding rule survive a round trip; a child
// may narrow the policy and raise the binding, never the reverse; a
// chain's policy is the strictest of its certificates'.
func TestPolicyAndBinding(t *testing.T) {
	w := newWorld(t)
	pol := Policy{GraceDays: 30, MaxRenewalYears: 5, UnallocatedExpiryYears: 5, AnalyticsRetentionDays: 7, GrowthAllowancePercent: 100}
	s := wideScope()
	s.Binding = map[string]int{"vms": 2}
	dist := testKey("policy dist")
	parent, err := Issue(w.root, nil, Template{Role: "distributor", Subject: subject(dist, "d"),
		ValidFrom: validFrom, ValidUntil: validUntil, Scope: s, Policy: &pol}, w.rand)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(parent.Document())
	if err != nil {
		t.Fatal(err)
	}
	if back.Policy == nil || *back.Policy != pol || back.Scope.Binding["vms"] != 2 || len(back.Scope.Binding) != 1 {
		t.Fatalf("round trip: policy %+v, binding %v", back.Policy, back.Scope.Binding)
	}
	child := func(edit func(*Template)) (*Certificate, error) {
		tp := Template{Role: "reseller", Subject: subject(testKey("policy child"), "c"),
			ValidFrom: validFrom, ValidUntil: validUntil, Scope: s, Policy: &pol}
		edit(&tp)
		return Issue(dist, Chain{parent}, tp, w.rand)
	}
	narrow := pol
	narrow.GraceDays, narrow.GrowthAllowancePercent = 10, 20
	ok, err := child(func(tp *Template) {
		tp.Policy = &narrow
		tp.Scope.Binding = map[string]int{"vms": 3, "intercom": 1}
	})
	if err != nil {
		t.Fatalf("a narrower child: %v", err)
	}
	chain := Chain{parent, ok}
	if got := chain.Policy(pol); got != narrow {
		t.Errorf("chain policy %+v, want %+v", got, narrow)
	}
	if n, p := chain.BindingAny(); n != 3 || p != "vms" {
		t.Errorf("chain binding %d for %q, want 3 for vms", n, p)
	}
	if n, _ := (Chain{parent}).BindingAny(); n != 2 {
		t.Errorf("parent's binding %d, want 2", n)
	}
	if n, _ := Chain(nil).BindingAny(); n != 0 {
		t.Errorf("a root's own keys: binding %d, want 0", n)
	}
	for name, edit := range map[string]func(*Template){
		"a longer grace": func(tp *Template) { p := pol; p.GraceDays = 31; tp.Policy = &p },
		"more growth":    func(tp *Template) { p := pol; p.GrowthAllowancePercent = 101; tp.Policy = &p },
		"longer data":    func(tp *Template) { p := pol; p.AnalyticsRetentionDays = 8; tp.Policy = &p },
		"renewal":        func(tp *Template) { p := pol; p.MaxRenewalYears = 6; tp.Policy = &p },
		"weaker binding": func(tp *Template) { tp.Scope.Binding = map[string]int{"vms": 1} },
		"no binding":     func(tp *Template) { tp.Scope.Binding = nil },
	} {
		if _, err := child(edit); !errors.Is(err, ErrScope) {
			t.Errorf("%s: %v, want ErrScope", name, err)
		}
	}
	// A policy number out of range is refused at issue and by readers.
	bad := pol
	bad.GraceDays = MaxPolicyValue + 1
	if _, err := child(func(tp *Template) { tp.Policy = &bad }); !errors.Is(err, ErrInvalid) {
		t.Errorf("grace of %d days: %v, want ErrInvalid", bad.GraceDays, err)
	}
}
