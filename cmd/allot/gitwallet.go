package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/input"
	"allot.dev/allot/cmd/internal/ui"
	"allot.dev/allot/pkg/gitwallet"
	"allot.dev/allot/pkg/wallet"
)

// A git wallet is a folder holding the wallet file (allot.wallet) and a
// git repository: every change is also a commit signed by the wallet's key
// (package gitwallet). --wallet names the folder or the file in it.

func asFlag() cli.Flag {
	return &cli.StringFlag{Name: "as", Usage: "who makes the change, `NAME` or 'NAME <EMAIL>' (default: $ALLOT_USER, else git's user.name, else $USER@host)"}
}

// author names the person making a wallet change: --as, $ALLOT_USER, git's
// user.name (and user.email) for the wallet's repository, else $USER@host.
func (e *env) author(c *cli.Context, path string) gitwallet.Author {
	git := gitwallet.GitUser(wallet.GitDir(path))
	var a gitwallet.Author
	switch {
	case c.String("as") != "":
		a = gitwallet.ParseAuthor(c.String("as"))
	case e.getenv("ALLOT_USER") != "":
		a = gitwallet.ParseAuthor(e.getenv("ALLOT_USER"))
	case git.Name != "":
		a = git
	default:
		a = gitwallet.Author{Name: e.who()}
	}
	if a.Email == "" && a.Name == git.Name {
		a.Email = git.Email
	}
	return a
}

// updateWallet changes the wallet --wallet names under its lock (package
// wallet's Update); a git wallet also commits the change, signed by the
// wallet's key, which this asks for.
func (e *env) updateWallet(c *cli.Context, now time.Time, fn func(w *wallet.Wallet) (*wallet.Change, error)) (*wallet.Wallet, error) {
	path := walletPath(c)
	who := e.author(c, path)
	if wallet.GitDir(path) == "" {
		return wallet.Update(path, now, who.Name, fn)
	}
	key, err := e.walletKey(c, path)
	if err != nil {
		return nil, err
	}
	hooks, err := gitwallet.Hooks(path, key, who)
	if err != nil {
		return nil, err
	}
	return wallet.UpdateHooked(path, now, who.Name, hooks, fn)
}

// walletKey opens the wallet at path and decrypts its signer.
func (e *env) walletKey(c *cli.Context, path string) (ed25519.PrivateKey, error) {
	w, err := wallet.Open(path)
	if err != nil {
		return nil, err
	}
	return e.openKey(c, w.EncryptedKey, path, "the wallet of "+w.Organization)
}

// openKeyCached is openKey, once per encrypted key and run: a git wallet's
// allocation needs the wallet's key for the bundle and for the commit, and
// scrypt is slow on purpose.
func (e *env) openKeyCached(c *cli.Context, data []byte, where, what string) (ed25519.PrivateKey, error) {
	h := sha256.Sum256(data)
	if k, ok := e.keys[h]; ok {
		return k, nil
	}
	k, err := e.openKeyUncached(c, data, where, what)
	if err != nil {
		return nil, err
	}
	if e.keys == nil {
		e.keys = map[[32]byte]ed25519.PrivateKey{}
	}
	e.keys[h] = k
	return k, nil
}

// gitWalletDir is the folder wallet init --git makes: --wallet, as given.
func gitWalletDir(c *cli.Context) string {
	if p := c.String("wallet"); p != "" {
		return p
	}
	return strings.TrimSuffix(defaultWallet, ".wallet") + "-git"
}

// resolveWallet turns a folder into the wallet file inside it.
func resolveWallet(p string) string {
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return filepath.Join(p, gitwallet.FileName)
	}
	return p
}

func (e *env) walletMigrateCommand() *cli.Command {
	return &cli.Command{
		Name:      "migrate",
		Usage:     "turn a single-file wallet into a git wallet, its history kept as commits",
		UsageText: "allot wallet migrate [--wallet FILE] --out DIR [--as NAME]",
		Description: "Makes the new folder DIR a git repository holding the wallet, with one commit\n" +
			"per record of its history (the record's author and time), each signed by the\n" +
			"wallet's key. The old file is left as it was: use --wallet DIR from now on.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "the new wallet folder `DIR` (default: the file's name without .wallet, and -git)"},
			walletFlag(), asFlag(), jsonFlag(),
		}, secretFlags()...),
		Action: e.walletMigrate,
	}
}

