package verifycli

import "runtime/debug"

// MemoryLimit is the soft memory limit of the Go runtime in a process
// that verifies: DESIGN.md gives a device 20 MiB, of which the binary's
// own pages and the runtime's take a few. Without it, the heap of a
// bundle at the readers' limits grows to twice what is live before the
// collector runs; with it, the collector runs more often near the limit.
// A typical verify stays far below it and runs as fast.
const MemoryLimit = 14 << 20

// LimitMemory sets MemoryLimit, unless GOMEMLIMIT sets a limit of its own.
func LimitMemory(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
}
