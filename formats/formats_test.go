package formats_test

// The worked examples of the specs in this directory are real output. This
// test makes every example again from fixed seeds, a fixed clock and
// deterministic readers, with the same package APIs the allot command uses,
// and fails if an example in a spec differs from what the code makes now.
// It then reads each example back out of the spec and runs the readers on
// it: what a spec shows parses and verifies, and each damaged example fails
// with exactly the error the spec quotes.
//
//	go test ./formats           check the specs
//	go test ./formats -update   rewrite the examples in the specs
//
// An example is the fenced block right after a line
// "<!-- example: NAME -->". Four examples hold age ciphertext or an age
// identity, which age makes from fresh randomness: the test keeps what the
// spec holds as long as it still decrypts to the expected key, and checks
// it by decrypting it; everything derived from it is compared byte for byte.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/rogpeppe/go-internal/txtar"
	"golang.org/x/crypto/ssh"

	"allot.dev/allot/pkg/allocate"
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

var update = flag.Bool("update", false, "rewrite the worked examples in the specs")

// The fixed inputs every example is made from. The specs quote them.
const (
	passphrase        = "correct horse battery staple"
	exampleWorkFactor = 10 // scrypt log2(N): fast for examples; allot uses keyfile.DefaultWorkFactor
	who               = "installer@site-42"
)

var (
	t0        = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) // certify, issue, init, redeem, allocate
	verifyNow = time.Date(2027, 5, 22, 10, 0, 0, 0, time.UTC)  // the device checks its bundle
	renewNow  = time.Date(2027, 10, 1, 9, 0, 0, 0, time.UTC)   // the renewal of device-state.md
)

// specs lists every spec; each must exist, and the examples are kept in them.
var specs = []string{
	"README.md", "signer.md", "certificate.md", "license-key.md", "system-file.md", "wallet.md",
	"bundle.md", "trust-file.md", "usage-file.md", "catalog.md", "device-state.md", "threat-model.md",
	"json.md", "remind-state.md",
}

// seedKey returns the example signer name: its Ed25519 seed is the SHA-256
// of "allot formats example: " and the name.
func seedKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("allot formats example: " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func pubOf(priv ed25519.PrivateKey) ed25519.PublicKey { return priv.Public().(ed25519.PublicKey) }

// detRand is the deterministic stand-in for crypto/rand: the concatenation
// of SHA-256("allot formats example: LABEL N") for N = 0, 1, 2, …
type detRand struct {
	label string
	n     int
	buf   []byte
}

func newRand(label string) *detRand { return &detRand{label: label} }

func (r *detRand) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) {
		h := sha256.Sum256(fmt.Appendf(nil, "allot formats example: %s %d", r.label, r.n))
		r.n++
		r.buf = append(r.buf, h[:]...)
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// ---------------------------------------------------------------------------
// Examples in Markdown

var markerRE = regexp.MustCompile(`^<!-- example: ([A-Za-z0-9._-]+) -->$`)

type block struct {
	name       string
	start, end int // byte range of the content inside the file
	content    string
}

type specFile struct {
	name   string
	path   string
	text   string
	blocks map[string]block
	order  []string
}

func readSpec(dir, name string) (*specFile, error) {
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &specFile{name: name, path: path, text: string(data), blocks: map[string]block{}}
	off := 0
	lines := strings.SplitAfter(s.text, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSuffix(lines[i], "\n")
		off += len(lines[i])
		m := markerRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name := m[1]
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
			return nil, fmt.Errorf("%s:%d: example %s: no fenced block after the marker", path, i+1, name)
		}
		i++
		off += len(lines[i])
		start := off
		for i++; ; i++ {
			if i >= len(lines) {
				return nil, fmt.Errorf("%s: example %s: the fenced block does not end", path, name)
			}
			if strings.TrimSuffix(lines[i], "\n") == "```" {
				break
			}
			off += len(lines[i])
		}
		end := off
		off += len(lines[i])
		if _, dup := s.blocks[name]; dup {
			return nil, fmt.Errorf("%s: example %s appears twice", path, name)
		}
		s.blocks[name] = block{name: name, start: start, end: end, content: s.text[start:end]}
		s.order = append(s.order, name)
	}
	return s, nil
}

// example returns the content of an example block, failing the test if the
// spec has none of that name.
func example(t *testing.T, specName, name string) string {
	t.Helper()
	s, err := readSpec(specDir(t), specName)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := s.blocks[name]
	if !ok {
		t.Fatalf("%s: no example %s", specName, name)
	}
	return b.content
}

var specDirOnce = sync.OnceValues(func() (string, error) { return filepath.Abs(".") })

func specDir(t *testing.T) string {
	t.Helper()
	d, err := specDirOnce()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// ---------------------------------------------------------------------------
// The generator

// gen makes every example. It works in a temporary folder, which is also
// the current directory, so that file names in transcripts are short.
type gen struct {
	t       *testing.T
	dir     string // the work folder
	specDir string
	old     map[string]*specFile         // the specs as they are
	out     map[string]map[string]string // spec → example → content

	vendor, vendor2, distributor, reseller, walletPriv ed25519.PrivateKey

	distCert, resCert *cert.Certificate
	resChain          cert.Chain
	key1, key2, key3  *licensekey.Key
	keyHW             *licensekey.Key
	keyText           map[*licensekey.Key]string
	sys               *system.System
	sysFile           []byte
	nvr1, nvr2, other []hwid.Identifier
	walletFile        []byte
	bundleDoc         []byte
	renewalDoc        []byte
	usageDoc          []byte
	verifyBin         string
}

func (g *gen) put(spec, name, content string) {
	g.t.Helper()
	if !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	if g.out[spec] == nil {
		g.out[spec] = map[string]string{}
	}
	if _, dup := g.out[spec][name]; dup {
		g.t.Fatalf("%s: example %s made twice", spec, name)
	}
	g.out[spec][name] = content
}

// current returns the content an example has in its spec now, if any.
func (g *gen) current(spec, name string) (string, bool) {
	s := g.old[spec]
	if s == nil {
		return "", false
	}
	b, ok := s.blocks[name]
	return b.content, ok
}

// pinned returns the spec's content of a randomized example if valid
// accepts it, or else a fresh one.
func (g *gen) pinned(spec, name string, valid func(string) error, fresh func() string) string {
	g.t.Helper()
	if cur, ok := g.current(spec, name); ok {
		err := valid(cur)
		if err == nil {
			g.put(spec, name, cur)
			return cur
		}
		if !*update {
			g.t.Errorf("%s: example %s: %v", spec, name, err)
		}
	} else if !*update {
		g.t.Errorf("%s: example %s is missing", spec, name)
	}
	s := fresh()
	if err := valid(s); err != nil {
		g.t.Fatalf("%s: example %s: a fresh one does not check: %v", spec, name, err)
	}
	g.put(spec, name, s)
	return s
}

// external records an example that needs a tool which may be missing; if
// it is, the spec's example is kept and not checked.
func (g *gen) external(spec, name string, tools []string, fresh func() string) {
	g.t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if *update {
				g.t.Fatalf("%s: example %s needs %s", spec, name, tool)
			}
			g.t.Logf("%s: example %s not checked: %s is not installed", spec, name, tool)
			cur, _ := g.current(spec, name)
			g.put(spec, name, cur)
			return
		}
	}
	g.put(spec, name, fresh())
}

func (g *gen) write(name string, data []byte) {
	g.t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		g.t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		g.t.Fatal(err)
	}
}

func (g *gen) must(err error) {
	g.t.Helper()
	if err != nil {
		g.t.Fatal(err)
	}
}

// damage describes a damaged input and the error a reader gives for it,
// in the one form every spec uses.
func damage(input, reader string, err error) string {
	if err == nil {
		return fmt.Sprintf("input:  %s\nreader: %s\nerror:  (none: the damage was not detected)\n", input, reader)
	}
	return fmt.Sprintf("input:  %s\nreader: %s\nerror:  %s\n", input, reader, err)
}

// replaceOnce replaces the single occurrence of old in s, failing if there
// is not exactly one, so a damaged example always damages what it says.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("%q occurs %d times, want once", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

func TestExamples(t *testing.T) {
	dir := specDir(t)
	g := &gen{t: t, specDir: dir, old: map[string]*specFile{}, out: map[string]map[string]string{},
		keyText: map[*licensekey.Key]string{}}
	for _, name := range specs {
		s, err := readSpec(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		g.old[name] = s
	}
	g.verifyBin = buildVerify(t)
	g.dir = t.TempDir()
	t.Chdir(g.dir)

	g.actors()
	g.signer()
	g.certificate()
	g.licenseKey()
	g.systemFile()
	g.wallet()
	g.bundle()
	g.trustFile()
	g.usageFile()
	g.catalog()
	g.deviceState()
	g.remindState()
	g.jsonOutput()
	if t.Failed() && !*update {
		return
	}

	for _, name := range specs {
		s := g.old[name]
		made := g.out[name]
		for _, b := range s.order {
			if _, ok := made[b]; !ok {
				t.Errorf("%s: example %s: nothing makes it", name, b)
			}
		}
		for _, b := range slices.Sorted(maps.Keys(made)) {
			cur, ok := s.blocks[b]
			switch {
			case !ok:
				t.Errorf("%s: example %s is missing; add a marker <!-- example: %s --> and a fenced block", name, b, b)
			case cur.content != made[b] && !*update:
				t.Errorf("%s: example %s differs from what the code makes now (go test ./formats -update rewrites it):\n%s",
					name, b, lineDiff(cur.content, made[b]))
			}
		}
		if *update {
			text := s.text
			for i := len(s.order) - 1; i >= 0; i-- {
				b := s.blocks[s.order[i]]
				if c, ok := made[b.name]; ok {
					text = text[:b.start] + c + text[b.end:]
				}
			}
			if text != s.text {
				if err := os.WriteFile(s.path, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// lineDiff shows the first line where two texts differ.
func lineDiff(have, want string) string {
	h, w := strings.Split(have, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(h), len(w)); i++ {
		var a, b string
		if i < len(h) {
			a = h[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n  spec: %q\n  code: %q", i+1, a, b)
		}
	}
	return "(same lines)"
}

// buildVerify builds the device binary; its transcripts are examples.
func buildVerify(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build allot-verify: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "allot-verify")
	cmd := exec.Command(goBin, "build", "-o", bin, "allot.dev/allot/cmd/allot-verify")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building allot-verify: %v\n%s", err, out)
	}
	return bin
}

// ---------------------------------------------------------------------------
// Transcripts: commands run in the work folder, shown as a terminal shows
// them (standard error first: allot-verify writes its error lines before
// the reports), each followed by its exit status.

type transcript struct {
	g   *gen
	env []string
	b   strings.Builder
}

func (g *gen) transcript() *transcript { return &transcript{g: g} }

// export sets an environment variable for the commands that follow.
func (tr *transcript) export(name, value string) {
	tr.env = append(tr.env, name+"="+value)
	fmt.Fprintf(&tr.b, "$ export %s=%s\n", name, value)
}

// verify runs allot-verify with args and returns its exit code.
func (tr *transcript) verify(args ...string) int {
	tr.g.t.Helper()
	return tr.run(tr.g.verifyBin, "allot-verify", args...)
}

func (tr *transcript) run(path, shown string, args ...string) int {
	tr.g.t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = tr.environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		tr.g.t.Fatalf("%s: %v", shown, err)
	}
	fmt.Fprintf(&tr.b, "$ %s %s\n%s%s$ echo $?\n%d\n", shown, strings.Join(args, " "), stderr.String(), stdout.String(), code)
	return code
}

// sh runs a shell command line and shows it with its output.
func (tr *transcript) sh(line string) {
	tr.g.t.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Env = tr.environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		tr.g.t.Fatalf("%s: %v\n%s", line, err, out)
	}
	fmt.Fprintf(&tr.b, "$ %s\n%s", line, out)
}

func (tr *transcript) String() string { return tr.b.String() }

// environ is the test's environment without allot's variables, so that a
// developer's ALLOT_TRUST or ALLOT_NOW cannot change a transcript, plus
// what the transcript exported.
func (tr *transcript) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ALLOT_") {
			env = append(env, kv)
		}
	}
	return append(env, tr.env...)
}

