package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"allot.dev/allot/pkg/gitwallet/gitwallettest"
)

// gitserve http DIR [USER PASSWORD]: serve the bare repositories under
// DIR with git http-backend on 127.0.0.1 until the script ends, asking
// for USER and PASSWORD if given; $GIT_HTTP is its URL, $GIT_HOST its
// host and port.
//
// gitserve ssh DIR: serve them over ssh on 127.0.0.1; $GIT_SSH_PORT is
// its port. It writes ssh/id (the one client key it accepts, an OpenSSH
// private key), ssh/id-encrypted (the same, encrypted with the passphrase
// ssh-secret) and ssh/known_hosts (its host key, for [127.0.0.1]:PORT).
func cmdGitserve(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: gitserve http|ssh DIR [USER PASSWORD]")
	}
	root := ts.MkAbs(args[1])
	switch {
	case args[0] == "http" && (len(args) == 2 || len(args) == 4):
		user, pass := "", ""
		if len(args) == 4 {
			user, pass = args[2], args[3]
		}
		url, stop, err := gitwallettest.HTTP(root, user, pass)
		ts.Check(err)
		ts.Defer(stop)
		ts.Setenv("GIT_HTTP", url)
		ts.Setenv("GIT_HOST", strings.TrimPrefix(url, "http://"))
	case args[0] == "ssh" && len(args) == 2:
		_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
		ts.Check(err)
		host, err := ssh.NewSignerFromKey(hostPriv)
		ts.Check(err)
		clientPub, clientPriv, err := ed25519.GenerateKey(rand.Reader)
		ts.Check(err)
		authorized, err := ssh.NewPublicKey(clientPub)
		ts.Check(err)
		addr, stop, err := gitwallettest.SSH(root, host, authorized)
		ts.Check(err)
		ts.Defer(stop)
		_, port, _ := net.SplitHostPort(addr)
		ts.Setenv("GIT_SSH_PORT", port)
		dir := ts.MkAbs("ssh")
		ts.Check(os.MkdirAll(dir, 0o700))
		block, err := ssh.MarshalPrivateKey(clientPriv, "tester")
		ts.Check(err)
		ts.Check(os.WriteFile(filepath.Join(dir, "id"), pem.EncodeToMemory(block), 0o600))
		block, err = ssh.MarshalPrivateKeyWithPassphrase(clientPriv, "tester", []byte("ssh-secret"))
		ts.Check(err)
		ts.Check(os.WriteFile(filepath.Join(dir, "id-encrypted"), pem.EncodeToMemory(block), 0o600))
		line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, host.PublicKey())
		ts.Check(os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(line+"\n"), 0o644))
	default:
		ts.Fatalf("usage: gitserve http|ssh DIR [USER PASSWORD]")
	}
}

// sshagent KEY: run an ssh-agent holding the OpenSSH private key KEY
// until the script ends; $SSH_AUTH_SOCK is its socket.
func cmdSSHAgent(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sshagent KEY")
	}
	priv, err := ssh.ParseRawPrivateKey([]byte(ts.ReadFile(args[0])))
	ts.Check(err)
	keyring := agent.NewKeyring()
	ts.Check(keyring.Add(agent.AddedKey{PrivateKey: priv}))
	// A short path: a socket's name is at most about 100 bytes.
	dir, err := os.MkdirTemp("", "agent")
	ts.Check(err)
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	ts.Check(err)
	ts.Defer(func() { ln.Close(); os.RemoveAll(dir) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	ts.Setenv("SSH_AUTH_SOCK", sock)
}
