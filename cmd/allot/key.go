package main

import (
	"bufio"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/input"
	"allot.dev/allot/cmd/internal/ui"
	"allot.dev/allot/pkg/allocate"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/tomlfile"
	"allot.dev/allot/pkg/verify"
	"allot.dev/allot/pkg/wallet"
)

func (e *env) keyCommand() *cli.Command {
	return &cli.Command{
		Name:  "key",
		Usage: "issue and inspect license keys",
		Subcommands: []*cli.Command{
			{
				Name:      "issue",
				Usage:     "issue signed license keys, one a line",
				UsageText: "allot key issue --signer R.key --cert R.cert --product P --kind K --license TYPE=QTY [--term 1y] [--count N] (--wallet-id W | --bearer) --out keys.txt",
				Description: "Issues keys within the scope of the signer's certificate chain (--cert; none\n" +
					"for a vendor root issuing on its own authority).",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "signer", Usage: "the issuer's private key `FILE`"},
					&cli.StringFlag{Name: "cert", Usage: "the issuer's certificate chain `FILE`"},
					&cli.StringFlag{Name: "product", Usage: "the product the keys license"},
					&cli.StringFlag{Name: "kind", Value: "subscription", Usage: "subscription, hardware, expansion or trial"},
					&cli.StringSliceFlag{Name: "license", Usage: "a license type and quantity, `TYPE=QTY` (repeat)"},
					&cli.StringFlag{Name: "term", Usage: "subscription or trial term, such as 1y or 18m (default: 1y; a trial 1m)"},
					&cli.StringSliceFlag{Name: "feature", Usage: "a feature the keys grant (repeat)"},
					&cli.StringFlag{Name: "wallet-id", Usage: "the wallet the keys are issued to (allot wallet init prints it)"},
					&cli.BoolFlag{Name: "bearer", Usage: "issue bearer keys, redeemable into any wallet"},
					&cli.StringFlag{Name: "device", Usage: "the device serial a hardware or expansion key is tied to"},
					&cli.IntFlag{Name: "count", Value: 1, Usage: "how many keys to issue"},
					outFlag("the keys `FILE`, one key a line"),
					nowFlag(), catalogFlag(), jsonFlag(), quietFlag(),
				}, secretFlags()...),
				Action: e.keyIssue,
			},
			{
				Name:      "inspect",
				Usage:     "decode license keys and, with --trust, verify them",
				UsageText: "allot key inspect KEY... | --file keys.txt [--trust vendor.pub [--cert R.cert]]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "file", Usage: "read keys from `FILE`, one a line ('-' for standard input)"},
					&cli.StringFlag{Name: "trust", Usage: "verify against the vendor roots of `FILE`", EnvVars: []string{"ALLOT_TRUST"}},
					&cli.StringSliceFlag{Name: "cert", Usage: "certificate chain `FILE` of the keys' issuers (repeat)"},
					jsonFlag(),
				},
				Action: e.keyInspect,
			},
		},
	}
}