func (e *env) walletMigrate(c *cli.Context) error {
	src := walletPath(c)
	out := c.String("out")
	if out == "" {
		out = strings.TrimSuffix(src, ".wallet") + "-git"
	}
	if err := checkOut(out); err != nil {
		return withHint(inputErrorf("%s: %v", out, wallet.ErrExists), "give --out a new folder")
	}
	key, err := e.walletKey(c, src)
	if err != nil {
		return err
	}
	w, n, err := gitwallet.Migrate(src, out, key, e.author(c, src))
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return e.out().JSON("wallet.migrate", &walletMigrateResult{From: src, Wallet: out, WalletID: w.ID.String(), Commits: n})
	}
	e.out().Printf("migrated %s to the git wallet %s: %d commit%s, each signed by the wallet's key\n", src, out, n, plural(n))
	e.out().Printf("use --wallet %s from now on; %s is left as it was\n", out, src)
	return nil
}

// walletMigrateResult is the JSON of `allot wallet migrate`.
type walletMigrateResult struct {
	ui.Head
	From     string `json:"from"`
	Wallet   string `json:"wallet"`
	WalletID string `json:"wallet_id"`
	Commits  int    `json:"commits"`
}

func (e *env) walletSyncCommand() *cli.Command {
	return &cli.Command{
		Name:      "sync",
		Usage:     "pull, merge and push a git wallet through a bare repository or a git server",
		UsageText: "allot wallet sync REMOTE [--wallet DIR] [--as NAME] [--ssh-key FILE]",
		Description: "REMOTE is a bare git repository in a folder (a USB stick, a share; made on the\n" +
			"first sync; also as file:///PATH), or a repository on a git server:\n" +
			"ssh://[USER@]HOST[:PORT]/PATH, USER@HOST:PATH, http(s)://HOST/PATH. Commits pulled\n" +
			"must be signed by the wallet's key. When both sides changed, the ledgers are\n" +
			"merged: keys united by serial, allocations united, in one order whoever syncs\n" +
			"first; a key spent beyond its quantity by the two sides is a double-spend,\n" +
			"refused (exit 13) with both commits and systems named, and neither the wallet\n" +
			"nor REMOTE changes.\n\n" +
			"ssh: the key --ssh-key FILE names (an OpenSSH private key; if encrypted, its\n" +
			"passphrase from $ALLOT_SSH_PASSPHRASE, else --passphrase-file, $ALLOT_PASSPHRASE\n" +
			"or a prompt), else the keys of the ssh-agent at $SSH_AUTH_SOCK; the server's host\n" +
			"key must be in $SSH_KNOWN_HOSTS (files separated by colons) or ~/.ssh/known_hosts:\n" +
			"an unknown or changed host key is refused (exit 10), never added.\n" +
			"http(s): the user and password in the URL, else $ALLOT_GIT_USERNAME and\n" +
			"$ALLOT_GIT_PASSWORD. Credentials are never printed and never stored.\n" +
			"A remote that cannot be reached, refuses the credentials, or sends more than\n" +
			"1 GiB is an input error (exit 3), and the wallet is as it was.",
		Flags: append([]cli.Flag{walletFlag(), nowFlag(), asFlag(), jsonFlag(),
			&cli.StringFlag{Name: "ssh-key", Usage: "authenticate to an ssh remote with the OpenSSH private key `FILE` (default: the ssh-agent)"},
		}, secretFlags()...),
		Action: e.walletSync,
	}
}

// maxSSHKeyFile bounds an OpenSSH private key file (an RSA key of 16384
// bits is about 12 KiB).
const maxSSHKeyFile = 64 << 10

// syncAccess is how wallet sync authenticates to a URL remote, from its
// flags and environment.
func (e *env) syncAccess(c *cli.Context) (*gitwallet.Access, error) {
	a := &gitwallet.Access{
		SSHAgent: e.getenv("SSH_AUTH_SOCK"),
		SSHUser:  e.getenv("USER"),
		Username: e.getenv("ALLOT_GIT_USERNAME"),
		Password: e.getenv("ALLOT_GIT_PASSWORD"),
	}
	if kh := e.getenv("SSH_KNOWN_HOSTS"); kh != "" {
		a.KnownHosts = filepath.SplitList(kh)
	} else if home := e.getenv("HOME"); home != "" {
		a.KnownHosts = []string{filepath.Join(home, ".ssh", "known_hosts")}
	}
	if p := c.String("ssh-key"); p != "" {
		data, err := input.ReadFile(p, maxSSHKeyFile)
		if err != nil {
			return nil, err
		}
		a.SSHKey = data
		a.SSHPassphrase = func() ([]byte, error) {
			if s := e.getenv("ALLOT_SSH_PASSPHRASE"); s != "" {
				return []byte(s), nil
			}
			s, err := e.passphrase(c, "the ssh key "+p, false)
			return []byte(s), err
		}
	}
	return a, nil
}

