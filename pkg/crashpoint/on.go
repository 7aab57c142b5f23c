//go:build allot_crashtest

package crashpoint

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

var (
	mu     sync.Mutex
	passes = map[string]int{}
)

// Here kills the process if $ALLOT_CRASH_AT names this point (and pass).
func Here(name string) {
	at := os.Getenv("ALLOT_CRASH_AT")
	if at == "" {
		return
	}
	want, nth := at, 1
	if p, n, ok := strings.Cut(at, "#"); ok {
		if v, err := strconv.Atoi(n); err == nil {
			want, nth = p, v
		}
	}
	if want != name {
		return
	}
	mu.Lock()
	passes[name]++
	hit := passes[name] == nth
	mu.Unlock()
	if hit {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
