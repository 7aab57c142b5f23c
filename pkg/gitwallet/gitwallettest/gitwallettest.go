// Package gitwallettest serves bare git repositories on 127.0.0.1 for
// tests of `allot wallet sync` over the network: over http with the real
// `git http-backend` behind Go's net/http/cgi, and over ssh with a server
// built on golang.org/x/crypto/ssh that runs the real git-upload-pack and
// git-receive-pack. Both need git installed, and nothing else.
package gitwallettest

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// HTTP serves the bare repositories under root at the returned URL, fetch
// and push, with git http-backend. If user is not empty, every request
// must carry it and password (basic authentication).
func HTTP(root, user, password string) (url string, stop func(), err error) {
	exe, err := gitExec("git-http-backend")
	if err != nil {
		return "", nil, err
	}
	home, err := os.MkdirTemp("", "gitwallettest-home-")
	if err != nil {
		return "", nil, err
	}
	backend := &cgi.Handler{
		// A client that stops reading (a bound reached) is a test's point.
		Logger: log.New(io.Discard, "", 0),
		Path:   exe,
		Dir:    root,
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			"HOME=" + home,
			"GIT_CONFIG_NOSYSTEM=1",
			// Pushing without REMOTE_USER.
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true",
		},
	}
	h := http.Handler(backend)
	if user != "" {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			backend.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(h)
	return srv.URL, func() { srv.Close(); os.RemoveAll(home) }, nil
}

// SSH serves the bare repositories under root on 127.0.0.1 at the
// returned address (host:port), to a client authenticating with the key
// authorized and no other; the server's host key is hostKey. An exec
// request may run git-upload-pack or git-receive-pack on a repository
// under root, nothing else.
func SSH(root string, hostKey ssh.Signer, authorized ssh.PublicKey) (addr string, stop func(), err error) {
	upload, err := gitExec("git-upload-pack")
	if err != nil {
		return "", nil, err
	}
	receive, err := gitExec("git-receive-pack")
	if err != nil {
		return "", nil, err
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == string(authorized.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	cfg.AddHostKey(hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	var wg sync.WaitGroup
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				serveSSH(conn, cfg, root, map[string]string{"git-upload-pack": upload, "git-receive-pack": receive})
			}()
		}
	}()
	return ln.Addr().String(), func() { ln.Close(); wg.Wait() }, nil
}

func serveSSH(conn net.Conn, cfg *ssh.ServerConfig, root string, cmds map[string]string) {
	defer conn.Close()
	sc, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			defer ch.Close()
			for req := range chReqs {
				if req.Type != "exec" {
					req.Reply(false, nil)
					continue
				}
				var payload struct{ Command string }
				if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
					req.Reply(false, nil)
					continue
				}
				cmd, err := gitCommand(payload.Command, root, cmds)
				if err != nil {
					req.Reply(false, nil)
					fmt.Fprintln(ch.Stderr(), err)
					return
				}
				req.Reply(true, nil)
				cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
				status := uint32(0)
				if err := cmd.Run(); err != nil {
					status = 1
				}
				ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
				return
			}
		}()
	}
}

// gitCommand parses "git-upload-pack '/path'" as go-git sends it.
func gitCommand(line, root string, cmds map[string]string) (*exec.Cmd, error) {
	name, arg, ok := strings.Cut(line, " ")
	exe := cmds[name]
	if !ok || exe == "" {
		return nil, fmt.Errorf("gitwallettest: not a git command: %q", line)
	}
	arg = strings.Trim(arg, "'")
	dir := filepath.Join(root, filepath.Clean("/"+arg))
	cmd := exec.Command(exe, dir)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root, "GIT_CONFIG_NOSYSTEM=1"}
	return cmd, nil
}

// gitExec finds one of git's programs in its exec path.
func gitExec(name string) (string, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return "", fmt.Errorf("gitwallettest: git --exec-path: %v", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("gitwallettest: %v", err)
	}
	return p, nil
}
