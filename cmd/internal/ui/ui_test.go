package ui

import (
	"bytes"
	"errors"
	"testing"
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
