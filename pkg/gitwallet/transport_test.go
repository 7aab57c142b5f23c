package gitwallet

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/gitwallet/gitwallettest"
	"allot.dev/allot/pkg/wallet"
)

// A remote reached by URL is hostile: whatever it serves that the wallet
// must not take (a commit another key signed, a signed commit that drops
// records, more than the bound), the sync fails with the error's class,
// and the wallet file, its branch and its git directory's layout are as
// they were; nothing of the refused commit is stored.
func TestSyncHostileRemote(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no git on CI: .ci/run installs the Debian package git")
		}
		t.Skip("no git: the test serves a repository with git http-backend")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "w", FileName)
	key := allottest.Key("wallet")
	now := allottest.Now
	who := Author{Name: "tester", Email: "t@example.com"}
	if _, err := Init(filepath.Join(dir, "w"), wallet.InitParams{Organization: "Acme", PublicKey: key.Public().(ed25519.PublicKey),
		EncryptedKey: []byte("not used"), Time: now, Who: "tester"}, key, who); err != nil {
		t.Fatal(err)
	}
	srv := filepath.Join(dir, "srv")
	if _, err := Create(filepath.Join(srv, "acme.git"), true); err != nil {
		t.Fatal(err)
	}
	base, stop, err := gitwallettest.HTTP(srv, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	url := base + "/acme.git"
	if res, err := Sync(path, url, nil, key, who, now); err != nil || res.Action != "pushed" {
		t.Fatalf("first sync: %+v, %v", res, err)
	}
	remote, err := Open(filepath.Join(srv, "acme.git"))
	if err != nil {
		t.Fatal(err)
	}
	head, err := remote.ref("refs/heads/main")
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := remote.fileAt(head, FileName)
	if err != nil {
		t.Fatal(err)
	}
	// serve makes the remote's branch a commit of content on its head,
	// signed by signer.
	serve := func(content []byte, signer ed25519.PrivateKey) plumbing.Hash {
		t.Helper()
		c := commitContent(t, remote, head, content, signer)
		if err := remote.setRef("refs/heads/main", c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	big := make([]byte, 256<<10)
	rand.Read(big)
	for _, tc := range []struct {
		name    string
		content []byte
		signer  ed25519.PrivateKey
		max     int64
		want    error
		class   error
	}{
		{"a commit another key signed", append(bytes.Clone(data), "{\"seq\":1}\n"...), allottest.Key("mallory"), 0, ErrUnsigned, errclass.Trust},
		{"a signed commit that drops records", data[:len(data)-1], key, 0, ErrDiverged, errclass.Input},
		{"a pack beyond the bound", append(bytes.Clone(data), big...), key, 64 << 10, ErrTooBig, errclass.Input},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forged := serve(tc.content, tc.signer)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			local, err := Open(filepath.Join(dir, "w", ".git"))
			if err != nil {
				t.Fatal(err)
			}
			ours, _ := local.Head()
			_, err = Sync(path, url, &Access{MaxFetch: tc.max}, key, who, now)
			if !errors.Is(err, tc.want) || !errors.Is(err, tc.class) {
				t.Fatalf("sync: %v, want %v (%v)", err, tc.want, tc.class)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Error("the wallet file changed")
			}
			if h, _ := local.Head(); h != ours {
				t.Errorf("the branch moved to %s", h)
			}
			if tc.want != ErrDiverged && local.st.HasEncodedObject(forged) == nil {
				t.Error("the refused commit is stored in the wallet's repository")
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "w", ".git", "allot-fetch-*")); len(left) > 0 {
				t.Errorf("quarantine left behind: %v", left)
			}
		})
	}

	// A remote that moved since the fetch: the push is refused.
	u, err := parseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	tr, auth, err := u.transport(&Access{}, DefaultMaxFetch)
	if err != nil {
		t.Fatal(err)
	}
	local, _ := Open(filepath.Join(dir, "w", ".git"))
	ours, _ := local.Head()
	if _, err := local.push(u, tr, auth, "refs/heads/main", ours, ours); !errors.Is(err, ErrMoved) {
		t.Errorf("push over a branch that moved: %v, want ErrMoved", err)
	}

	// A remote nobody listens at: ErrUnreachable, an input error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := Sync(path, "http://"+addr+"/acme.git", nil, key, who, now); !errors.Is(err, ErrUnreachable) || !errors.Is(err, errclass.Input) {
		t.Errorf("sync with nobody there: %v, want ErrUnreachable", err)
	}
}

// A server that sends the start of a reply and then nothing: the sync
// gives up once nothing has come for five times Access.Timeout, an input
// error naming the remote, and the wallet is as it was.
func TestSyncTrickleServer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w", FileName)
	key := allottest.Key("wallet")
	who := Author{Name: "tester"}
	if _, err := Init(filepath.Join(dir, "w"), wallet.InitParams{Organization: "Acme", PublicKey: key.Public().(ed25519.PublicKey),
		EncryptedKey: []byte("not used"), Time: allottest.Now, Who: "tester"}, key, who); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "001e# service=git-upload-pack\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	}))
	defer srv.Close()
	_, err = Sync(path, srv.URL+"/acme.git", &Access{Timeout: 50 * time.Millisecond}, key, who, allottest.Now)
	if !errors.Is(err, ErrUnreachable) || !errors.Is(err, errclass.Input) || !strings.Contains(err.Error(), "nothing received for 250ms") {
		t.Fatalf("sync: %v, want ErrUnreachable, nothing received for 250ms", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the wallet file changed")
	}
}
