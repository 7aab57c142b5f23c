package main

// The bad-input catalogue: testdata/bad holds malformed and hostile inputs
// of every artifact allot reads, and testdata/bad/cases.txt says, for each,
// the command that reads it, the exit code it must end with, and the one
// line of error it must print. TestBadInput runs them all; each case must
// also leave its folder exactly as it was and never panic.
//
// The damaged files are made from valid ones by TestBadInputGenerate, with
// valid signatures and MACs over the damaged content where the damage must
// reach the parser behind the signature:
//
//	ALLOT_UPDATE_BADINPUT=1 go test ./cmd/allot -run BadInputGenerate

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/sign/keyfile"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/verify"
	"allot.dev/allot/pkg/wallet"
)

// badDir is the catalogue; its ok/ folder holds the valid inputs the cases
// need besides the damaged one.
const badDir = "../../testdata/bad"

// badMachine is the fake machine every case runs on (fakeMachine); the
// device state fixtures are sealed with its identifiers.
const badMachine = "machine-a"

// badPassphrase opens ok/vendor.key (ok/pass.txt).
const badPassphrase = "correct horse battery staple"

// hugeRSS bounds the peak memory of a command given a 100 MiB file: well
// under the file's size, so a command that reads such a file whole fails,
// and well over what reading the 4 MiB a bundle may have costs.
const hugeRSS = 48 << 20

// A badCase is one line of cases.txt.
type badCase struct {
	line  int
	input string // a file or folder of testdata/bad, or a made file's name
	made  *madeFile
	exit  int
	args  []string
	re    *regexp.Regexp // nil for a control (exit 0)
}

// madeFile is a file the test makes at run time instead of checking it
// in: prefix's bytes (a file of testdata/bad, or nothing), then zeros up to
// size, written sparse.
type madeFile struct {
	prefix string
	size   int64
}

// name names the case's subtest: its input and the command that reads it.
func (c *badCase) name() string {
	verb := c.args[0]
	if slices.Contains([]string{"key", "signer", "system", "wallet"}, verb) && len(c.args) > 1 {
		verb += "-" + c.args[1]
	}
	return strings.ReplaceAll(c.input, "/", "_") + "/" + verb
}

// readBadCases parses cases.txt:
//
//	INPUT EXIT COMMAND... ~ REGEXP
func readBadCases(t *testing.T) []*badCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(badDir, "cases.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []*badCase
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fail := func(format string, args ...any) {
			t.Fatalf("cases.txt:%d: %s", n, fmt.Sprintf(format, args...))
		}
		head, re, ok := strings.Cut(line, " ~ ")
		if !ok && !strings.HasSuffix(line, " ~") {
			fail("no ' ~ ' before the error regexp")
		}
		head = strings.TrimSuffix(head, " ~")
		f := strings.Fields(head)
		if len(f) < 3 {
			fail("want INPUT EXIT COMMAND... ~ REGEXP")
		}
		c := &badCase{line: n, input: f[0], args: f[2:]}
		if c.exit, err = strconv.Atoi(f[1]); err != nil {
			fail("exit code %q", f[1])
		}
		if c.args[0] == "allot" {
			c.args = c.args[1:]
		}
		if name, spec, ok := strings.Cut(c.input, "="); ok {
			prefix, size, ok := strings.Cut(spec, "+")
			if !ok || size != "100MiB" {
				fail("a made file is NAME=PREFIX+100MiB")
			}
			c.input, c.made = name, &madeFile{prefix: prefix, size: 100 << 20}
		}
		switch re = strings.TrimSpace(re); {
		case c.exit == 0 && re != "":
			fail("a control (exit 0) has no error regexp")
		case c.exit != 0 && re == "":
			fail("no error regexp")
		case c.exit != 0:
			if c.re, err = regexp.Compile(re); err != nil {
				fail("%v", err)
			}
		}
		cases = append(cases, c)
	}
	return cases
}

// TestBadInput runs every case of testdata/bad/cases.txt in a folder of its
// own, as a separate allot process, and checks what cases.txt says of bad
// input: the documented exit code; one line of error on stderr (and at most
// one hint) that names the file and matches the case's regexp; no panic and
// no internal error; nothing written, in the case's folder or in HOME; and,
// for a 100 MiB input, a peak memory well under its size.
func TestBadInput(t *testing.T) {
	cases := readBadCases(t)
	allot := allotCommand(t)
	sysroot := t.TempDir()
	if err := fakeMachine(sysroot, badMachine); err != nil {
		t.Fatal(err)
	}
	env := badEnv(sysroot)
	seen := map[string]bool{}
	for _, c := range cases {
		name := c.name()
		for i := 2; seen[name]; i++ {
			name = fmt.Sprintf("%s#%d", c.name(), i)
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			// A 100 MiB file read whole costs its size in memory: run
			// those cases one at a time.
			if c.made == nil {
				t.Parallel()
			}
			runBadCase(t, allot, env, c)
		})
	}
}

// allotCommand returns the allot that TestMain installed in $PATH: a copy
// of this test binary that runs Main when its name is allot.
func allotCommand(t *testing.T) string {
	p, err := exec.LookPath("allot")
	if err != nil {
		t.Fatalf("allot is not in $PATH (testscript's TestMain puts it there): %v", err)
	}
	if !strings.Contains(p, "testscript-main") {
		t.Fatalf("allot in $PATH is %s, not the test's copy", p)
	}
	return p
}

// badEnv is the environment of every case: a fake machine, a fixed clock,
// no ALLOT_* variable of the caller. HOME is set per case.
func badEnv(sysroot string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ALLOT_") || k == "HOME" || k == "USER" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "USER=tester", "ALLOT_USER=tester@site", "ALLOT_NOW="+scriptNow, "ALLOT_SYSROOT="+sysroot)
}

