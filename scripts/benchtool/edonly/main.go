// Command edonly is the least a verifier process can do: start, read a
// bundle, check six Ed25519 signatures, exit. scripts/benchtool runs it
// beside allot-verify as its floor.
package main

import "allot.dev/allot/scripts/benchtool/internal/sixsigs"

func main() { sixsigs.Main() }
