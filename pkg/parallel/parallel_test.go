package parallel

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// TestFor: every i runs exactly once, for any count of work and workers.
func TestFor(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 1000} {
		for _, workers := range []int{-1, 0, 1, 2, 3, 64} {
			counts := make([]atomic.Int32, n)
			For(n, workers, func(i int) { counts[i].Add(1) })
			for i := range counts {
				if c := counts[i].Load(); c != 1 {
					t.Fatalf("n=%d workers=%d: f(%d) ran %d times", n, workers, i, c)
				}
			}
		}
	}
}

// TestForOneWorker: with one worker, the calls are in order on the
// calling goroutine.
func TestForOneWorker(t *testing.T) {
	var got []int
	For(5, 1, func(i int) { got = append(got, i) }) // a data race if not on one goroutine
	for i, v := range got {
		if v != i {
			t.Fatalf("calls in order %v, want 0…4", got)
		}
	}
	if len(got) != 5 {
		t.Fatalf("%d calls, want 5", len(got))
	}
}

// TestForUsesCores: with several workers, calls overlap when there is
// more than one core.
func TestForUsesCores(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one core")
	}
	var running, most atomic.Int32
	For(64, 0, func(int) {
		r := running.Add(1)
		for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
		}
		for range 200000 {
			if most.Load() > 1 {
				break
			}
			runtime.Gosched()
		}
		running.Add(-1)
	})
	if most.Load() < 2 {
		t.Fatal("no two calls ran at once")
	}
}