func (e *env) walletSync(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("wallet sync: name one REMOTE (a bare repository's folder, or a URL)")
	}
	remote := c.Args().First()
	path := walletPath(c)
	if wallet.GitDir(path) == "" {
		if _, err := os.Stat(path); err != nil {
			return withHint(fmt.Errorf("%w at %s", wallet.ErrNotFound, path), "create it with allot wallet init --git, or give --wallet")
		}
		return withHint(inputErrorf("%s is a single-file wallet; only a git wallet syncs", path), "allot wallet migrate makes it a git wallet")
	}
	now, err := now(c)
	if err != nil {
		return err
	}
	access, err := e.syncAccess(c)
	if err != nil {
		return err
	}
	key, err := e.walletKey(c, path)
	if err != nil {
		return err
	}
	res, err := gitwallet.Sync(path, remote, access, key, e.author(c, path), now)
	if err != nil {
		var ds *wallet.DoubleSpendError
		switch {
		case errors.As(err, &ds):
			return withHint(fmt.Errorf("%s: %w", path, err), "nothing was merged and the wallet is as it was; the two bundles cannot both stand: agree which system keeps the key")
		case errors.Is(err, gitwallet.ErrHostKey):
			return withHint(err, "the wallet is as it was; compare the fingerprint with the server's (ssh-keygen -lf on its host key), then add the key to known_hosts (ssh-keyscan)")
		case errors.Is(err, gitwallet.ErrMoved):
			return withHint(err, "the wallet is as it was; sync again")
		case errors.Is(err, gitwallet.ErrUnreachable), errors.Is(err, gitwallet.ErrTooBig):
			return withHint(err, "the wallet is as it was")
		}
		return err
	}
	remote = res.Remote
	if c.Bool("json") {
		return e.out().JSON("wallet.sync", &walletSyncResult{Wallet: path, Remote: remote, Action: res.Action,
			Ours: res.Ours, Theirs: res.Theirs, KeysUnited: res.KeysUnited, HeadCommit: res.Head})
	}
	switch res.Action {
	case "merged":
		e.out().Printf("merged %s into %s: %d record%s of theirs, %d of ours", remote, path, res.Theirs, plural(res.Theirs), res.Ours)
		if res.KeysUnited > 0 {
			e.out().Printf(", %d key%s redeemed on both sides kept once", res.KeysUnited, plural(res.KeysUnited))
		}
		e.out().Printf("; pushed\n")
	case "pulled":
		e.out().Printf("pulled %d commit%s from %s into %s\n", res.Theirs, plural(res.Theirs), remote, path)
	case "pushed", "created":
		e.out().Printf("pushed %d commit%s to %s", res.Ours, plural(res.Ours), remote)
		if res.Action == "created" {
			e.out().Printf(" (a new bare repository)")
		}
		e.out().Printf("\n")
	default:
		e.out().Printf("%s and %s are up to date\n", path, remote)
	}
	return nil
}

// walletSyncResult is the JSON of `allot wallet sync`.
type walletSyncResult struct {
	ui.Head
	Wallet     string `json:"wallet"`
	Remote     string `json:"remote"`
	Action     string `json:"action"` // created, pushed, pulled, merged, up to date
	Ours       int    `json:"ours"`
	Theirs     int    `json:"theirs"`
	KeysUnited int    `json:"keys_united"`
	HeadCommit string `json:"head"`
}

// gitHistory adds, for a git wallet, what its commits say to allot
// wallet history: how many, all signed by the wallet's key, and any record
// a killed change left for the next one to commit.
func (e *env) gitHistory(w *wallet.Wallet) error {
	if wallet.GitDir(w.Path) == "" {
		return nil
	}
	st, err := gitwallet.Check(w.Path, w)
	if err != nil {
		return err
	}
	e.out().Printf("git: %d commit%s, each signed by the wallet's key; head %s", st.Commits, plural(st.Commits), st.Head)
	if st.Pending > 0 {
		e.out().Printf("; %d record%s not committed yet (the next change commits them)", st.Pending, plural(st.Pending))
	}
	e.out().Printf("\n")
	return nil
}
