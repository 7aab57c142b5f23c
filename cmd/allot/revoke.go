package main

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
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
	"allot.dev/allot/pkg/grant"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/verify"
	"allot.dev/allot/pkg/wallet"
)

func (e *env) revokeCommand() *cli.Command {
	return &cli.Command{
		Name:  "revoke",
		Usage: "add signed revocations of certificates, keys or grants to a trust file",
		UsageText: "allot revoke --signer R.key SERIAL|KEY-ID|KEY|CERT|GRANT... --trust T [--out NEW] [--reason TEXT]\n" +
			"allot revoke --wallet W GRANT... --trust T [--out NEW] [--reason TEXT]",
		Description: "Signs a revocation (namespace allot-revocation-v1) of each certificate serial,\n" +
			"certificate file, key id (issuer:serial), license key or grant (a grant file\n" +
			"from allot grant: its last grant; or a grant's digest, sha256:HEX), and adds\n" +
			"it to the trust file T, in place (or writes a new trust file, --out). A device\n" +
			"honours a revocation only if a root of its trust file signed it, or a key above\n" +
			"what it revokes: a certificate's issuer (or one above it), a key's issuer (or\n" +
			"one above), a grant's signer (or the signer of a grant above it, the first of\n" +
			"which is the wallet's). With --wallet, the wallet signs: it revokes grants of\n" +
			"its bundles, and records the revocations (a git wallet commits them).",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "signer", Usage: "the revoker's private key `FILE`"},
			walletFlag(), asFlag(),
			&cli.StringFlag{Name: "trust", Usage: "the trust `FILE` to add the revocations to", EnvVars: []string{"ALLOT_TRUST"}},
			&cli.StringFlag{Name: "reason", Usage: "why, one line, kept in each revocation"},
			outFlag("a new trust `FILE` with T's roots and the revocations, T left as it was"),
			nowFlag(), jsonFlag(),
		}, secretFlags()...),
		Action: e.revoke,
	}
}

func (e *env) revoke(c *cli.Context) error {
	byWallet := c.String("signer") == "" && c.IsSet("wallet")
	switch {
	case c.String("signer") == "" && !byWallet:
		return usageErrorf("revoke: --signer KEY, or --wallet W for a grant the wallet signed, is required")
	case c.String("signer") != "" && c.IsSet("wallet") && c.String("wallet") != e.getenv("ALLOT_WALLET"):
		return usageErrorf("revoke: --signer and --wallet exclude each other: the wallet signs with its own key")
	case c.String("trust") == "":
		return usageErrorf("revoke: --trust is required")
	case c.NArg() == 0:
		return usageErrorf("revoke: name at least one certificate serial, certificate file, key id, key or grant")
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
	var priv ed25519.PrivateKey
	if byWallet {
		priv, err = e.walletKey(c, walletPath(c))
	} else {
		priv, err = e.openKeyFile(c, c.String("signer"))
	}
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
			return withHint(errclass.New(cert.ErrUntrusted, "%s: signer %s may not revoke %s: it is neither a root of %s nor above it in its chain",
				arg, sign.IDOf(pub), cert.TargetKind(target)+" "+target, path), "a certificate is revoked by a root, or by its issuer or a key above that; a grant by the wallet, or by the signer of it or of a grant above it")
		}
		if byWallet && !cert.ValidGrantTarget(target) {
			return usageErrorf("revoke: %s: a wallet revokes grants only; a certificate or key is revoked with --signer by its issuer or a root", arg)
		}
		r, err := cert.IssueRevocation(priv, target, c.String("reason"), now)
		if err != nil {
			return usageErrorf("revoke: %v", err)
		}
		revs = append(revs, r)
	}
	// The trust file's next content first: a trust file that cannot take
	// the revocations fails the command before the wallet records them.
	var next []byte
	if out != "" {
		next = verify.FormatTrust(trust, revs)
	} else if next, err = verify.AddRevocations(path, data, revs); err != nil {
		if errors.Is(err, verify.ErrMalformed) {
			return withHint(err, "give --out NEW to write a TOML trust file with its roots and the revocations")
		}
		return err
	}
	if byWallet {
		// The wallet keeps what it revokes, in its history and, in a git
		// wallet, as a commit, before the trust file carries it.
		if _, err := e.updateWallet(c, now, func(w *wallet.Wallet) (*wallet.Change, error) {
			return w.RecordRevocations(revs, "")
		}); err != nil {
			return err
		}
	}
	write := func() error {
		if out != "" {
			return e.writeOut(out, next, 0o644)
		}
		mode := fs.FileMode(0o644)
		if st, err := os.Stat(path); err == nil {
			mode = st.Mode().Perm()
		}
		return atomicfile.Replace(path, next, mode)
	}
	if err := write(); err != nil {
		if byWallet {
			return withHint(fmt.Errorf("the revocations are recorded in %s, but writing the trust file failed: %w", walletPath(c), err),
				"revoke again: the device needs the revocations in its trust file")
		}
		return err
	}
	if out == "" {
		out = path
	}
	res := &revokeResult{Trust: out, Revocations: []revocationJSON{}}
	for _, r := range revs {
		res.Revocations = append(res.Revocations, revocationJSON{Target: r.Target(), Kind: cert.TargetKind(r.Target()),
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
	if cert.ValidTarget(arg) || cert.ValidGrantTarget(arg) {
		return arg, nil, nil
	}
	if _, err := os.Stat(arg); err == nil {
		if data, err := input.ReadFile(arg, grant.MaxChain*grant.MaxSize); err == nil && bytes.Contains(data, []byte("allot grant:")) {
			return grantTarget(arg, data)
		}
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

// grantTarget reads a grant chain file: what to revoke is its last grant,
// and the keys that may revoke it are the signers of its grants, the
// wallet's first.
func grantTarget(arg string, data []byte) (string, []ed25519.PublicKey, error) {
	docs, err := grant.Split(data)
	if err != nil {
		return "", nil, inputErrorf("%s: %v", arg, err)
	}
	// Only the signers of a linked chain are above its last grant, as a
	// device sees it: each grant signed by the delegate of the one before
	// and naming it as its parent.
	var above []ed25519.PublicKey
	var prev *grant.Grant
	for i, doc := range docs {
		g, err := grant.Open(doc)
		if err != nil {
			return "", nil, errclass.Wrap(err, fmt.Errorf("%s: grant %d: %v", arg, i+1, err))
		}
		if prev != nil && (g.Parent != grant.Digest(prev.Document()) || !g.Signer.Equal(prev.Delegate.Key)) {
			return "", nil, errclass.New(grant.ErrTrust, "%s: grant %d is not signed by the delegate of grant %d, or does not name it as its parent: not a chain a device accepts", arg, i+1, i)
		}
		above = append(above, g.Signer)
		prev = g
	}
	return grant.Digest(docs[len(docs)-1]), above, nil
}

// revokeResult is the JSON of `allot revoke`.
type revokeResult struct {
	ui.Head
	Trust       string           `json:"trust"`
	Revocations []revocationJSON `json:"revocations"`
}

type revocationJSON struct {
	Target  string    `json:"target"`
	Kind    string    `json:"kind"` // certificate, key or grant
	Revoker string    `json:"revoker"`
	Issued  time.Time `json:"issued"`
	Reason  string    `json:"reason"`
}
