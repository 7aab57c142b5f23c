package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"allot.dev/allot/cmd/internal/input"
	"allot.dev/allot/pkg/sign/keyfile"
)

// Private keys are encrypted with age to a passphrase (from
// --passphrase-file, $ALLOT_PASSPHRASE, or a prompt on a terminal, never a
// flag value) or to an age identity file (--identity).

func secretFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "passphrase-file", Usage: "read the passphrase from the first line of `FILE` (default: $ALLOT_PASSPHRASE, else a prompt)"},
		&cli.StringFlag{Name: "identity", Aliases: []string{"i"}, Usage: "use the age identity `FILE` instead of a passphrase", EnvVars: []string{"ALLOT_IDENTITY"}},
	}
}

// passphrase returns the passphrase for what ("the vendor key"). confirm
// asks twice on a terminal, for new keys.
func (e *env) passphrase(c *cli.Context, what string, confirm bool) (string, error) {
	if path := c.String("passphrase-file"); path != "" {
		data, err := input.ReadFile(path, maxPassphraseFile)
		if err != nil {
			return "", err
		}
		line, _, _ := strings.Cut(string(data), "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			return "", inputErrorf("%s: the first line is empty; it must hold the passphrase", path)
		}
		return line, nil
	}
	if p := e.getenv("ALLOT_PASSPHRASE"); p != "" {
		return p, nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", withHint(usageErrorf("no passphrase for %s", what),
			"give --passphrase-file FILE, set ALLOT_PASSPHRASE, use --identity FILE, or run on a terminal")
	}
	e.out().Eprintf("Passphrase for %s: ", what)
	p, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	if len(p) == 0 {
		return "", usageErrorf("empty passphrase")
	}
	if confirm {
		e.out().Eprintf("Again: ")
		q, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", err
		}
		if !bytes.Equal(p, q) {
			return "", usageErrorf("the passphrases do not match")
		}
	}
	return string(p), nil
}

func readIdentities(path string) ([]age.Identity, []age.Recipient, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	ids, rs, err := keyfile.ParseIdentities(bufio.NewReader(f))
	if err != nil {
		return nil, nil, inputErrorf("%s: not an age identity file: %v", path, err)
	}
	return ids, rs, nil
}

// sealKey encrypts a new private key as the flags say.
func (e *env) sealKey(c *cli.Context, priv ed25519.PrivateKey, comment, what string) ([]byte, error) {
	var rs []age.Recipient
	if path := c.String("identity"); path != "" {
		_, ids, err := readIdentities(path)
		if err != nil {
			return nil, err
		}
		rs = ids
	} else {
		p, err := e.passphrase(c, what, true)
		if err != nil {
			return nil, err
		}
		r, err := keyfile.PassphraseRecipient(p, e.scryptWorkFactor)
		if err != nil {
			return nil, err
		}
		rs = []age.Recipient{r}
	}
	return keyfile.Encrypt(priv, comment, rs...)
}

// openKey decrypts an encrypted private key; where names it in errors.
func (e *env) openKey(c *cli.Context, data []byte, where, what string) (ed25519.PrivateKey, error) {
	return e.openKeyCached(c, data, where, what)
}

func (e *env) openKeyUncached(c *cli.Context, data []byte, where, what string) (ed25519.PrivateKey, error) {
	var ids []age.Identity
	if path := c.String("identity"); path != "" {
		var err error
		if ids, _, err = readIdentities(path); err != nil {
			return nil, err
		}
	} else {
		p, err := e.passphrase(c, what, false)
		if err != nil {
			return nil, err
		}
		id, err := keyfile.PassphraseIdentity(p)
		if err != nil {
			return nil, err
		}
		ids = []age.Identity{id}
	}
	priv, err := keyfile.Decrypt(data, ids...)
	if err != nil {
		if errors.Is(err, keyfile.ErrNoMatch) {
			return nil, withHint(fmt.Errorf("%s: %w", where, err), "check the passphrase (--passphrase-file, ALLOT_PASSPHRASE) or --identity")
		}
		return nil, inputErrorf("%s: %v", where, err)
	}
	return priv, nil
}

// openKeyFile reads and decrypts a signer's private key file.
func (e *env) openKeyFile(c *cli.Context, path string) (ed25519.PrivateKey, error) {
	data, err := input.ReadFile(path, keyfile.MaxSize)
	if err != nil {
		return nil, err
	}
	return e.openKey(c, data, path, path)
}
