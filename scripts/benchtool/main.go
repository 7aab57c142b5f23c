// Command benchtool measures allot against the budgets of DESIGN.md and
// prints them side by side with their floors, in one run: a Go hello-world
// process, `ssh-keygen -Y verify` of the same bundle, and this machine's
// Ed25519 sign and verify rates. scripts/bench builds the binaries and runs
// it; see there.
//
// Whole-process figures run the real binaries (interleaved, many rounds,
// median); in-process figures use testing.Benchmark on the real packages.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/verify"
	"allot.dev/allot/pkg/wallet"
)

var (
	binDir    = flag.String("bin", "bin", "folder holding the allot and allot-verify binaries")
	rounds    = flag.Int("rounds", 200, "rounds of each whole-process verify measurement")
	quick     = flag.Bool("quick", false, "smaller sizes, for a smoke test of this tool (figures do not count)")
	auditOnly = flag.Int("audit", 0, "measure only the audit of this many bundles")
	only      = flag.String("only", "", "run one part only: \"hostile\", the peak memory of allot-verify on hostile inputs; \"tree\", the quota tree's budgets; \"startup\", the whole-process verifies beside their floors")
)

func main() {
	flag.Parse()
	if *auditOnly > 0 {
		r, err := auditRow(*auditOnly, runtime.GOMAXPROCS(0))
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchtool: %v\n", err)
			os.Exit(1)
		}
		printRows([]row{r})
		return
	}
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "benchtool: %v\n", err)
		os.Exit(1)
	}
}

type row struct {
	work, measured, budget, floor string
	ok                            bool
}

