package gitwallet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"allot.dev/allot/pkg/errclass"
)

// A remote a URL names is reached with go-git's transports (ssh, http,
// https) and is as hostile as the network: what it sends is read into a
// quarantine (a bare repository in the wallet's git directory that reads
// the wallet's own objects beneath its own), bounded by Access.MaxFetch,
// and only commits signed by the wallet's key that pass the same checks
// as a folder's are copied into the wallet; the quarantine is removed
// whatever happens. The push sends the commits the remote lacks and moves
// its branch only if it is still where the fetch saw it.

var (
	// ErrUnreachable: the remote cannot be reached or read (network, no
	// repository there, credentials refused).
	ErrUnreachable = errclass.Sentinel(errclass.Input, "cannot reach the remote")
	// ErrHostKey: an ssh remote's host key is not one known_hosts holds.
	ErrHostKey = errclass.Sentinel(errclass.Trust, "host key not trusted")
	// ErrTooBig: the remote sent more than Access.MaxFetch bytes.
	ErrTooBig = errclass.Sentinel(errclass.Input, "the remote sent more than a sync reads")
	// ErrMoved: the remote's branch moved during the sync.
	ErrMoved = errclass.Sentinel(errclass.Input, "the remote changed during the sync")
)

// DefaultMaxFetch bounds what a sync reads from a URL: the pack of the
// commits the wallet lacks, and on http every response.
const DefaultMaxFetch = 1 << 30

// Access says how a sync authenticates to a URL. Nothing of it is
// written anywhere: not to the wallet, not to its git config.
type Access struct {
	// SSHKey is an OpenSSH private key (--ssh-key); nil: the ssh-agent
	// listening on SSHAgent.
	SSHKey []byte
	// SSHPassphrase is asked for the passphrase of an encrypted SSHKey.
	SSHPassphrase func() ([]byte, error)
	SSHAgent      string // the agent's socket ($SSH_AUTH_SOCK)
	SSHUser       string // when the URL names none
	// KnownHosts are the known_hosts files an ssh remote's host key must
	// be in; a host in none of them is refused, never added.
	KnownHosts []string
	// Username and Password authenticate to an http(s) remote whose URL
	// has no user information.
	Username, Password string
	// MaxFetch bounds what is read from the remote (DefaultMaxFetch if 0).
	MaxFetch int64
	// Timeout bounds connecting (30 s if 0).
	Timeout time.Duration
}

// remoteURL is a URL remote: its endpoint, without credentials, and the
// name messages use.
type remoteURL struct {
	ep       *transport.Endpoint
	name     string // the URL with any password replaced
	user     string
	password string
}

func parseURL(remote string) (*remoteURL, error) {
	ep, err := transport.NewEndpoint(remote)
	if err != nil {
		// The parser's error quotes the URL, password and all.
		return nil, fmt.Errorf("%s: %w: %s", redactURL(remote), ErrRemote, strings.ReplaceAll(err.Error(), remote, redactURL(remote)))
	}
	switch ep.Protocol {
	case "ssh", "http", "https":
	default:
		return nil, fmt.Errorf("%s: %w: allot syncs through a folder, a file:, ssh:, http: or https: URL, or user@host:path", redactURL(remote), ErrRemote)
	}
	u := &remoteURL{ep: ep, name: redactURL(remote), user: ep.User, password: ep.Password}
	// The credentials go to the transport as an auth method, never in the
	// endpoint, which go-git prints in its errors.
	ep.Password = ""
	if ep.Protocol != "ssh" {
		ep.User = ""
	}
	return u, nil
}

// redactURL replaces a URL's password, in a URL that net/url refuses (a
// typo in its port or an escape) too.
func redactURL(s string) string {
	if u, err := neturl.Parse(s); err == nil {
		if u.User != nil {
			if _, ok := u.User.Password(); ok {
				return u.Redacted()
			}
		}
		return s
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	auth := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		auth = rest[:i]
	}
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return s
	}
	user, _, ok := strings.Cut(auth[:at], ":")
	if !ok {
		return s
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}