// ---------------------------------------------------------------------------
// The actors and their artifacts

func (g *gen) actors() {
	g.vendor = seedKey("vendor")
	g.vendor2 = seedKey("vendor-2028")
	g.distributor = seedKey("distributor")
	g.reseller = seedKey("reseller")
	g.walletPriv = seedKey("wallet")
}

// ---------------------------------------------------------------------------
// signer.md

func (g *gen) signer() {
	const spec = "signer.md"
	pub := pubOf(g.vendor)
	line := sign.MarshalAuthorized(pub, "vendor") + "\n"
	g.put(spec, "vendor.pub", line)
	g.write("vendor.pub", []byte(line))

	wire := sign.Wire(pub)
	var b strings.Builder
	fmt.Fprintf(&b, "seed         %x\n", g.vendor.Seed())
	fmt.Fprintf(&b, "public key   %x\n", []byte(pub))
	fmt.Fprintf(&b, "wire form    %x  string \"ssh-ed25519\"\n", wire[:4+11])
	fmt.Fprintf(&b, "             %x  string key (32 bytes)\n", wire[15:19])
	fmt.Fprintf(&b, "             %x\n", wire[19:])
	sum := sha256.Sum256(wire)
	fmt.Fprintf(&b, "SHA-256      %x\n", sum[:])
	fmt.Fprintf(&b, "key id       %s  (the first 8 bytes)\n", sign.IDOf(pub))
	fmt.Fprintf(&b, "fingerprint  %s\n", sign.Fingerprint(pub))
	g.put(spec, "vendor.id", b.String())

	g.external(spec, "ssh-keygen-l.txt", []string{"ssh-keygen"}, func() string {
		tr := g.transcript()
		tr.sh("ssh-keygen -l -f vendor.pub")
		return tr.String()
	})

	// The passphrase-encrypted key file, and its plaintext.
	encrypted := g.pinned(spec, "vendor.key", func(s string) error {
		return checkDecrypts(s, g.vendor, passphraseIdentity())
	}, func() string {
		r, err := keyfile.PassphraseRecipient(passphrase, exampleWorkFactor)
		g.must(err)
		data, err := keyfile.Encrypt(g.vendor, "vendor", r)
		g.must(err)
		return string(data)
	})
	g.write("vendor.key", []byte(encrypted))
	plain := ageDecrypt(g.t, encrypted, passphraseIdentity())
	g.put(spec, "vendor.ssh", string(plain))

	// The same key encrypted to an age identity.
	idText := g.pinned(spec, "identity.txt", func(s string) error {
		_, err := age.ParseX25519Identity(strings.TrimSpace(s))
		return err
	}, func() string {
		id, err := age.GenerateX25519Identity()
		g.must(err)
		return id.String() + "\n"
	})
	g.write("identity.txt", []byte(idText))
	id, err := age.ParseX25519Identity(strings.TrimSpace(idText))
	g.must(err)
	idEncrypted := g.pinned(spec, "vendor-identity.key", func(s string) error {
		return checkDecrypts(s, g.vendor, id)
	}, func() string {
		data, err := keyfile.Encrypt(g.vendor, "vendor", id.Recipient())
		g.must(err)
		return string(data)
	})
	g.write("vendor-identity.key", []byte(idEncrypted))
	g.external(spec, "age-cli.txt", []string{"go", "ssh-keygen"}, func() string {
		tr := g.transcript()
		tr.sh(fmt.Sprintf("go -C %s tool age -d -i %s -o %s %s", g.specDir, filepath.Join(g.dir, "identity.txt"),
			filepath.Join(g.dir, "vendor.ssh"), filepath.Join(g.dir, "vendor-identity.key")))
		s := tr.String()
		// The command ran from the module (go tool needs it); show it as a
		// user types it with age installed.
		s = "$ age -d -i identity.txt -o vendor.ssh vendor-identity.key\n" + s[strings.Index(s, "\n")+1:]
		tr2 := g.transcript()
		tr2.sh("chmod 600 vendor.ssh && ssh-keygen -y -f vendor.ssh")
		return s + tr2.String()
	})

	// Damaged: a public key line with four base64 characters cut off.
	cut := strings.Fields(line)
	bad := cut[0] + " " + cut[1][:len(cut[1])-4] + " " + cut[2]
	_, err = sign.ParseAuthorized(bad)
	g.put(spec, "vendor-cut.err", damage(bad, "sign.ParseAuthorized", err))
}

func passphraseIdentity() age.Identity {
	id, err := keyfile.PassphraseIdentity(passphrase)
	if err != nil {
		panic(err)
	}
	return id
}

func checkDecrypts(s string, want ed25519.PrivateKey, id age.Identity) error {
	priv, err := keyfile.Decrypt([]byte(s), id)
	if err != nil {
		return err
	}
	if !priv.Equal(want) {
		return errors.New("decrypts to another key")
	}
	return nil
}

// ageDecrypt returns the plaintext of an armored age file: the OpenSSH
// private key PEM that keyfile.Encrypt encrypted.
func ageDecrypt(t *testing.T, s string, id age.Identity) []byte {
	t.Helper()
	r, err := age.Decrypt(armorReader(s), id)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

// sshsigBreakdown lays out the SSHSIG blob of an armored signature field by
// field, as signer.md describes it, and fails if the blob does not follow
// that layout.
func sshsigBreakdown(t *testing.T, armored []byte, payload []byte) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(armored)), "\n")
	blob, err := base64.StdEncoding.DecodeString(strings.Join(lines[1:len(lines)-1], ""))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	r := blob
	take := func(n int) []byte {
		if len(r) < n {
			t.Fatalf("SSHSIG blob ends early")
		}
		v := r[:n]
		r = r[n:]
		return v
	}
	str := func() ([]byte, []byte) {
		l := take(4)
		return l, take(int(binary.BigEndian.Uint32(l)))
	}
	magic := take(6)
	fmt.Fprintf(&b, "%-18s %x  %q\n", "MAGIC_PREAMBLE", magic, magic)
	fmt.Fprintf(&b, "%-18s %x\n", "SIG_VERSION", take(4))
	l, pk := str()
	fmt.Fprintf(&b, "%-18s %x  (%d bytes: the signer's public key, wire form)\n", "publickey", l, len(pk))
	l, ns := str()
	fmt.Fprintf(&b, "%-18s %x  %q\n", "namespace", l, ns)
	l, res := str()
	fmt.Fprintf(&b, "%-18s %x  (%d bytes)\n", "reserved", l, len(res))
	l, ha := str()
	fmt.Fprintf(&b, "%-18s %x  %q\n", "hash_algorithm", l, ha)
	l, sigBlob := str()
	fmt.Fprintf(&b, "%-18s %x  (%d bytes:)\n", "signature", l, len(sigBlob))
	r2 := sigBlob
	tl := r2[:4]
	typ := r2[4 : 4+binary.BigEndian.Uint32(tl)]
	r2 = r2[4+len(typ):]
	sl := r2[:4]
	sig := r2[4:]
	fmt.Fprintf(&b, "%-18s %x  %q\n", "", tl, typ)
	fmt.Fprintf(&b, "%-18s %x  (%d bytes of Ed25519 signature)\n", "", sl, len(sig))
	if len(r) != 0 || len(sig) != ed25519.SignatureSize || int(binary.BigEndian.Uint32(sl)) != len(sig) {
		t.Fatalf("SSHSIG blob does not follow the layout")
	}
	h := sha512.Sum512(payload)
	fmt.Fprintf(&b, "\nSHA-512 of the payload (%d bytes):\n%x\n%x\n", len(payload), h[:32], h[32:])
	// The message Ed25519 signs.
	var msg []byte
	msg = append(msg, "SSHSIG"...)
	for _, s := range [][]byte{ns, nil, ha, h[:]} {
		msg = binary.BigEndian.AppendUint32(msg, uint32(len(s)))
		msg = append(msg, s...)
	}
	if !ed25519.Verify(ed25519.PublicKey(pk[len(pk)-32:]), msg, sig) {
		t.Fatalf("the signed data is not what signer.md says")
	}
	fmt.Fprintf(&b, "\nsigned data (%d bytes) = \"SSHSIG\" || string namespace || string \"\" || string \"sha512\" || string SHA-512(payload)\n", len(msg))
	return b.String()
}

// ---------------------------------------------------------------------------
// certificate.md

var (
	distScope = cert.Scope{
		Products: []string{"vms", "intercom"},
		Kinds:    []licensekey.Kind{licensekey.Subscription, licensekey.Hardware, licensekey.Expansion},
		Licenses: map[string]int{"camera": 100, "analytics-l1": 20, "analytics-l2": 20, "analytics-l4": 10, "intercom": 50},
		Features: []string{"remote-door-opening", "web-dialer"}, MaxTermMonths: 36, Bearer: true,
		Binding: map[string]int{"vms": 2},
	}
	resScope = cert.Scope{
		Products: []string{"vms", "intercom"},
		Kinds:    []licensekey.Kind{licensekey.Subscription},
		Licenses: map[string]int{"camera": 50, "analytics-l1": 10, "intercom": 20},
		Features: []string{"remote-door-opening"}, MaxTermMonths: 24,
		Binding: map[string]int{"vms": 2},
	}
)

// The policies of the example chain: the distributor's is the catalog's,
// as `allot signer certify` gives a root's first certificate; the reseller's
// narrows the growth allowance to 50%, as --growth-allowance 50 does.
func examplePolicies() (dist, res cert.Policy) {
	dist = catalog.Default().Policy
	res = dist
	res.GrowthAllowancePercent = 50
	return dist, res
}

