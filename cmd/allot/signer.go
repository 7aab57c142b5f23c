package main

import (
	"crypto/ed25519"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/input"
	"allot.dev/allot/cmd/internal/ui"
	"allot.dev/allot/cmd/internal/verifycli"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
)

func (e *env) signerCommand() *cli.Command {
	return &cli.Command{
		Name:  "signer",
		Usage: "create signers and certify them",
		Subcommands: []*cli.Command{
			{
				Name:      "new",
				Usage:     "create an Ed25519 signer: an encrypted private key and an OpenSSH public key",
				UsageText: "allot signer new --name NAME [--out NAME.key] [--passphrase-file FILE | --identity FILE]",
				Description: "Writes NAME.key, the private key encrypted with age (mode 0600), and NAME.pub,\n" +
					"the public key as an OpenSSH line. Neither file is ever overwritten.",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "name", Usage: "the signer's name, kept as the public key's comment"},
					outFlag("the private key `FILE`; the public key goes beside it with .pub (default: NAME.key)"),
					jsonFlag(),
				}, secretFlags()...),
				Action: e.signerNew,
			},
			{
				Name:      "certify",
				Usage:     "grant a signer the right to issue keys within a scope",
				UsageText: "allot signer certify --signer P.key [--cert P.cert] --pub C.pub --role ROLE [scope flags] --out C.cert",
				Description: "Writes a certificate chain: the parent's chain (--cert) followed by a new certificate\n" +
					"signed by --signer for the public key --pub. Scope flags left out take the parent's\n" +
					"value; a scope wider than the parent's is refused.",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "signer", Usage: "the parent's private key `FILE`"},
					&cli.StringFlag{Name: "cert", Usage: "the parent's certificate chain `FILE` (none for a vendor root)"},
					&cli.StringFlag{Name: "pub", Usage: "the child's public key `FILE`"},
					&cli.StringFlag{Name: "role", Usage: "distributor or reseller"},
					&cli.StringSliceFlag{Name: "product", Usage: "a product the child may issue keys for (repeat)"},
					&cli.StringSliceFlag{Name: "license", Usage: "a license type and the most a key may carry, `TYPE=MAX` (repeat)"},
					&cli.StringSliceFlag{Name: "kind", Usage: "a kind the child may issue: subscription, hardware, expansion (repeat)"},
					&cli.StringSliceFlag{Name: "feature", Usage: "a feature the child may grant (repeat)"},
					&cli.StringFlag{Name: "max-term", Usage: "the longest subscription term, such as 3y or 18m"},
					&cli.BoolFlag{Name: "bearer", Usage: "allow bearer keys (issued to no wallet)"},
					&cli.StringSliceFlag{Name: "require-binding", Usage: "bundles funded by keys under this certificate must match at least K hardware identifiers, `PRODUCT=K` (repeat; the highest binds every key; default: the parent's, or the catalog's)"},
					&cli.IntFlag{Name: "grace-days", Value: -1, Usage: "the longest grace after a subscription ends, in `DAYS` (default: the parent's, or the catalog's)"},
					&cli.IntFlag{Name: "growth-allowance", Value: -1, Usage: "the most usage may exceed an allocation, in `PERCENT` (default: the parent's, or the catalog's)"},
					&cli.StringFlag{Name: "valid-from", Usage: "start of validity, RFC 3339 or a date (default: now)"},
					&cli.StringFlag{Name: "valid-until", Usage: "end of validity (default: the parent's, or one year)"},
					outFlag("the certificate chain `FILE`"),
					nowFlag(), catalogFlag(), jsonFlag(),
				}, secretFlags()...),
				Action: e.signerCertify,
			},
		},
	}
}