func run() error {
	work, err := os.MkdirTemp("", "allot-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	allot, err := filepath.Abs(filepath.Join(*binDir, "allot"))
	if err != nil {
		return err
	}
	allotVerify := filepath.Join(filepath.Dir(allot), "allot-verify")
	for _, b := range []string{allot, allotVerify} {
		if _, err := os.Stat(b); err != nil {
			return fmt.Errorf("%v (run make build first)", err)
		}
	}
	// -only runs one part, and prints its rows alone.
	parts := map[string]func() ([]row, error){
		"startup": func() ([]row, error) {
			s := &site{dir: work, allot: allot}
			if err := s.setup(); err != nil {
				return nil, err
			}
			return startupRows(work, s, allot, allotVerify)
		},
		"hostile": func() ([]row, error) { return hostileRows(work, allotVerify) },
		"tree":    func() ([]row, error) { return treeRows(work, allotVerify) },
	}
	if part, ok := parts[*only]; ok {
		rows, err := part()
		if err != nil {
			return err
		}
		printRows(rows)
		return nil
	}
	n := 100_000
	if *quick {
		n = 2_000
		*rounds = 20
	}
	fmt.Printf("allot benchmarks, %s, %d cores, %s; work folder %s\n\n", time.Now().UTC().Format(time.DateOnly), runtime.NumCPU(), runtime.Version(), work)

	// Floors measured on this machine.
	signT := perOp(func(b *testing.B) {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		msg := make([]byte, 128)
		for b.Loop() {
			ed25519.Sign(priv, msg)
		}
	})
	verifyT := perOp(func(b *testing.B) {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		msg := make([]byte, 128)
		sig := ed25519.Sign(priv, msg)
		for b.Loop() {
			ed25519.Verify(pub, msg, sig)
		}
	})
	cores := runtime.GOMAXPROCS(0)
	ceiling := float64(cores) / verifyT.Seconds()
	fmt.Printf("Ed25519 on this machine: sign %s, verify %s; verify ceiling %.0f signatures/s on %d cores\n\n",
		fmtDur(signT), fmtDur(verifyT), ceiling, cores)

	var rows []row

	// The flow, through the real CLI, with an age identity instead of a
	// passphrase so that no scrypt run pollutes a timing.
	s := &site{dir: work, allot: allot}
	if err := s.setup(); err != nil {
		return err
	}

	startup, err := startupRows(work, s, allot, allotVerify)
	if err != nil {
		return err
	}
	rows = append(rows, startup...)

	// In process: one typical bundle, each time anew (no cache), with its
	// signatures checked on every core and one after another.
	doc, w, err := allottest.TypicalBundle(work, 2, 3)
	if err != nil {
		return err
	}
	inProcess := func(workers int) time.Duration {
		opts := verify.Options{Trust: w.Trust, Now: allottest.Now.Add(24 * time.Hour), Workers: workers}
		return perOp(func(b *testing.B) {
			for b.Loop() {
				if r := verify.Bundle("typical.lic", doc, opts); r.Err != nil {
					b.Fatal(r.Err)
				}
			}
		})
	}
	par, seq := inProcess(0), inProcess(1)
	one := min(par, seq)
	rows = append(rows, row{"verify one typical bundle in process (3 keys, 2 certificates)",
		fmt.Sprintf("%s (%s on %d cores, %s on one)", fmtDur(one), fmtDur(par), cores, fmtDur(seq)), "≤ 183 µs",
		fmt.Sprintf("6 signatures: %s of Ed25519 on one core, %s on %d", fmtDur(6*verifyT), fmtDur(3*verifyT), cores), one <= 183*time.Microsecond})

	// In process: many bundles, each with its own keys, sharing a chain.
	many, sigs, err := manyBundles(work, w, cores)
	if err != nil {
		return err
	}
	rate := float64(sigs) / many.Seconds()
	rows = append(rows, row{"verify many bundles in one process", fmt.Sprintf("%.0f signatures/s (%.0f%%)", rate, 100*rate/ceiling),
		"≥ 50% of the Ed25519 ceiling", fmt.Sprintf("ceiling %.0f signatures/s", ceiling), rate >= ceiling/2})

	// Key issue.
	issue, err := s.timeCmd(3, nil, allot, "key", "issue", "--signer", s.p("reseller.key"), "--cert", s.p("reseller.cert"),
		"--identity", s.p("id.txt"), "--product", "vms", "--license", "camera=10", "--term", "1y",
		"--count", fmt.Sprint(n), "--wallet-id", s.walletID, "--out", "OUT")
	if err != nil {
		return err
	}
	issueBudget := time.Duration(1.5 * float64(n) * float64(signT) / float64(cores))
	rows = append(rows, row{fmt.Sprintf("allot key issue --count %d", n), fmtDur(issue),
		fmt.Sprintf("≤ 1.5 × (%d signatures ÷ %d cores) = %s", n, cores, fmtDur(issueBudget)),
		fmt.Sprintf("%d signatures ÷ %d cores: %s", n, cores, fmtDur(time.Duration(n)*signT/time.Duration(cores))), issue <= issueBudget})

	// Redeem n keys into a fresh wallet each run.
	keysFile := s.p("keys-n.txt")
	if _, err := s.allotRun("key", "issue", "--signer", s.p("reseller.key"), "--cert", s.p("reseller.cert"),
		"--identity", s.p("id.txt"), "--product", "vms", "--license", "camera=10", "--term", "1y",
		"--count", fmt.Sprint(n), "--wallet-id", s.walletID, "--out", keysFile); err != nil {
		return err
	}
	redeem, err := s.timeCmd(3, func() error { return copyFile(s.p("empty.wallet"), s.p("redeem.wallet")) },
		allot, "wallet", "redeem", "--file", keysFile, "--cert", s.p("reseller.cert"), "--wallet", s.p("redeem.wallet"))
	if err != nil {
		return err
	}
	rows = append(rows, row{fmt.Sprintf("allot wallet redeem %d keys", n), fmtDur(redeem), "≤ 10 s",
		fmt.Sprintf("%d signature checks ÷ %d cores: %s", n, cores, fmtDur(time.Duration(n)*verifyT/time.Duration(cores))), redeem <= 10*time.Second})
	open := perOp(func(b *testing.B) {
		for b.Loop() {
			if _, err := wallet.Open(s.p("redeem.wallet")); err != nil {
				b.Fatal(err)
			}
		}
	})
	fi, _ := os.Stat(s.p("redeem.wallet"))
	rows = append(rows, row{fmt.Sprintf("wallet with %d keys opens (in process)", n), fmtDur(open), "≤ 200 ms",
		fmt.Sprintf("file of %.1f MiB", float64(fi.Size())/(1<<20)), open <= 200*time.Millisecond})

	// The same n keys into a git wallet: one signed commit.
	if _, err := s.allotRun("wallet", "migrate", "--wallet", s.p("empty.wallet"), "--out", s.p("empty-git"), "--identity", s.p("id.txt")); err != nil {
		return err
	}
	redeemGit, err := s.timeCmd(3, func() error {
		os.RemoveAll(s.p("redeem-git"))
		return copyDir(s.p("empty-git"), s.p("redeem-git"))
	}, allot, "wallet", "redeem", "--file", keysFile, "--cert", s.p("reseller.cert"), "--wallet", s.p("redeem-git"), "--identity", s.p("id.txt"))
	if err != nil {
		return err
	}
	rows = append(rows, row{fmt.Sprintf("allot wallet redeem %d keys, git wallet (one signed commit)", n), fmtDur(redeemGit), "≤ 10 s",
		"the single-file wallet above: " + fmtDur(redeem), redeemGit <= 10*time.Second})

	// One change of a wallet with a history, as a file and as a signed
	// commit: the difference is the commit.
	if err := s.commitCost(&rows, allot); err != nil {
		return err
	}

	// Allocate for a system of n devices from a wallet that holds enough.
	if err := s.bigSystem(n); err != nil {
		return err
	}
	alloc, err := s.timeCmd(3, func() error {
		os.Remove(s.p("big.lic"))
		return copyFile(s.p("big-template.wallet"), s.p("big.wallet"))
	}, allot, "allocate", "--system", s.p("big.system.toml"), "--years", "1", "--wallet", s.p("big.wallet"),
		"--identity", s.p("id.txt"), "--out", s.p("big.lic"))
	if err != nil {
		return err
	}
	rows = append(rows, row{fmt.Sprintf("allot allocate, system of %d devices", n), fmtDur(alloc), "≤ 1 s", "", alloc <= time.Second})

	// Peak memory of a large key issue: the keys are streamed in batches,
	// never all in memory.
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		issueRSS, err := peakRSS([][]string{{allot, "key", "issue", "--signer", s.p("reseller.key"), "--cert", s.p("reseller.cert"),
			"--identity", s.p("id.txt"), "--product", "vms", "--license", "camera=10", "--term", "1y",
			"--count", fmt.Sprint(n), "--wallet-id", s.walletID, "--out", "-"}}, "")
		if err != nil {
			return err
		}
		rows = append(rows, row{fmt.Sprintf("peak memory of allot key issue --count %d", n), fmt.Sprintf("%.1f MiB", issueRSS[0]),
			"not hundreds of MiB (≤ 64 MiB)", fmt.Sprintf("signed and written in batches of %d keys", licensekey.IssueBatch), issueRSS[0] <= 64})
	}

	tr, err := treeRows(work, allotVerify)
	if err != nil {
		return err
	}
	rows = append(rows, tr...)

	// The audit of many bundles, in process, against their signatures.
	auditN := 10_000
	if *quick {
		auditN = 500
	}
	r, err := auditRow(auditN, cores)
	if err != nil {
		return err
	}
	rows = append(rows, r)

	hostile, err := hostileRows(work, allotVerify)
	if err != nil {
		return err
	}
	rows = append(rows, hostile...)

	printRows(rows)
	if *quick {
		fmt.Println("\n(--quick: sizes reduced; these figures do not count)")
	}
	return nil
}

