package main

import (
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/input"
	"allot.dev/allot/cmd/internal/ui"
	"allot.dev/allot/pkg/atomicfile"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/verify"
)

func (e *env) revokeCommand() *cli.Command {
	return &cli.Command{
		Name:      "revoke",
		Usage:     "add signed revocations of certificates or keys to a trust file",
		UsageText: "allot revoke --signer R.key SERIAL|KEY-ID|KEY|CERT... --trust T [--out NEW] [--reason TEXT]",
		Description: "Signs a revocation (namespace allot-revocation-v1) of each certificate serial,\n" +
			"certificate file, key id (issuer:serial) or license key, and adds it to the\n" +
			"trust file T, in place (or writes a new trust file, --out). A device honours a\n" +
			"revocation only if a root of its trust file signed it, or a key above what it\n" +
			"revokes: a certificate's issuer (or one above it), a key's issuer (or one above).",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "signer", Usage: "the revoker's private key `FILE`"},
			&cli.StringFlag{Name: "trust", Usage: "the trust `FILE` to add the revocations to", EnvVars: []string{"ALLOT_TRUST"}},
			&cli.StringFlag{Name: "reason", Usage: "why, one line, kept in each revocation"},
			outFlag("a new trust `FILE` with T's roots and the revocations, T left as it was"),
			nowFlag(), jsonFlag(),
		}, secretFlags()...),
		Action: e.revoke,
	}
}

func (e *env) revoke(c *cli.Context) error {
	switch {
	case c.String("signer") == "":
		return usageErrorf("revoke: --signer is required")
	case c.String("trust") == "":
		return usageErrorf("revoke: --trust is required")
	case c.NArg() == 0:
		return usageErrorf("revoke: name at least one certificate serial, certificate file, key id or key")
	}
	now, err := now(c)
	if err != nil {
		return err
	}
	path := c.String("trust")
	data, err := input.ReadFile(path, verify.MaxTrustFileSize)
	if err != nil {
		return err
	}
	trust, err := verify.ParseTrust(path, data)
	if err != nil {
		return err
	}
	out := c.String("out")
	if out != "" {
		if err := checkOut(out); err != nil {
			return err
		}
	}
	priv, err := e.openKeyFile(c, c.String("signer"))
	if err != nil {
		return err
	}
	pub := priv.Public().(ed25519.PublicKey)
	var revs []*cert.Revocation
	for _, arg := range c.Args().Slice() {
		target, above, err := revocationTarget(arg)
		if err != nil {
			return err
		}
		// Where the chain is at hand, refuse a revocation no device would
		// honour.
		if above != nil && !trust.IsRoot(pub) && !slices.ContainsFunc(above, func(k ed25519.PublicKey) bool { return k.Equal(pub) }) {
			return withHint(errclass.New(cert.ErrUntrusted, "%s: signer %s may not revoke certificate %s: it is neither a root of %s nor above it in its chain",
				arg, sign.IDOf(pub), target, path), "a certificate is revoked by a root, or by its issuer or a key above that")
		}
		r, err := cert.IssueRevocation(priv, target, c.String("reason"), now)
		if err != nil {
			return usageErrorf("revoke: %v", err)
		}
		revs = append(revs, r)
	}
	var next []byte
	if out != "" {
		next = verify.FormatTrust(trust, revs)
		if err := e.writeOut(out, next, 0o644); err != nil {
			return err
		}
	} else {
		if next, err = verify.AddRevocations(path, data, revs); err != nil {
			if errors.Is(err, verify.ErrMalformed) {
				return withHint(err, "give --out NEW to write a TOML trust file with its roots and the revocations")
			}
			return err
		}
		mode := fs.FileMode(0o644)
		if st, err := os.Stat(path); err == nil {
			mode = st.Mode().Perm()
		}
		if err := atomicfile.Replace(path, next, mode); err != nil {
			return err
		}
		out = path
	}
	res := &revokeResult{Trust: out, Revocations: []revocationJSON{}}
	for _, r := range revs {
		kind := "certificate"
		if r.Key != "" {
			kind = "key"
		}
		res.Revocations = append(res.Revocations, revocationJSON{Target: r.Target(), Kind: kind,
			Revoker: sign.IDOf(r.Signer).String(), Issued: r.Issued, Reason: r.Reason})
	}
	if c.Bool("json") {
		return e.out().JSON("revoke", res)
	}
	for _, r := range res.Revocations {
		e.out().Printf("revoked %s %s in %s, signed by %s\n", r.Kind, r.Target, out, r.Revoker)
	}
	return nil
}

// revocationTarget reads what to revoke: a certificate serial, a key id, a
// certificate file (its last certificate), or a license key. For a
// certificate file it also returns the keys that may revoke it.
func revocationTarget(arg string) (target string, above []ed25519.PublicKey, err error) {
	if cert.ValidTarget(arg) {
		return arg, nil, nil
	}
	if _, err := os.Stat(arg); err == nil {
		chain, err := readChain(arg)
		if err != nil {
			return "", nil, err
		}
		leaf := chain.Leaf()
		for _, x := range chain {
			above = append(above, x.Issuer)
		}
		return leaf.Serial, above, nil
	}
	if k, err := licensekey.Parse(strings.TrimSpace(arg)); err == nil {
		return k.ID(), nil, nil
	}
	return "", nil, usageErrorf("revoke: %q is not a certificate serial (16 hexadecimal digits), a key id (issuer:serial), a certificate file or a license key", arg)
}

// revokeResult is the JSON of `allot revoke`.
type revokeResult struct {
	ui.Head
	Trust       string           `json:"trust"`
	Revocations []revocationJSON `json:"revocations"`
}

type revocationJSON struct {
	Target  string    `json:"target"`
	Kind    string    `json:"kind"` // certificate or key
	Revoker string    `json:"revoker"`
	Issued  time.Time `json:"issued"`
	Reason  string    `json:"reason"`
}