// netPeer reads the remote's branch and fetches its commits the wallet
// lacks into a quarantine.
func (local *Repo) netPeer(u *remoteURL, access *Access, branch plumbing.ReferenceName) (*peer, error) {
	if access == nil {
		access = &Access{}
	}
	max := access.MaxFetch
	if max <= 0 {
		max = DefaultMaxFetch
	}
	tr, auth, err := u.transport(access, max)
	if err != nil {
		return nil, err
	}
	up, err := tr.NewUploadPackSession(u.ep, auth)
	if err != nil {
		return nil, u.fail(err)
	}
	defer up.Close()
	theirs := plumbing.ZeroHash
	adv, err := up.AdvertisedReferences()
	switch {
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
	case err != nil:
		return nil, u.fail(err)
	default:
		refs, err := adv.AllReferences()
		if err != nil {
			return nil, u.fail(err)
		}
		if ref, ok := refs[branch]; ok {
			theirs = ref.Hash()
		}
	}
	p := &peer{name: u.name, objs: local, theirs: theirs, close: func() {}}
	p.update = func(local *Repo, old, head plumbing.Hash) (int, error) {
		return local.push(u, tr, auth, branch, old, head)
	}
	if theirs.IsZero() || local.st.HasEncodedObject(theirs) == nil {
		return p, nil
	}
	q, cleanup, err := local.quarantine()
	if err != nil {
		return nil, err
	}
	p.close = cleanup
	if err := q.fetch(u, up, adv, theirs, local, max); err != nil {
		cleanup()
		return nil, err
	}
	p.objs = q
	return p, nil
}

// quarantine makes an empty bare repository in the wallet's git directory
// whose reads fall back on the wallet's objects; a killed sync's is
// removed by the next.
func (local *Repo) quarantine() (*Repo, func(), error) {
	old, _ := filepath.Glob(filepath.Join(local.GitDir, "allot-fetch-*"))
	for _, d := range old {
		os.RemoveAll(d)
	}
	dir, err := os.MkdirTemp(local.GitDir, "allot-fetch-")
	if err != nil {
		return nil, nil, err
	}
	q, err := Create(dir, true)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	q.under = local
	return q, func() { os.RemoveAll(dir) }, nil
}

// fetch asks for their head, saying we have ours, and stores the pack,
// at most max bytes of it.
func (q *Repo) fetch(u *remoteURL, up transport.UploadPackSession, adv *packp.AdvRefs, theirs plumbing.Hash, local *Repo, max int64) error {
	req := packp.NewUploadPackRequestFromCapabilities(adv.Capabilities)
	// A thin pack's deltas name objects outside it; the quarantine's pack
	// must stand alone.
	req.Capabilities.Delete(capability.ThinPack)
	req.Wants = []plumbing.Hash{theirs}
	if ours, err := local.Head(); err == nil && !ours.IsZero() {
		req.Haves = []plumbing.Hash{ours}
	}
	resp, err := up.UploadPack(context.Background(), req)
	if err != nil {
		return u.fail(err)
	}
	defer resp.Close()
	var r io.Reader = &boundedReader{r: resp, left: max, name: u.name}
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		r = sideband.NewDemuxer(sideband.Sideband64k, r)
	case req.Capabilities.Supports(capability.Sideband):
		r = sideband.NewDemuxer(sideband.Sideband, r)
	}
	if err := packfile.UpdateObjectStorage(q.st, r); err != nil {
		if errors.Is(err, ErrTooBig) {
			return err
		}
		return u.fail(err)
	}
	// Read the pack anew: the storage indexed the packs it saw when made.
	fresh, err := Open(q.GitDir)
	if err != nil {
		return err
	}
	q.st = fresh.st
	if _, err := q.read(plumbing.CommitObject, theirs); err != nil {
		return fmt.Errorf("%s: %w: it did not send its head %s", u.name, ErrUnreachable, short(theirs))
	}
	return nil
}