// site is a working folder with the flow's artifacts, made by the CLI.
type site struct {
	dir, allot, walletID string
}

func (s *site) p(name string) string { return filepath.Join(s.dir, name) }

func (s *site) allotRun(args ...string) (string, error) {
	cmd := exec.Command(s.allot, args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "ALLOT_NOW=2026-11-22T10:00:00Z", "ALLOT_USER=bench")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("allot %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

func (s *site) setup() error {
	if _, err := exec.Command("go", "run", "filippo.io/age/cmd/age-keygen", "-o", s.p("id.txt")).CombinedOutput(); err != nil {
		return fmt.Errorf("age-keygen: %v", err)
	}
	steps := [][]string{
		{"signer", "new", "--name", "vendor", "--identity", s.p("id.txt"), "--out", s.p("vendor.key")},
		{"signer", "new", "--name", "distributor", "--identity", s.p("id.txt"), "--out", s.p("distributor.key")},
		{"signer", "new", "--name", "reseller", "--identity", s.p("id.txt"), "--out", s.p("reseller.key")},
		{"signer", "certify", "--signer", s.p("vendor.key"), "--pub", s.p("distributor.pub"), "--role", "distributor",
			"--product", "vms", "--license", "camera=1000", "--kind", "subscription", "--max-term", "5y",
			"--valid-until", "2031-01-01", "--identity", s.p("id.txt"), "--out", s.p("distributor.cert")},
		{"signer", "certify", "--signer", s.p("distributor.key"), "--cert", s.p("distributor.cert"), "--pub", s.p("reseller.pub"),
			"--role", "reseller", "--identity", s.p("id.txt"), "--out", s.p("reseller.cert")},
		{"wallet", "init", "--org", "Bench Org", "--trust", s.p("vendor.pub"), "--identity", s.p("id.txt"), "--wallet", s.p("empty.wallet")},
	}
	for _, a := range steps {
		out, err := s.allotRun(a...)
		if err != nil {
			return err
		}
		if a[0] == "wallet" {
			_, id, _ := strings.Cut(out, "wallet id: ")
			s.walletID = strings.TrimSpace(id)
		}
	}
	// The typical bundle: 3 keys of 4 cameras, a chain of 2 certificates.
	if err := copyFile(s.p("empty.wallet"), s.p("site.wallet")); err != nil {
		return err
	}
	if err := os.WriteFile(s.p("site.usage.toml"), []byte("version = 1\nsystem = \"site\"\n\n[[server]]\nname = \"nvr-1\"\ncameras = 10\n"), 0o644); err != nil {
		return err
	}
	for _, a := range [][]string{
		{"key", "issue", "--signer", s.p("reseller.key"), "--cert", s.p("reseller.cert"), "--identity", s.p("id.txt"),
			"--product", "vms", "--license", "camera=4", "--term", "1y", "--count", "3", "--wallet-id", s.walletID, "--out", s.p("keys3.txt")},
		{"wallet", "redeem", "--file", s.p("keys3.txt"), "--cert", s.p("reseller.cert"), "--wallet", s.p("site.wallet")},
		{"system", "create", "--id", "site", "--org", "Bench Org", "--collect", "--name", "nvr-1", "--need", "camera=10", "--out", s.p("site.system.toml")},
		{"allocate", "--system", s.p("site.system.toml"), "--years", "1", "--wallet", s.p("site.wallet"), "--identity", s.p("id.txt"), "--out", s.p("site.lic")},
	} {
		if _, err := s.allotRun(a...); err != nil {
			return err
		}
	}
	return nil
}

// sshFiles splits the bundle as the README tells, for ssh-keygen.
func (s *site) sshFiles() error {
	doc, err := os.ReadFile(s.p("site.lic"))
	if err != nil {
		return err
	}
	i := bytes.Index(doc, []byte("\n-----BEGIN SSH SIGNATURE-----\n"))
	if i < 0 {
		return fmt.Errorf("site.lic has no signature")
	}
	var key string
	for _, line := range strings.Split(string(doc[:i]), "\n") {
		if v, ok := strings.CutPrefix(line, "wallet_key = "); ok {
			key = strings.Trim(v, `"`)
		}
	}
	if err := os.WriteFile(s.p("site.payload"), doc[:i+1], 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(s.p("site.sig"), doc[i+1:], 0o644); err != nil {
		return err
	}
	return os.WriteFile(s.p("allowed_signers"), []byte("wallet "+key+"\n"), 0o644)
}

// bigSystem writes a system of n cameras and a wallet holding a year of
// them (keys of 1000 cameras).
func (s *site) bigSystem(n int) error {
	var dev strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&dev, "CAM-%07d, AXIS P3265-LVE, camera, nvr-%d\n", i, i%10)
	}
	if err := os.WriteFile(s.p("devices-n.txt"), []byte(dev.String()), 0o644); err != nil {
		return err
	}
	args := []string{"system", "create", "--id", "big", "--org", "Bench Org", "--devices", s.p("devices-n.txt"), "--out", s.p("big.system.toml")}
	for i := 0; i < 10; i++ {
		args = append(args, "--server", fmt.Sprintf("nvr-%d", i))
	}
	if _, err := s.allotRun(args...); err != nil {
		return err
	}
	keys := (n + 999) / 1000
	if err := copyFile(s.p("empty.wallet"), s.p("big-template.wallet")); err != nil {
		return err
	}
	for _, a := range [][]string{
		{"key", "issue", "--signer", s.p("reseller.key"), "--cert", s.p("reseller.cert"), "--identity", s.p("id.txt"),
			"--product", "vms", "--license", "camera=1000", "--term", "1y", "--count", fmt.Sprint(keys), "--wallet-id", s.walletID, "--out", s.p("keys-big.txt")},
		{"wallet", "redeem", "--file", s.p("keys-big.txt"), "--cert", s.p("reseller.cert"), "--wallet", s.p("big-template.wallet")},
	} {
		if _, err := s.allotRun(a...); err != nil {
			return err
		}
	}
	return nil
}

// timeCmd runs a command times (after prepare, untimed) and returns the
// median wall time. An argument "OUT" becomes a fresh output path per run.
func (s *site) timeCmd(times int, prepare func() error, name string, args ...string) (time.Duration, error) {
	var ds []time.Duration
	for i := 0; i < times; i++ {
		if prepare != nil {
			if err := prepare(); err != nil {
				return 0, err
			}
		}
		a := slices.Clone(args)
		for j := range a {
			if a[j] == "OUT" {
				a[j] = s.p(fmt.Sprintf("out-%d.txt", i))
				os.Remove(a[j])
			}
		}
		cmd := exec.Command(name, a...)
		cmd.Dir = s.dir
		cmd.Env = append(os.Environ(), "ALLOT_NOW=2026-11-22T10:00:00Z", "ALLOT_USER=bench")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %v: %s", filepath.Base(name), strings.Join(a, " "), err, errb.String())
		}
		ds = append(ds, d)
	}
	return median(ds), nil
}

