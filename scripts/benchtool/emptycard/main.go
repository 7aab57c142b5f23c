// Command emptycard does nothing but link the packages DESIGN.md's card
// fixes for the full CLI (urfave/cli v2, age, BurntSushi/toml, tablewriter
// and go-git v5; go-internal's testscript, the sixth, is for tests only):
// the floor `allot verify` is measured beside by scripts/benchtool, since
// every package linked runs its initialisation before main.
package main

import (
	_ "filippo.io/age"
	_ "github.com/BurntSushi/toml"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/olekukonko/tablewriter"
	_ "github.com/urfave/cli/v2"
)

func main() {}
