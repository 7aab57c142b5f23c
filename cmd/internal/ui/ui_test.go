package ui

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// Fprintf escapes its string and error arguments whatever the verb (a
// width pads the text before it is escaped), and leaves the others to fmt.
func TestFprintf(t *testing.T) {
	var b bytes.Buffer
	Fprintf(&b, "%s|%q|%#q|%v|%-6s|%d|%s\n", "a\x1b[2Jb", "c\u202ed", "e\u202ef", errors.New("g\nh"), "\u009b", 42, stringer{})
	want := `a\x1b[2Jb|"c\u202ed"|` + "`e\\u202ef`" + `|g\x0ah|\u009b     |42|kind` + "\n"
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
}

type stringer struct{}

func (stringer) String() string { return "kind" }

// On a terminal, progress shows the count, a bar, the rate and the time
// left, and clears its line when done.
func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	clock := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	pr := newProgress(&b, "keys", 1000, func() time.Time { return clock })
	clock = clock.Add(2 * time.Second)
	pr.Set(250)
	line := b.String()
	for _, want := range []string{"250/1000 keys", "[======", " 25%", "125/s", "6s left"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
	// Redrawn at most ten times a second.
	pr.Set(260)
	if b.String() != line {
		t.Errorf("redrawn within 100 ms: %q", b.String())
	}
	pr.Done()
	if !strings.HasSuffix(b.String(), "\r\x1b[K") {
		t.Errorf("the line is not cleared: %q", b.String())
	}
}

// Anywhere but a terminal, and with --quiet, no progress at all; a nil
// progress is safe to use.
func TestProgressOnlyOnATerminal(t *testing.T) {
	var out, errb bytes.Buffer
	p := New(&out, &errb)
	pr := p.Progress("keys", 1000, false)
	if pr != nil {
		t.Fatal("progress on a buffer, not a terminal")
	}
	pr.Set(5)
	pr.Add(5)
	pr.Done()
	if errb.Len() != 0 {
		t.Errorf("a nil progress printed %q", errb.String())
	}
}
