package verify

import "fmt"

// field names a field of a bundle in an error: its format, with one %d for
// i, or two for i and j. It is written out only if an error names it, not
// for every key of every bundle verified.
type field struct {
	format string
	i, j   int
}

func (f field) String() string {
	if f.j > 0 {
		return fmt.Sprintf(f.format, f.i, f.j)
	}
	return fmt.Sprintf(f.format, f.i)
}
