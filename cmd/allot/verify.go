package main

import (
	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/verifycli"
)

// verifyCommand runs the same code as the device binary allot-verify, so
// the two behave exactly alike; the flags here serve help and completion.
// Main runs allot verify without urfave/cli (env.run), so that no
// argument is parsed by anything but verifycli.
func (e *env) verifyCommand() *cli.Command {
	return &cli.Command{
		Name:            "verify",
		Usage:           "verify license bundles: trust, time, hardware binding, quotas",
		UsageText:       "allot verify BUNDLE... --trust vendor.pub [--usage F] [--system F] [--state DIR] [--now T] [--grant F] [--node PATH [--user U] [--feature F] [--license T]] [--json] [-- BUNDLE...]",
		SkipFlagParsing: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "trust", Usage: "vendor roots: a trust file or an OpenSSH public key `FILE`"},
			&cli.StringFlag{Name: "usage", Usage: "what the system uses now (`FILE`.usage.toml)"},
			&cli.StringFlag{Name: "system", Usage: "check the binding against this system `FILE`"},
			&cli.StringFlag{Name: "state", Usage: "device state `DIR`: detect rollback"},
			&cli.BoolFlag{Name: "state-init", Usage: "create the device state if there is none"},
			catalogFlag(), nowFlag(),
			&cli.StringFlag{Name: "node", Usage: "ask the quota tree about the group `PATH` (/ is the system)"},
			&cli.StringFlag{Name: "user", Usage: "the `USER` at the node the question is about"},
			&cli.StringFlag{Name: "feature", Usage: "may the user use feature `F` now"},
			&cli.StringFlag{Name: "license", Usage: "may the user use one more license of `TYPE` now"},
			&cli.StringFlag{Name: "grant", Usage: "a chain of grants down to the node (`FILE`, from allot grant)"},
			jsonFlag(),
			&cli.BoolFlag{Name: "quiet", Usage: "show no progress on a terminal"},
		},
		Action: func(c *cli.Context) error { return e.verify(c.Args().Slice()) },
	}
}

// verify runs allot verify with its arguments as the user gave them.
func (e *env) verify(args []string) error {
	verifycli.LimitMemory(e.getenv)
	code := verifycli.Run(args, verifycli.Env{
		Prog: "allot verify", Stdout: e.stdout, Stderr: e.stderr, Getenv: e.getenv,
		Progress: func(total int) verifycli.Progress {
			// A nil *ui.Progress is not a nil interface: return nil itself.
			if p := e.out().Progress("bundles verified", total, false); p != nil {
				return p
			}
			return nil
		},
	})
	return &exitCodeError{code}
}
