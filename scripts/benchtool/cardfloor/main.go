// Command cardfloor is emptycard doing the least allot verify must do: it
// links the packages DESIGN.md's card fixes, reads a public key and
// signature (PUBSIG, 32 + 64 bytes) and a file, and checks the signature
// six times, a typical bundle's count. scripts/benchtool runs it beside
// emptycard and allot verify: what it costs over emptycard is a floor of
// what allot verify costs over it.
package main

import (
	"crypto/ed25519"
	"os"

	_ "filippo.io/age"
	_ "github.com/BurntSushi/toml"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/olekukonko/tablewriter"
	_ "github.com/urfave/cli/v2"
)

func main() {
	pubsig, err := os.ReadFile(os.Args[1])
	if err != nil || len(pubsig) != 96 {
		os.Exit(3)
	}
	msg, err := os.ReadFile(os.Args[2])
	if err != nil {
		os.Exit(3)
	}
	for range 6 {
		if !ed25519.Verify(pubsig[:32], msg, pubsig[32:]) {
			os.Exit(10)
		}
	}
}
