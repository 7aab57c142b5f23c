package cert

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBindingAnyTies: BindingAny, which reads each scope's map once in any
// order, gives what reading the products in order gives: the highest
// requirement, and the first product in order among the certificate's
// that ask it, unless a certificate before asked as much.
func TestBindingAnyTies(t *testing.T) {
	inOrder := func(c Chain) (int, string) {
		k, product := 0, ""
		for _, x := range c {
			for _, p := range slices.Sorted(maps.Keys(x.Scope.Binding)) {
				if n := x.Scope.Binding[p]; n > k {
					k, product = n, p
				}
			}
		}
		return k, product
	}
	rng := rand.New(rand.NewPCG(7, 8))
	products := []string{"vms", "intercom", "analytics", "acs", "cloud"}
	for range 20000 {
		var c Chain
		for range rng.IntN(4) {
			m := map[string]int{}
			for range rng.IntN(5) {
				m[products[rng.IntN(len(products))]] = rng.IntN(4)
			}
			c = append(c, &Certificate{Scope: Scope{Binding: m}})
		}
		wn, wp := inOrder(c)
		if n, p := c.BindingAny(); n != wn || p != wp {
			t.Fatalf("BindingAny = %d, %q; in order %d, %q", n, p, wn, wp)
		}
	}
}
