package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/verifycli"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/sign/keyfile"
)

// defaultWallet is the wallet file when neither --wallet nor ALLOT_WALLET
// names one.
const defaultWallet = "allot.wallet"

// env is what a run of allot reads from and writes to. Commands hang off it
// rather than reading globals.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	rand   io.Reader

	// scryptWorkFactor is the age scrypt work factor for new keys; tests
	// lower it (see TestMain).
	scryptWorkFactor int

	// usage holds a usage error found outside a command's action (an
	// unknown command), reported when the run ends.
	usage error

	// keys holds the private keys decrypted in this run (openKeyCached).
	keys map[[32]byte]ed25519.PrivateKey
}

// testRand, set only by tests, replaces the system's randomness so that
// the JSON documents of a run can be compared with golden files.
var testRand io.Reader

func newEnv() *env {
	r := rand.Reader
	if testRand != nil {
		r = testRand
	}
	return &env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		getenv: os.Getenv, rand: r,
		scryptWorkFactor: scryptWorkFactor,
	}
}

// scryptWorkFactor is the default for new passphrase-encrypted keys. It is
// a variable only so that TestMain can lower it.
var scryptWorkFactor = keyfile.DefaultWorkFactor

// Main runs allot with args and returns the exit code.
func Main(args []string) int { return newEnv().run(args) }

func (e *env) run(args []string) int {
	// allot verify hands its arguments, exactly as given, to the parser
	// allot-verify uses (verifycli), so that one rule decides what is a
	// flag in both. urfave/cli never sees them: it would take a last
	// argument --generate-bash-completion, which a file of that name
	// reached by a shell pattern can be, as a request for completions,
	// and end with exit 0 without verifying anything.
	if len(args) > 1 && args[1] == "verify" {
		return e.report(e.verify(args[2:]))
	}
	app := e.newApp()
	err := app.Run(reorderArgs(app, args))
	if err == nil {
		err = e.usage
	}
	return e.report(err)
}

func (e *env) newApp() *cli.App {
	app := &cli.App{
		Name:      "allot",
		Usage:     "offline licensing: signers, license keys, wallets, signed bundles",
		Version:   version(),
		Writer:    e.stdout,
		ErrWriter: e.stderr,
		Reader:    e.stdin,
		// The completion scripts are generated and static; urfave's
		// --generate-bash-completion would let a last argument (a file
		// name from a glob) turn any command into a completion listing.
		EnableBashCompletion: false,
		// Values such as --server nvr-1:mac=…,disk=… hold commas; a flag
		// given twice gives two values.
		DisableSliceFlagSeparator: true,
		HideHelpCommand:           true,
		Suggest:                   true,
		OnUsageError:              onUsageError,
		CommandNotFound: func(c *cli.Context, name string) {
			e.usage = usageErrorf("unknown command %q; run allot --help for the list", name)
		},
		ExitErrHandler: func(*cli.Context, error) {}, // Main decides exits
		Commands: []*cli.Command{
			e.signerCommand(),
			e.keyCommand(),
			e.systemCommand(),
			e.groupCommand(),
			e.userCommand(),
			e.fingerprintCommand(),
			e.walletCommand(),
			e.allocateCommand(),
			e.grantCommand(),
			e.subscriptionCommand(),
			e.rebalanceCommand(),
			e.verifyCommand(),
			e.statusCommand(),
			e.revokeCommand(),
			e.auditCommand(),
			e.remindCommand(),
			e.demoCommand(),
			e.completionCommand(),
			e.manCommand(),
		},
	}
	setUsageErrors(app.Commands)
	return app
}

func setUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = onUsageError
		setUsageErrors(c.Subcommands)
	}
}

func onUsageError(_ *cli.Context, err error, _ bool) error {
	return &usageError{err.Error()}
}

func version() string { return "0.1.0-dev" }

// usageError is a bad flag or argument: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Is makes a usage error of class errclass.Usage.
func (e *usageError) Is(target error) bool { return target == errclass.Usage }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// hintError carries a next step for the user.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hint: fmt.Sprintf(format, args...)}
}

// detailError adds lines that follow the error's own line: the other
// invalid keys of a refused batch.
type detailError struct {
	err     error
	details []string
}

func (e *detailError) Error() string { return e.err.Error() }
func (e *detailError) Unwrap() error { return e.err }

// exitCodeError is a failure already reported on stdout/stderr (verify
// prints its own report) that only needs its exit code.
type exitCodeError struct{ code int }

func (e *exitCodeError) Error() string { return fmt.Sprintf("exit code %d", e.code) }

// inputError marks a failure caused by what the user gave (exit code 3)
// when no package error class says so.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// Is makes an input error of class errclass.Input.
func (e *inputError) Is(target error) bool { return target == errclass.Input }

