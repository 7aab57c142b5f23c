// Command allot-verify is the device's license check: `allot-verify ARGS`
// behaves exactly as `allot verify ARGS`, in a binary that links only the
// standard library, x/crypto and allot's format packages, so it starts as
// fast as the budget in DESIGN.md asks.
package main

import (
	"os"

	"allot.dev/allot/cmd/internal/verifycli"
)

func main() {
	verifycli.LimitMemory(os.Getenv)
	os.Exit(verifycli.Run(os.Args[1:], verifycli.Env{
		Prog: "allot-verify", Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
	}))
}
