// Command allot is the offline licensing toolchain: signers and
// certificates, license keys, system descriptions, wallets, allocation of
// signed license bundles, and their verification. See README.md.
package main

import "os"

func main() { os.Exit(Main(os.Args)) }