// interleaved runs each command once per round, in turn, so that drifts in
// the machine's load hit them all alike, and returns each one's median wall
// time.
func interleaved(cmds [][]string, rounds int, stdinFile string) ([]time.Duration, error) {
	times := make([][]time.Duration, len(cmds))
	for r := 0; r < rounds; r++ {
		for i, c := range cmds {
			cmd, closeStdin, err := command(c, stdinFile)
			if err != nil {
				return nil, err
			}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			start := time.Now()
			err = cmd.Run()
			d := time.Since(start)
			closeStdin()
			if err != nil {
				return nil, fmt.Errorf("%s: %v: %s", strings.Join(c, " "), err, out.String())
			}
			times[i] = append(times[i], d)
		}
	}
	med := make([]time.Duration, len(cmds))
	for i := range times {
		med[i] = median(times[i])
	}
	return med, nil
}

// command prepares c; ssh-keygen reads the payload on its standard input.
func command(c []string, stdinFile string) (*exec.Cmd, func(), error) {
	cmd := exec.Command(c[0], c[1:]...)
	cmd.Env = append(os.Environ(), "ALLOT_NOW=2026-11-22T10:00:00Z")
	if !strings.HasSuffix(c[0], "ssh-keygen") {
		return cmd, func() {}, nil
	}
	f, err := os.Open(stdinFile)
	if err != nil {
		return nil, nil, err
	}
	cmd.Stdin = f
	return cmd, func() { f.Close() }, nil
}

