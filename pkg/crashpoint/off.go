//go:build !allot_crashtest

package crashpoint

// Here marks a crash point; without the allot_crashtest tag it does nothing.
func Here(name string) {}
