// Package sixsigs is the work of the floor processes of scripts/benchtool:
// what the least verifier does.
package sixsigs

import (
	"crypto/ed25519"
	"os"
)

// Main reads os.Args[1], PUBSIG: a public key and a signature of the file
// os.Args[2], 32 + 64 bytes; it checks the signature six times (a typical
// bundle's count) and exits 3 if a file cannot be read, 10 if the
// signature is bad.
func Main() {
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
