// Package verifycli is the command line of `allot verify` and of the device
// binary `allot-verify`, which behave exactly alike because both run this
// code. It parses arguments by hand and prints with the standard library
// only, so that allot-verify links no command-line framework, no table
// library and no git: its start-up cost is the budget DESIGN.md sets.
package verifycli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"allot.dev/allot/cmd/internal/input"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/parallel"
	"allot.dev/allot/pkg/payload"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/termtext"
	"allot.dev/allot/pkg/tomlfile"
	"allot.dev/allot/pkg/verify"
)

// Env is what a run reads and writes.
type Env struct {
	Prog   string // "allot verify" or "allot-verify", for messages
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Progress, if not nil, returns a progress display for total bundles:
	// allot shows one on a terminal; the device binary has none.
	Progress func(total int) Progress
}

// Progress is told how many bundles are verified, and when all are.
type Progress interface {
	Set(n int)
	Done()
}

// Usage is the help text.
const Usage = `Usage: %[1]s BUNDLE... --trust FILE [--usage FILE] [--system FILE] [--state DIR] [--now TIME]
       [--grant FILE] [--node PATH [--user NAME] [--feature F] [--license TYPE]] [--json] [-- BUNDLE...]

Verifies license bundles: signature chain to a trusted root, validity period
and grace, hardware binding, and quotas. Exit code 0 means licensed (valid or
in a grace period); see the README for the others.

Flags:
  --trust FILE     vendor root keys: a trust file or an OpenSSH public key file
                   (default: $ALLOT_TRUST)
  --usage FILE     what the system uses now (*.usage.toml): check the quotas
  --system FILE    check the hardware binding against this system file's servers
                   instead of this machine's identifiers
  --state DIR      device state: detect a clock set back or an older bundle
  --state-init     create the device state in DIR if it does not exist yet
  --catalog FILE   catalog for analytics types (default: the embedded catalog)
  --now TIME       the current time, RFC 3339 or a date (default: $ALLOT_NOW, else the clock)
  --node PATH      ask the bundle's quota tree about the group PATH (/ is the system):
  --user NAME        may this user there,
  --feature F        use feature F,
  --license TYPE     or one more license of TYPE, now? Exit 0 if so, else 11 or 13
  --grant FILE     a chain of grants (allot grant) down to the node, verified against
                   the bundle's wallet
  --json           print the result as JSON
  --quiet          show no progress (allot verify shows it on a terminal)

Flags may come before or after the bundles, and are spelt exactly --name,
--name=VALUE or --name VALUE (and -h). A bundle's name never acts as a flag:
an argument that starts with '-' and is the name of a file is refused, as is
-name, a flag given twice, and a VALUE that starts with '-'. Every argument
after -- is a bundle; a script that verifies a shell pattern writes
  %[1]s --trust FILE -- *.lic
`

type options struct {
	bundles   []string
	trust     string
	usage     string
	system    string
	state     string
	stateInit bool
	catalog   string
	now       string
	json      bool
	quiet     bool
	help      bool
	tree      treeOptions
}

type usageError struct{ msg, hint string }

func (e *usageError) Error() string { return e.msg }

// Is makes a usage error of class errclass.Usage.
func (e *usageError) Is(target error) bool { return target == errclass.Usage }