func (e *env) signerNew(c *cli.Context) error {
	name := c.String("name")
	if name == "" {
		return usageErrorf("signer new: --name is required")
	}
	if err := validName(name); err != nil {
		return usageErrorf("--name: %v", err)
	}
	keyPath := c.String("out")
	if keyPath == "" {
		keyPath = name + ".key"
	}
	if keyPath == "-" {
		return usageErrorf("--out: a private key is never written to standard output")
	}
	pubPath := strings.TrimSuffix(keyPath, ".key") + ".pub"
	if err := checkOut(keyPath); err != nil {
		return err
	}
	if err := checkOut(pubPath); err != nil {
		return err
	}
	pub, priv, err := ed25519.GenerateKey(e.rand)
	if err != nil {
		return err
	}
	sealed, err := e.sealKey(c, priv, name, "the new key "+name)
	if err != nil {
		return err
	}
	line := sign.MarshalAuthorized(pub, name) + "\n"
	if err := e.writeOut(keyPath, sealed, 0o600); err != nil {
		return err
	}
	if err := e.writeOut(pubPath, []byte(line), 0o644); err != nil {
		os.Remove(keyPath)
		return err
	}
	if c.Bool("json") {
		return e.out().JSON("signer.new", &signerNewResult{Name: name, KeyFile: keyPath, PublicKeyFile: pubPath,
			PublicKey: strings.TrimSpace(line), Fingerprint: sign.Fingerprint(pub), KeyID: sign.IDOf(pub).String()})
	}
	e.out().Printf("wrote %s (private key, age-encrypted) and %s (public key)\n", keyPath, pubPath)
	e.out().Printf("fingerprint %s, key id %s\n", sign.Fingerprint(pub), sign.IDOf(pub))
	return nil
}

// validName checks names that become file names and key comments.
func validName(s string) error {
	if len(s) > 64 {
		return fmt.Errorf("%q is longer than 64 characters", s)
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') {
			return fmt.Errorf("%q: use letters, digits, '.', '_' and '-'", s)
		}
	}
	return nil
}

func (e *env) signerCertify(c *cli.Context) error {
	for _, f := range []string{"signer", "pub", "role", "out"} {
		if c.String(f) == "" {
			return usageErrorf("signer certify: --%s is required", f)
		}
	}
	out := c.String("out")
	if err := checkOut(out); err != nil {
		return err
	}
	now, err := now(c)
	if err != nil {
		return err
	}
	cat, err := loadCatalog(c)
	if err != nil {
		return err
	}
	var parent cert.Chain
	if p := c.String("cert"); p != "" {
		if parent, err = readChain(p); err != nil {
			return err
		}
	}
	pubData, err := input.ReadFile(c.String("pub"), maxPubFile)
	if err != nil {
		return err
	}
	subject, err := sign.ParseAuthorized(string(pubData))
	if err != nil {
		return inputErrorf("%s: %v", c.String("pub"), err)
	}
	t, err := certTemplate(c, parent.Leaf(), cat, now)
	if err != nil {
		return err
	}
	t.Subject = subject
	priv, err := e.openKeyFile(c, c.String("signer"))
	if err != nil {
		return err
	}
	child, err := cert.Issue(priv, parent, t, e.rand)
	if err != nil {
		if leaf := parent.Leaf(); leaf != nil && !leaf.Subject.Key.Equal(priv.Public().(ed25519.PublicKey)) {
			return withHint(inputErrorf("%s: %v", c.String("cert"), err), "--cert must be the chain of the --signer key")
		}
		return fmt.Errorf("refused: %w", err)
	}
	chain := append(parent, child)
	if err := e.writeOut(out, chain.Document(), 0o644); err != nil {
		return err
	}
	if c.Bool("json") {
		return e.out().JSON("signer.certify", &signerCertifyResult{File: out, ChainLength: len(chain), Certificate: certJSON(child)})
	}
	e.out().Printf("wrote %s: %s certificate %s for %s, valid %s to %s, chain of %d\n",
		out, child.Role, child.Serial, subject.Comment, child.ValidFrom.Format(time.DateOnly),
		child.ValidUntil.Format(time.DateOnly), len(chain))
	return nil
}

