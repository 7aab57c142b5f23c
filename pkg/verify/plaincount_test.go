package verify

import "testing"

// TestPlainCount: a count as strconv.Itoa writes one from 0 to maxCount,
// and nothing else, however long.
func TestPlainCount(t *testing.T) {
	for num, want := range map[string]int{"0": 0, "7": 7, "42": 42, "100000000": maxCount} {
		if c, ok := plainCount(num); !ok || c != want {
			t.Errorf("plainCount(%q) = %d, %v, want %d", num, c, ok, want)
		}
	}
	for _, num := range []string{"", "-1", "+1", "01", "00", "1a", " 1", "100000001", "999999999",
		"1000000000", "999999999999999999", "9999999999999999999", "99999999999999999999999"} {
		if c, ok := plainCount(num); ok {
			t.Errorf("plainCount(%q) = %d, want refused", num, c)
		}
	}
}
