package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/rogpeppe/go-internal/testscript"

	"allot.dev/allot/cmd/internal/verifycli"
	"allot.dev/allot/pkg/licensekey"
)

// TestMain registers allot and allot-verify as commands of the test
// scripts. Each records its exit code in $ALLOT_TEST_EXIT, which the
// script command exitcode checks. The scrypt work factor is lowered so
// that passphrase-encrypted keys take milliseconds, not a second. go-git's
// ssh transport reads ~/.ssh/config from the home the user database names,
// not $HOME: the tests keep the machine's out.
func TestMain(m *testing.M) {
	scryptWorkFactor = 10
	gitssh.DefaultSSHConfig = nil
	exit := func(code int) {
		if f := os.Getenv("ALLOT_TEST_EXIT"); f != "" {
			os.WriteFile(f, []byte(strconv.Itoa(code)), 0o644)
		}
		os.Exit(code)
	}
	testscript.Main(m, map[string]func(){
		"allot": func() {
			if seed := os.Getenv("ALLOT_TEST_SEED"); seed != "" {
				testRand = seededRand(seed + "\x00" + strings.Join(os.Args[1:], "\x00"))
			}
			exit(Main(os.Args))
		},
		"allot-verify": func() {
			exit(verifycli.Run(os.Args[1:], verifycli.Env{
				Prog: "allot-verify", Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}))
		},
	})
}

// seededRand is a deterministic stream of bytes for a script that sets
// ALLOT_TEST_SEED: SHA-256 in counter mode over the seed, which includes
// the command line, so that two commands draw different bytes and one
// command draws the same bytes at every run.
func seededRand(seed string) io.Reader {
	return &counterRand{seed: []byte(seed)}
}

type counterRand struct {
	seed []byte
	n    uint64
	buf  []byte
}

func (r *counterRand) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) {
		h := sha256.New()
		h.Write(r.seed)
		binary.Write(h, binary.BigEndian, r.n)
		r.n++
		r.buf = h.Sum(r.buf)
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Now is the clock of every script, unless a script sets ALLOT_NOW.
const scriptNow = "2026-11-22T10:00:00Z"

func TestScript(t *testing.T) {
	testscript.Run(t, scriptParams(t, "../../testdata/script"))
}

// goEnv is what a script needs to run the go command offline against this
// module's tools (`exec go tool age`, `exec go run filippo.io/age/cmd/age-keygen`)
// from its own $WORK: the build and module caches of the go command that
// runs the tests, no proxy, no toolchain download, and a workspace file
// that names this module, so that its go.mod decides the versions.
func goEnv(t *testing.T) []string {
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	caches := strings.Fields(string(out))
	if len(caches) != 2 {
		t.Fatalf("go env GOCACHE GOMODCACHE: %q", out)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "go.work")
	if err := os.WriteFile(work, []byte("go 1.26.0\n\nuse "+root+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"GOCACHE=" + caches[0], "GOMODCACHE=" + caches[1], "GOWORK=" + work,
		"GOPROXY=off", "GOTOOLCHAIN=local", "GOFLAGS=", "GOENV=off"}
}

func scriptParams(t *testing.T, dir string) testscript.Params {
	goVars := goEnv(t)
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("ALLOT_UPDATE_SCRIPTS") != "",
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, ".home")
			if err := os.MkdirAll(home, 0o700); err != nil {
				return err
			}
			env.Setenv("HOME", home)
			env.Setenv("USER", "tester")
			env.Setenv("ALLOT_USER", "tester@site")
			env.Setenv("ALLOT_NOW", scriptNow)
			env.Setenv("ALLOT_TEST_EXIT", filepath.Join(t.TempDir(), "exit"))
			for _, v := range []string{"ALLOT_WALLET", "ALLOT_PASSPHRASE", "ALLOT_TRUST", "ALLOT_CATALOG", "ALLOT_IDENTITY",
				"SSH_AUTH_SOCK", "SSH_KNOWN_HOSTS", "ALLOT_SSH_PASSPHRASE", "ALLOT_GIT_USERNAME", "ALLOT_GIT_PASSWORD"} {
				env.Setenv(v, "")
			}
			for _, kv := range goVars {
				k, v, _ := strings.Cut(kv, "=")
				env.Setenv(k, v)
			}
			root := filepath.Join(env.WorkDir, ".sysroot")
			env.Setenv("ALLOT_SYSROOT", root)
			return fakeMachine(root, "machine-a")
		},
		Condition: func(cond string) (bool, error) {
			if cond == "chromium" {
				return chromiumCondition()
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":  cmdExitcode,
			"cmpjson":   cmdCmpJSON,
			"setfrom":   cmdSetfrom,
			"replace":   cmdReplace,
			"machine":   cmdMachine,
			"tamperkey": cmdTamperkey,
			"plain":     cmdPlain,
			"pagecheck": cmdPagecheck,
			"gitserve":  cmdGitserve,
			"sshagent":  cmdSSHAgent,
		},
	}
}