// certTemplate builds the scope from the flags, taking what a flag leaves
// out from the parent (or, for a root's first certificate, from the catalog).
func certTemplate(c *cli.Context, parent *cert.Certificate, cat *catalog.Catalog, now time.Time) (cert.Template, error) {
	t := cert.Template{Role: c.String("role")}
	if !slices.Contains(cert.Roles, t.Role) {
		return t, usageErrorf("--role: %q is not one of %s", t.Role, strings.Join(cert.Roles, ", "))
	}
	// The policy and binding rules a device bounds bundles by: the
	// parent's, or for a root's first certificate the catalog's.
	pol := cat.Policy
	if parent != nil {
		t.Scope = parent.Scope
		t.ValidUntil = parent.ValidUntil
		if parent.Policy != nil {
			pol = *parent.Policy
		}
	} else {
		for _, p := range cat.Products {
			t.Scope.Kinds = append(t.Scope.Kinds, p.Kinds...)
			if p.BindingRequired > 0 {
				if t.Scope.Binding == nil {
					t.Scope.Binding = map[string]int{}
				}
				t.Scope.Binding[p.Code] = p.BindingRequired
			}
		}
		t.Scope.MaxTermMonths = 12 * cat.Policy.MaxRenewalYears
		t.ValidUntil = now.AddDate(1, 0, 0)
	}
	if n := c.Int("grace-days"); n >= 0 {
		pol.GraceDays = n
	}
	if n := c.Int("growth-allowance"); n >= 0 {
		pol.GrowthAllowancePercent = n
	}
	t.Policy = &pol
	if v := c.StringSlice("require-binding"); len(v) > 0 {
		b := maps.Clone(t.Scope.Binding)
		if b == nil {
			b = map[string]int{}
		}
		for _, s := range v {
			prod, k, err := parseTypeQty(s)
			if err != nil || k > cert.MaxBindingRequired {
				return t, usageErrorf("--require-binding: %q: want PRODUCT=K, K from 1 to %d", s, cert.MaxBindingRequired)
			}
			if _, err := cat.Product(prod); err != nil {
				return t, usageErrorf("--require-binding: %v", err)
			}
			b[prod] = k
		}
		t.Scope.Binding = b
	}
	if v := c.StringSlice("product"); len(v) > 0 {
		for _, p := range v {
			if _, err := cat.Product(p); err != nil {
				return t, usageErrorf("--product: %v", err)
			}
		}
		t.Scope.Products = v
	}
	if v := c.StringSlice("license"); len(v) > 0 {
		m := map[string]int{}
		for _, s := range v {
			typ, q, err := parseTypeQty(s)
			if err != nil {
				return t, usageErrorf("--license: %v", err)
			}
			if _, _, err := cat.LicenseType(typ); err != nil {
				return t, usageErrorf("--license: %v", err)
			}
			m[typ] = q
		}
		t.Scope.Licenses = m
	}
	if v := c.StringSlice("kind"); len(v) > 0 {
		t.Scope.Kinds = nil
		for _, s := range v {
			k, err := licensekey.ParseKind(s)
			if err != nil {
				return t, usageErrorf("--kind: %v", err)
			}
			t.Scope.Kinds = append(t.Scope.Kinds, k)
		}
	}
	if v := c.StringSlice("feature"); len(v) > 0 {
		t.Scope.Features = v
	}
	if s := c.String("max-term"); s != "" {
		m, err := parseTerm(s)
		if err != nil {
			return t, usageErrorf("--max-term: %v", err)
		}
		t.Scope.MaxTermMonths = m
	}
	if c.IsSet("bearer") {
		t.Scope.Bearer = c.Bool("bearer")
	}
	t.ValidFrom = now
	if s := c.String("valid-from"); s != "" {
		v, err := verifycli.ParseTime(s)
		if err != nil {
			return t, usageErrorf("--valid-from: %v", err)
		}
		t.ValidFrom = v
	}
	if s := c.String("valid-until"); s != "" {
		v, err := verifycli.ParseTime(s)
		if err != nil {
			return t, usageErrorf("--valid-until: %v", err)
		}
		t.ValidUntil = v
	}
	if !t.ValidUntil.After(t.ValidFrom) {
		return t, usageErrorf("--valid-until %s is not after --valid-from %s", t.ValidUntil.Format(time.RFC3339), t.ValidFrom.Format(time.RFC3339))
	}
	if parent == nil && (len(t.Scope.Products) == 0 || len(t.Scope.Licenses) == 0) {
		return t, usageErrorf("signer certify: a first certificate needs --product and --license")
	}
	return t, nil
}