// push sends the commits reachable from head and not from old, with
// their trees and blobs, and moves the branch from old to head: the
// remote refuses if it moved meanwhile.
func (local *Repo) push(u *remoteURL, tr transport.Transport, auth transport.AuthMethod, branch plumbing.ReferenceName, old, head plumbing.Hash) (int, error) {
	objs, n, err := local.objectsSince(head, old)
	if err != nil {
		return 0, err
	}
	rp, err := tr.NewReceivePackSession(u.ep, auth)
	if err != nil {
		return 0, u.fail(err)
	}
	defer rp.Close()
	adv, err := rp.AdvertisedReferences()
	if err != nil {
		return 0, u.fail(err)
	}
	if refs, err := adv.AllReferences(); err == nil {
		now := plumbing.ZeroHash
		if ref, ok := refs[branch]; ok {
			now = ref.Hash()
		}
		if now != old {
			return 0, fmt.Errorf("%s: %w: its %s moved from %s; sync again", u.name, ErrMoved, branch.Short(), shortOrNone(old))
		}
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(adv.Capabilities)
	req.Commands = []*packp.Command{{Name: branch, Old: old, New: head}}
	var pack bytes.Buffer
	if _, err := packfile.NewEncoder(&pack, local.st, !adv.Capabilities.Supports(capability.OFSDelta)).Encode(objs, 10); err != nil {
		return 0, err
	}
	req.Packfile = io.NopCloser(&pack)
	st, err := rp.ReceivePack(context.Background(), req)
	if err != nil {
		return 0, u.fail(err)
	}
	if err := st.Error(); err != nil {
		return 0, fmt.Errorf("%s: %w: it refused the push: %v", u.name, ErrUnreachable, err)
	}
	return n, nil
}

// objectsSince lists the commits reachable from head and not from old,
// with their trees and blobs, leaving out those of the commits at the
// edge, which the remote holds; it returns how many commits.
func (r *Repo) objectsSince(head, old plumbing.Hash) ([]plumbing.Hash, int, error) {
	have := map[plumbing.Hash]bool{}
	if !old.IsZero() {
		if err := r.ancestors(old, nil, func(c *commit) error { have[c.Hash] = true; return nil }); err != nil {
			return nil, 0, err
		}
	}
	seen := map[plumbing.Hash]bool{}
	var edge []plumbing.Hash
	var out []plumbing.Hash
	n := 0
	err := r.ancestors(head, have, func(c *commit) error {
		n++
		out = append(out, c.Hash)
		for _, p := range c.Parents {
			if have[p] {
				edge = append(edge, p)
			}
		}
		return r.treeObjects(c.Tree, seen, func(h plumbing.Hash) { out = append(out, h) })
	})
	if err != nil {
		return nil, 0, err
	}
	held := map[plumbing.Hash]bool{}
	for _, e := range edge {
		c, err := r.commitAt(e)
		if err != nil {
			return nil, 0, err
		}
		if err := r.treeObjects(c.Tree, map[plumbing.Hash]bool{}, func(h plumbing.Hash) { held[h] = true }); err != nil {
			return nil, 0, err
		}
	}
	kept := out[:0]
	for _, h := range out {
		if !held[h] {
			kept = append(kept, h)
		}
	}
	return kept, n, nil
}

// treeObjects calls fn with tree t and every tree and blob under it not
// seen yet.
func (r *Repo) treeObjects(t plumbing.Hash, seen map[plumbing.Hash]bool, fn func(plumbing.Hash)) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	fn(t)
	es, err := r.tree(t)
	if err != nil {
		return err
	}
	for _, e := range es {
		switch {
		case e.isTree():
			if err := r.treeObjects(e.Hash, seen, fn); err != nil {
				return err
			}
		case e.Mode != "160000" && !seen[e.Hash]:
			seen[e.Hash] = true
			fn(e.Hash)
		}
	}
	return nil
}

func shortOrNone(h plumbing.Hash) string {
	if h.IsZero() {
		return "nothing"
	}
	return short(h)
}

// fail names the remote in a transport's error, classified, with the
// password it may hold removed.
func (u *remoteURL) fail(err error) error {
	var hk *hostKeyError
	if errors.As(err, &hk) {
		return fmt.Errorf("%s: %w", u.name, hk)
	}
	msg := strings.TrimSpace(err.Error())
	if u.password != "" {
		msg = strings.ReplaceAll(msg, u.password, "xxxxx")
		msg = strings.ReplaceAll(msg, neturl.QueryEscape(u.password), "xxxxx")
	}
	switch {
	case errors.Is(err, ErrTooBig):
		return err
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed),
		strings.Contains(msg, "unable to authenticate"):
		msg = "the remote refused the credentials"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		msg = "no repository there"
	}
	return fmt.Errorf("%s: %w: %s", u.name, ErrUnreachable, msg)
}

// transport returns the transport and auth method for the URL.
func (u *remoteURL) transport(access *Access, max int64) (transport.Transport, transport.AuthMethod, error) {
	timeout := access.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if u.ep.Protocol != "ssh" {
		client := &http.Client{Transport: &boundedTransport{rt: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: timeout}).DialContext,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: 5 * timeout,
		}, max: max, idle: 5 * timeout, name: u.name}}
		var auth transport.AuthMethod
		user, pass := u.user, u.password
		if user == "" && pass == "" {
			user, pass = access.Username, access.Password
		}
		if user != "" || pass != "" {
			auth = &githttp.BasicAuth{Username: user, Password: pass}
			if pass != "" {
				u.password = pass
			}
		}
		return githttp.NewClient(client), auth, nil
	}
	a, err := u.sshAuth(access, timeout)
	if err != nil {
		return nil, nil, err
	}
	return gitssh.DefaultClient, a, nil
}

// sshAuth is the ssh client's configuration: the key given or the
// agent's keys, and the host key checked against known_hosts.
type sshAuth struct {
	user   string
	config *ssh.ClientConfig
}

func (a *sshAuth) Name() string                             { return "allot-ssh" }
func (a *sshAuth) String() string                           { return "user: " + a.user }
func (a *sshAuth) ClientConfig() (*ssh.ClientConfig, error) { return a.config, nil }