// peakRSS measures each command's peak resident memory (MiB) with GNU
// time, or returns nil where it is missing. A process's own rusage cannot
// serve: Go starts children with vfork, and Linux counts the parent's
// resident memory at exec into the child's peak.
func peakRSS(cmds [][]string, stdinFile string) ([]float64, error) {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		return nil, nil
	}
	rss := make([]float64, len(cmds))
	for i, c := range cmds {
		for range 3 {
			cmd, closeStdin, err := command(c, stdinFile)
			if err != nil {
				return nil, err
			}
			// Run the same command, with the same input, under GNU time.
			cmd.Args = append([]string{"/usr/bin/time", "-f", "%M"}, cmd.Args...)
			cmd.Path = "/usr/bin/time"
			var errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = io.Discard, &errb
			err = cmd.Run()
			closeStdin()
			if err != nil {
				return nil, fmt.Errorf("time %s: %v: %s", strings.Join(c, " "), err, errb.String())
			}
			lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
			kb, err := strconv.Atoi(lines[len(lines)-1])
			if err != nil {
				return nil, fmt.Errorf("time %s: %q", strings.Join(c, " "), errb.String())
			}
			rss[i] = max(rss[i], float64(kb)/1024)
		}
	}
	return rss, nil
}

// manyBundles verifies 200 bundles, each funded by its own 3 keys and
// sharing one certificate chain, the way a CI audit does: all of them in
// one process, on every core. It returns the time and the signatures
// checked (bundle, keys, and each distinct certificate once per bundle).
func manyBundles(dir string, w *allottest.World, cores int) (time.Duration, int, error) {
	const n = 200
	docs := make([][]byte, n)
	for i := range docs {
		path := filepath.Join(dir, fmt.Sprintf("many-%d.wallet", i))
		wk := allottest.Key(fmt.Sprintf("wallet-%d", i))
		wl, err := w.Wallet(path, wk)
		if err != nil {
			return 0, 0, err
		}
		keys, err := w.Keys(3, 10, 12, wl.ID)
		if err != nil {
			return 0, 0, err
		}
		if _, err := w.Redeem(path, keys); err != nil {
			return 0, 0, err
		}
		if docs[i], err = w.Allocate(path, wk, allottest.System("site", 25), 1); err != nil {
			return 0, 0, err
		}
	}
	opts := verify.Options{Trust: w.Trust, Now: allottest.Now.Add(24 * time.Hour)}
	var firstErr error
	d := perOp(func(b *testing.B) {
		for b.Loop() {
			v := verify.NewVerifier(opts)
			var wg sync.WaitGroup
			for c := 0; c < cores; c++ {
				wg.Go(func() {
					for i := c; i < n; i += cores {
						if r := v.Bundle("many.lic", docs[i]); r.Err != nil && firstErr == nil {
							firstErr = r.Err
						}
					}
				})
			}
			wg.Wait()
		}
	})
	// Every bundle carries 1 + 3 + 2 signatures; the verifier checks the
	// shared certificates once, so count what it really checks.
	return d, n*(1+3) + 2, firstErr
}