// parseArgs applies the one argument rule of allot verify and allot-verify
// (Usage). Its point is that a bundle's name never changes what verify
// trusts: on a device the names in a folder are chosen by whoever filled
// it, a shell pattern (*.lic) passes them on as arguments, and a file named
// --trust=evil.pub.lic or -now=2020-01-01.lic must not become a flag. So:
//
//   - after "--" every argument is a bundle;
//   - an argument that starts with '-' and names an existing file (isFile)
//     is refused, whatever it says: it is either a bundle's name that a
//     pattern produced, or a flag that is ambiguous in this folder;
//   - a flag is spelt exactly --name or --name=value (or -h): no -name,
//     ---name or abbreviation, and anything else that starts with '-' is
//     an unknown flag, not a bundle;
//   - a value taken from the next argument never starts with '-', so a
//     flag left without its value does not swallow a flag-like name;
//   - a flag given twice is refused, so a name that slipped through (a
//     file created after the shell expanded the pattern, or removed before
//     isFile looked) cannot override the flag the caller typed.
//
// Refusing (exit 2) rather than reading such a name as a bundle keeps the
// rule simple to state and to check, and never guesses against the
// caller: "./NAME" or "-- NAME" says which one is meant.
func parseArgs(args []string, getenv func(string) string, isFile func(string) bool) (*options, error) {
	o := &options{trust: getenv("ALLOT_TRUST"), now: getenv("ALLOT_NOW"), catalog: getenv("ALLOT_CATALOG")}
	values := map[string]*string{
		"trust": &o.trust, "usage": &o.usage, "system": &o.system, "state": &o.state,
		"catalog": &o.catalog, "now": &o.now,
		"node": &o.tree.node, "user": &o.tree.user, "feature": &o.tree.feature, "license": &o.tree.license, "grant": &o.tree.grant,
	}
	bools := map[string]*bool{"json": &o.json, "state-init": &o.stateInit, "help": &o.help, "quiet": &o.quiet}
	given := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			o.bundles = append(o.bundles, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			o.bundles = append(o.bundles, a)
			continue
		}
		if isFile(a) {
			return nil, &usageError{fmt.Sprintf("%s is the name of a file, not a flag", a),
				fmt.Sprintf("to verify it, write ./%s or put the bundles after --", a)}
		}
		if a == "-h" {
			o.help = true
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		_, isValue := values[name]
		_, isBool := bools[name]
		if !strings.HasPrefix(a, "--") || strings.HasPrefix(a, "---") || !isValue && !isBool {
			hint := "flags are spelt --name or --name=VALUE; a bundle whose name starts with - is written ./NAME or after --"
			if bare, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); values[bare] != nil || bools[bare] != nil {
				hint = fmt.Sprintf("the flag is spelt --%s", bare)
			}
			return nil, &usageError{fmt.Sprintf("unknown flag %s", a), hint}
		}
		if given[name] {
			return nil, &usageError{fmt.Sprintf("flag --%s given twice", name), "give each flag once"}
		}
		given[name] = true
		if isValue {
			if !hasVal {
				if i+1 >= len(args) || strings.HasPrefix(args[i+1], "-") {
					return nil, &usageError{fmt.Sprintf("flag --%s needs a value", name),
						fmt.Sprintf("a value that starts with - is written --%s=VALUE", name)}
				}
				i++
				val = args[i]
			}
			*values[name] = val
			continue
		}
		v := true
		if hasVal {
			switch val {
			case "true":
			case "false":
				v = false
			default:
				return nil, &usageError{fmt.Sprintf("flag --%s takes no value, or true or false", name), ""}
			}
		}
		*bools[name] = v
	}
	return o, nil
}

// isFile reports whether a file (of any kind, a dangling link too) of that
// name exists.
func isFile(name string) bool {
	_, err := os.Lstat(name)
	return err == nil
}