func (e *env) keyIssue(c *cli.Context) error {
	for _, f := range []string{"signer", "product", "out"} {
		if c.String(f) == "" {
			return usageErrorf("key issue: --%s is required", f)
		}
	}
	if len(c.StringSlice("license")) == 0 {
		return usageErrorf("key issue: --license TYPE=QTY is required")
	}
	count := c.Int("count")
	if count < 1 || count > 10_000_000 {
		return usageErrorf("--count: %d is not between 1 and 10000000", count)
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
	tmpl, err := keyTemplate(c, cat, now)
	if err != nil {
		return err
	}
	var chain cert.Chain
	if p := c.String("cert"); p != "" {
		if chain, err = readChain(p); err != nil {
			return err
		}
	}
	priv, err := e.openKeyFile(c, c.String("signer"))
	if err != nil {
		return err
	}
	pub := priv.Public().(ed25519.PublicKey)
	if leaf := chain.Leaf(); leaf != nil && !leaf.Subject.Key.Equal(pub) {
		return withHint(inputErrorf("%s is not the certificate of the key in %s", c.String("cert"), c.String("signer")),
			"give the certificate chain written for this signer by allot signer certify")
	}
	// Refuse what the certificates would make every verifier reject: the
	// strictest limit of the chain applies.
	probe := *tmpl
	for _, x := range chain {
		if err := x.Allows(&probe); err != nil {
			return fmt.Errorf("refused: %w", err)
		}
	}
	progress := e.out().Progress("keys", count, c.Bool("quiet") || c.Bool("json"))
	err = e.writeOutFunc(out, 0o644, func(w io.Writer) error {
		return licensekey.Issue(w, tmpl, priv, count, e.rand, progress.Set)
	})
	progress.Done()
	if err != nil {
		return err
	}
	if out == "-" {
		return nil
	}
	if c.Bool("json") {
		res := &keyIssueResult{File: out, Count: count, Product: tmpl.Product, Kind: tmpl.Kind.String(),
			Licenses: tmpl.Licenses, TermMonths: tmpl.TermMonths, Features: tmpl.Features, Bearer: tmpl.Bearer, Device: tmpl.Device}
		if !tmpl.Bearer {
			res.WalletID = tmpl.Wallet.String()
		}
		return e.out().JSON("key.issue", res)
	}
	to := "bearer keys"
	if !tmpl.Bearer {
		to = "issued to wallet " + tmpl.Wallet.String()
	}
	e.out().Printf("wrote %d %s key%s to %s (%s, %s)\n", count, tmpl.Kind, plural(count), out, licenseList(tmpl.Licenses), to)
	return nil
}

func licenseList(ls []licensekey.License) string {
	var parts []string
	for _, l := range ls {
		parts = append(parts, fmt.Sprintf("%s=%d", l.Type, l.Quantity))
	}
	return strings.Join(parts, " ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// keyTemplate builds the key every issued key copies, checked against the
// catalog.
func keyTemplate(c *cli.Context, cat *catalog.Catalog, now time.Time) (*licensekey.Key, error) {
	kind, err := licensekey.ParseKind(c.String("kind"))
	if err != nil {
		return nil, usageErrorf("--kind: %v", err)
	}
	k := &licensekey.Key{Kind: kind, Product: c.String("product"), Issued: allocate.Day(now), Device: c.String("device")}
	for _, s := range c.StringSlice("license") {
		typ, q, err := parseTypeQty(s)
		if err != nil {
			return nil, usageErrorf("--license: %v", err)
		}
		k.Licenses = append(k.Licenses, licensekey.License{Type: typ, Quantity: q})
	}
	k.Features = c.StringSlice("feature")
	switch term := c.String("term"); {
	case kind.Perpetual() && term != "":
		return nil, usageErrorf("--term: %s keys are perpetual", kind)
	case !kind.Perpetual():
		if term == "" {
			term = "1y"
			if kind == licensekey.Trial {
				term = "1m"
			}
		}
		if k.TermMonths, err = parseTerm(term); err != nil {
			return nil, usageErrorf("--term: %v", err)
		}
		if kind == licensekey.Trial && k.TermMonths > licensekey.MaxTrialMonths {
			return nil, usageErrorf("--term: a trial key needs a term of 1 to %d months", licensekey.MaxTrialMonths)
		}
	}
	if k.Device != "" && !kind.Perpetual() {
		return nil, usageErrorf("--device: only hardware and expansion keys are tied to a device")
	}
	switch w := c.String("wallet-id"); {
	case w != "" && c.Bool("bearer"):
		return nil, usageErrorf("give --wallet-id or --bearer, not both")
	case w != "":
		if k.Wallet, err = licensekey.ParseWalletID(w); err != nil {
			return nil, usageErrorf("--wallet-id: %v", err)
		}
	case c.Bool("bearer"):
		k.Bearer = true
	default:
		return nil, withHint(usageErrorf("key issue: give --wallet-id (the site's wallet) or --bearer"),
			"the site installer's `allot wallet init` prints the wallet id")
	}
	if err := cat.CheckKey(k); err != nil {
		return nil, usageErrorf("--%v", err) // the field is the flag's name
	}
	return k, nil
}

// readKeyInputs reads keys from arguments and from --file; blank lines and
// lines starting with '#' are skipped.
func (e *env) readKeyInputs(c *cli.Context) ([]wallet.Input, error) {
	var in []wallet.Input
	for i, a := range c.Args().Slice() {
		in = append(in, wallet.Input{Where: fmt.Sprintf("argument %d", i+1), Text: a})
	}
	if path := c.String("file"); path != "" {
		var r io.Reader = e.stdin
		name := "standard input"
		if path != "-" {
			f, err := os.Open(path)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			r, name = f, path
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 4096), licensekey.MaxTextLen*4)
		n := 0
		for n = 1; sc.Scan(); n++ {
			line := sc.Text()
			if n == 1 && strings.HasPrefix(line, "\ufeff") {
				return nil, &inputError{&tomlfile.Error{File: name, Line: 1, Err: tomlfile.ErrBOM}}
			}
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' {
				continue
			}
			in = append(in, wallet.Input{Where: fmt.Sprintf("%s:%d", name, n), Text: line})
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				return nil, inputErrorf("%s:%d: longer than %d bytes: not a license key", name, n, licensekey.MaxTextLen*4)
			}
			return nil, inputErrorf("%s: %v", name, err)
		}
	}
	if len(in) == 0 {
		return nil, usageErrorf("no keys: give keys as arguments or --file FILE")
	}
	return in, nil
}