func runBadCase(t *testing.T, allot string, env []string, c *badCase) {
	dir := t.TempDir()
	home := t.TempDir()
	if err := copyTree(filepath.Join(badDir, "ok"), filepath.Join(dir, "ok")); err != nil {
		t.Fatal(err)
	}
	if c.made != nil {
		if err := makeFile(filepath.Join(dir, c.input), c.made); err != nil {
			t.Fatal(err)
		}
	} else if !strings.HasPrefix(c.input, "ok/") {
		if err := copyTree(filepath.Join(badDir, c.input), filepath.Join(dir, c.input)); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, dir)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, allot, c.args...)
	cmd.Dir = dir
	cmd.Env = append(slices.Clip(env), "HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	code := 0
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("cases.txt:%d: allot %s: still running after %v", c.line, strings.Join(c.args, " "), elapsed)
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	where := fmt.Sprintf("cases.txt:%d: allot %s", c.line, strings.Join(c.args, " "))
	if c.made != nil {
		rss := maxRSS(cmd.ProcessState)
		t.Logf("%s: %d MiB file: exit %d in %v, peak memory %d MiB", where, c.made.size>>20, code, elapsed.Round(time.Millisecond), rss>>20)
		if rss > hugeRSS && !raceEnabled() {
			t.Errorf("%s: peak memory %d MiB for a %d MiB file: it was read whole, not refused by its size", where, rss>>20, c.made.size>>20)
		}
	}

	all := stdout.String() + stderr.String()
	for _, bad := range []string{"panic", "goroutine ", "internal error"} {
		if strings.Contains(all, bad) {
			t.Errorf("%s: output has %q:\n%s", where, bad, all)
		}
	}
	if code != c.exit {
		t.Errorf("%s: exit code %d, want %d; stderr:\n%s", where, code, c.exit, stderr.String())
	}
	if c.re == nil {
		if stderr.Len() > 0 {
			t.Errorf("%s: a control prints no error; stderr:\n%s", where, stderr.String())
		}
		return // a control may write its output
	}
	checkErrorLine(t, where, c, stderr.String())
	checkUnchanged(t, where, before, snapshot(t, dir))
	if ents, err := os.ReadDir(home); err != nil || len(ents) > 0 {
		t.Errorf("%s: wrote into HOME: %v %v", where, ents, err)
	}
}

// checkErrorLine checks that stderr is one "allot: …" line, and at most one
// "allot: hint: …" line, that names the input and matches the case's regexp.
func checkErrorLine(t *testing.T, where string, c *badCase, stderr string) {
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if stderr == "" {
		t.Errorf("%s: no error on stderr", where)
		return
	}
	ok := len(lines) <= 2 && strings.HasPrefix(lines[0], "allot: ") && !strings.HasPrefix(lines[0], "allot: hint: ") &&
		(len(lines) == 1 || strings.HasPrefix(lines[1], "allot: hint: "))
	if !ok || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("%s: want one line \"allot: …\" and at most one \"allot: hint: …\"; stderr:\n%s", where, stderr)
	}
	msg := strings.TrimPrefix(lines[0], "allot: ")
	// A folder given as input is a device state folder: the file at
	// fault is its state file.
	file := c.input
	if st, err := os.Stat(filepath.Join(badDir, c.input)); c.made == nil && err == nil && st.IsDir() {
		file += "/" + verify.StateFile
	}
	if !strings.Contains(msg, file) {
		t.Errorf("%s: the error does not name the file %s: %s", where, file, msg)
	}
	if !c.re.MatchString(msg) {
		t.Errorf("%s: the error does not match `%s`:\n\t%s", where, c.re, msg)
	}
}

type fileState struct {
	size  int64
	mode  fs.FileMode
	mtime time.Time
	sum   [32]byte
}

// hashLimit bounds the files snapshot hashes: a 100 MiB input is compared by
// size and modification time, which any write changes, rather than read
// twice per case.
const hashLimit = 16 << 20

// snapshot records every file under dir: size, mode, modification time and
// SHA-256.
func snapshot(t *testing.T, dir string) map[string]fileState {
	m := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := fileState{mode: info.Mode()}
		// A folder's size and time change with the entries made and
		// removed in it; only its files' end state counts.
		if d.Type().IsRegular() {
			st.size, st.mtime = info.Size(), info.ModTime()
		}
		if d.Type().IsRegular() && info.Size() <= hashLimit {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			copy(st.sum[:], h.Sum(nil))
		}
		if rel != "." {
			m[filepath.ToSlash(rel)] = st
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func checkUnchanged(t *testing.T, where string, before, after map[string]fileState) {
	for _, p := range slices.Sorted(maps.Keys(after)) {
		a := after[p]
		b, had := before[p]
		switch {
		case strings.HasPrefix(lastElem(p), ".allot-tmp-"):
			t.Errorf("%s: left the temporary file %s", where, p)
		case !had && a.size == 0 && strings.HasSuffix(p, ".wallet.lock") && hasFile(before, strings.TrimSuffix(p, ".lock")):
			// A wallet's lock file: created by the first writer, never
			// removed (formats/wallet.md).
		case !had:
			t.Errorf("%s: created %s (%d bytes)", where, p, a.size)
		case a != b:
			t.Errorf("%s: changed %s (%d bytes, %v, before %d bytes, %v)", where, p, a.size, a.mode, b.size, b.mode)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("%s: removed %s", where, p)
		}
	}
}

func hasFile(files map[string]fileState, p string) bool {
	st, ok := files[p]
	return ok && st.mode.IsRegular()
}

// lastElem returns the last element of a slash-separated path.
func lastElem(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		perm := fs.FileMode(0o644)
		if strings.HasSuffix(p, ".key") || strings.HasSuffix(p, ".wallet") || filepath.Base(p) == verify.StateFile {
			perm = 0o600
		}
		return os.WriteFile(dst, data, perm)
	})
}