// Run verifies the bundles args name and returns the exit code: that of the
// first bundle that fails, in argument order, or 0.
func Run(args []string, env Env) int {
	o, err := parseArgs(args, env.Getenv, isFile)
	if err == nil && o.help {
		fmt.Fprintf(env.Stdout, Usage, env.Prog)
		return errclass.ExitOK
	}
	if err == nil && len(o.bundles) == 0 {
		err = &usageError{"no bundle to verify", ""}
	}
	if err == nil && o.trust == "" {
		err = &usageError{"no trust file: give --trust FILE or set ALLOT_TRUST", ""}
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "allot: %s: %s\n", env.Prog, oneLine(err))
		hint := fmt.Sprintf("run %s --help for its usage", env.Prog)
		var ue *usageError
		if errors.As(err, &ue) && ue.hint != "" {
			hint = ue.hint
		}
		fmt.Fprintf(env.Stderr, "allot: hint: %s\n", termtext.Escape(hint))
		return errclass.ExitUsage
	}
	reports, err := run(o, env)
	if err != nil {
		code := errclass.ExitCode(err)
		if code == errclass.ExitInternal {
			fmt.Fprintf(env.Stderr, "allot: internal error: %s\n", oneLine(err))
			fmt.Fprintf(env.Stderr, "allot: hint: this is a bug; please report it with the command you ran\n")
			return code
		}
		fmt.Fprintf(env.Stderr, "allot: %s\n", oneLine(err))
		return code
	}
	code := errclass.ExitOK
	for _, r := range reports {
		if code == errclass.ExitOK {
			code = errclass.ExitCode(r.Err)
		}
		if r.Err != nil {
			fmt.Fprintf(env.Stderr, "allot: %s: %s\n", termtext.Escape(r.File), oneLine(r.Err))
		}
	}
	stdout := bufio.NewWriter(env.Stdout)
	defer stdout.Flush()
	if o.json {
		// The shape of every allot JSON document: version and type first
		// (cmd/internal/ui, which this binary does not link).
		out := struct {
			Version  int              `json:"version"`
			Type     string           `json:"type"`
			ExitCode int              `json:"exit_code"`
			Bundles  []*verify.Report `json:"bundles"`
		}{1, "verify", code, reports}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		enc.Encode(out)
	} else {
		for _, r := range reports {
			printReport(stdout, r)
		}
	}
	return code
}

// oneLine is an error as text for a terminal or a log line: its message
// quotes names and values from the input files, so a control code or a
// newline in them is escaped (termtext), and the error stays one line.
func oneLine(err error) string { return termtext.Escape(err.Error()) }

// run loads the inputs shared by every bundle and verifies each one.
func run(o *options, env Env) ([]*verify.Report, error) {
	// Two things every verify needs and that depend on none of its inputs
	// start on another core while the inputs are read: the Ed25519
	// verifier's one-time table, needed by the first signature, then this
	// machine's identifiers (mostly waiting on the kernel), needed by the
	// binding check after all signatures. Each is used as before, only
	// ready sooner.
	root := Sysroot(env.Getenv)
	var machine func() ([]hwid.Identifier, error)
	if o.system == "" {
		machine = sync.OnceValues(func() ([]hwid.Identifier, error) { return hwid.Collect(root) })
	}
	go func() {
		sign.Prepare()
		if machine != nil {
			machine()
		}
	}()
	now, err := ParseNow(o.now)
	if err != nil {
		return nil, &usageError{fmt.Sprintf("--now: %v", err), ""}
	}
	trust, err := input.Trust(o.trust)
	if err != nil {
		return nil, inputErr(err)
	}
	cat := catalog.Default()
	if o.catalog != "" {
		if cat, err = input.Catalog(o.catalog); err != nil {
			return nil, inputErr(err)
		}
	}
	// One bundle's signatures are checked one after another: in a process
	// that lives for one verification, starting threads for them costs
	// more than it saves. Several bundles are verified side by side.
	opts := verify.Options{Trust: trust, Now: now, Catalog: cat, Workers: 1}
	if o.usage != "" {
		if opts.Usage, err = input.Usage(o.usage); err != nil {
			return nil, inputErr(err)
		}
	}
	var state *input.State
	if o.system != "" {
		sys, err := input.Servers(o.system, cat)
		if err != nil {
			return nil, inputErr(err)
		}
		opts.Machines = verify.SystemMachines(o.system, sys)
	} else {
		opts.Machines = verify.CollectedMachine(machine)
	}
	if err := o.tree.apply(&opts); err != nil {
		return nil, err
	}
	if o.state != "" {
		key, err := verify.MachineStateKey(root)
		if err != nil {
			return nil, err
		}
		st, err := input.OpenState(o.state, key, o.stateInit)
		if err != nil {
			if errors.Is(err, verify.ErrStateMissing) {
				return nil, fmt.Errorf("%w (a new device: run once with --state-init)", err)
			}
			return nil, err
		}
		state = st
		opts.State = st.State
	}
	// Bundles are independent: verify them on every core at once, sharing
	// the certificates they have in common, and report them in order.
	v := verify.NewVerifier(opts)
	reports := make([]*verify.Report, len(o.bundles))
	var opened []*bundle.Bundle // with a state: the bundles, for it to see in order
	if state != nil {
		opened = make([]*bundle.Bundle, len(o.bundles))
	}
	check := func(i int) {
		f := o.bundles[i]
		doc, err := input.ReadFile(f, bundle.MaxSize)
		if err != nil {
			// The report names the file: keep only what went wrong.
			var pe *fs.PathError
			var te *tomlfile.Error
			switch {
			case errors.As(err, &pe):
				err = pe.Err
			case errors.As(err, &te):
				err = te.Err
			}
			reports[i] = verify.Unreadable(f, err)
			return
		}
		if state == nil {
			reports[i] = v.Bundle(f, doc)
			return
		}
		reports[i], opened[i] = v.Check(f, doc)
	}
	var progress Progress
	if env.Progress != nil && !o.quiet && !o.json && len(o.bundles) > 1 {
		progress = env.Progress(len(o.bundles))
	}
	if progress == nil {
		parallel.For(len(o.bundles), 0, check)
	} else {
		var verified atomic.Int64
		parallel.For(len(o.bundles), 0, func(i int) {
			check(i)
			progress.Set(int(verified.Add(1)))
		})
		progress.Done()
	}
	if state != nil {
		// The state sees the bundles in argument order, once all are
		// verified, so that its verdicts do not hang on which finished
		// first; a bundle older than another of its series given with it
		// is a rollback.
		newest := map[string]int{}
		for i, b := range opened {
			if b != nil && reports[i].Err == nil {
				newest[verify.Series(b)] = max(newest[verify.Series(b)], b.Sequence)
			}
		}
		for i, b := range opened {
			if b == nil && reports[i].Status != "" {
				continue // unreadable: reported already
			}
			n := 0
			if b != nil {
				n = newest[verify.Series(b)]
			}
			v.ApplyState(reports[i], b, n)
		}
		if err := state.Save(); err != nil {
			return nil, err
		}
	}
	return reports, nil
}