func (g *gen) certificate() {
	const spec = "certificate.md"
	var err error
	distPolicy, resPolicy := examplePolicies()
	g.distCert, err = cert.Issue(g.vendor, nil, cert.Template{
		Role: "distributor", Subject: sign.PublicKey{Key: pubOf(g.distributor), Comment: "distributor"},
		ValidFrom: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ValidUntil: time.Date(2029, 11, 1, 0, 0, 0, 0, time.UTC),
		Scope: distScope, Policy: &distPolicy,
	}, newRand("distributor certificate"))
	g.must(err)
	distChain := cert.Chain{g.distCert}
	g.resCert, err = cert.Issue(g.distributor, distChain, cert.Template{
		Role: "reseller", Subject: sign.PublicKey{Key: pubOf(g.reseller), Comment: "reseller"},
		ValidFrom: time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC), ValidUntil: time.Date(2028, 11, 15, 0, 0, 0, 0, time.UTC),
		Scope: resScope, Policy: &resPolicy,
	}, newRand("reseller certificate"))
	g.must(err)
	g.resChain = cert.Chain{g.distCert, g.resCert}
	g.put(spec, "distributor.cert", string(distChain.Document()))
	g.put(spec, "reseller.cert", string(g.resChain.Document()))
	g.write("distributor.cert", distChain.Document())
	g.write("reseller.cert", g.resChain.Document())

	payload, armored, _, err := sign.Split(g.distCert.Document())
	g.must(err)
	g.put("signer.md", "sshsig-blob.txt", sshsigBreakdown(g.t, armored, payload))
	crlf := strings.ReplaceAll(string(g.distCert.Document()), "\n", "\r\n")
	_, _, err = sign.Open([]byte(crlf), cert.Namespace)
	g.put("signer.md", "crlf.err", damage("distributor.cert (certificate.md) with every LF replaced by CR LF", "sign.Open", err))

	// Damaged: the reseller's camera maximum raised in the file.
	doc2 := string(g.resCert.Document())
	edited := string(g.distCert.Document()) + replaceOnce(g.t, doc2, "camera = 50\n", "camera = 500\n")
	_, err = cert.ParseChain([]byte(edited))
	g.put(spec, "reseller-edited.err", damage(`reseller.cert with "camera = 50" changed to "camera = 500" in certificate 2`, "cert.ParseChain", err))

	// A certificate wider than its parent, signed correctly: issued without
	// naming the parent chain, which is the only way to get one.
	wide, err := cert.Issue(g.distributor, nil, cert.Template{
		Role: "reseller", Subject: sign.PublicKey{Key: pubOf(g.reseller), Comment: "reseller"},
		ValidFrom: time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC), ValidUntil: time.Date(2028, 11, 15, 0, 0, 0, 0, time.UTC),
		Scope: cert.Scope{Products: []string{"vms"}, Kinds: []licensekey.Kind{licensekey.Subscription},
			Licenses: map[string]int{"camera": 500}, MaxTermMonths: 24},
	}, newRand("wide certificate"))
	g.must(err)
	wideFile := append(append([]byte{}, g.distCert.Document()...), wide.Document()...)
	chain, err := cert.ParseChain(wideFile)
	g.must(err)
	err = chain.Verify(exampleTrust(g))
	g.put(spec, "reseller-wide.err", damage("a chain whose certificate 2 grants camera = 500 under a parent that has camera = 100",
		"cert.ParseChain, then Chain.Verify", err))

	// A certificate whose policy is laxer than its parent's, made the same
	// way: a longer grace than the distributor allows.
	lax := resPolicy
	lax.GraceDays = 60
	laxCert, err := cert.Issue(g.distributor, nil, cert.Template{
		Role: "reseller", Subject: sign.PublicKey{Key: pubOf(g.reseller), Comment: "reseller"},
		ValidFrom: time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC), ValidUntil: time.Date(2028, 11, 15, 0, 0, 0, 0, time.UTC),
		Scope: resScope, Policy: &lax,
	}, newRand("lax certificate"))
	g.must(err)
	chain, err = cert.ParseChain(append(append([]byte{}, g.distCert.Document()...), laxCert.Document()...))
	g.must(err)
	err = chain.Verify(exampleTrust(g))
	g.put(spec, "reseller-policy.err", damage("a chain whose certificate 2 has grace_days = 60 under a parent that has grace_days = 30",
		"cert.ParseChain, then Chain.Verify", err))
}

func exampleTrust(g *gen) *cert.Trust {
	return &cert.Trust{Roots: []ed25519.PublicKey{pubOf(g.vendor)}, Revoked: map[string]bool{}}
}

// ---------------------------------------------------------------------------
// license-key.md

func (g *gen) licenseKey() {
	const spec = "license-key.md"
	walletID := licensekey.WalletIDOf(pubOf(g.walletPriv))
	day := allocate.Day(t0)
	issue := func(priv ed25519.PrivateKey, label string, k *licensekey.Key) *licensekey.Key {
		text, err := k.Sign(priv, newRand(label))
		g.must(err)
		parsed, err := licensekey.Parse(text)
		g.must(err)
		g.keyText[parsed] = text
		return parsed
	}
	g.key1 = issue(g.reseller, "key 1", &licensekey.Key{Kind: licensekey.Subscription, Issued: day, TermMonths: 12,
		Product: "vms", Licenses: []licensekey.License{{Type: "camera", Quantity: 10}, {Type: "analytics-l1", Quantity: 4}}, Wallet: walletID})
	g.key2 = issue(g.reseller, "key 2", &licensekey.Key{Kind: licensekey.Subscription, Issued: day, TermMonths: 12,
		Product: "vms", Licenses: []licensekey.License{{Type: "camera", Quantity: 10}}, Wallet: walletID})
	g.key3 = issue(g.reseller, "key 3", &licensekey.Key{Kind: licensekey.Subscription, Issued: day, TermMonths: 12,
		Product: "intercom", Licenses: []licensekey.License{{Type: "intercom", Quantity: 4}},
		Features: []string{"remote-door-opening"}, Wallet: walletID})
	g.keyHW = issue(g.distributor, "hardware key", &licensekey.Key{Kind: licensekey.Hardware, Issued: day,
		Product: "vms", Licenses: []licensekey.License{{Type: "camera", Quantity: 16}}, Bearer: true, Device: "NVR-2-SN-48213"})

	keys := g.keyText[g.key1] + "\n" + g.keyText[g.key2] + "\n" + g.keyText[g.key3] + "\n"
	g.put(spec, "keys.txt", keys)
	g.write("keys.txt", []byte(keys))
	g.put(spec, "key-1.layout", keyLayout(g.t, g.key1))
	g.put(spec, "key-1.check", checkWalkthrough(g.t, g.keyText[g.key1], 2))
	g.put(spec, "key-1.facts", keyFacts(g.key1))
	g.put(spec, "key-hw.txt", g.keyText[g.keyHW])
	g.put(spec, "key-hw.layout", keyLayout(g.t, g.keyHW))

	// The domain-separated message and signature of key 1, for signer.md.
	raw := g.key1.Raw()
	signed, sig := raw[:len(raw)-ed25519.SignatureSize], raw[len(raw)-ed25519.SignatureSize:]
	msg := append(append([]byte(licensekey.SignatureContext), 0), signed...)
	if !ed25519.Verify(pubOf(g.reseller), msg, sig) {
		g.t.Fatal("the key's signature is not over context || 0 || key bytes")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "context    %q\n", licensekey.SignatureContext)
	fmt.Fprintf(&b, "message    %d bytes: key 1 without its signature (license-key.md)\n", len(signed))
	fmt.Fprintf(&b, "signed     %d bytes = context || 00 || message:\n", len(msg))
	writeHex(&b, msg, "           ")
	fmt.Fprintf(&b, "signer     %s\n", sign.MarshalAuthorized(pubOf(g.reseller), "reseller"))
	fmt.Fprintf(&b, "signature  Ed25519(signed), 64 bytes:\n")
	writeHex(&b, sig, "           ")
	g.put("signer.md", "context-signature.txt", b.String())

	// Aliases and case: the same key, typed sloppily.
	sloppy := strings.ToLower(g.keyText[g.key1])
	sloppy = strings.ReplaceAll(sloppy, "0", "o")
	sloppy = strings.ReplaceAll(sloppy, "1", "l")
	sloppy = strings.ReplaceAll(sloppy, "-", "")
	k, err := licensekey.Parse(sloppy)
	g.must(err)
	if k.ID() != g.key1.ID() || k.Text() != g.keyText[g.key1] {
		g.t.Fatal("the sloppy key is not key 1")
	}
	g.put(spec, "key-1-sloppy.txt", fmt.Sprintf("typed:   %s\nparsed:  %s\nkey id:  %s\n", sloppy, k.Text(), k.ID()))
	// Inside a signed file, only the canonical text is a key.
	_, err = licensekey.ParseCanonical(sloppy)
	g.put(spec, "key-1-sloppy.err", damage(sloppy, "licensekey.ParseCanonical", err))

	// Damaged: one character mistyped in group 3.
	text := g.keyText[g.key1]
	groups := strings.Split(text, "-")
	orig := groups[2]
	c := orig[1]
	repl := byte('7')
	if c == '7' {
		repl = '8'
	}
	groups[2] = orig[:1] + string(repl) + orig[2:]
	bad := strings.Join(groups, "-")
	_, err = licensekey.Parse(bad)
	g.put(spec, "key-1-typo.err", damage(bad, "licensekey.Parse", err))

	// Damaged: group 4 left out.
	groups = strings.Split(text, "-")
	short := strings.Join(append(slices.Clone(groups[:3]), groups[4:]...), "-")
	_, err = licensekey.Parse(short)
	g.put(spec, "key-1-group.err", damage(short, "licensekey.Parse", err))
}

func writeHex(b *strings.Builder, data []byte, indent string) {
	for len(data) > 0 {
		n := min(32, len(data))
		fmt.Fprintf(b, "%s%x\n", indent, data[:n])
		data = data[n:]
	}
}

// keyLayout decodes a key's binary form field by field, as license-key.md
// describes it, and fails if the bytes do not follow the description.
func keyLayout(t *testing.T, k *licensekey.Key) string {
	t.Helper()
	raw := k.Raw()
	var b strings.Builder
	off := 0
	field := func(n int, desc string) []byte {
		if off+n > len(raw) {
			t.Fatalf("key layout: %s runs past the end", desc)
		}
		v := raw[off : off+n]
		hexs := hex.EncodeToString(v)
		first := true
		for first || hexs != "" {
			w := min(32, len(hexs))
			if first {
				fmt.Fprintf(&b, "%04x  %-32s  %s\n", off, hexs[:w], desc)
			} else {
				fmt.Fprintf(&b, "      %-32s\n", hexs[:w])
			}
			hexs = hexs[w:]
			first = false
		}
		off += n
		return v
	}
	uvarint := func(desc func(uint64) string) uint64 {
		v, n := binary.Uvarint(raw[off:])
		if n <= 0 {
			t.Fatal("key layout: bad uvarint")
		}
		field(n, desc(v))
		return v
	}
	name := func(what string) string {
		n := int(raw[off])
		s := string(raw[off+1 : off+1+n])
		field(1+n, fmt.Sprintf("%s: length %d, %q", what, n, s))
		return s
	}
	expect := func(ok bool, what string) {
		if !ok {
			t.Fatalf("key layout: %s does not match the parsed key", what)
		}
	}
	v := field(1, "version 1")
	expect(v[0] == licensekey.Version, "version")
	v = field(1, fmt.Sprintf("kind %d (%s)", raw[off], licensekey.Kind(raw[off])))
	expect(licensekey.Kind(v[0]) == k.Kind, "kind")
	v = field(8, "issuer key id")
	expect(bytes.Equal(v, k.Issuer[:]), "issuer")
	v = field(8, "serial")
	expect(bytes.Equal(v, k.Serial[:]), "serial")
	d := uvarint(func(d uint64) string {
		return fmt.Sprintf("issue date: uvarint %d, days since 1970-01-01 = %s", d, time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly))
	})
	expect(int64(d)*86400 == k.Issued.Unix(), "issue date")
	term := uvarint(func(m uint64) string {
		if m == 0 {
			return "term: uvarint 0 (perpetual)"
		}
		return fmt.Sprintf("term: uvarint %d months", m)
	})
	expect(int(term) == k.TermMonths, "term")
	expect(name("product") == k.Product, "product")
	n := int(raw[off])
	field(1, fmt.Sprintf("license count %d", n))
	expect(n == len(k.Licenses), "license count")
	for i := range n {
		expect(name("license type") == k.Licenses[i].Type, "license type")
		q := uvarint(func(q uint64) string { return fmt.Sprintf("quantity: uvarint %d", q) })
		expect(int(q) == k.Licenses[i].Quantity, "quantity")
	}
	n = int(raw[off])
	field(1, fmt.Sprintf("feature count %d", n))
	expect(n == len(k.Features), "feature count")
	for i := range n {
		expect(name("feature") == k.Features[i], "feature")
	}
	flags := raw[off]
	var fl []string
	if flags&1 != 0 {
		fl = append(fl, "0x01 wallet id follows")
	}
	if flags&2 != 0 {
		fl = append(fl, "0x02 device follows")
	}
	if flags == 0 {
		fl = append(fl, "none: a bearer key tied to no device")
	} else if flags&1 == 0 {
		fl = append(fl, "no wallet: a bearer key")
	}
	field(1, fmt.Sprintf("flags %#02x: %s", flags, strings.Join(fl, ", ")))
	if flags&1 != 0 {
		v = field(16, "wallet id = "+k.Wallet.String())
		expect(bytes.Equal(v, k.Wallet[:]), "wallet id")
	}
	if flags&2 != 0 {
		expect(name("device") == k.Device, "device")
	}
	field(ed25519.SignatureSize, "Ed25519 signature")
	expect(off == len(raw), "length")
	fmt.Fprintf(&b, "(%d bytes: %d signed, %d of signature)\n", len(raw), len(raw)-ed25519.SignatureSize, ed25519.SignatureSize)
	return b.String()
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// gfMul multiplies in GF(32) modulo x^5 + x^2 + 1, written out again from
// license-key.md rather than taken from the package.
func gfMul(a, b int) int {
	p := 0
	for i := 0; i < 5; i++ {
		if b&(1<<i) != 0 {
			p ^= a
		}
		a <<= 1
		if a&32 != 0 {
			a ^= 0b100101
		}
	}
	return p
}