// makeFile writes m at p: the prefix, then a hole up to the size.
func makeFile(p string, m *madeFile) error {
	var prefix []byte
	if m.prefix != "" {
		var err error
		if prefix, err = os.ReadFile(filepath.Join(badDir, m.prefix)); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(prefix); err != nil {
		f.Close()
		return err
	}
	if err := f.Truncate(m.size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// raceEnabled reports a build with the race detector, whose shadow memory
// multiplies a process's peak memory: the bound of hugeRSS does not apply.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// maxRSS returns a finished process's peak resident memory in bytes, where
// the system reports it (getrusage's ru_maxrss: KiB on Linux, bytes on
// macOS), else 0.
func maxRSS(ps *os.ProcessState) int64 {
	u := reflect.ValueOf(ps.SysUsage())
	if u.Kind() == reflect.Pointer {
		u = u.Elem()
	}
	if u.Kind() != reflect.Struct {
		return 0
	}
	f := u.FieldByName("Maxrss")
	if !f.IsValid() || !f.CanInt() {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return f.Int()
	}
	return f.Int() << 10
}

// TestBadInputGenerate rewrites testdata/bad from valid fixtures made with
// package allottest's deterministic keys. Signed inputs damaged behind
// their signature are signed again, so the damage reaches the parser; age
// encryption is randomized, so the key files differ at every run.
func TestBadInputGenerate(t *testing.T) {
	if os.Getenv("ALLOT_UPDATE_BADINPUT") == "" {
		t.Skip("set ALLOT_UPDATE_BADINPUT=1 to rewrite testdata/bad")
	}
	g := newBadGen(t)
	g.okFiles()
	g.keyFiles()
	g.certFiles()
	g.systemFiles()
	g.devicesFiles()
	g.bundleFiles()
	g.trustFiles()
	g.usageFiles()
	g.walletFiles()
	g.catalogFiles()
	g.stateFiles()
	g.signerFiles()
	for _, name := range slices.Sorted(maps.Keys(g.files)) {
		p := filepath.Join(badDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, g.files[name], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d files to %s", len(g.files), badDir)
}

type badGen struct {
	t     *testing.T
	tmp   string
	world *allottest.World
	files map[string][]byte

	walletKey ed25519.PrivateKey
	walletID  licensekey.WalletID
	keys      []string // fresh keys to the wallet, not redeemed
	doc       []byte   // the valid bundle
	stateKey  []byte
}

func newBadGen(t *testing.T) *badGen {
	g := &badGen{t: t, tmp: t.TempDir(), files: map[string][]byte{}, walletKey: allottest.Key("wallet")}
	w, err := allottest.NewWorld(2)
	g.check(err)
	g.world = w
	g.walletID = licensekey.WalletIDOf(g.walletKey.Public().(ed25519.PublicKey))
	return g
}

func (g *badGen) check(err error) {
	g.t.Helper()
	if err != nil {
		g.t.Fatal(err)
	}
}

func (g *badGen) put(name string, data []byte) {
	g.t.Helper()
	if _, dup := g.files[name]; dup {
		g.t.Fatalf("%s made twice", name)
	}
	g.files[name] = data
}

func (g *badGen) ok(name string) []byte {
	g.t.Helper()
	data, ok := g.files["ok/"+name]
	if !ok {
		g.t.Fatalf("no ok/%s", name)
	}
	return data
}

// edit replaces old, which must occur exactly once in data, with new.
func (g *badGen) edit(data []byte, old, new string) []byte {
	g.t.Helper()
	if n := bytes.Count(data, []byte(old)); n != 1 {
		g.t.Fatalf("%q occurs %d times, want once", old, n)
	}
	return bytes.Replace(data, []byte(old), []byte(new), 1)
}

func crlf(data []byte) []byte { return bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n")) }

func bom(data []byte) []byte { return append([]byte("\xef\xbb\xbf"), data...) }

// encryptKey returns priv encrypted with the passphrase, as the key file
// name of testdata/bad. age encryption is randomized: a file already there
// that opens to priv is kept, so that regenerating changes nothing.
func (g *badGen) encryptKey(name string, priv ed25519.PrivateKey, comment string) []byte {
	id, err := keyfile.PassphraseIdentity(badPassphrase)
	g.check(err)
	if old, err := os.ReadFile(filepath.Join(badDir, name)); err == nil {
		if k, err := keyfile.Decrypt(old, id); err == nil && k.Equal(priv) {
			return old
		}
	}
	r, err := keyfile.PassphraseRecipient(badPassphrase, 10)
	g.check(err)
	data, err := keyfile.Encrypt(priv, comment, r)
	g.check(err)
	return data
}

// okFiles makes the valid inputs: a vendor and a two-level chain, a wallet
// holding three redeemed keys and one allocation, its bundle, three more
// keys issued to the wallet, a system, usage, trust, catalog, devices and
// device state.
func (g *badGen) okFiles() {
	w := g.world
	vendorPub := w.Vendor.Public().(ed25519.PublicKey)
	g.put("ok/pass.txt", []byte(badPassphrase+"\n"))
	g.put("ok/vendor.pub", []byte(sign.MarshalAuthorized(vendorPub, "vendor")+"\n"))
	g.put("ok/vendor.key", g.encryptKey("ok/vendor.key", w.Vendor, "vendor"))
	g.put("ok/reseller.pub", []byte(sign.MarshalAuthorized(w.Issuer.Public().(ed25519.PublicKey), "reseller")+"\n"))
	g.put("ok/reseller.key", g.encryptKey("ok/reseller.key", w.Issuer, "reseller"))
	g.put("ok/reseller.cert", w.Chain.Document())
	g.put("ok/sub-reseller.pub", []byte(sign.MarshalAuthorized(allottest.Key("sub-reseller").Public().(ed25519.PublicKey), "sub-reseller")+"\n"))
	g.put("ok/vendor.trust.toml", []byte(fmt.Sprintf(`# The vendor roots this site's devices accept.
version = 1
roots = [%q]
revoked = ["0123456789abcdef"]
clock_tolerance = "24h"
`, sign.MarshalAuthorized(vendorPub, "vendor"))))

	// The wallet, as allottest.TypicalBundle makes it, but with its key
	// encrypted for real, so that allocate can open it.
	// ok/wallet.key keeps its encryption from one generation to the next.
	wk := g.encryptKey("ok/wallet.key", g.walletKey, "wallet:Fixture_Org")
	g.put("ok/wallet.key", wk)
	wp := filepath.Join(g.tmp, "fixture.wallet")
	_, err := wallet.Init(wp, wallet.InitParams{Organization: "Fixture Org", PublicKey: g.walletKey.Public().(ed25519.PublicKey),
		EncryptedKey: wk, Trust: w.Trust.Roots, Time: allottest.Now, Who: "fixture"})
	g.check(err)
	keys, err := w.Keys(3, 10, 12, g.walletID)
	g.check(err)
	_, err = w.Redeem(wp, keys)
	g.check(err)
	g.doc, err = w.Allocate(wp, g.walletKey, allottest.System("site-1", 25), 1)
	g.check(err)
	data, err := os.ReadFile(wp)
	g.check(err)
	g.put("ok/fixture.wallet", data)
	g.put("ok/fixture.wallet.lock", nil)
	g.put("ok/site-1.lic", g.doc)
	g.keys, err = w.Keys(3, 5, 12, g.walletID)
	g.check(err)
	g.put("ok/keys.txt", []byte(allottest.KeysText(g.keys)))

	// The system, as a person keeps it: two servers with this machine's
	// identifiers and another's, a few devices, a need of 5 cameras (what
	// the wallet has left for a year) and an analytics assignment.
	ids := func(machine string) []string {
		root := filepath.Join(g.tmp, machine)
		g.check(fakeMachine(root, machine))
		got, err := hwid.Collect(os.DirFS(root))
		g.check(err)
		return hwid.HashAll("site-1", got)
	}
	sys := &system.System{ID: "site-1", Organization: "Fixture Org", Binding: system.Binding{Required: 2},
		Need: map[string]int{"camera": 5},
		Servers: []system.Server{
			{Name: "nvr-1", Identifiers: ids(badMachine)},
			{Name: "nvr-2", Identifiers: ids("machine-b")},
		},
		Devices: []system.Device{
			{Serial: "CAM-1", Model: "AXIS P3265-LVE", Type: system.Camera, Server: "nvr-1"},
			{Serial: "CAM-2", Model: "AXIS P3265-LVE", Type: system.Camera, Server: "nvr-1"},
			{Serial: "CAM-3", Model: "AXIS M3086-V", Type: system.Camera, Server: "nvr-2"},
			{Serial: "INT-1", Model: "AXIS A8207-VE", Type: system.Intercom, Server: "nvr-2"},
		},
		Analytics: []system.Assignment{{Type: "line-crossing", Cameras: []string{"CAM-1", "CAM-3"}}},
	}
	g.check(sys.Check(catalog.Default()))
	g.put("ok/site-1.system.toml", sys.Marshal(allottest.Now))
	g.put("ok/devices.txt", []byte("# serial, model, type, server\nCAM-1, AXIS P3265-LVE, camera, nvr-1\nCAM-2, AXIS P3265-LVE, camera, nvr-1\nINT-1, AXIS A8207-VE, intercom, nvr-1\n"))
	g.put("ok/site-1.usage.toml", []byte(`# What site-1 uses now.
version = 1
system = "site-1"
features = []

[[server]]
name = "nvr-1"
cameras = 20
intercoms = 0
`))
	g.put("ok/catalog.toml", catalog.DefaultSource())

	// The device state after the bundle was verified on this machine.
	root := filepath.Join(g.tmp, "sysroot")
	g.check(fakeMachine(root, badMachine))
	mids, err := hwid.Collect(os.DirFS(root))
	g.check(err)
	g.stateKey = verify.DeviceKey(mids)
	st := verify.NewState(g.stateKey)
	b, err := bundle.Open(g.doc)
	g.check(err)
	g.check(st.Check(b, allottest.Now, verify.DefaultClockTolerance))
	g.put("ok/state/allot.state", st.Marshal())
}

// keyEdit decodes a key's text, lets fn change its bytes, and encodes it
// again with correct check characters: a well-typed key whose content is
// not what its issuer signed.
func (g *badGen) keyEdit(text string, fn func(raw []byte) []byte) string {
	raw, err := licensekey.Decode(text)
	g.check(err)
	return licensekey.Encode(fn(raw))
}

// keyQuantity sets the quantity of the key's first license.
func (g *badGen) keyQuantity(raw []byte, q uint64) []byte {
	name := []byte("\x06camera")
	i := bytes.Index(raw, name)
	if i < 0 {
		g.t.Fatal("no camera license in the key")
	}
	i += len(name)
	_, n := binary.Uvarint(raw[i:])
	return slices.Concat(raw[:i], binary.AppendUvarint(nil, q), raw[i+n:])
}

func (g *badGen) keyFiles() {
	k := g.keys
	lines := func(v ...string) []byte { return []byte(strings.Join(v, "\n") + "\n") }
	groups := strings.Split(k[1], "-")
	g.put("keys-truncated.txt", lines(k[0], strings.Join(groups[:len(groups)-2], "-"), k[2]))
	g.put("keys-invalid-utf8.txt", lines(k[0], k[1][:13]+"\xff\xfe"+k[1][13:], k[2]))
	typo := []byte(k[1])
	typo[8] = map[bool]byte{true: 'B', false: 'A'}[typo[8] == 'A']
	g.put("keys-crlf.txt", crlf(lines(k[0], string(typo), k[2])))
	g.put("keys-bom.txt", bom(lines(k...)))
	g.put("keys-wrong-version.txt", lines(g.keyEdit(k[0], func(raw []byte) []byte { raw[0] = 2; return raw })))
	g.put("keys-huge-quantity.txt", lines(g.keyEdit(k[0], func(raw []byte) []byte { return g.keyQuantity(raw, 1<<32-1) })))
	g.put("keys-date-out-of-range.txt", lines(g.keyEdit(k[0], func(raw []byte) []byte {
		const at = 2 + sign.KeyIDSize + licensekey.SerialSize
		_, n := binary.Uvarint(raw[at:])
		return slices.Concat(raw[:at], binary.AppendUvarint(nil, 3_000_000), raw[at+n:])
	})))
	g.put("keys-unknown-flags.txt", lines(g.keyEdit(k[0], func(raw []byte) []byte {
		raw[len(raw)-ed25519.SignatureSize-licensekey.WalletIDSize-1] |= 0x04
		return raw
	})))
	g.put("keys-duplicate.txt", lines(k[0], k[1], k[0]))
	g.put("keys-forged-quantity.txt", lines(g.keyEdit(k[0], func(raw []byte) []byte { return g.keyQuantity(raw, 500) }), k[1]))
	other := licensekey.WalletIDOf(allottest.Key("another wallet").Public().(ed25519.PublicKey))
	stray, err := g.world.Keys(1, 5, 12, other)
	g.check(err)
	g.put("keys-other-wallet.txt", lines(k[0], stray[0]))
}

// certFiles damages the reseller's certificate, the second of the chain,
// and signs it again with its issuer's key (the distributor, signer-0).
func (g *badGen) certFiles() {
	root := g.world.Chain[0].Document()
	leaf := g.world.Chain[1].Document()
	payload, _, _, err := sign.Split(leaf)
	g.check(err)
	reseal := func(p []byte) []byte {
		doc, err := sign.Seal(allottest.Key("signer-0"), cert.Namespace, p)
		g.check(err)
		return slices.Concat(root, doc)
	}
	chain := g.ok("reseller.cert")
	g.put("cert-truncated.cert", chain[:len(root)+len(payload)+100])
	g.put("cert-crlf.cert", crlf(chain))
	g.put("cert-bom.cert", bom(chain))
	// The payload changed, the signature not: a forgery.
	g.put("cert-signature-flipped.cert", slices.Concat(root, g.edit(leaf, "camera = 1000\n", "camera = 9000\n")))
	g.put("cert-wrong-version.cert", reseal(g.edit(payload, "version = 1\n", "version = 2\n")))
	g.put("cert-unknown-field.cert", reseal(g.edit(payload, "role = \"reseller\"\n", "role = \"reseller\"\ncolour = \"red\"\n")))
	g.put("cert-negative-quantity.cert", reseal(g.edit(payload, "camera = 1000\n", "camera = -5\n")))
	g.put("cert-huge-number.cert", reseal(g.edit(payload, "max_term_months = 60\n", "max_term_months = 99999999999999999999\n")))
	g.put("cert-dates-reversed.cert", reseal(g.edit(payload, "valid_until = 2031-11-22T10:00:00Z\n", "valid_until = 2020-01-01T00:00:00Z\n")))
	g.put("cert-wrong-type.cert", reseal(g.edit(payload, "bearer = false\n", "bearer = \"no\"\n")))
	g.put("cert-duplicate-field.cert", reseal(g.edit(payload, "role = \"reseller\"\n", "role = \"reseller\"\nrole = \"distributor\"\n")))
	g.put("cert-invalid-utf8.cert", reseal(g.edit(payload, "role = \"reseller\"\n", "role = \"resel\xffler\"\n")))
}

func (g *badGen) systemFiles() {
	sys := g.ok("site-1.system.toml")
	g.put("system-unknown-field.system.toml", g.edit(sys, "required = 2\n", "required = 2\ncolour = \"red\"\n"))
	g.put("system-wrong-version.system.toml", g.edit(sys, "version = 1\n", "version = 2\n"))
	g.put("system-wrong-type.system.toml", g.edit(sys, "required = 2\n", "required = \"two\"\n"))
	g.put("system-negative-need.system.toml", g.edit(sys, "camera = 5\n", "camera = -5\n"))
	g.put("system-huge-number.system.toml", g.edit(sys, "camera = 5\n", "camera = 99999999999999999999\n"))
	g.put("system-duplicate-server.system.toml", g.edit(sys, "name = \"nvr-2\"\n", "name = \"nvr-1\"\n"))
	g.put("system-duplicate-device.system.toml", g.edit(sys, "CAM-3, AXIS M3086-V", "CAM-1, AXIS M3086-V"))
	g.put("system-invalid-utf8.system.toml", g.edit(sys, "organization = \"Fixture Org\"\n", "organization = \"Fixture \xff Org\"\n"))
	g.put("system-bom.system.toml", bom(sys))
	// A need misspelt in a file saved with CRLF: the line must still be right.
	g.put("system-crlf.system.toml", crlf(g.edit(sys, "camera = 5\n", "camera = 5\ncameras = 3\n")))
	g.put("system-truncated.system.toml", sys[:bytes.Index(sys, []byte("CAM-2, AXIS"))+len("CAM-2, AXIS")])
	i := bytes.Index(sys, []byte("\"machine-id:")) + len("\"machine-id:")
	g.put("system-bad-identifier.system.toml", slices.Concat(sys[:i], bytes.ToUpper(sys[i:i+32]), sys[i+32:]))
	g.put("system-date-out-of-range.system.toml", g.edit(sys, "camera = 5\n", "camera = 1969-12-31\n"))
}

func (g *badGen) devicesFiles() {
	dev := g.ok("devices.txt")
	g.put("devices-wrong-fields.txt", g.edit(dev, "CAM-2, AXIS P3265-LVE, camera, nvr-1\n", "CAM-2, AXIS P3265-LVE, nvr-1\n"))
	g.put("devices-duplicate.txt", g.edit(dev, "CAM-2,", "CAM-1,"))
	g.put("devices-unknown-server.txt", g.edit(dev, "CAM-2, AXIS P3265-LVE, camera, nvr-1\n", "CAM-2, AXIS P3265-LVE, camera, nvr-9\n"))
	g.put("devices-invalid-utf8.txt", g.edit(dev, "CAM-2,", "CAM-\xff2,"))
	g.put("devices-crlf.txt", crlf(g.edit(dev, "intercom, nvr-1", "doorbell, nvr-1")))
}

// bundleFiles damages the bundle's payload and signs it again with the
// wallet's key, which the payload names.
func (g *badGen) bundleFiles() {
	doc := g.doc
	payload, _, _, err := sign.Split(doc)
	g.check(err)
	reseal := func(p []byte) []byte {
		d, err := sign.Seal(g.walletKey, bundle.Namespace, p)
		g.check(err)
		return d
	}
	validity := regexp.MustCompile(`(?m)^\[validity\]\nfrom = .*\nuntil = .*\ngrace_until = .*\n`).Find(payload)
	if validity == nil {
		g.t.Fatal("no [validity] in the bundle")
	}
	until := regexp.MustCompile(`\nuntil = (.*)\n`).FindSubmatch(validity)[1]
	g.put("bundle-truncated.lic", doc[:len(doc)*6/10])
	g.put("bundle-crlf.lic", crlf(doc))
	g.put("bundle-bom.lic", bom(doc))
	g.put("bundle-empty.lic", []byte{})
	g.put("bundle-signature-flipped.lic", g.edit(doc, "camera = 25\n", "camera = 250\n"))
	g.put("bundle-wrong-version.lic", reseal(g.edit(payload, "version = 1\n", "version = 2\n")))
	g.put("bundle-unknown-field.lic", reseal(g.edit(payload, "sequence = 1\n", "sequence = 1\ncolour = \"red\"\n")))
	g.put("bundle-wrong-type.lic", reseal(g.edit(payload, "sequence = 1\n", "sequence = \"one\"\n")))
	g.put("bundle-negative-quota.lic", reseal(g.edit(payload, "camera = 25\n", "camera = -5\n")))
	g.put("bundle-huge-number.lic", reseal(g.edit(payload, "sequence = 1\n", "sequence = 99999999999999999999\n")))
	g.put("bundle-dates-reversed.lic", reseal(g.edit(payload, "\nuntil = "+string(until)+"\ngrace_until", "\nuntil = 2020-01-01T00:00:00Z\ngrace_until")))
	g.put("bundle-date-out-of-range.lic", reseal(g.edit(payload, "issued = 2026-11-22T10:00:00Z\n", "issued = 2026-13-22T10:00:00Z\n")))
	g.put("bundle-duplicate-section.lic", reseal(g.edit(payload, string(validity), string(validity)+"\n"+string(validity))))
	g.put("bundle-invalid-utf8.lic", reseal(g.edit(payload, "organization = \"Fixture Org\"\n", "organization = \"Fixture \xff Org\"\n")))
	// The lifecycle sections (pkg/bundle/lifecycle.go), damaged.
	cert := bytes.Index(payload, []byte("\n[[certificate]]\n"))
	g.put("bundle-credit-no-days.lic", reseal(slices.Concat(payload[:cert], []byte("\n[[credit]]\nkey = \"K\"\nlicense = \"camera\"\nfrom = 2025-01-01T00:00:00Z\nuntil = 2026-01-01T00:00:00Z\nmonths = 12\nperiod = 1\ndays = 0\n"), payload[cert:])))
	g.put("bundle-hardware-bad-serial.lic", reseal(slices.Concat(payload[:cert], []byte("\n[[hardware]]\ndevice = \"CAM 7\"\nkey = \"K\"\nexpansions = []\n"), payload[cert:])))
	// Signed, but not by the wallet key the payload names.
	forged, err := sign.Seal(allottest.Key("mallory"), bundle.Namespace, payload)
	g.check(err)
	g.put("bundle-foreign-signer.lic", forged)
}

func (g *badGen) trustFiles() {
	tr := g.ok("vendor.trust.toml")
	pub := g.ok("vendor.pub")
	g.put("trust-unknown-field.trust.toml", g.edit(tr, "version = 1\n", "version = 1\nroot = []\n"))
	g.put("trust-wrong-version.trust.toml", g.edit(tr, "version = 1\n", "version = 2\n"))
	line := strings.TrimSpace(string(pub))
	g.put("trust-wrong-type.trust.toml", g.edit(tr, fmt.Sprintf("roots = [%q]", line), fmt.Sprintf("roots = %q", line)))
	g.put("trust-negative-tolerance.trust.toml", g.edit(tr, "\"24h\"", "\"-24h\""))
	g.put("trust-bad-revoked.trust.toml", g.edit(tr, "0123456789abcdef", "0123456789ABCDEF"))
	g.put("trust-duplicate-field.trust.toml", g.edit(tr, "version = 1\n", "version = 1\nversion = 1\n"))
	g.put("trust-bad-key-line.pub", append(slices.Clone(pub), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI!!! second-vendor\n"...))
	g.put("trust-invalid-utf8.pub", g.edit(pub, "ssh-ed25519 AAAA", "ssh-ed25519 AAAA\xff\xfe"))
	g.put("trust-bom.pub", bom(pub))
	g.put("trust-date-out-of-range.trust.toml", g.edit(tr, "\"24h\"", "0001-01-01T00:00:00Z"))
	// More roots than a trust file may hold (verify.MaxTrustRoots).
	g.put("trust-too-many-roots.pub", bytes.Repeat(pub, verify.MaxTrustRoots+1))
}

func (g *badGen) usageFiles() {
	u := g.ok("site-1.usage.toml")
	g.put("usage-negative-cameras.usage.toml", g.edit(u, "cameras = 20\n", "cameras = -20\n"))
	g.put("usage-huge-number.usage.toml", g.edit(u, "cameras = 20\n", "cameras = 200000000\n"))
	g.put("usage-unknown-field.usage.toml", g.edit(u, "intercoms = 0\n", "intercom = 0\n"))
	g.put("usage-wrong-type.usage.toml", g.edit(u, "cameras = 20\n", "cameras = \"twenty\"\n"))
	g.put("usage-wrong-version.usage.toml", g.edit(u, "version = 1\n", "version = 2\n"))
	g.put("usage-duplicate-server.usage.toml", append(slices.Clone(u), "\n[[server]]\nname = \"nvr-1\"\ncameras = 2\n"...))
	g.put("usage-invalid-utf8.usage.toml", g.edit(u, "system = \"site-1\"\n", "system = \"site-\xff1\"\n"))
	g.put("usage-date-out-of-range.usage.toml", g.edit(u, "cameras = 20\n", "cameras = 1969-12-31T23:59:59Z\n"))
	g.put("usage-hardware-twice.usage.toml", g.edit(u, "features = []\n", "features = []\nhardware = [\"CAM-7\", \"CAM-7\"]\n"))
	// More servers than a bundle may have (verify.MaxUsageServers).
	var servers bytes.Buffer
	for i := range verify.MaxUsageServers + 1 {
		fmt.Fprintf(&servers, "\n[[server]]\nname = \"nvr-%d\"\ncameras = 1\n", i+2)
	}
	g.put("usage-too-many-servers.usage.toml", append(slices.Clone(u), servers.Bytes()...))
}

// walletRecords splits a wallet into its records: a JSON line and the key
// lines it announces.
func (g *badGen) walletRecords(data []byte) [][]byte {
	var recs [][]byte
	keyLines := regexp.MustCompile(`"key_lines":(\d+)`)
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n') + 1
		n := 0
		if m := keyLines.FindSubmatch(data[:i]); m != nil {
			n, _ = strconv.Atoi(string(m[1]))
		}
		for ; n > 0; n-- {
			i += bytes.IndexByte(data[i:], '\n') + 1
		}
		recs = append(recs, data[:i])
		data = data[i:]
	}
	return recs
}

// rechain sets every record's prev to the SHA-256 of the record before
// it, as a writer would have: the damage is in the content, not the chain.
func rechain(recs [][]byte) []byte {
	prev := regexp.MustCompile(`"prev":"[0-9a-f]*"`)
	for i := 1; i < len(recs); i++ {
		sum := sha256.Sum256(recs[i-1])
		done := false
		recs[i] = prev.ReplaceAllFunc(recs[i], func(b []byte) []byte {
			if done {
				return b
			}
			done = true
			return []byte(`"prev":"` + hex.EncodeToString(sum[:]) + `"`)
		})
	}
	return bytes.Join(recs, nil)
}

func (g *badGen) walletFiles() {
	wl := g.ok("fixture.wallet")
	recs := func() [][]byte {
		var out [][]byte
		for _, r := range g.walletRecords(wl) {
			out = append(out, slices.Clone(r))
		}
		if len(out) != 3 {
			g.t.Fatalf("the wallet has %d records, want init, redeem, allocate", len(out))
		}
		return out
	}
	// edit changes record i and chains the records again.
	edit := func(i int, old, new string) []byte {
		r := recs()
		r[i] = g.edit(r[i], old, new)
		return rechain(r)
	}
	g.put("wallet-truncated.wallet", wl[:len(wl)-40])
	g.put("wallet-unknown-field.wallet", edit(0, `"op":"init"`, `"op":"init","colour":"red"`))
	// A note changed after the fact, the chain left as it was.
	g.put("wallet-broken-chain.wallet", g.edit(wl, "redeemed 3 keys: 360 camera", "redeemed 3 keys: 3600 camera"))
	g.put("wallet-wrong-version.wallet", edit(0, `"version":1`, `"version":2`))
	g.put("wallet-wrong-type.wallet", edit(1, `"seq":1`, `"seq":"1"`))
	// The first key redeemed twice in one record.
	r := recs()
	lines := bytes.SplitAfter(r[1], []byte("\n"))
	r[1] = g.edit(slices.Concat(slices.Concat(lines...), lines[1]), `"key_lines":3`, `"key_lines":4`)
	g.put("wallet-duplicate-key.wallet", rechain(r))
	g.put("wallet-negative-months.wallet", edit(2, `"months":60}],"bundle"`, `"months":-60}],"bundle"`))
	g.put("wallet-invalid-utf8.wallet", edit(1, `"op":"redeem"`, "\"op\":\"redeem\xff\""))
	g.put("wallet-crlf.wallet", crlf(wl))
	g.put("wallet-bom.wallet", bom(wl))
	// Announces ten million keys: a reader must not trust the count.
	g.put("wallet-huge-key-lines.wallet", edit(1, `"key_lines":3`, `"key_lines":10000000`))
	g.put("wallet-date-out-of-range.wallet", edit(1, `"time":"2026-11-22T10:00:00Z"`, `"time":"0001-01-01T00:00:00Z"`))
}

func (g *badGen) catalogFiles() {
	c := g.ok("catalog.toml")
	g.put("catalog-unknown-field.toml", g.edit(c, "grace_days = 30", "grace_days = 30\nrenewal_days = 10"))
	g.put("catalog-wrong-version.toml", g.edit(c, "version = 1\n", "version = 2\n"))
	g.put("catalog-duplicate-product.toml", g.edit(c, "code = \"intercom\"", "code = \"vms\""))
	g.put("catalog-negative-grace.toml", g.edit(c, "grace_days = 30", "grace_days = -30"))
	g.put("catalog-date-out-of-range.toml", g.edit(c, "grace_days = 30", "grace_days = 1969-12-31"))
}

// stateFiles damages the device state; all but the first two are sealed
// again with this machine's MAC key, so the damage reaches the parser.
func (g *badGen) stateFiles() {
	st := g.ok("state/allot.state")
	reseal := func(data []byte) []byte {
		body := data[:bytes.LastIndex(data, []byte("mac "))]
		m := hmac.New(sha256.New, g.stateKey)
		m.Write(body)
		return fmt.Appendf(slices.Clone(body), "mac %x\n", m.Sum(nil))
	}
	if !bytes.Equal(reseal(st), st) {
		g.t.Fatal("the device state's MAC does not come out the same")
	}
	seq := regexp.MustCompile(`(?m)^bundle .* 1$`).Find(st)
	g.put("state-mac-mismatch/allot.state", g.edit(st, string(seq), string(seq[:len(seq)-1])+"0"))
	g.put("state-truncated/allot.state", st[:len(st)-30])
	g.put("state-bad-time/allot.state", reseal(g.edit(st, "last_seen 2026-11-22T10:00:00Z", "last_seen 2026-13-22T10:00:00Z")))
	g.put("state-unknown-line/allot.state", reseal(g.edit(st, "last_seen", "colour red\nlast_seen")))
	g.put("state-huge-sequence/allot.state", reseal(g.edit(st, string(seq), string(seq[:len(seq)-1])+"99999999999999999999")))
	g.put("state-crlf/allot.state", crlf(st))
	g.put("state-date-out-of-range/allot.state", reseal(g.edit(st, "last_seen 2026-11-22T10:00:00Z", "last_seen 0001-01-01T00:00:00Z")))
}

func (g *badGen) signerFiles() {
	key := g.ok("vendor.key")
	g.put("signer-not-armored.key", []byte("vendor signing key: see the safe in room 3\n"))
	lines := bytes.SplitAfter(key, []byte("\n"))
	g.put("signer-truncated.key", slices.Concat(lines[:len(lines)/2]...))
	g.put("signer-bom.key", bom(key))
	// An age file that opens with the passphrase but holds no OpenSSH key.
	const notKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n"
	if old, err := os.ReadFile(filepath.Join(badDir, "signer-not-ed25519.key")); err == nil && g.opens(old, notKey) {
		g.put("signer-not-ed25519.key", old)
	} else {
		g.put("signer-not-ed25519.key", g.ageEncrypt(notKey))
	}

	pub := g.ok("reseller.pub")
	f := strings.Fields(string(pub))
	wire, err := base64.StdEncoding.DecodeString(f[1])
	g.check(err)
	rsa := slices.Concat([]byte("\x00\x00\x00\x07ssh-rsa\x00\x00\x00\x03\x01\x00\x01\x00\x00\x00\x81\x00"), bytes.Repeat([]byte{0xc5}, 128))
	g.put("pub-rsa.pub", []byte("ssh-rsa "+base64.StdEncoding.EncodeToString(rsa)+" reseller\n"))
	g.put("pub-truncated.pub", []byte(f[0]+" "+f[1][:len(f[1])/2]+"\n"))
	g.put("pub-trailing-bytes.pub", []byte(f[0]+" "+base64.StdEncoding.EncodeToString(append(wire, 0, 0, 0, 4, 'j', 'u', 'n', 'k'))+" reseller\n"))
	g.put("pub-empty.pub", []byte{})
	// A comment longer than a whole certificate may be: a certificate made
	// for this key would be one no reader accepts.
	g.put("pub-long-comment.pub", []byte(f[0]+" "+f[1]+" reseller-"+strings.Repeat("x", cert.MaxDocumentSize)+"\n"))
}

// ageEncrypt encrypts text, armored, with the passphrase.
func (g *badGen) ageEncrypt(text string) []byte {
	r, err := keyfile.PassphraseRecipient(badPassphrase, 10)
	g.check(err)
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, r)
	g.check(err)
	_, err = io.WriteString(w, text)
	g.check(err)
	g.check(w.Close())
	g.check(aw.Close())
	return buf.Bytes()
}

// opens reports whether data is text, armored and encrypted with the
// passphrase.
func (g *badGen) opens(data []byte, text string) bool {
	id, err := keyfile.PassphraseIdentity(badPassphrase)
	g.check(err)
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(data)), id)
	if err != nil {
		return false
	}
	got, err := io.ReadAll(r)
	return err == nil && string(got) == text
}
