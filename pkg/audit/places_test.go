package audit

import (
	"slices"
	"testing"
)

// note keeps the first use in each place, and sorted gives them in the
// order of their places, whatever order they came in.
func TestPlaces(t *testing.T) {
	m := map[string]*places{}
	for _, u := range []Use{
		{Source: "c1", WalletID: "c"}, {Source: "a1", WalletID: "a"}, {Source: "c2", WalletID: "c"},
		{Source: "b1", WalletID: "b"}, {Source: "a2", WalletID: "a"},
	} {
		note(m, "k", u.WalletID, u)
	}
	note(m, "one", "z", Use{Source: "z1"})
	note(m, "one", "z", Use{Source: "z2"})
	var got []string
	for _, u := range m["k"].sorted() {
		got = append(got, u.Source)
	}
	if want := []string{"a1", "b1", "c1"}; !slices.Equal(got, want) || m["k"].count() != 3 {
		t.Errorf("uses %v (count %d), want %v", got, m["k"].count(), want)
	}
	if us := m["one"].sorted(); m["one"].count() != 1 || len(us) != 1 || us[0].Source != "z1" {
		t.Errorf("one place: count %d, uses %+v, want z1 alone", m["one"].count(), us)
	}
}