// fakeMachine writes a machine's identifiers under root, as Linux shows
// them: machine-id, DMI product UUID, one physical NIC, one disk. The
// identifiers are derived from name, so two names are two machines.
func fakeMachine(root, name string) error {
	h := func(salt string) string {
		var sum uint64 = 1469598103934665603
		for _, c := range name + salt {
			sum = (sum ^ uint64(c)) * 1099511628211
		}
		return fmt.Sprintf("%016x", sum)
	}
	files := map[string]string{
		"etc/machine-id":                   h("mid") + h("mid2") + "\n",
		"sys/class/dmi/id/product_uuid":    h("uuid")[:8] + "-" + h("uuid")[8:12] + "-4" + h("uuid")[12:15] + "-8" + h("u2")[:3] + "-" + h("u2")[3:15] + "\n",
		"sys/class/net/eth0/address":       "00:1a:2b:" + h("mac")[:2] + ":" + h("mac")[2:4] + ":" + h("mac")[4:6] + "\n",
		"sys/class/net/eth0/device/vendor": "0x8086\n",
		"sys/class/net/lo/address":         "00:00:00:00:00:00\n",
		"sys/block/sda/device/serial":      "WD-" + strings.ToUpper(h("disk")[:10]) + "\n",
	}
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	for f, content := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// exitcode N: the last allot or allot-verify run exited with code N.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: exitcode N")
	}
	data, err := os.ReadFile(ts.Getenv("ALLOT_TEST_EXIT"))
	ts.Check(err)
	if string(data) != args[0] {
		ts.Fatalf("exit code %s, want %s", data, args[0])
	}
}

// setfrom VAR FILE REGEXP: set VAR to REGEXP's first group in FILE.
func cmdSetfrom(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: setfrom VAR FILE REGEXP")
	}
	m := regexp.MustCompile(args[2]).FindStringSubmatch(ts.ReadFile(args[1]))
	if len(m) < 2 {
		ts.Fatalf("%s: no match for %q", args[1], args[2])
	}
	ts.Setenv(args[0], m[1])
}

// cmpjson FILE GOLDEN [KEY...]: FILE and GOLDEN hold the same JSON
// document, except for the values of the named keys, anywhere in it (hash
// chains over age-encrypted data differ at every run).
func cmdCmpJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || neg {
		ts.Fatalf("usage: cmpjson FILE GOLDEN [KEY...]")
	}
	masked := func(name string) string {
		data := ts.ReadFile(name)
		var v any
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			ts.Fatalf("%s: %v", name, err)
		}
		var walk func(v any) any
		walk = func(v any) any {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					if slices.Contains(args[2:], k) {
						x[k] = "(masked)"
					} else {
						x[k] = walk(e)
					}
				}
			case []any:
				for i, e := range x {
					x[i] = walk(e)
				}
			}
			return v
		}
		out, _ := json.MarshalIndent(walk(v), "", "  ")
		return string(out)
	}
	got, want := masked(args[0]), masked(args[1])
	if got != want {
		ts.Logf("%s:\n%s\n%s:\n%s", args[0], got, args[1], want)
		ts.Fatalf("%s and %s differ beyond the keys %v", args[0], args[1], args[2:])
	}
}

// replace FILE OLD NEW: replace the first OLD in FILE with NEW, literally;
// \n in OLD and NEW stands for a newline. It fails if OLD is not there.
func cmdReplace(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: replace FILE OLD NEW")
	}
	unq := func(s string) string { return strings.ReplaceAll(s, `\n`, "\n") }
	p := ts.MkAbs(args[0])
	data := ts.ReadFile(args[0])
	if !strings.Contains(data, unq(args[1])) {
		ts.Fatalf("%s: %q not found", args[0], args[1])
	}
	ts.Check(os.WriteFile(p, []byte(strings.Replace(data, unq(args[1]), unq(args[2]), 1)), 0o644))
}

// machine NAME: become another machine: rewrite $ALLOT_SYSROOT with the
// identifiers of NAME.
func cmdMachine(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: machine NAME")
	}
	ts.Check(fakeMachine(ts.Getenv("ALLOT_SYSROOT"), args[0]))
}

// tamperkey FILE TYPE QTY: change the quantity of license TYPE in every key
// of FILE (one a line) to QTY and recompute the check characters, as a
// forger would: the text is a well-formed key that decodes without a typo,
// but its content is no longer what the issuer signed.
func cmdTamperkey(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: tamperkey FILE TYPE QTY")
	}
	qty, err := strconv.Atoi(args[2])
	ts.Check(err)
	name := append([]byte{byte(len(args[1]))}, args[1]...)
	var out strings.Builder
	for _, line := range strings.Fields(ts.ReadFile(args[0])) {
		raw, err := licensekey.Decode(line)
		ts.Check(err)
		i := bytes.Index(raw, name)
		if i < 0 {
			ts.Fatalf("%s: no license %s in %s", args[0], args[1], line)
		}
		i += len(name)
		_, n := binary.Uvarint(raw[i:])
		raw = slices.Concat(raw[:i], binary.AppendUvarint(nil, uint64(qty)), raw[i+n:])
		out.WriteString(licensekey.Encode(raw) + "\n")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(out.String()), 0o644))
}

// plain FILE: FILE (or stdout, or stderr) holds no character a terminal
// acts on, checked byte by byte: no C0 control but the newline, no DEL,
// no C1 control, no bidi control or line separator, nothing that is not
// UTF-8.
func cmdPlain(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: plain FILE")
	}
	text := ts.ReadFile(args[0])
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == utf8.RuneError && size == 1,
			r < 0x20 && r != '\n', r == 0x7f, r >= 0x80 && r <= 0x9f,
			r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e,
			r >= 0x2066 && r <= 0x2069, r == 0x2028, r == 0x2029:
			ts.Fatalf("%s: byte %d: % x in %q", args[0], i, text[i:i+size], text[max(0, i-20):min(len(text), i+20)])
		}
		i += size
	}
}