type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// Is makes a file verify could not use of class errclass.Input.
func (e *inputError) Is(target error) bool { return target == errclass.Input }

func inputErr(err error) error {
	var te *tomlfile.Error
	if errors.As(err, &te) {
		return errclass.Wrap(verify.ErrMalformed, err)
	}
	return &inputError{err}
}

// Sysroot returns the file system hardware identifiers are read from: "/",
// or $ALLOT_SYSROOT (for tests, and for containers that mount the host's).
func Sysroot(getenv func(string) string) fs.FS {
	if r := getenv("ALLOT_SYSROOT"); r != "" {
		return os.DirFS(r)
	}
	return os.DirFS("/")
}

// ParseNow parses --now: RFC 3339 or a date. Empty means the clock.
func ParseNow(s string) (time.Time, error) {
	if s == "" {
		return time.Now().UTC(), nil
	}
	return ParseTime(s)
}

// ParseTime parses RFC 3339 or a date (midnight UTC).
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, err = time.Parse(time.DateOnly, s)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a time: want RFC 3339 (2026-11-22T10:00:00Z) or a date (2026-11-22)", s)
	}
	// Every date allot reads or writes lies in these years; a clock
	// outside them would be written into a device state no reader takes.
	if t = t.UTC(); !payload.ValidTime(t) {
		return time.Time{}, fmt.Errorf("%q: want a time in the years %d to %d", s, payload.MinYear, payload.MaxYear)
	}
	return t, nil
}