func inputErrorf(format string, args ...any) error {
	return &inputError{fmt.Errorf(format, args...)}
}

// exitCode maps an error to its exit code: by its class (package
// errclass, the one table both allot and allot-verify use), or the code a
// command that reported its own result (verify) returned.
func exitCode(err error) int {
	var code *exitCodeError
	if errors.As(err, &code) {
		return code.code
	}
	return errclass.ExitCode(err)
}

// report prints err as allot's one-line error (and hint), and returns the
// exit code. Errors quote names and values from input files: the printer
// escapes every line, so a control code or a newline in them neither
// reaches the terminal nor starts another line.
func (e *env) report(err error) int {
	code := exitCode(err)
	var already *exitCodeError
	if err == nil || errors.As(err, &already) {
		return code
	}
	p := e.out()
	if code == errclass.ExitInternal {
		p.Eprintf("allot: internal error: %s\n", err)
		p.Eprintf("allot: hint: this is a bug; please report it with the command you ran\n")
		return code
	}
	p.Eprintf("allot: %s\n", err)
	var d *detailError
	if errors.As(err, &d) {
		for _, line := range d.details {
			p.Eprintf("allot: %s\n", line)
		}
	}
	var h *hintError
	if errors.As(err, &h) {
		p.Eprintf("allot: hint: %s\n", h.hint)
	} else if code == errclass.ExitUsage {
		p.Eprintf("allot: hint: run the command with --help for its usage\n")
	}
	return code
}

// reorderArgs lets flags follow arguments, as people type them ("allot
// verify site.lic --trust vendor.pub"): urfave/cli, like the flag package,
// stops at the first argument. It moves the flags of the command being run
// in front of its arguments, keeping each flag's value with it.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	cmds := app.Commands
	var cmd *cli.Command
	i := 1
	for ; i < len(args); i++ {
		var found *cli.Command
		for _, c := range cmds {
			if c.HasName(args[i]) {
				found = c
			}
		}
		if found == nil {
			break
		}
		cmd = found
		out = append(out, args[i])
		cmds = found.Subcommands
		if len(cmds) == 0 {
			i++
			break
		}
	}
	// A command that parses its own arguments (verify) gets them as they
	// are: moving a bundle named --trust=x.pub in front of the others
	// would make it a flag.
	if cmd == nil || cmd.SkipFlagParsing || len(cmd.Subcommands) > 0 {
		return args
	}
	var flags, pos []string
	rest := args[i:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			pos = append(pos, rest[j+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' || a == "--generate-bash-completion" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if takesValue(cmd, name) && j+1 < len(rest) {
			flags = append(flags, rest[j+1])
			j++
		}
	}
	out = append(out, flags...)
	if len(pos) > 0 {
		if pos[len(pos)-1] == "--generate-bash-completion" {
			out = append(out, pos...)
		} else {
			out = append(append(out, "--"), pos...)
		}
	}
	return out
}

func takesValue(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				dv, ok := f.(cli.DocGenerationFlag)
				return ok && dv.TakesValue()
			}
		}
	}
	return false
}

// Common flags.

func nowFlag() cli.Flag {
	return &cli.StringFlag{Name: "now", Usage: "the current time, RFC 3339 or a date (default: $ALLOT_NOW, else the clock)", EnvVars: []string{"ALLOT_NOW"}}
}

func quietFlag() cli.Flag {
	return &cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "show no progress on a terminal"}
}

func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print the result as JSON"}
}

func walletFlag() cli.Flag {
	return &cli.StringFlag{Name: "wallet", Usage: "the wallet file, or a git wallet's folder (default: $ALLOT_WALLET, else " + defaultWallet + ")", EnvVars: []string{"ALLOT_WALLET"}}
}

func catalogFlag() cli.Flag {
	return &cli.StringFlag{Name: "catalog", Usage: "a catalog file (default: the embedded catalog)", EnvVars: []string{"ALLOT_CATALOG"}}
}

func outFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: usage + " ('-' for standard output)"}
}

// now returns the time the run works with: --now, $ALLOT_NOW, or the clock.
func now(c *cli.Context) (time.Time, error) {
	return verifycli.ParseNow(c.String("now"))
}

func walletPath(c *cli.Context) string {
	if p := c.String("wallet"); p != "" {
		return resolveWallet(p)
	}
	return resolveWallet(defaultWallet)
}

// who names the person making a wallet change, for its history.
func (e *env) who() string {
	if u := e.getenv("ALLOT_USER"); u != "" {
		return u
	}
	u := e.getenv("USER")
	if u == "" {
		u = "unknown"
	}
	if h, err := os.Hostname(); err == nil {
		return u + "@" + h
	}
	return u
}
