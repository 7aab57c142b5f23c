package bundle_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/bundle"
)

// sharedBundle is the sample bundle with its pool divided between its two
// servers in both periods.
func sharedBundle() *bundle.Bundle {
	b := sampleBundle()
	b.Shares = []bundle.Share{
		{Period: 1, Server: "nvr-1", Quota: map[string]int{"camera": 30, "intercom": 4}},
		{Period: 1, Server: "nvr-2", Quota: map[string]int{"camera": 10, "intercom": 0}},
		{Period: 2, Server: "nvr-1", Quota: map[string]int{"camera": 35, "intercom": 2}},
		{Period: 2, Server: "nvr-2", Quota: map[string]int{"camera": 15, "intercom": 2}},
	}
	return b
}

func TestSharesRoundTrip(t *testing.T) {
	want := sharedBundle()
	doc, err := bundle.Seal(want, walletPriv)
	if err != nil {
		t.Fatal(err)
	}
	// The writer and the documented form agree, shares included.
	if !bytes.Contains(doc, []byte("\n[[share]]\nperiod = 2\nserver = \"nvr-2\"\n[share.quota]\ncamera = 15\nintercom = 2\n")) {
		t.Errorf("the shares are not written as documented:\n%s", doc)
	}
	got, err := bundle.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	wj, _ := json.Marshal(want.Shares)
	gj, _ := json.Marshal(got.Shares)
	if !bytes.Equal(wj, gj) {
		t.Errorf("shares changed:\n got %s\nwant %s", gj, wj)
	}
	if !got.Shared() || sampleBundle().Shared() {
		t.Error("Shared is wrong")
	}
	if _, err := bundle.Open(signRendered(t, want, "")); err != nil {
		t.Errorf("the documented form: %v", err)
	}
	// Read in any order, written in period and server order.
	shuffled := sharedBundle()
	s := shuffled.Shares
	s[0], s[3] = s[3], s[0]
	doc2, err := bundle.Seal(shuffled, walletPriv)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, doc2) {
		t.Error("shares given in another order are written in another order")
	}
}

func TestSharesAt(t *testing.T) {
	b := sharedBundle()
	for _, c := range []struct {
		at     string
		camera []int
	}{
		{"2024-12-31", nil},
		{"2025-06-01", []int{30, 10}},
		{"2026-01-01", []int{35, 15}},
		{"2027-01-15", []int{35, 15}}, // the grace: the last period's
		{"2027-02-01", nil},
	} {
		var got []int
		for _, s := range b.SharesAt(mustDate(t, c.at)) {
			got = append(got, s.Quota["camera"])
		}
		if len(got) != len(c.camera) || len(got) == 2 && (got[0] != c.camera[0] || got[1] != c.camera[1]) {
			t.Errorf("%s: shares %v, want %v", c.at, got, c.camera)
		}
	}
	if sampleBundle().SharesAt(mustDate(t, "2025-06-01")) != nil {
		t.Error("a bundle without shares has shares")
	}
}

func TestOpenRejectsMalformedShares(t *testing.T) {
	for _, c := range []struct {
		name, field string
		edit        func(b *bundle.Bundle)
	}{
		{"a period beyond the last", "share[4].period", func(b *bundle.Bundle) { b.Shares[3].Period = 3 }},
		{"no period", "share[1].period", func(b *bundle.Bundle) { b.Shares[0].Period = 0 }},
		{"a server not in the binding", "share[2].server", func(b *bundle.Bundle) { b.Shares[1].Server = "nvr-9" }},
		{"a server twice in a period", "two shares for server nvr-1", func(b *bundle.Bundle) { b.Shares[1].Server = "nvr-1" }},
		{"a server without a share", "one for every period and server", func(b *bundle.Bundle) { b.Shares = b.Shares[:3] }},
		{"a bad license type", "share[1].quota", func(b *bundle.Bundle) { b.Shares[0].Quota["Camera"] = 1 }},
		{"a quantity out of range", "share[1].quota.camera", func(b *bundle.Bundle) { b.Shares[0].Quota["camera"] = 100_000_001 }},
	} {
		b := sharedBundle()
		c.edit(b)
		_, err := bundle.Open(signRendered(t, b, ""))
		wantMalformed(t, c.name, err, c.field)
		if _, err := bundle.Seal(b, walletPriv); err == nil {
			t.Errorf("%s: Seal accepts it", c.name)
		}
	}

	payload := string(render(sharedBundle(), ""))
	for name, edit := range map[string]struct{ old, new string }{
		"a share without its quota":   {"[share.quota]\ncamera = 30\nintercom = 4\n", ""},
		"a quota without its share":   {"[[share]]\nperiod = 1\nserver = \"nvr-1\"\n", ""},
		"two quotas for one share":    {"[share.quota]\ncamera = 30\n", "[share.quota]\ncamera = 30\n[share.quota]\ncamera = 1\n"},
		"a negative share":            {"camera = 30\n", "camera = -30\n"},
		"a share with no server":      {"server = \"nvr-1\"\n", ""},
		"a share with an extra field": {"period = 1\n", "period = 1\nweight = 2\n"},
	} {
		edited := strings.Replace(payload, edit.old, edit.new, 1)
		if edited == payload {
			t.Fatalf("%s: test setup: %q not found", name, edit.old)
		}
		if _, err := bundle.Open(resign(t, walletPriv, []byte(edited))); !errors.Is(err, bundle.ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
