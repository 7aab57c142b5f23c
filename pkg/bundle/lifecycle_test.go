package bundle_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"allot.dev/allot/pkg/bundle"
)

func TestLifecycleRoundTrip(t *testing.T) {
	b := sampleBundle()
	b.Credits = []bundle.Credit{{Key: "KEY-THREE", License: "camera", From: date(2024, 1, 1), Until: date(2025, 1, 1),
		Months: 36, Period: 2, Days: 153}}
	b.Hardware = []bundle.Hardware{{Device: "CAM-7", Key: "KEY-HW", Expansions: []string{"KEY-EXP"}},
		{Device: "CAM-8", Key: "KEY-HW2", Expansions: []string{}}}
	doc, err := bundle.Seal(b, walletPriv)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\n[[credit]]\nkey = \"KEY-THREE\"\n", "\n[[hardware]]\ndevice = \"CAM-7\"\n", "expansions = [\"KEY-EXP\"]\n"} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("the payload lacks %q", want)
		}
	}
	got, err := bundle.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Lifecycle, b.Lifecycle) {
		t.Errorf("read back %+v, wrote %+v", got.Lifecycle, b.Lifecycle)
	}
}

// A bundle with no period is a first-day grace: its validity is its grace,
// and it pays for nothing.
func TestStartBundle(t *testing.T) {
	start := func() *bundle.Bundle {
		b := sampleBundle()
		b.Periods, b.Funding = nil, nil
		b.Validity = bundle.Validity{From: date(2025, 1, 1), Until: date(2025, 1, 1), GraceUntil: date(2025, 1, 31)}
		return b
	}
	doc, err := bundle.Seal(start(), walletPriv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Start() {
		t.Error("Start() = false")
	}
	if _, ok := b.Period(date(2025, 1, 10)); ok {
		t.Error("a bundle with no period has a period in force")
	}
	for _, c := range []struct {
		name  string
		edit  func(*bundle.Bundle)
		wants string
	}{
		{"funding", func(b *bundle.Bundle) {
			b.Funding = []bundle.Funding{{Key: "K", Period: 1, License: "camera", Months: 1}}
		}, "funding"},
		{"a validity that is not its grace", func(b *bundle.Bundle) { b.Validity.Until = date(2025, 1, 2) }, "until = from"},
		{"no grace", func(b *bundle.Bundle) { b.Validity.GraceUntil = b.Validity.Until }, "grace_until after from"},
	} {
		b := start()
		c.edit(b)
		if _, err := bundle.Seal(b, walletPriv); err == nil || !strings.Contains(err.Error(), c.wants) {
			t.Errorf("%s: %v, want %q", c.name, err, c.wants)
		}
	}
}

func TestOpenRejectsMalformedLifecycle(t *testing.T) {
	credit := bundle.Credit{Key: "K", License: "camera", From: date(2024, 1, 1), Until: date(2025, 1, 1), Months: 12, Period: 1, Days: 10}
	for _, c := range []struct {
		name  string
		edit  func(*bundle.Bundle)
		wants string
	}{
		{"credit of no days", func(b *bundle.Bundle) { c := credit; c.Days = 0; b.Credits = []bundle.Credit{c} }, "credit[1].days"},
		{"credit beyond the cap", func(b *bundle.Bundle) { c := credit; c.Days = bundle.MaxCreditDays + 1; b.Credits = []bundle.Credit{c} }, "credit[1].days"},
		{"credit for no period", func(b *bundle.Bundle) { c := credit; c.Period = 3; b.Credits = []bundle.Credit{c} }, "credit[1].period"},
		{"credit of a backwards period", func(b *bundle.Bundle) { c := credit; c.Until = c.From; b.Credits = []bundle.Credit{c} }, "want from < until"},
		{"credit of no months", func(b *bundle.Bundle) { c := credit; c.Months = 0; b.Credits = []bundle.Credit{c} }, "credit[1].months"},
		{"credit of a bad license", func(b *bundle.Bundle) { c := credit; c.License = "Camera"; b.Credits = []bundle.Credit{c} }, "credit[1].license"},
		{"hardware of no device", func(b *bundle.Bundle) { b.Hardware = []bundle.Hardware{{Device: "", Key: "K"}} }, "hardware[1].device"},
		{"hardware of a device with a space", func(b *bundle.Bundle) { b.Hardware = []bundle.Hardware{{Device: "CAM 7", Key: "K"}} }, "hardware[1].device"},
	} {
		b := sampleBundle()
		c.edit(b)
		// Sealing refuses it; a document signed anyway is refused by Open.
		if _, err := bundle.Seal(b, walletPriv); err == nil || !strings.Contains(err.Error(), c.wants) {
			t.Errorf("%s: Seal: %v, want %q", c.name, err, c.wants)
		}
	}
	// Signed anyway, Open refuses them too; and a section the reader does
	// not know is still refused.
	for _, extra := range []string{
		"\n[[credit]]\nkey = \"K\"\nlicense = \"camera\"\nfrom = 2024-01-01T00:00:00Z\nuntil = 2025-01-01T00:00:00Z\nmonths = 12\nperiod = 1\ndays = 0\n",
		"\n[[hardware]]\ndevice = \"\"\nkey = \"K\"\nexpansions = []\n",
		"\n[[hardware]]\ndevice = \"CAM-7\"\nkey = \"K\"\n",
		"\n[[credits]]\nkey = \"K\"\n",
	} {
		doc := resign(t, walletPriv, append(payloadOf(t, sealed(t)), extra...))
		if _, err := bundle.Open(doc); !errors.Is(err, bundle.ErrMalformed) {
			t.Errorf("%q: %v, want malformed", extra, err)
		}
	}
}