// checkWalkthrough computes the check characters of the first groups of a
// key as license-key.md describes, and fails if they are not the key's.
func checkWalkthrough(t *testing.T, text string, groups int) string {
	t.Helper()
	var b strings.Builder
	for g, grp := range strings.Split(text, "-")[:groups] {
		fmt.Fprintf(&b, "group %d %q: data %q, check %q\n", g+1, grp, grp[:5], grp[5:])
		fmt.Fprintf(&b, "  start with the group index mod 32: %d\n", g%32)
		c := g % 32
		w := 2
		for i := 0; i < 5; i++ {
			v := strings.IndexByte(crockford, grp[i])
			p := gfMul(w, v)
			fmt.Fprintf(&b, "  %q = %2d, weight α^%d = %2d, product %2d, sum %2d ⊕ %2d = %2d\n", grp[i], v, i+1, w, p, c, p, c^p)
			c ^= p
			w = gfMul(w, 2)
		}
		fmt.Fprintf(&b, "  check symbol %d = %q\n", c, crockford[c])
		if crockford[c] != grp[5] {
			t.Fatalf("group %d: the check character is not what license-key.md says", g+1)
		}
	}
	return b.String()
}

func keyFacts(k *licensekey.Key) string {
	var b strings.Builder
	fmt.Fprintf(&b, "key id (de-duplication)  %s\n", k.ID())
	fmt.Fprintf(&b, "issued to wallet         %s\n", k.Wallet)
	fmt.Fprintf(&b, "issued                   %s, term %d months\n", k.Issued.Format(time.DateOnly), k.TermMonths)
	for _, l := range k.Licenses {
		fmt.Fprintf(&b, "capacity %-15s %d × %d months = %d license-months\n", l.Type, l.Quantity, k.TermMonths, k.Capacity(l.Type))
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// system-file.md

// The raw identifiers of the example machines. They never appear in a file
// allot writes; only their keyed hashes do.
func exampleIdentifiers() (nvr1, nvr2, other []hwid.Identifier) {
	nvr1 = []hwid.Identifier{
		{Kind: hwid.MachineID, Value: "6f1c9e0a4b2d4e8f9a3c5b7d1e2f4a6c"},
		{Kind: hwid.ProductUUID, Value: "4c4c4544-0048-3510-8052-b4c04f4d3332"},
		{Kind: hwid.MAC, Value: "00:1b:21:3a:4f:5c"},
		{Kind: hwid.Disk, Value: "S4EWNX0R812345"},
	}
	nvr2 = []hwid.Identifier{
		{Kind: hwid.MachineID, Value: "a83e5f0c1d2b4c6e8f0a1b2c3d4e5f60"},
		{Kind: hwid.MAC, Value: "00:1b:21:3a:50:01"},
		{Kind: hwid.Disk, Value: "WD-WX12A3456789"},
	}
	other = []hwid.Identifier{
		{Kind: hwid.MachineID, Value: "0d6e2b9f7c1a4e3d8b5f6a7c9e0d1b2a"},
		{Kind: hwid.MAC, Value: "00:1b:21:3a:4f:5c"},
		{Kind: hwid.Disk, Value: "S4EWNX0R999999"},
	}
	return nvr1, nvr2, other
}

// sysroot lays out a machine's identifiers as Linux shows them, with the
// entries Collect must skip, for hwid.Collect and for allot-verify's
// ALLOT_SYSROOT.
func (g *gen) sysroot(dir string, ids []hwid.Identifier) []string {
	files := map[string]string{}
	for _, id := range ids {
		switch id.Kind {
		case hwid.MachineID:
			files["etc/machine-id"] = id.Value + "\n"
		case hwid.ProductUUID:
			files["sys/class/dmi/id/product_uuid"] = strings.ToUpper(id.Value) + "\n"
		case hwid.MAC:
			files["sys/class/net/eno1/address"] = id.Value + "\n"
			files["sys/class/net/eno1/device/vendor"] = "0x8086\n"
		case hwid.Disk:
			files["sys/block/sda/device/serial"] = id.Value + "\n"
		}
	}
	files["sys/class/dmi/id/board_serial"] = "Default string\n"
	files["sys/class/net/lo/address"] = "00:00:00:00:00:00\n"
	files["sys/class/net/docker0/address"] = "02:42:7c:1e:55:0a\n"
	files["sys/block/loop0/serial"] = "loop-backing\n"
	var names []string
	for name, content := range files {
		g.write(filepath.Join(dir, name), []byte(content))
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func (g *gen) systemFile() {
	const spec = "system-file.md"
	g.nvr1, g.nvr2, g.other = exampleIdentifiers()
	names := g.sysroot("root-nvr-1", g.nvr1)
	g.sysroot("root-nvr-2", g.nvr2)
	g.sysroot("root-other", g.other)

	collected, err := hwid.Collect(os.DirFS("root-nvr-1"))
	g.must(err)
	if !slices.Equal(collected, g.nvr1) {
		g.t.Fatalf("Collect(root-nvr-1) = %v, want %v", collected, g.nvr1)
	}
	var b strings.Builder
	b.WriteString("files under the root (root-nvr-1/…):\n")
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join("root-nvr-1", n))
		g.must(err)
		fmt.Fprintf(&b, "  %-34s %s\n", n, strings.TrimSpace(string(data)))
	}
	b.WriteString("\nhwid.Collect finds, in this order:\n")
	for _, id := range collected {
		fmt.Fprintf(&b, "  %-13s %s\n", id.Kind, id.Value)
	}
	b.WriteString("\nhwid.Hash keyed for system \"site-42\":\n")
	for _, id := range collected {
		fmt.Fprintf(&b, "  %s\n", hwid.Hash("site-42", id))
	}
	b.WriteString("\nthe same identifiers keyed for system \"site-43\":\n")
	for _, id := range collected {
		fmt.Fprintf(&b, "  %s\n", hwid.Hash("site-43", id))
	}
	g.put(spec, "collect.txt", b.String())

	// The keyed hash of one identifier, step by step.
	id := collected[2]
	key := "allot-hwid-v1\x00site-42"
	msg := id.Kind + "\x00" + id.Value
	b.Reset()
	fmt.Fprintf(&b, "key      %q (%d bytes)\n", key, len(key))
	fmt.Fprintf(&b, "message  %q (%d bytes)\n", msg, len(msg))
	fmt.Fprintf(&b, "hash     %s\n", hwid.Hash("site-42", id))
	g.put(spec, "hash-one.txt", b.String())

	var devices []system.Device
	for i := 1; i <= 5; i++ {
		devices = append(devices, system.Device{Serial: fmt.Sprintf("CAM-%04d", i), Model: "AXIS P3265-LVE", Type: system.Camera, Server: "nvr-1"})
	}
	for i := 6; i <= 8; i++ {
		devices = append(devices, system.Device{Serial: fmt.Sprintf("CAM-%04d", i), Model: "AXIS Q1656 (2024)", Type: system.Camera, Server: "nvr-2"})
	}
	devices = append(devices,
		system.Device{Serial: "ICM-0001", Model: "2N IP Verso 2.0", Type: system.Intercom, Server: "nvr-1"},
		system.Device{Serial: "ICM-0002", Model: "2N IP Verso 2.0", Type: system.Intercom, Server: "nvr-2"})
	g.sys = &system.System{
		ID: "site-42", Organization: "Acme Security", Binding: system.Binding{Required: 2},
		Need: map[string]int{"camera": 8, "analytics-l1": 2, "intercom": 2},
		Servers: []system.Server{
			{Name: "nvr-1", Identifiers: hwid.HashAll("site-42", g.nvr1)},
			{Name: "nvr-2", Identifiers: hwid.HashAll("site-42", g.nvr2)},
		},
		Devices:   devices,
		Analytics: []system.Assignment{{Type: "line-crossing", Cameras: []string{"CAM-0001", "CAM-0002"}}},
	}
	g.must(g.sys.Check(catalog.Default()))
	g.sysFile = g.sys.Marshal(t0)
	g.put(spec, "site-42.system.toml", string(g.sysFile))
	g.write("site-42.system.toml", g.sysFile)

	// Damaged: a device line without its server.
	bad := replaceOnce(g.t, string(g.sysFile), "CAM-0007, AXIS Q1656 (2024), camera, nvr-2\n", "CAM-0007, AXIS Q1656 (2024), camera\n")
	_, err = system.Parse("site-42.system.toml", []byte(bad), catalog.Default())
	g.put(spec, "site-42-device.err", damage(`site-42.system.toml with the line of CAM-0007 cut to "CAM-0007, AXIS Q1656 (2024), camera"`, "system.Parse", err))
	bad = replaceOnce(g.t, string(g.sysFile), "required = 2\n", "required = 4\n")
	_, err = system.Parse("site-42.system.toml", []byte(bad), catalog.Default())
	g.put(spec, "site-42-binding.err", damage(`site-42.system.toml with "required = 2" changed to "required = 4"`, "system.Parse", err))
}

// ---------------------------------------------------------------------------
// wallet.md

func (g *gen) walletEncryptedKey() []byte {
	const spec = "wallet.md"
	// The wallet's key is age ciphertext inside the first record: keep the
	// spec's as long as it opens to the wallet's key.
	if cur, ok := g.current(spec, "acme.wallet"); ok {
		first, _, _ := strings.Cut(cur, "\n")
		var r struct {
			PrivateKey string `json:"private_key"`
		}
		if err := json.Unmarshal([]byte(first), &r); err == nil {
			if err := checkDecrypts(r.PrivateKey, g.walletPriv, passphraseIdentity()); err == nil {
				return []byte(r.PrivateKey)
			} else if !*update {
				g.t.Errorf("%s: the wallet's private key: %v", spec, err)
			}
		}
	}
	r, err := keyfile.PassphraseRecipient(passphrase, exampleWorkFactor)
	g.must(err)
	data, err := keyfile.Encrypt(g.walletPriv, "wallet:Acme Security", r)
	g.must(err)
	return data
}

func (g *gen) wallet() {
	const spec = "wallet.md"
	path := "acme.wallet"
	_, err := wallet.Init(path, wallet.InitParams{
		Organization: "Acme Security", PublicKey: pubOf(g.walletPriv), EncryptedKey: g.walletEncryptedKey(),
		Trust: []ed25519.PublicKey{pubOf(g.vendor)}, Time: t0, Who: who,
	})
	g.must(err)
	var inputs []wallet.Input
	for i, k := range []*licensekey.Key{g.key1, g.key2, g.key3} {
		inputs = append(inputs, wallet.Input{Where: fmt.Sprintf("keys.txt:%d", i+1), Text: g.keyText[k]})
	}
	_, err = wallet.Update(path, t0.Add(5*time.Minute), who, func(w *wallet.Wallet) (*wallet.Change, error) {
		ch, _, err := w.Redeem(inputs, g.resChain, w.TrustFor(nil), false)
		return ch, err
	})
	g.must(err)
	g.bundleDoc = g.allocate(path, t0.Add(10*time.Minute), "bundle 1")
	g.walletFile, err = os.ReadFile(path)
	g.must(err)
	g.put(spec, "acme.wallet", string(g.walletFile))

	// The hash chain, record by record: a record is its JSON line and the
	// key lines that line announces.
	var b strings.Builder
	prev := ""
	rest := string(g.walletFile)
	for i := 0; rest != ""; i++ {
		line, after, _ := strings.Cut(rest, "\n")
		var r struct {
			Seq      int    `json:"seq"`
			Prev     string `json:"prev"`
			Op       string `json:"op"`
			KeyLines int    `json:"key_lines"`
		}
		g.must(json.Unmarshal([]byte(line), &r))
		if r.Prev != prev || r.Seq != i {
			g.t.Fatalf("record %d does not chain as wallet.md says", i)
		}
		for range r.KeyLines {
			var key string
			key, after, _ = strings.Cut(after, "\n")
			if !strings.HasPrefix(key, "key ") {
				g.t.Fatalf("record %d: a key line does not start with \"key \"", i)
			}
		}
		record := rest[:len(rest)-len(after)]
		rest = after
		sum := sha256.Sum256([]byte(record))
		fmt.Fprintf(&b, "record %d  seq %d  op %-8s  %d line%s, %5d bytes  prev %q\n", i+1, r.Seq, r.Op, 1+r.KeyLines, plural(1+r.KeyLines), len(record), abbrev(r.Prev))
		fmt.Fprintf(&b, "          SHA-256 of the record, newlines included: %x\n", sum)
		prev = hex.EncodeToString(sum[:])
	}
	w, err := wallet.Open(path)
	g.must(err)
	h := w.Head()
	fmt.Fprintf(&b, "head (Wallet.Head): %x\n", h)
	g.put(spec, "acme.wallet.chain", b.String())

	var bal strings.Builder
	fmt.Fprintf(&bal, "wallet id %s, organization %q, %d keys, %d allocation\n", w.ID, w.Organization, len(w.Keys), len(w.Allocations))
	for _, x := range w.Balances(t0.Add(10*time.Minute), catalog.Default().Policy.UnallocatedExpiryYears) {
		fmt.Fprintf(&bal, "%-13s %-12s keys %d  total %3d  allocated %3d  available %3d\n", x.License, x.Kind, x.Keys, x.Total, x.Allocated, x.Available)
	}
	g.put(spec, "acme.wallet.state", bal.String())

	// Damaged: the organization renamed in the first record.
	bad := replaceOnce(g.t, string(g.walletFile), `"organization":"Acme Security"`, `"organization":"Acme Security Ltd"`)
	g.write("damaged.wallet", []byte(bad))
	_, err = wallet.Open("damaged.wallet")
	g.put(spec, "damaged.wallet.err", damage(`acme.wallet, copied to damaged.wallet, with "organization":"Acme Security" changed to "organization":"Acme Security Ltd" in record 1`, "wallet.Open", err))
	// Damaged: the last record cut short, as a crash in a naive writer would.
	bad = string(g.walletFile[:len(g.walletFile)-20])
	g.write("cut.wallet", []byte(bad))
	_, err = wallet.Open("cut.wallet")
	g.put(spec, "cut.wallet.err", damage("acme.wallet, copied to cut.wallet, without its last 20 bytes", "wallet.Open", err))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func abbrev(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

// allocate allocates one subscription year to the example system, as
// `allot allocate` does, and returns the signed bundle.
func (g *gen) allocate(path string, now time.Time, label string) []byte {
	var doc []byte
	_, err := wallet.Update(path, now, who, func(w *wallet.Wallet) (*wallet.Change, error) {
		plan, err := allocate.Make(w, allocate.Request{System: g.sys, Years: 1, Now: now, Policy: catalog.Default().Policy, Rand: newRand(label)})
		if err != nil {
			return nil, err
		}
		var ch *wallet.Change
		doc, ch, err = plan.Sign(w, g.walletPriv)
		return ch, err
	})
	g.must(err)
	return doc
}

// ---------------------------------------------------------------------------
// bundle.md

func (g *gen) bundle() {
	const spec = "bundle.md"
	g.put(spec, "site-42.lic", string(g.bundleDoc))
	g.write("site-42.lic", g.bundleDoc)
	g.usageDoc = []byte(`# What site-42 uses now, as the device software reports it.
version = 1
system = "site-42"
features = ["remote-door-opening"]

[[server]]
name = "nvr-1"
cameras = 5
intercoms = 1

[[server]]
name = "nvr-2"
cameras = 4
intercoms = 1

[[analytics]]
type = "line-crossing"
cameras = 2
`)
	g.write("site-42.usage.toml", g.usageDoc)

	now := verifyNow.Format(time.RFC3339)
	tr := g.transcript()
	tr.export("ALLOT_SYSROOT", "root-nvr-1")
	if code := tr.verify("site-42.lic", "--trust", "vendor.pub", "--usage", "site-42.usage.toml", "--now", now); code != 0 {
		g.t.Errorf("verify of the example bundle: exit %d\n%s", code, tr)
	}
	g.put(spec, "verify.txt", tr.String())

	// The failures, one per exit code.
	edited := replaceOnce(g.t, string(g.bundleDoc), "camera = 8\n", "camera = 80\n")
	g.write("site-42-edited.lic", []byte(edited))
	g.write("site-42-cut.lic", g.bundleDoc[:len(g.bundleDoc)/2])
	tr = g.transcript()
	tr.export("ALLOT_SYSROOT", "root-nvr-1")
	tr.verify("site-42-cut.lic", "--trust", "vendor.pub", "--now", now)
	tr.verify("site-42-edited.lic", "--trust", "vendor.pub", "--now", now)
	tr.verify("site-42.lic", "--trust", "vendor.pub", "--now", "2027-12-01")
	tr.verify("site-42.lic", "--trust", "vendor.pub", "--now", "2028-01-05")
	tr.export("ALLOT_SYSROOT", "root-other")
	tr.verify("site-42.lic", "--trust", "vendor.pub", "--now", now)
	tr.verify("site-42.lic", "--trust", "vendor.pub", "--system", "site-42.system.toml", "--now", now)
	g.put(spec, "verify-failures.txt", tr.String())

	b, err := bundle.Open(g.bundleDoc)
	g.must(err)
	var s strings.Builder
	fmt.Fprintf(&s, "signer      %s (the wallet key the payload names)\n", sign.IDOf(b.WalletKey.Key))
	for _, p := range b.Periods {
		fmt.Fprintf(&s, "period      %s to %s, %d months, quota %s\n", p.From.Format(time.DateOnly), p.Until.Format(time.DateOnly), p.Months(), bundle.FormatQuota(p.Quota))
		for _, t := range slices.Sorted(maps.Keys(p.Quota)) {
			fmt.Fprintf(&s, "  needs     %s: %d × %d = %d license-months\n", t, p.Quota[t], p.Months(), p.Quota[t]*p.Months())
		}
	}
	for i, f := range b.Funding {
		k, err := licensekey.Parse(f.Key)
		g.must(err)
		fmt.Fprintf(&s, "funding %d   key %s takes %d %s license-months of %d\n", i+1, k.ID(), f.Months, f.License, k.Capacity(f.License))
	}
	for i, d := range b.Certificates {
		c, err := cert.Parse(d)
		g.must(err)
		fmt.Fprintf(&s, "certificate %d  %s %s, serial %s, issued by %s\n", i+1, c.Role, c.Subject.Comment, c.Serial, sign.IDOf(c.Issuer))
	}
	g.put(spec, "site-42.lic.summary", s.String())

	g.external(spec, "ssh-keygen-verify.txt", []string{"ssh-keygen", "sed", "awk"}, func() string {
		tr := g.transcript()
		tr.sh(`sed -n '/^-----BEGIN SSH SIGNATURE-----$/,$p' site-42.lic > site-42.sig`)
		tr.sh(`sed '/^-----BEGIN SSH SIGNATURE-----$/,$d' site-42.lic > site-42.payload`)
		tr.sh(`awk -F'"' '/^wallet_key = /{print "wallet " $2}' site-42.lic > allowed_signers`)
		tr.sh(`cat allowed_signers`)
		tr.sh(`ssh-keygen -Y verify -f allowed_signers -I wallet -n allot-bundle-v1 -s site-42.sig < site-42.payload`)
		return tr.String()
	})

	_, err = bundle.Open([]byte(edited))
	g.put(spec, "site-42-edited.err", damage(`site-42.lic with "camera = 8" changed to "camera = 80"`, "bundle.Open", err))
}

// ---------------------------------------------------------------------------
// trust-file.md

func (g *gen) trustFile() {
	const spec = "trust-file.md"
	g.put(spec, "vendor.pub", sign.MarshalAuthorized(pubOf(g.vendor), "vendor"))
	trust := fmt.Sprintf(`# The vendor roots this device accepts, and what they revoked.
version = 1
roots = [
  %s,
  %s,
]
# Certificate serials and key ids (issuer:serial).
revoked = [
  "%s",
]
clock_tolerance = "48h"
`, quote(sign.MarshalAuthorized(pubOf(g.vendor), "vendor")), quote(sign.MarshalAuthorized(pubOf(g.vendor2), "vendor-2028")), g.keyHW.ID())
	g.put(spec, "vendor.trust.toml", trust)
	g.write("vendor.trust.toml", []byte(trust))

	revoking := strings.Replace(trust, "revoked = [\n", "revoked = [\n  \""+g.resCert.Serial+"\",\n", 1)
	g.put(spec, "revoking.trust.toml", revoking)
	g.write("revoking.trust.toml", []byte(revoking))

	tr := g.transcript()
	tr.export("ALLOT_SYSROOT", "root-nvr-1")
	now := verifyNow.Format(time.RFC3339)
	if code := tr.verify("site-42.lic", "--trust", "vendor.trust.toml", "--now", now); code != 0 {
		g.t.Errorf("verify with the trust file: exit %d\n%s", code, tr)
	}
	tr.verify("site-42.lic", "--trust", "revoking.trust.toml", "--now", now)
	g.put(spec, "verify-trust.txt", tr.String())

	// A device whose vendor allows two weeks of grace, not the catalog's 30
	// days: the example bundle claims more than that.
	strict := trust + `
# The most any bundle may write; certificates may narrow it.
[policy]
grace_days = 14
max_renewal_years = 5
unallocated_expiry_years = 5
analytics_retention_days = 7
growth_allowance_percent = 100
`
	g.put(spec, "strict.trust.toml", strict)
	g.write("strict.trust.toml", []byte(strict))
	tr = g.transcript()
	tr.export("ALLOT_SYSROOT", "root-nvr-1")
	if code := tr.verify("site-42.lic", "--trust", "strict.trust.toml", "--now", now); code != 10 {
		g.t.Errorf("verify with strict.trust.toml: exit %d, want 10\n%s", code, tr)
	}
	g.put(spec, "verify-policy.txt", tr.String())

	bad := replaceOnce(g.t, trust, g.keyHW.ID(), strings.ToUpper(g.keyHW.ID()))
	_, err := verify.ParseTrust("vendor.trust.toml", []byte(bad))
	g.put(spec, "vendor.trust.err", damage("vendor.trust.toml with the revoked key id in upper case", "verify.ParseTrust", err))
	bad = replaceOnce(g.t, trust, `clock_tolerance = "48h"`, `clock_tolerance = "2 days"`)
	_, err = verify.ParseTrust("vendor.trust.toml", []byte(bad))
	g.put(spec, "vendor.trust-tolerance.err", damage(`vendor.trust.toml with clock_tolerance = "2 days"`, "verify.ParseTrust", err))
	bad = replaceOnce(g.t, strict, "grace_days = 14\n", "grace_days = 5000\n")
	_, err = verify.ParseTrust("strict.trust.toml", []byte(bad))
	g.put(spec, "strict.trust-policy.err", damage(`strict.trust.toml with grace_days = 5000`, "verify.ParseTrust", err))
}

func quote(s string) string { return `"` + s + `"` }

// ---------------------------------------------------------------------------
// usage-file.md

func (g *gen) usageFile() {
	const spec = "usage-file.md"
	g.put(spec, "site-42.usage.toml", string(g.usageDoc))
	now := verifyNow.Format(time.RFC3339)
	tr := g.transcript()
	tr.export("ALLOT_SYSROOT", "root-nvr-1")
	if code := tr.verify("site-42.lic", "--trust", "vendor.pub", "--usage", "site-42.usage.toml", "--now", now, "--json"); code != 0 {
		g.t.Errorf("verify --json: exit %d", code)
	}
	g.put(spec, "verify-json.txt", tr.String())

	over := string(g.usageDoc) + "\n[[analytics]]\ntype = \"face-recognition\"\ncameras = 1\nusers = 12\n"
	over = replaceOnce(g.t, over, "cameras = 5\n", "cameras = 17\n")
	g.write("site-42-over.usage.toml", []byte(over))
	g.put(spec, "site-42-over.usage.toml", over)
	tr = g.transcript()
	tr.export("ALLOT_SYSROOT", "root-nvr-1")
	tr.verify("site-42.lic", "--trust", "vendor.pub", "--usage", "site-42-over.usage.toml", "--now", now)
	g.put(spec, "verify-over.txt", tr.String())

	bad := replaceOnce(g.t, string(g.usageDoc), "cameras = 4\n", "cameras = -4\n")
	_, err := verify.ParseUsage("site-42.usage.toml", []byte(bad))
	g.put(spec, "site-42-usage.err", damage(`site-42.usage.toml with "cameras = 4" changed to "cameras = -4"`, "verify.ParseUsage", err))
	bad = replaceOnce(g.t, string(g.usageDoc), "intercoms = 1\n\n[[server]]\nname = \"nvr-2\"", "intercom = 1\n\n[[server]]\nname = \"nvr-2\"")
	_, err = verify.ParseUsage("site-42.usage.toml", []byte(bad))
	g.put(spec, "site-42-field.err", damage(`site-42.usage.toml with "intercoms" of server nvr-1 misspelt "intercom"`, "verify.ParseUsage", err))
}

// ---------------------------------------------------------------------------
// catalog.md

func (g *gen) catalog() {
	const spec = "catalog.md"
	src := catalog.DefaultSource()
	g.put(spec, "default.toml", string(src))
	bad := replaceOnce(g.t, string(src), "[[analytics]]\nlevel = 3\n", "[[analytics]]\nlevel = 4\n")
	_, err := catalog.Parse("vendor.catalog.toml", []byte(bad))
	g.put(spec, "catalog-level.err", damage("default.toml with the third [[analytics]] table's level 3 changed to 4", "catalog.Parse", err))
}

// ---------------------------------------------------------------------------
// device-state.md

func (g *gen) deviceState() {
	const spec = "device-state.md"
	// The library, as allot-verify uses it.
	ids, err := hwid.Collect(os.DirFS("root-nvr-1"))
	g.must(err)
	hashed := hwid.HashAll(verify.DeviceKeyID, ids)
	key := verify.DeviceKey(ids)
	st := verify.NewState(key)
	b, err := bundle.Open(g.bundleDoc)
	g.must(err)
	g.must(st.Check(b, verifyNow, verify.DefaultClockTolerance))
	state := st.Marshal()
	g.put(spec, "allot.state", string(state))

	var k strings.Builder
	k.WriteString("identifiers hashed for the key, hwid.HashAll(\"\\x00device-state\", …), sorted:\n")
	sorted := slices.Clone(hashed)
	slices.Sort(sorted)
	for _, h := range sorted {
		fmt.Fprintf(&k, "  %s\n", h)
	}
	fmt.Fprintf(&k, "key = SHA-256(\"allot-state-v1\\x00\" || each hash || 0x00):\n  %x\n", key)
	body := state[:bytes.LastIndex(state, []byte("mac "))]
	fmt.Fprintf(&k, "mac = HMAC-SHA256(key, the %d bytes before \"mac \"):\n  %x\n", len(body), hmacSHA256(key, body))
	g.put(spec, "allot.state.key", k.String())

	// A renewal, from a copy of the wallet, for the sequence check.
	g.write("renewal.wallet", g.walletFile)
	g.renewalDoc = g.allocate("renewal.wallet", renewNow, "bundle 2")
	g.write("site-42-2.lic", g.renewalDoc)

	now := verifyNow.Format(time.RFC3339)
	tr := g.transcript()
	tr.export("ALLOT_SYSROOT", "root-nvr-1")
	tr.verify("site-42.lic", "--trust", "vendor.pub", "--state", "state", "--now", now)
	tr.verify("site-42.lic", "--trust", "vendor.pub", "--state", "state", "--state-init", "--now", now)
	binState, err := os.ReadFile(filepath.Join("state", verify.StateFile))
	g.must(err)
	if !bytes.Equal(binState, state) {
		g.t.Errorf("allot-verify wrote another state than the library:\n%s\n%s", binState, state)
	}
	later := renewNow.Add(time.Hour).Format(time.RFC3339)
	tr.verify("site-42-2.lic", "--trust", "vendor.pub", "--state", "state", "--now", later)
	tr.sh("cat state/allot.state")
	tr.verify("site-42.lic", "--trust", "vendor.pub", "--state", "state", "--now", later)
	tr.verify("site-42-2.lic", "--trust", "vendor.pub", "--state", "state", "--now", verifyNow.Format(time.RFC3339))
	tr.export("ALLOT_SYSROOT", "root-nvr-2")
	tr.verify("site-42-2.lic", "--trust", "vendor.pub", "--state", "state", "--now", later)
	g.put(spec, "verify-state.txt", tr.String())

	// Damaged: the sequence in the state file lowered by hand.
	bad := replaceOnce(g.t, string(state), " 1\n", " 0\n")
	g.write("edited-state/allot.state", []byte(bad))
	_, err = verify.ParseState("edited-state/allot.state", []byte(bad), key)
	g.put(spec, "allot.state.err", damage("allot.state, copied to edited-state/, with the bundle sequence 1 changed to 0", "verify.ParseState", err))
}

// ---------------------------------------------------------------------------
// json.md

// jsonGolden is the test script whose golden files hold a document of every
// type allot prints with --json. The allot command made them, in a run that
// ALLOT_TEST_SEED makes repeatable, and the script fails when the command
// prints anything else now.
const jsonGolden = "../testdata/script/json_golden.txtar"

// goldenJSON returns the golden documents by file name, without "golden/".
func goldenJSON(t *testing.T) map[string]string {
	t.Helper()
	a, err := txtar.ParseFile(filepath.Join(specDir(t), jsonGolden))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	for _, f := range a.Files {
		if name, ok := strings.CutPrefix(f.Name, "golden/"); ok {
			docs[name] = string(f.Data)
		}
	}
	if len(docs) == 0 {
		t.Fatalf("%s holds no golden documents", jsonGolden)
	}
	return docs
}

// jsonOutput makes json.md's examples: the example NAME is golden/NAME as
// it is. They are not made again here, from the package APIs, because they
// are the command's own output, which the test script already checks; this
// keeps json.md showing exactly what the command prints.
func (g *gen) jsonOutput() {
	const spec = "json.md"
	docs := goldenJSON(g.t)
	for _, name := range g.old[spec].order {
		doc, ok := docs[name]
		if !ok {
			g.t.Errorf("%s: example %s: %s has no golden/%s", spec, name, jsonGolden, name)
			continue
		}
		g.put(spec, name, doc)
	}
}

func armorReader(s string) io.Reader { return armor.NewReader(strings.NewReader(s)) }

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// ---------------------------------------------------------------------------
// The readers, run on the examples as the specs show them.

// damaged reads a damaged example: its input line and its error line.
func damaged(t *testing.T, spec, name string) (input, errText string) {
	t.Helper()
	for _, line := range strings.Split(example(t, spec, name), "\n") {
		if v, ok := strings.CutPrefix(line, "input:  "); ok {
			input = v
		}
		if v, ok := strings.CutPrefix(line, "error:  "); ok {
			errText = v
		}
	}
	if input == "" || errText == "" {
		t.Fatalf("%s: example %s is not a damaged example", spec, name)
	}
	return input, errText
}

func wantErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %q", what, want)
	} else if err.Error() != want {
		t.Errorf("%s: error %q, want %q", what, err, want)
	}
}

func vendorTrust(t *testing.T) *cert.Trust {
	t.Helper()
	pub, err := sign.ParseAuthorized(example(t, "signer.md", "vendor.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return &cert.Trust{Roots: []ed25519.PublicKey{pub.Key}, Revoked: map[string]bool{}}
}

func TestSignerExamples(t *testing.T) {
	pub, err := sign.ParseAuthorized(example(t, "signer.md", "vendor.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if pub.Comment != "vendor" || !strings.Contains(example(t, "signer.md", "vendor.id"), "key id       "+sign.IDOf(pub.Key).String()) ||
		!strings.Contains(example(t, "signer.md", "vendor.id"), "fingerprint  "+sign.Fingerprint(pub.Key)) {
		t.Errorf("vendor.id does not match vendor.pub")
	}
	priv, err := keyfile.Decrypt([]byte(example(t, "signer.md", "vendor.key")), passphraseIdentity())
	if err != nil {
		t.Fatalf("vendor.key: %v", err)
	}
	if !pubOf(priv).Equal(pub.Key) {
		t.Errorf("vendor.key does not hold the key of vendor.pub")
	}
	raw, err := ssh.ParseRawPrivateKey([]byte(example(t, "signer.md", "vendor.ssh")))
	if err != nil {
		t.Fatalf("vendor.ssh: %v", err)
	}
	if k, ok := raw.(*ed25519.PrivateKey); !ok || !k.Equal(priv) {
		t.Errorf("vendor.ssh is not the key of vendor.key")
	}
	ids, _, err := keyfile.ParseIdentities(strings.NewReader(example(t, "signer.md", "identity.txt")))
	if err != nil {
		t.Fatalf("identity.txt: %v", err)
	}
	if _, err := keyfile.Decrypt([]byte(example(t, "signer.md", "vendor-identity.key")), passphraseIdentity()); !errors.Is(err, keyfile.ErrNoMatch) {
		t.Errorf("vendor-identity.key opened with the passphrase: %v", err)
	}
	priv2, err := keyfile.Decrypt([]byte(example(t, "signer.md", "vendor-identity.key")), ids...)
	if err != nil || !priv2.Equal(priv) {
		t.Errorf("vendor-identity.key with identity.txt: %v", err)
	}
	wrong, err := keyfile.PassphraseIdentity("wrong " + passphrase)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyfile.Decrypt([]byte(example(t, "signer.md", "vendor.key")), wrong); !errors.Is(err, keyfile.ErrNoMatch) {
		t.Errorf("vendor.key with a wrong passphrase: %v, want ErrNoMatch", err)
	}

	input, want := damaged(t, "signer.md", "vendor-cut.err")
	_, err = sign.ParseAuthorized(input)
	wantErr(t, "vendor-cut.err", err, want)

	_, want = damaged(t, "signer.md", "crlf.err")
	crlf := strings.ReplaceAll(example(t, "certificate.md", "distributor.cert"), "\n", "\r\n")
	_, _, err = sign.Open([]byte(crlf), cert.Namespace)
	wantErr(t, "crlf.err", err, want)

	// The domain-separated signature of key 1, from its hex.
	var context, signer string
	var signed, sig []byte
	var into *[]byte
	for _, line := range strings.Split(example(t, "signer.md", "context-signature.txt"), "\n") {
		switch {
		case strings.HasPrefix(line, "context    "):
			context = strings.Trim(strings.TrimPrefix(line, "context    "), `"`)
		case strings.HasPrefix(line, "signed "):
			into = &signed
		case strings.HasPrefix(line, "signature "):
			into = &sig
		case strings.HasPrefix(line, "signer     "):
			signer = strings.TrimPrefix(line, "signer     ")
			into = nil
		case strings.HasPrefix(line, "           ") && into != nil:
			b, err := hex.DecodeString(strings.TrimSpace(line))
			if err != nil {
				t.Fatal(err)
			}
			*into = append(*into, b...)
		}
	}
	spub, err := sign.ParseAuthorized(signer)
	if err != nil {
		t.Fatal(err)
	}
	msg, ok := bytes.CutPrefix(signed, append([]byte(context), 0))
	if !ok {
		t.Fatalf("context-signature.txt: the signed bytes do not start with the context and a zero byte")
	}
	if err := sign.VerifyContext(spub.Key, context, msg, sig); err != nil {
		t.Errorf("context-signature.txt: %v", err)
	}
	if err := sign.VerifyContext(spub.Key, cert.Namespace, msg, sig); err == nil {
		t.Errorf("context-signature.txt: verifies under another context")
	}
}

func TestCertificateExamples(t *testing.T) {
	trust := vendorTrust(t)
	for _, name := range []string{"distributor.cert", "reseller.cert"} {
		chain, err := cert.ParseChain([]byte(example(t, "certificate.md", name)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := chain.Verify(trust); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !bytes.Equal(chain.Document(), []byte(example(t, "certificate.md", name))) {
			t.Errorf("%s: the chain's documents are not the file", name)
		}
	}
	chain, err := cert.ParseChain([]byte(example(t, "certificate.md", "reseller.cert")))
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range strings.Fields(example(t, "license-key.md", "keys.txt")) {
		k, err := licensekey.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		if err := chain.Authorize(k, trust); err != nil {
			t.Errorf("key %d: %v", i+1, err)
		}
	}
	// The chain's policy and binding rule: the reseller's narrower growth
	// allowance, the distributor's binding.
	dist, res := examplePolicies()
	if got := chain.Policy(dist); got != res {
		t.Errorf("chain policy %+v, want %+v", got, res)
	}
	if n, p := chain.BindingAny(); n != 2 || p != "vms" {
		t.Errorf("chain binding %d for %q, want 2 for vms", n, p)
	}
	// The pool finds the same chain from the loose certificates.
	pool := cert.NewPool(trust)
	pool.Add(chain...)
	found, err := pool.ChainFor(sign.IDOf(chain.Leaf().Issuer))
	if err != nil || len(found) != 1 {
		t.Errorf("ChainFor(distributor) = %d certificates, %v", len(found), err)
	}
	_, want := damaged(t, "certificate.md", "reseller-edited.err")
	docs := strings.SplitAfter(example(t, "certificate.md", "reseller.cert"), "-----END SSH SIGNATURE-----\n")
	edited := docs[0] + replaceOnce(t, docs[1], "camera = 50\n", "camera = 500\n")
	_, err = cert.ParseChain([]byte(edited))
	wantErr(t, "reseller-edited.err", err, want)
}

func TestLicenseKeyExamples(t *testing.T) {
	trust := vendorTrust(t)
	chain, err := cert.ParseChain([]byte(example(t, "certificate.md", "reseller.cert")))
	if err != nil {
		t.Fatal(err)
	}
	facts := example(t, "license-key.md", "key-1.facts")
	for i, text := range strings.Fields(example(t, "license-key.md", "keys.txt")) {
		k, err := licensekey.Parse(text)
		if err != nil {
			t.Fatalf("key %d: %v", i+1, err)
		}
		if err := k.Verify(chain.Leaf().Subject.Key); err != nil {
			t.Errorf("key %d: %v", i+1, err)
		}
		if k.Text() != text {
			t.Errorf("key %d: Text() is not the text parsed", i+1)
		}
		if i == 0 && (!strings.Contains(facts, k.ID()) || !strings.Contains(facts, k.Wallet.String())) {
			t.Errorf("key-1.facts does not describe key 1")
		}
	}
	hw, err := licensekey.Parse(example(t, "license-key.md", "key-hw.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := chain[:1].Authorize(hw, trust); err != nil {
		t.Errorf("key-hw.txt: %v", err)
	}
	if err := chain.Authorize(hw, trust); err == nil {
		t.Errorf("key-hw.txt verifies as the reseller's key")
	}
	if !hw.Bearer || hw.Device != "NVR-2-SN-48213" || hw.Kind != licensekey.Hardware {
		t.Errorf("key-hw.txt: bearer %v, device %q, kind %s", hw.Bearer, hw.Device, hw.Kind)
	}
	var typed, id string
	for _, line := range strings.Split(example(t, "license-key.md", "key-1-sloppy.txt"), "\n") {
		if v, ok := strings.CutPrefix(line, "typed:   "); ok {
			typed = v
		}
		if v, ok := strings.CutPrefix(line, "key id:  "); ok {
			id = v
		}
	}
	if k, err := licensekey.Parse(typed); err != nil || k.ID() != id {
		t.Errorf("key-1-sloppy.txt: %v", err)
	}
	input, want := damaged(t, "license-key.md", "key-1-sloppy.err")
	_, err = licensekey.ParseCanonical(input)
	wantErr(t, "key-1-sloppy.err", err, want)
	if !errors.Is(err, licensekey.ErrNotCanonical) || !errors.Is(err, licensekey.ErrMalformed) {
		t.Errorf("key-1-sloppy.err: %v is not ErrNotCanonical and ErrMalformed", err)
	}
	for i, text := range strings.Fields(example(t, "license-key.md", "keys.txt")) {
		if _, err := licensekey.ParseCanonical(text); err != nil {
			t.Errorf("key %d is not canonical: %v", i+1, err)
		}
	}
	for _, name := range []string{"key-1-typo.err", "key-1-group.err"} {
		input, want := damaged(t, "license-key.md", name)
		_, err := licensekey.Parse(input)
		wantErr(t, name, err, want)
		var te *licensekey.TypoError
		if !errors.As(err, &te) {
			t.Errorf("%s: %T is not a *licensekey.TypoError", name, err)
		}
	}
}

func TestSystemFileExample(t *testing.T) {
	sys, err := system.Parse("site-42.system.toml", []byte(example(t, "system-file.md", "site-42.system.toml")), catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	nvr1, _, _ := exampleIdentifiers()
	srv, ok := sys.Server("nvr-1")
	if !ok || !slices.Equal(srv.Identifiers, hwid.HashAll(sys.ID, nvr1)) {
		t.Errorf("server nvr-1 does not carry the keyed hashes of its identifiers")
	}
	if n := len(sys.Devices); n != 10 || sys.Counts()["nvr-2"][system.Camera] != 3 {
		t.Errorf("%d devices, %d cameras on nvr-2", n, sys.Counts()["nvr-2"][system.Camera])
	}
	if !strings.Contains(example(t, "system-file.md", "hash-one.txt"), hwid.Hash(sys.ID, nvr1[2])) {
		t.Errorf("hash-one.txt does not show the hash of nvr-1's MAC address")
	}
}

func TestWalletExample(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "acme.wallet")
	data := example(t, "wallet.md", "acme.wallet")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := wallet.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := keyfile.Decrypt(w.EncryptedKey, passphraseIdentity())
	if err != nil {
		t.Fatalf("the wallet's key: %v", err)
	}
	if !pubOf(priv).Equal(w.PublicKey.Key) || licensekey.WalletIDOf(w.PublicKey.Key) != w.ID {
		t.Errorf("the wallet's key, public key and id do not belong together")
	}
	if len(w.Keys) != 3 || len(w.Allocations) != 1 || len(w.History) != 3 {
		t.Fatalf("%d keys, %d allocations, %d records", len(w.Keys), len(w.Allocations), len(w.History))
	}
	if got := string(w.Allocations[0].Bundle); got != example(t, "bundle.md", "site-42.lic") {
		t.Errorf("the allocation's bundle is not site-42.lic of bundle.md")
	}
	h := w.Head()
	if !strings.Contains(example(t, "wallet.md", "acme.wallet.chain"), hex.EncodeToString(h[:])) {
		t.Errorf("acme.wallet.chain does not end in the wallet's head")
	}
	// A change that fails leaves the file as it was: key 1 again.
	key1 := strings.Fields(example(t, "license-key.md", "keys.txt"))[0]
	_, err = wallet.Update(path, t0.Add(time.Hour), who, func(w *wallet.Wallet) (*wallet.Change, error) {
		ch, _, err := w.Redeem([]wallet.Input{{Where: "keys.txt:1", Text: key1}}, nil, w.TrustFor(nil), false)
		return ch, err
	})
	if !errors.Is(err, wallet.ErrRedeemed) {
		t.Errorf("key 1 redeemed again: %v, want wallet.ErrRedeemed", err)
	}
	after, err := os.ReadFile(path)
	if err != nil || string(after) != data {
		t.Errorf("a failed change touched the wallet")
	}
	if _, err := os.Stat(wallet.LockPath(path)); err != nil {
		t.Errorf("no lock file: %v", err)
	}
}

// exampleOptions are the verify options of the worked examples: the vendor
// root, the verification time, and nvr-1 as the machine.
func exampleOptions(t *testing.T) verify.Options {
	t.Helper()
	trust, err := verify.ParseTrust("vendor.pub", []byte(example(t, "signer.md", "vendor.pub")))
	if err != nil {
		t.Fatal(err)
	}
	nvr1, _, _ := exampleIdentifiers()
	return verify.Options{Trust: trust, Now: verifyNow, Machines: func(systemID string) ([]verify.Machine, error) {
		return []verify.Machine{{Name: "nvr-1", Identifiers: hwid.HashAll(systemID, nvr1)}}, nil
	}}
}

func TestBundleExample(t *testing.T) {
	doc := []byte(example(t, "bundle.md", "site-42.lic"))
	b, err := bundle.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	if b.System != "site-42" || b.Sequence != 1 || len(b.Funding) != 3 || len(b.Certificates) != 2 {
		t.Errorf("system %s, sequence %d, %d funding, %d certificates", b.System, b.Sequence, len(b.Funding), len(b.Certificates))
	}
	// bundle.md says the first and third keys fund it, the second not.
	keys := strings.Fields(example(t, "license-key.md", "keys.txt"))
	var funders []string
	for _, f := range b.Funding {
		if !slices.Contains(funders, f.Key) {
			funders = append(funders, f.Key)
		}
	}
	if !slices.Equal(funders, []string{keys[0], keys[2]}) {
		t.Errorf("the bundle is not funded by keys 1 and 3 alone")
	}
	opts := exampleOptions(t)
	usage, err := verify.ParseUsage("site-42.usage.toml", []byte(example(t, "usage-file.md", "site-42.usage.toml")))
	if err != nil {
		t.Fatal(err)
	}
	opts.Usage = usage
	r := verify.Bundle("site-42.lic", doc, opts)
	if r.Err != nil || r.Status != verify.StatusLicensed {
		t.Errorf("status %s: %v", r.Status, r.Err)
	}
	_, want := damaged(t, "bundle.md", "site-42-edited.err")
	edited := replaceOnce(t, string(doc), "camera = 8\n", "camera = 80\n")
	_, err = bundle.Open([]byte(edited))
	wantErr(t, "site-42-edited.err", err, want)
	if r := verify.Bundle("site-42.lic", []byte(edited), opts); !errors.Is(r.Err, verify.ErrTrust) {
		t.Errorf("the edited bundle: %v, want verify.ErrTrust", r.Err)
	}
	opts.Now = time.Date(2028, 1, 5, 0, 0, 0, 0, time.UTC)
	if r := verify.Bundle("site-42.lic", doc, opts); !errors.Is(r.Err, verify.ErrExpired) {
		t.Errorf("after the grace period: %v, want verify.ErrExpired", r.Err)
	}
}

func TestTrustFileExamples(t *testing.T) {
	doc := []byte(example(t, "bundle.md", "site-42.lic"))
	plain, err := verify.ParseTrust("vendor.pub", []byte(example(t, "trust-file.md", "vendor.pub")))
	if err != nil {
		t.Fatal(err)
	}
	full, err := verify.ParseTrust("vendor.trust.toml", []byte(example(t, "trust-file.md", "vendor.trust.toml")))
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Roots) != 1 || len(full.Roots) != 2 || !full.Roots[0].Equal(plain.Roots[0]) ||
		full.ClockTolerance != 48*time.Hour || plain.ClockTolerance != verify.DefaultClockTolerance || len(full.Revoked) != 1 {
		t.Errorf("trust files: %d and %d roots, tolerance %s and %s", len(plain.Roots), len(full.Roots), plain.ClockTolerance, full.ClockTolerance)
	}
	opts := exampleOptions(t)
	opts.Trust = full
	if r := verify.Bundle("site-42.lic", doc, opts); r.Err != nil {
		t.Errorf("with vendor.trust.toml: %v", r.Err)
	}
	if plain.Policy != catalog.Default().Policy || full.Policy != catalog.Default().Policy {
		t.Errorf("a trust file without [policy] has policy %+v and %+v, want the embedded catalog's", plain.Policy, full.Policy)
	}
	strict, err := verify.ParseTrust("strict.trust.toml", []byte(example(t, "trust-file.md", "strict.trust.toml")))
	if err != nil {
		t.Fatal(err)
	}
	opts.Trust = strict
	if r := verify.Bundle("site-42.lic", doc, opts); strict.Policy.GraceDays != 14 || !errors.Is(r.Err, verify.ErrTrust) {
		t.Errorf("with strict.trust.toml (grace_days %d): %v, want verify.ErrTrust", strict.Policy.GraceDays, r.Err)
	}
	_, want := damaged(t, "trust-file.md", "strict.trust-policy.err")
	bad := strings.Replace(example(t, "trust-file.md", "strict.trust.toml"), "grace_days = 14\n", "grace_days = 5000\n", 1)
	_, err = verify.ParseTrust("strict.trust.toml", []byte(bad))
	wantErr(t, "strict.trust-policy.err", err, want)
	revoking, err := verify.ParseTrust("revoking.trust.toml", []byte(example(t, "trust-file.md", "revoking.trust.toml")))
	if err != nil {
		t.Fatal(err)
	}
	opts.Trust = revoking
	if r := verify.Bundle("site-42.lic", doc, opts); !errors.Is(r.Err, verify.ErrTrust) || !strings.HasSuffix(r.Err.Error(), ": revoked") {
		t.Errorf("with revoking.trust.toml: %v, want a revoked certificate", r.Err)
	}
}

func TestUsageFileExamples(t *testing.T) {
	doc := []byte(example(t, "bundle.md", "site-42.lic"))
	opts := exampleOptions(t)
	for name, want := range map[string]error{"site-42.usage.toml": nil, "site-42-over.usage.toml": verify.ErrQuota} {
		u, err := verify.ParseUsage(name, []byte(example(t, "usage-file.md", name)))
		if err != nil {
			t.Fatal(err)
		}
		opts.Usage = u
		r := verify.Bundle("site-42.lic", doc, opts)
		if want == nil && r.Err != nil || want != nil && !errors.Is(r.Err, want) {
			t.Errorf("%s: %v, want %v", name, r.Err, want)
		}
	}
}

func TestCatalogExample(t *testing.T) {
	src := example(t, "catalog.md", "default.toml")
	c, err := catalog.Parse("default.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if src != string(catalog.DefaultSource()) || c.Policy.GraceDays != 30 {
		t.Errorf("default.toml is not the embedded catalog")
	}
}

func TestDeviceStateExample(t *testing.T) {
	data := []byte(example(t, "device-state.md", "allot.state"))
	nvr1, nvr2, _ := exampleIdentifiers()
	key := verify.DeviceKey(nvr1)
	st, err := verify.ParseState("allot.state", data, key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open([]byte(example(t, "bundle.md", "site-42.lic")))
	if err != nil {
		t.Fatal(err)
	}
	if !st.LastSeen.Equal(verifyNow) || st.Seq["site-42 "+b.WalletID.String()] != 1 {
		t.Errorf("last seen %s, sequences %v", st.LastSeen, st.Seq)
	}
	if err := st.Check(b, verifyNow.Add(-verify.DefaultClockTolerance-time.Second), verify.DefaultClockTolerance); !errors.Is(err, verify.ErrRollback) {
		t.Errorf("a clock set back: %v, want verify.ErrRollback", err)
	}
	if _, err := verify.ParseState("allot.state", data, verify.DeviceKey(nvr2)); !errors.Is(err, verify.ErrRollback) {
		t.Errorf("another machine's key: %v, want verify.ErrRollback", err)
	}
}

// TestJSONFields reads json.md's field tables and checks them against the
// golden documents: every type has a section, every section a golden
// document, and every field a document holds has a row in its type's
// section whose JSON type it has. A field added to a result without a row
// in json.md fails here, and so does a time that is not RFC 3339 in UTC.
func TestJSONFields(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(specDir(t), "json.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := jsonSections(string(text))
	documented := map[string]bool{}
	for name, doc := range goldenJSON(t) {
		var v map[string]any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("golden/%s: %v", name, err)
		}
		typ, _ := v["type"].(string)
		rows, ok := sections[typ]
		if !ok {
			t.Errorf("json.md: no section ### `%s` (golden/%s)", typ, name)
			continue
		}
		documented[typ] = true
		if !strings.Contains(string(text), "golden/"+name) && !strings.Contains(string(text), "<!-- example: "+name+" -->") {
			t.Errorf("json.md neither shows nor names golden/%s", name)
		}
		delete(v, "version")
		delete(v, "type")
		checkJSONFields(t, "golden/"+name, "", v, rows)
	}
	for typ := range sections {
		if !documented[typ] {
			t.Errorf("json.md: section `%s` has no golden document in %s", typ, jsonGolden)
		}
	}
}

var (
	jsonHeadingRE = regexp.MustCompile("`([a-z.]+)`")
	jsonRowRE     = regexp.MustCompile("^\\| `([a-z_]+)` \\| ([a-z ()]+) \\|")
)

// jsonSections reads json.md's sections of "## Exact shape": the types a
// "### " heading names, each to the JSON types its table rows give by field
// name, and the rows of "### Shared objects" to every type. A name may have
// several rows in a section (one per object that has it); a field matches
// any of them.
func jsonSections(text string) map[string]map[string][]string {
	sections := map[string]map[string][]string{}
	shared := map[string][]string{}
	var all []map[string][]string // sections, once each: one may serve two types
	var cur map[string][]string
	inShape := false
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			inShape, cur = line == "## Exact shape", nil
		case line == "### Shared objects" && inShape:
			cur = shared
		case strings.HasPrefix(line, "### ") && inShape:
			cur = nil
			for _, m := range jsonHeadingRE.FindAllStringSubmatch(line, -1) {
				if cur == nil {
					cur = map[string][]string{}
					all = append(all, cur)
				}
				sections[m[1]] = cur
			}
		case cur != nil:
			if m := jsonRowRE.FindStringSubmatch(line); m != nil {
				cur[m[1]] = append(cur[m[1]], strings.TrimSpace(m[2]))
			}
		}
	}
	for _, rows := range all {
		for name, types := range shared {
			rows[name] = append(rows[name], types...)
		}
	}
	return sections
}

// checkJSONFields checks the fields of obj, at path, against rows, and
// descends into objects and arrays of objects; a map's keys are data.
func checkJSONFields(t *testing.T, doc, path string, obj map[string]any, rows map[string][]string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v, p := obj[k], path+"."+k
		types, ok := rows[k]
		if !ok {
			t.Errorf("%s: field %s has no row in json.md", doc, p)
			continue
		}
		typ := ""
		for _, want := range types {
			if jsonHas(v, want) {
				typ = want
				break
			}
		}
		if typ == "" {
			t.Errorf("%s: field %s is %s, which json.md gives as %s", doc, p, jsonShow(v), strings.Join(types, " or "))
			continue
		}
		switch x := v.(type) {
		case map[string]any:
			if typ == "object" {
				checkJSONFields(t, doc, p, x, rows)
			}
		case []any:
			for _, e := range x {
				if o, ok := e.(map[string]any); ok {
					checkJSONFields(t, doc, p+"[]", o, rows)
				}
			}
		}
	}
}

// jsonHas reports whether v has the JSON type of a json.md table row.
func jsonHas(v any, typ string) bool {
	switch x := v.(type) {
	case string:
		switch typ {
		case "string":
			return true
		case "string (time)":
			_, err := time.Parse(time.RFC3339Nano, x)
			return err == nil && strings.HasSuffix(x, "Z")
		case "string (date)":
			_, err := time.Parse(time.DateOnly, x)
			return err == nil
		}
	case float64:
		return typ == "number" && x == float64(int64(x))
	case bool:
		return typ == "boolean"
	case map[string]any:
		if typ == "map" {
			for _, e := range x {
				if n, ok := e.(float64); !ok || n != float64(int64(n)) {
					return false
				}
			}
			return true
		}
		return typ == "object"
	case []any:
		elem, ok := strings.CutPrefix(typ, "array of ")
		if !ok {
			return false
		}
		for _, e := range x {
			if !jsonHas(e, elem) {
				return false
			}
		}
		return true
	}
	return false
}

func jsonShow(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		b = append(b[:57], "..."...)
	}
	return string(b)
}
