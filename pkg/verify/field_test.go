package verify

import "testing"

// TestFieldNames: an error names the field as the bundle's spec does.
func TestFieldNames(t *testing.T) {
	for _, c := range []struct {
		f    field
		want string
	}{
		{field{"funding[%d].key", 2, 0}, "funding[2].key"},
		{field{"credit[%d].key", 1, 0}, "credit[1].key"},
		{field{"hardware[%d].expansions[%d]", 3, 1}, "hardware[3].expansions[1]"},
	} {
		if got := c.f.String(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}