const helloSource = `package main

import "fmt"

func main() { fmt.Println("hello, world") }
`

// writePubSig signs file with a fixed key and writes the public key and the
// signature to out, for the floor processes (edonly, cardfloor).
func writePubSig(file, out string) error {
	msg, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pubsig := append([]byte(priv.Public().(ed25519.PublicKey)), ed25519.Sign(priv, msg)...)
	return os.WriteFile(out, pubsig, 0o644)
}

// buildGo builds a one-file Go program with the go command that builds allot.
func buildGo(dir, name, source string) (string, error) {
	src := filepath.Join(dir, name+"-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(source), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module "+name+"\n\ngo 1.26\n"), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v: %s", name, err, out)
	}
	return bin, nil
}

func perOp(f func(b *testing.B)) time.Duration {
	r := testing.Benchmark(f)
	if r.N == 0 {
		return 0
	}
	return r.T / time.Duration(r.N)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ratio(d, base time.Duration) string {
	return fmt.Sprintf("%s (%.2f ×)", fmtDur(d), float64(d)/float64(base))
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
	}
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	os.Remove(to + ".lock")
	return os.WriteFile(to, data, 0o600)
}

func printRows(rows []row) {
	w := []int{4, 8, 6, 5}
	for _, r := range rows {
		w[0] = max(w[0], len([]rune(r.work)))
		w[1] = max(w[1], len([]rune(r.measured)))
		w[2] = max(w[2], len([]rune(r.budget)))
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(0, n-len([]rune(s)))) }
	fmt.Printf("%s  %s  %s  %s  %s\n", pad("work", w[0]), pad("measured", w[1]), pad("budget", w[2]), "met", "floor / reference")
	for _, r := range rows {
		met := "yes"
		if !r.ok {
			met = "NO "
		}
		fmt.Printf("%s  %s  %s  %s  %s\n", pad(r.work, w[0]), pad(r.measured, w[1]), pad(r.budget, w[2]), met, r.floor)
	}
}