func (u *remoteURL) sshAuth(access *Access, timeout time.Duration) (*sshAuth, error) {
	user := u.ep.User
	if user == "" {
		user = access.SSHUser
	}
	if user == "" {
		return nil, fmt.Errorf("%s: %w: name the user, user@host:path", u.name, ErrRemote)
	}
	var method ssh.AuthMethod
	if access.SSHKey != nil {
		signer, err := ssh.ParsePrivateKey(access.SSHKey)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			if access.SSHPassphrase == nil {
				return nil, fmt.Errorf("%w: the ssh key is encrypted and no passphrase was given", errclass.Usage)
			}
			pass, perr := access.SSHPassphrase()
			if perr != nil {
				return nil, perr
			}
			signer, err = ssh.ParsePrivateKeyWithPassphrase(access.SSHKey, pass)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: the ssh key: %v", errclass.Input, err)
		}
		method = ssh.PublicKeys(signer)
	} else {
		if access.SSHAgent == "" {
			return nil, fmt.Errorf("%s: %w: no ssh key: give --ssh-key FILE or run an ssh-agent (SSH_AUTH_SOCK)", u.name, ErrUnreachable)
		}
		sock := access.SSHAgent
		method = ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			conn, err := net.DialTimeout("unix", sock, timeout)
			if err != nil {
				return nil, fmt.Errorf("the ssh-agent at %s: %v", sock, err)
			}
			// The connection serves the signatures of this one sync.
			return agent.NewClient(conn).Signers()
		})
	}
	var files []string
	for _, f := range access.KnownHosts {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: %w: no known_hosts file (%s); allot accepts only a host key known_hosts holds",
			u.name, ErrHostKey, strings.Join(access.KnownHosts, ", "))
	}
	db, err := knownhosts.NewDB(files...)
	if err != nil {
		return nil, fmt.Errorf("%w: known_hosts: %v", errclass.Input, err)
	}
	port := u.ep.Port
	if port == 0 {
		port = gitssh.DefaultPort
	}
	hostport := net.JoinHostPort(strings.Trim(u.ep.Host, "[]"), fmt.Sprint(port))
	check := db.HostKeyCallback()
	return &sshAuth{user: user, config: &ssh.ClientConfig{
		User:              user,
		Auth:              []ssh.AuthMethod{method},
		HostKeyAlgorithms: db.HostKeyAlgorithms(hostport),
		Timeout:           timeout,
		HostKeyCallback: func(host string, remote net.Addr, key ssh.PublicKey) error {
			err := check(host, remote, key)
			if err == nil {
				return nil
			}
			return &hostKeyError{host: host, key: key, files: files, changed: !knownhosts.IsHostUnknown(err)}
		},
	}}, nil
}

// hostKeyError: the ssh server's key is not the one known_hosts holds.
type hostKeyError struct {
	host    string
	key     ssh.PublicKey
	files   []string
	changed bool
}

func (e *hostKeyError) Error() string {
	what := "is not in"
	if e.changed {
		what = "does not match the one in"
	}
	return fmt.Sprintf("the host key of %s (%s %s) %s %s",
		e.host, e.key.Type(), ssh.FingerprintSHA256(e.key), what, strings.Join(e.files, ", "))
}

func (e *hostKeyError) Unwrap() error { return ErrHostKey }

// boundedReader fails once more than left bytes are read.
type boundedReader struct {
	r    io.Reader
	left int64
	name string
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// At the bound: the end of the stream, or too much.
		var one [1]byte
		if n, err := b.r.Read(one[:]); n == 0 && err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%s: %w", b.name, ErrTooBig)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// boundedTransport bounds every http response body, by its size (max),
// and gives up on one that sends nothing for idle: a server that trickles
// a byte a minute would hold the sync, and the wallet's lock, for ever.
type boundedTransport struct {
	rt   http.RoundTripper
	max  int64
	idle time.Duration
	name string
}

func (t *boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body := &idleBody{rc: resp.Body, idle: t.idle, name: t.name}
	body.timer = time.AfterFunc(t.idle, body.expire)
	resp.Body = struct {
		io.Reader
		io.Closer
	}{&boundedReader{r: body, left: t.max, name: t.name}, body}
	return resp, nil
}

// idleBody closes a response body that has sent nothing for idle, which
// ends the Read waiting on it.
type idleBody struct {
	rc      io.ReadCloser
	idle    time.Duration
	name    string
	timer   *time.Timer
	expired atomic.Bool
}

func (b *idleBody) expire() {
	b.expired.Store(true)
	b.rc.Close()
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if b.expired.Load() {
		return n, fmt.Errorf("%s: %w: nothing received for %s", b.name, ErrUnreachable, b.idle)
	}
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	return b.rc.Close()
}