// parseTypeQty parses "camera=10".
func parseTypeQty(s string) (string, int, error) {
	typ, qs, ok := strings.Cut(s, "=")
	if !ok {
		return "", 0, fmt.Errorf("%q: want TYPE=QUANTITY", s)
	}
	q, err := strconv.Atoi(qs)
	if err != nil || q < 1 || q > licensekey.MaxQuantity {
		return "", 0, fmt.Errorf("%q: quantity must be a whole number from 1 to %d", s, licensekey.MaxQuantity)
	}
	return typ, q, nil
}

// parseTerm parses a term in years or months: "1y", "3y", "18m".
func parseTerm(s string) (int, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("%q: want a number of years or months, such as 1y or 18m", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q: want a number of years or months, such as 1y or 18m", s)
	}
	var m int
	switch s[len(s)-1] {
	case 'y':
		m = 12 * n
	case 'm':
		m = n
	default:
		return 0, fmt.Errorf("%q: want a number of years or months, such as 1y or 18m", s)
	}
	if m > licensekey.MaxTermMonths {
		return 0, fmt.Errorf("%q: at most %d months", s, licensekey.MaxTermMonths)
	}
	return m, nil
}

func readChain(path string) (cert.Chain, error) {
	data, err := input.ReadFile(path, cert.MaxDepth*cert.MaxDocumentSize)
	if err != nil {
		return nil, err
	}
	chain, err := cert.ParseChain(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return chain, nil
}

func loadCatalog(c *cli.Context) (*catalog.Catalog, error) {
	if p := c.String("catalog"); p != "" {
		cat, err := input.Catalog(p)
		if err != nil {
			return nil, inputErrorf("%v", err)
		}
		return cat, nil
	}
	return catalog.Default(), nil
}

// signerNewResult is the JSON of `allot signer new`.
type signerNewResult struct {
	ui.Head
	Name          string `json:"name"`
	KeyFile       string `json:"key_file"`
	PublicKeyFile string `json:"public_key_file"`
	PublicKey     string `json:"public_key"`
	Fingerprint   string `json:"fingerprint"`
	KeyID         string `json:"key_id"`
}

// signerCertifyResult is the JSON of `allot signer certify`.
type signerCertifyResult struct {
	ui.Head
	File        string   `json:"file"`
	ChainLength int      `json:"chain_length"`
	Certificate certInfo `json:"certificate"`
}

// certInfo describes a certificate in JSON.
type certInfo struct {
	Serial     string       `json:"serial"`
	Role       string       `json:"role"`
	Subject    string       `json:"subject"`
	SubjectID  string       `json:"subject_key_id"`
	IssuerID   string       `json:"issuer_key_id"`
	ValidFrom  time.Time    `json:"valid_from"`
	ValidUntil time.Time    `json:"valid_until"`
	Scope      cert.Scope   `json:"scope"`
	Policy     *cert.Policy `json:"policy"`
}

func certJSON(c *cert.Certificate) certInfo {
	return certInfo{Serial: c.Serial, Role: c.Role, Subject: c.Subject.String(),
		SubjectID: sign.IDOf(c.Subject.Key).String(), IssuerID: sign.IDOf(c.Issuer).String(),
		ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil, Scope: c.Scope, Policy: c.Policy}
}
