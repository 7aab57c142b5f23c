package ui

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// Progress shows long work on a terminal: one line on standard error with
// the count done, a bar, the rate and the time left, redrawn at most ten
// times a second and cleared when the work is done. On anything but a
// terminal, or with --quiet, it prints nothing: scripts and CI see only
// the result; nor with --json, whose output is for scripts. A nil
// *Progress does nothing, so callers need not check.
type Progress struct {
	w     io.Writer
	what  string
	total int
	start time.Time
	now   func() time.Time

	mu    sync.Mutex
	done  int
	drawn time.Time
}

// Progress returns a progress line for total units of what ("keys"), or
// nil where none should show: stderr is not a terminal, quiet is set (the
// caller sets it for --quiet and --json), or the work is too small.
func (p *Printer) Progress(what string, total int, quiet bool) *Progress {
	if quiet || total < 2 || !isTerminal(p.Stderr) {
		return nil
	}
	return newProgress(p.Stderr, what, total, time.Now)
}

func newProgress(w io.Writer, what string, total int, now func() time.Time) *Progress {
	return &Progress{w: w, what: what, total: total, start: now(), now: now}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Set records that n units are done, and redraws if it is time.
func (pr *Progress) Set(n int) {
	if pr == nil {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.done = n
	if t := pr.now(); n >= pr.total || t.Sub(pr.drawn) >= 100*time.Millisecond {
		pr.drawn = t
		pr.draw(t)
	}
}

// Add records n more units done.
func (pr *Progress) Add(n int) {
	if pr == nil {
		return
	}
	pr.mu.Lock()
	done := pr.done + n
	pr.mu.Unlock()
	pr.Set(done)
}

// Done clears the line.
func (pr *Progress) Done() {
	if pr == nil {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	fmt.Fprint(pr.w, "\r\x1b[K")
}

const barWidth = 24

func (pr *Progress) draw(t time.Time) {
	done := min(pr.done, pr.total)
	filled := barWidth * done / pr.total
	bar := make([]byte, barWidth)
	for i := range bar {
		bar[i] = ' '
		if i < filled {
			bar[i] = '='
		}
	}
	line := fmt.Sprintf("%d/%d %s [%s] %3d%%", done, pr.total, pr.what, bar, 100*done/pr.total)
	if el := t.Sub(pr.start); el > 0 && done > 0 {
		rate := float64(done) / el.Seconds()
		left := time.Duration(float64(pr.total-done) / rate * float64(time.Second)).Round(time.Second)
		line += fmt.Sprintf("  %.0f/s  %s left", rate, left)
	}
	fmt.Fprintf(pr.w, "\r\x1b[K%s", line)
}