// printReport prints r for people. Every string in it may come from an
// input file (the bundle's organization and system, a file name, an
// error quoting them), so each is escaped (termtext) before it is
// printed; the JSON report keeps them as they are.
func printReport(w io.Writer, r *verify.Report) {
	esc := termtext.Escape
	head := r.Status
	if r.Err != nil {
		head = oneLine(r.Err)
	} else if h, ok := lifecycleHead(r); ok {
		head += h
	} else if r.Time != nil {
		if r.Status == verify.StatusGrace {
			head += fmt.Sprintf(" (grace period until %s, %d day%s left)", r.Time.GraceUntil.Format(time.DateOnly), r.Time.DaysLeft, plural(r.Time.DaysLeft))
		} else {
			head += fmt.Sprintf(" (until %s, %d day%s left)", r.Time.Until.Format(time.DateOnly), r.Time.DaysLeft, plural(r.Time.DaysLeft))
		}
	}
	fmt.Fprintf(w, "%s: %s\n", esc(r.File), head)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	if b := r.Bundle; b != nil {
		fmt.Fprintf(tw, "  bundle\t%s, sequence %d, system %s, organization %s\n", esc(b.ID), b.Sequence, esc(b.System), esc(b.Organization))
	}
	if len(r.Keys) > 0 {
		longest := 0
		for _, k := range r.Keys {
			longest = max(longest, k.Chain)
		}
		fmt.Fprintf(tw, "  trust\t%d key%s, certificate chains of up to %d, to a trusted root\n", len(r.Keys), plural(len(r.Keys)), longest)
	}
	if t := r.Time; t != nil && t.FirstGrace {
		fmt.Fprintf(tw, "  time\tfirst-day grace from %s until %s, no license allocated yet\n", t.From.Format(time.DateOnly), t.GraceUntil.Format(time.DateOnly))
	} else if t != nil {
		fmt.Fprintf(tw, "  time\t%s to %s, grace until %s\n", t.From.Format(time.DateOnly), t.Until.Format(time.DateOnly), t.GraceUntil.Format(time.DateOnly))
		if t.AnalyticsRetentionUntil != nil {
			fmt.Fprintf(tw, "  analytics\t%s\n", analyticsLine(t))
		}
	}
	printLifecycle(tw, r)
	if b := r.Binding; b != nil {
		switch {
		case b.Required == 0:
			fmt.Fprintf(tw, "  binding\tunbound: not bound to hardware\n")
		case !b.Checked:
			fmt.Fprintf(tw, "  binding\tnot checked\n")
		case b.Server == "":
			fmt.Fprintf(tw, "  binding\tno licensed server matches, %d identifier%s required\n", b.Required, plural(b.Required))
		default:
			fmt.Fprintf(tw, "  binding\tserver %s: %d identifier%s match, %d required\n", esc(b.Server), b.Matched, plural(b.Matched), b.Required)
		}
	}
	for i, s := range r.Shares {
		label, this := "", ""
		if i == 0 {
			label = "share"
		}
		if s.ThisMachine {
			this = " (this machine)"
		}
		fmt.Fprintf(tw, "  %s\t%s: %s%s\n", label, esc(s.Server), esc(bundle.FormatQuota(s.Quota)), this)
	}
	if len(r.Quotas) > 0 {
		// A floating system's rows name the server whose share they check.
		server := func(string) string { return "" }
		header := "  quota\tLICENSE\tALLOWED\tUSED\tSTATUS\n"
		if len(r.Shares) > 0 {
			header = "  quota\tSERVER\tLICENSE\tALLOWED\tUSED\tSTATUS\n"
			server = func(s string) string {
				if s == "" {
					s = "(pool)"
				}
				return esc(s) + "\t"
			}
		}
		fmt.Fprint(tw, header)
		for _, q := range r.Quotas {
			used := fmt.Sprint(q.Used)
			if q.Status == "not-checked" {
				used = "-"
			}
			fmt.Fprintf(tw, "  \t%s%s\t%d\t%s\t%s\n", server(q.Server), esc(q.License), q.Allowed, used, esc(q.Status))
		}
	}
	printFeatures(tw, r)
	printTree(tw, r)
	for _, wn := range r.Warnings {
		fmt.Fprintf(tw, "  warning\t%s\n", esc(wn))
	}
	tw.Flush()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