// keyIssueResult is the JSON of `allot key issue`.
type keyIssueResult struct {
	ui.Head
	File       string               `json:"file"`
	Count      int                  `json:"count"`
	Product    string               `json:"product"`
	Kind       string               `json:"kind"`
	Licenses   []licensekey.License `json:"licenses"`
	TermMonths int                  `json:"term_months"`
	Features   []string             `json:"features"`
	Bearer     bool                 `json:"bearer"`
	WalletID   string               `json:"wallet_id,omitempty"`
	Device     string               `json:"device,omitempty"`
}

// keyInspectResult is the JSON of `allot key inspect`.
type keyInspectResult struct {
	ui.Head
	Keys []keyInfo `json:"keys"`
}

// keyInfo describes one key in JSON.
type keyInfo struct {
	Where      string               `json:"where"`
	Serial     string               `json:"serial,omitempty"`
	Issuer     string               `json:"issuer_key_id,omitempty"`
	Kind       string               `json:"kind,omitempty"`
	Product    string               `json:"product,omitempty"`
	Licenses   []licensekey.License `json:"licenses,omitempty"`
	TermMonths int                  `json:"term_months,omitempty"`
	Features   []string             `json:"features,omitempty"`
	Issued     string               `json:"issued,omitempty"`
	Wallet     string               `json:"wallet_id,omitempty"`
	Bearer     bool                 `json:"bearer,omitempty"`
	Device     string               `json:"device,omitempty"`
	Verified   *bool                `json:"verified,omitempty"`
	Error      string               `json:"error,omitempty"`
}

func (e *env) keyInspect(c *cli.Context) error {
	inputs, err := e.readKeyInputs(c)
	if err != nil {
		return err
	}
	var trust *verify.Trust
	var pool *cert.Pool
	if p := c.String("trust"); p != "" {
		if trust, err = input.Trust(p); err != nil {
			return err
		}
		pool = cert.NewPool(&trust.Trust)
		for _, f := range c.StringSlice("cert") {
			chain, err := readChain(f)
			if err != nil {
				return err
			}
			pool.Add(chain...)
		}
	}
	var infos []keyInfo
	var first error
	for _, in := range inputs {
		info := keyInfo{Where: in.Where}
		k, err := licensekey.Parse(in.Text)
		if err == nil {
			info = keyInfo{Where: in.Where, Serial: k.Serial.String(), Issuer: k.Issuer.String(), Kind: k.Kind.String(),
				Product: k.Product, Licenses: k.Licenses, TermMonths: k.TermMonths, Features: k.Features,
				Issued: k.Issued.Format(time.DateOnly), Bearer: k.Bearer, Device: k.Device}
			if !k.Bearer {
				info.Wallet = k.Wallet.String()
			}
			if pool != nil {
				_, err = pool.Authorize(k)
				ok := err == nil
				info.Verified = &ok
			}
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", in.Where, err)
			info.Error = err.Error()
			if first == nil {
				first = err
			}
		}
		infos = append(infos, info)
	}
	if c.Bool("json") {
		if err := e.out().JSON("key.inspect", &keyInspectResult{Keys: infos}); err != nil {
			return err
		}
	} else {
		for i, info := range infos {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			e.printKey(info)
		}
	}
	return first
}

func (e *env) printKey(k keyInfo) {
	rows := [][]string{{"key", k.Where}}
	if k.Serial != "" {
		term := "perpetual"
		if k.TermMonths > 0 {
			term = fmt.Sprintf("%d months", k.TermMonths)
		}
		to := "bearer (any wallet)"
		if !k.Bearer {
			to = "wallet " + k.Wallet
		}
		rows = append(rows,
			[]string{"serial", k.Serial}, []string{"issuer key id", k.Issuer},
			[]string{"product", k.Product}, []string{"kind", k.Kind},
			[]string{"licenses", licenseList(k.Licenses)}, []string{"term", term},
			[]string{"issued", k.Issued}, []string{"issued to", to})
		if len(k.Features) > 0 {
			rows = append(rows, []string{"features", strings.Join(k.Features, ", ")})
		}
		if k.Device != "" {
			rows = append(rows, []string{"device", k.Device})
		}
	}
	if k.Verified != nil {
		v := "yes: signature and chain to a trusted root"
		if !*k.Verified {
			v = "NO"
		}
		rows = append(rows, []string{"verified", v})
	}
	if k.Error != "" {
		rows = append(rows, []string{"error", k.Error})
	}
	e.out().Table([]string{"field", "value"}, rows)
}
