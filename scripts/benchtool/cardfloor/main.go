// Command cardfloor is emptycard doing the least allot verify must do: it
// links the packages DESIGN.md's card fixes, reads a public key and
// signature (PUBSIG, 32 + 64 bytes) and a file, and checks the signature
// six times, a typical bundle's count. scripts/benchtool runs it beside
// emptycard and allot verify: what it costs over emptycard is a floor of
// what allot verify costs over it.
package main

import (
	_ "filippo.io/age"
	_ "github.com/BurntSushi/toml"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/olekukonko/tablewriter"
	_ "github.com/urfave/cli/v2"

	"allot.dev/allot/scripts/benchtool/internal/sixsigs"
)

func main() { sixsigs.Main() }
