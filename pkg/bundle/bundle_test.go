package bundle_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
)

func TestSealOpenRoundTrip(t *testing.T) {
	want := sampleBundle()
	doc, err := bundle.Seal(want, walletPriv)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if !bytes.Equal(want.Document(), doc) {
		t.Errorf("Seal: Document() is not the returned document")
	}
	got, err := bundle.Open(doc)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !bytes.Equal(got.Document(), doc) {
		t.Errorf("Open: Document() is not the document read")
	}
	// Every exported field survives the round trip; JSON compares them all
	// at once, and times are compared in UTC to the second, as written.
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if !bytes.Equal(wj, gj) {
		t.Errorf("round trip changed the bundle:\n got %s\nwant %s", gj, wj)
	}
	if !got.WalletKey.Key.Equal(pubOf(walletPriv)) {
		t.Errorf("WalletKey: got %s, want the signing key", got.WalletKey)
	}
	if got.WalletID != licensekey.WalletIDOf(pubOf(walletPriv)) {
		t.Errorf("WalletID: got %s, want the id of the signing key", got.WalletID)
	}

	// Ed25519 is deterministic: the same bundle seals to the same bytes.
	again, err := bundle.Seal(sampleBundle(), walletPriv)
	if err != nil {
		t.Fatalf("Seal again: %v", err)
	}
	if !bytes.Equal(doc, again) {
		t.Errorf("sealing the same bundle twice gave different documents")
	}
}

func TestSealSetsWalletFromKey(t *testing.T) {
	b := sampleBundle()
	other := pubOf(seedKey(9))
	b.WalletKey = sign.PublicKey{Key: other}
	b.WalletID = licensekey.WalletIDOf(other)
	doc, err := bundle.Seal(b, walletPriv)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	got, err := bundle.Open(doc)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !got.WalletKey.Key.Equal(pubOf(walletPriv)) || got.WalletID != licensekey.WalletIDOf(pubOf(walletPriv)) {
		t.Errorf("Seal did not take the wallet key and id from the private key: got %s, %s", got.WalletKey, got.WalletID)
	}
}

func TestSealRefusesInvalidBundle(t *testing.T) {
	b := sampleBundle()
	b.Periods = nil
	if _, err := bundle.Seal(b, walletPriv); err == nil {
		t.Fatal("Seal of a bundle without periods: got nil error")
	}
}

func TestOpenMatchesRenderedFormat(t *testing.T) {
	// The independent renderer of the tests writes what Open reads; without
	// this, the rejection tests below could fail for the wrong reason.
	doc := signRendered(t, sampleBundle(), "")
	if _, err := bundle.Open(doc); err != nil {
		t.Fatalf("Open of a rendered valid bundle: %v", err)
	}
}

func TestOpenVerifiesSignatureBeforeParsing(t *testing.T) {
	doc := sealed(t)
	payload := payloadOf(t, doc)
	armor := doc[len(payload):]
	// A payload that is not even TOML, under the original signature: a
	// reader that parsed first would call it malformed.
	forged := append([]byte("this is [not toml\n"), armor...)
	_, err := bundle.Open(forged)
	if !errors.Is(err, bundle.ErrSignature) {
		t.Fatalf("Open: got %v, want ErrSignature", err)
	}
	if errors.Is(err, bundle.ErrMalformed) {
		t.Errorf("Open: %v: the payload was parsed before the signature was checked", err)
	}
}

func TestOpenRejectsEditedPayload(t *testing.T) {
	doc := sealed(t)
	n := len(payloadOf(t, doc))
	for i := range n {
		d := bytes.Clone(doc)
		d[i] ^= 0x01
		_, err := bundle.Open(d)
		if err == nil {
			t.Errorf("byte %d (%q) changed: Open succeeded", i, doc[i])
			continue
		}
		// The payload's final newline frames the signature; changing it
		// makes the document malformed rather than badly signed.
		if i < n-1 && !errors.Is(err, bundle.ErrSignature) {
			t.Errorf("byte %d (%q) changed: got %v, want ErrSignature", i, doc[i], err)
		}
	}
}

func TestOpenRejectsEditedSignature(t *testing.T) {
	doc := sealed(t)
	// Change a character of the signature blob's last base64 line, where
	// the Ed25519 signature sits.
	end := bytes.LastIndex(doc, []byte("\n-----END"))
	i := end - 3
	d := bytes.Clone(doc)
	if d[i] == 'A' {
		d[i] = 'B'
	} else {
		d[i] = 'A'
	}
	_, err := bundle.Open(d)
	if err == nil {
		t.Fatal("Open of a bundle with an edited signature succeeded")
	}
}

func TestOpenRejectsOtherSigner(t *testing.T) {
	payload := payloadOf(t, sealed(t))
	doc := resign(t, seedKey(2), payload)
	_, err := bundle.Open(doc)
	if !errors.Is(err, bundle.ErrSignature) {
		t.Fatalf("Open of a bundle signed by a key other than wallet_key: got %v, want ErrSignature", err)
	}
}

func TestOpenRejectsWalletIDMismatch(t *testing.T) {
	payload := string(payloadOf(t, sealed(t)))
	own := licensekey.WalletIDOf(pubOf(walletPriv)).String()
	other := licensekey.WalletIDOf(pubOf(seedKey(2))).String()
	edited := strings.Replace(payload, "wallet_id = \""+own+"\"", "wallet_id = \""+other+"\"", 1)
	if edited == payload {
		t.Fatal("test setup: wallet_id line not found")
	}
	_, err := bundle.Open(resign(t, walletPriv, []byte(edited)))
	if !errors.Is(err, bundle.ErrMalformed) || !strings.Contains(err.Error(), "wallet_id") {
		t.Fatalf("Open with a wallet_id that is not wallet_key's: got %v, want ErrMalformed naming wallet_id", err)
	}
}

func TestOpenRejectsWrongNamespace(t *testing.T) {
	payload := payloadOf(t, sealed(t))
	for _, ns := range []string{"allot-certificate-v1", "allot-bundle-v2", "file", ""} {
		doc, err := sign.Seal(walletPriv, ns, payload)
		if err != nil {
			t.Fatalf("sign.Seal(%q): %v", ns, err)
		}
		if _, err := bundle.Open(doc); !errors.Is(err, bundle.ErrSignature) {
			t.Errorf("namespace %q: got %v, want ErrSignature", ns, err)
		}
	}
}

func TestOpenRejectsTrailingData(t *testing.T) {
	doc := sealed(t)
	for name, tail := range map[string]string{
		"text":            "hello\n",
		"text, no eol":    "x",
		"second document": string(doc),
		"toml":            "[[funding]]\nkey = \"K\"\nlicense = \"camera\"\nmonths = 1\n",
	} {
		d := append(bytes.Clone(doc), tail...)
		if _, err := bundle.Open(d); !errors.Is(err, bundle.ErrMalformed) {
			t.Errorf("%s after the signature: got %v, want ErrMalformed", name, err)
		}
	}
}

func TestOpenRejectsCRLF(t *testing.T) {
	doc := sealed(t)
	converted := bytes.ReplaceAll(doc, []byte("\n"), []byte("\r\n"))
	_, err := bundle.Open(converted)
	if !errors.Is(err, bundle.ErrMalformed) || !strings.Contains(err.Error(), "CRLF") {
		t.Errorf("document converted to CRLF: got %v, want ErrMalformed naming CRLF", err)
	}

	// Even a payload that was signed with CRLF line endings is refused: the
	// format has LF line endings only.
	crlfPayload := bytes.ReplaceAll(payloadOf(t, doc), []byte("\n"), []byte("\r\n"))
	if _, err := bundle.Open(resign(t, walletPriv, crlfPayload)); !errors.Is(err, bundle.ErrMalformed) {
		t.Errorf("payload signed with CRLF: got %v, want ErrMalformed", err)
	}
}

func TestOpenRejectsUnknownFields(t *testing.T) {
	payload := string(payloadOf(t, sealed(t)))
	for name, edit := range map[string]struct{ old, new, field string }{
		"top level":           {"sequence = 2\n", "sequence = 2\ncolour = \"blue\"\n", "colour"},
		"validity":            {"[validity]\n", "[validity]\nstart = 2025-01-01T00:00:00Z\n", "start"},
		"period":              {"[[period]]\n", "[[period]]\nnote = \"x\"\n", "note"},
		"funding":             {"[[funding]]\n", "[[funding]]\nserial = 1\n", "serial"},
		"server":              {"[[binding.server]]\n", "[[binding.server]]\nos = \"linux\"\n", "os"},
		"new table":           {"[validity]\n", "[extra]\nx = 1\n\n[validity]\n", "extra"},
		"validity, extra key": {"grace_until", "grace_days = 30\ngrace_until", "grace_days"},
	} {
		edited := strings.Replace(payload, edit.old, edit.new, 1)
		if edited == payload {
			t.Fatalf("%s: test setup: %q not found", name, edit.old)
		}
		_, err := bundle.Open(resign(t, walletPriv, []byte(edited)))
		if !errors.Is(err, bundle.ErrMalformed) || !strings.Contains(err.Error(), edit.field) {
			t.Errorf("unknown field in %s: got %v, want ErrMalformed naming %q", name, err, edit.field)
		}
	}
}

// wantMalformed fails the test unless err is ErrMalformed and its message
// names one of words: the field at fault, so a test cannot pass on an
// unrelated error.
func wantMalformed(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	if !errors.Is(err, bundle.ErrMalformed) {
		t.Errorf("%s: got %v, want ErrMalformed", what, err)
		return
	}
	for _, w := range words {
		if strings.Contains(err.Error(), w) {
			return
		}
	}
	t.Errorf("%s: %v: names none of %q", what, err, words)
}

func TestOpenRejectsDuplicates(t *testing.T) {
	// A payload must have one reading: a key or table given twice is
	// refused, not resolved by taking the first or the last.
	payload := string(payloadOf(t, sealed(t)))
	for name, edit := range map[string]struct{ old, new string }{
		"key":      {"sequence = 2\n", "sequence = 2\nsequence = 3\n"},
		"table":    {"[binding]\n", "[validity]\nfrom = 2020-01-01T00:00:00Z\nuntil = 2030-01-01T00:00:00Z\ngrace_until = 2030-01-31T00:00:00Z\n\n[binding]\n"},
		"quota":    {"[period.quota]\n", "[period.quota]\ncamera = 1000\n"},
		"in array": {"[[funding]]\n", "[[funding]]\nmonths = 1\n"},
	} {
		edited := strings.Replace(payload, edit.old, edit.new, 1)
		if edited == payload {
			t.Fatalf("%s: test setup: %q not found", name, edit.old)
		}
		if _, err := bundle.Open(resign(t, walletPriv, []byte(edited))); !errors.Is(err, bundle.ErrMalformed) {
			t.Errorf("duplicate %s: got %v, want ErrMalformed", name, err)
		}
	}
}

func TestOpenRejectsPeriodsThatDoNotFollow(t *testing.T) {
	for name, edit := range map[string]func(b *bundle.Bundle){
		"gap": func(b *bundle.Bundle) {
			b.Periods[1].From = date(2026, 1, 2)
		},
		"overlap": func(b *bundle.Bundle) {
			b.Periods[1].From = date(2025, 12, 1)
		},
		"out of order": func(b *bundle.Bundle) {
			b.Periods[0], b.Periods[1] = b.Periods[1], b.Periods[0]
		},
		"first not at validity.from": func(b *bundle.Bundle) {
			b.Periods[0].From = date(2025, 2, 1)
		},
		"empty period": func(b *bundle.Bundle) {
			b.Periods[1].Until = b.Periods[1].From
			b.Validity.Until = b.Periods[1].From
			b.Validity.GraceUntil = b.Periods[1].From
		},
		"no periods": func(b *bundle.Bundle) {
			b.Periods = nil
		},
	} {
		b := sampleBundle()
		edit(b)
		_, err := bundle.Open(signRendered(t, b, ""))
		wantMalformed(t, name, err, "period")
	}
}

func TestOpenRejectsInconsistentValidity(t *testing.T) {
	for name, edit := range map[string]func(b *bundle.Bundle){
		"until before the last period ends": func(b *bundle.Bundle) {
			b.Validity.Until = date(2026, 6, 1)
		},
		"until after the last period ends": func(b *bundle.Bundle) {
			b.Validity.Until = date(2027, 1, 2)
		},
		"from after the first period starts": func(b *bundle.Bundle) {
			b.Validity.From = date(2025, 1, 2)
		},
		"grace ends before until": func(b *bundle.Bundle) {
			b.Validity.GraceUntil = date(2026, 12, 31)
		},
		"until not after from": func(b *bundle.Bundle) {
			b.Validity.Until = b.Validity.From
		},
	} {
		b := sampleBundle()
		edit(b)
		_, err := bundle.Open(signRendered(t, b, ""))
		wantMalformed(t, name, err, "validity", "period")
	}
}

func TestOpenRejectsOtherMalformedFields(t *testing.T) {
	for _, c := range []struct {
		name  string
		field string
		edit  func(b *bundle.Bundle)
	}{
		{"sequence 0", "sequence", func(b *bundle.Bundle) { b.Sequence = 0 }},
		{"empty id", "id", func(b *bundle.Bundle) { b.ID = "" }},
		{"no system", "system", func(b *bundle.Bundle) { b.System = "" }},
		{"no funding", "funding", func(b *bundle.Bundle) { b.Funding = nil }},
		{"funding of 0 months", "months", func(b *bundle.Bundle) { b.Funding[0].Months = 0 }},
		{"negative quota", "quota", func(b *bundle.Bundle) { b.Periods[0].Quota["camera"] = -1 }},
		{"bad license type", "Camera", func(b *bundle.Bundle) { b.Periods[0].Quota["Camera"] = 1 }},
		{"no servers", "server", func(b *bundle.Bundle) { b.Binding.Servers = nil }},
		{"required > identifiers", "identifiers", func(b *bundle.Bundle) { b.Binding.Required = 2 }},
		{"identifier not a hash", "identifier", func(b *bundle.Bundle) { b.Binding.Servers[0].Identifiers[0] = "machine-id:xyz" }},
		{"funding key too long", "key", func(b *bundle.Bundle) { b.Funding[0].Key = strings.Repeat("A", licensekey.MaxTextLen+1) }},
		{"funding of no period", "period", func(b *bundle.Bundle) { b.Funding[0].Period = 0 }},
		{"funding of a period beyond the last", "period", func(b *bundle.Bundle) { b.Funding[0].Period = 3 }},
		{"funding of a bad license type", "license", func(b *bundle.Bundle) { b.Funding[0].License = "Camera" }},
		{"funding of more months than any key holds", "months", func(b *bundle.Bundle) { b.Funding[0].Months = 1<<31 - 119 }},
		{"a negative growth allowance", "growth_allowance_percent", func(b *bundle.Bundle) { b.GrowthAllowancePercent = -1 }},
		{"two servers of one name", "listed twice", func(b *bundle.Bundle) { b.Binding.Servers[1].Name = b.Binding.Servers[0].Name }},
	} {
		b := sampleBundle()
		c.edit(b)
		_, err := bundle.Open(signRendered(t, b, ""))
		wantMalformed(t, c.name, err, c.field)
	}
}

func TestOpenRejectsOtherVersion(t *testing.T) {
	payload := string(payloadOf(t, sealed(t)))
	edited := strings.Replace(payload, "version = 1\n", "version = 2\n", 1)
	if _, err := bundle.Open(resign(t, walletPriv, []byte(edited))); !errors.Is(err, bundle.ErrMalformed) {
		t.Errorf("version 2: got %v, want ErrMalformed", err)
	}
}

// monthlyPeriods returns n consecutive one-month periods from 2025-01-01
// and sets the validity to match.
func monthlyPeriods(b *bundle.Bundle, n int) {
	b.Periods = nil
	from := date(2025, 1, 1)
	for i := range n {
		b.Periods = append(b.Periods, bundle.Period{
			From: from.AddDate(0, i, 0), Until: from.AddDate(0, i+1, 0),
			Quota: map[string]int{"camera": 1},
		})
	}
	b.Validity = bundle.Validity{From: from, Until: from.AddDate(0, n, 0), GraceUntil: from.AddDate(0, n, 30)}
}

func TestOpenLimits(t *testing.T) {
	cases := []struct {
		name  string
		field string
		limit int
		set   func(b *bundle.Bundle, n int)
	}{
		{"periods", "period", bundle.MaxPeriods, monthlyPeriods},
		{"funding", "funding", bundle.MaxFunding, func(b *bundle.Bundle, n int) {
			b.Funding = nil
			for i := range n {
				b.Funding = append(b.Funding, bundle.Funding{Key: fmt.Sprintf("K%d", i), Period: 1, License: "camera", Months: 1})
			}
		}},
		{"certificates", "certificate", bundle.MaxCertificates, func(b *bundle.Bundle, n int) {
			b.Certificates = nil
			for i := range n {
				b.Certificates = append(b.Certificates, []byte(fmt.Sprintf("c%d", i)))
			}
		}},
		{"servers", "server", bundle.MaxServers, func(b *bundle.Bundle, n int) {
			b.Binding.Servers = nil
			for i := range n {
				b.Binding.Servers = append(b.Binding.Servers, bundle.Server{
					Name: fmt.Sprintf("nvr-%d", i), Identifiers: []string{hashID(fmt.Sprint(i))},
				})
			}
		}},
		{"identifiers per server", "identifiers", 32, func(b *bundle.Bundle, n int) {
			s := &b.Binding.Servers[0]
			s.Identifiers = nil
			for i := range n {
				s.Identifiers = append(s.Identifiers, hashID(fmt.Sprint(i)))
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := sampleBundle()
			c.set(b, c.limit)
			if _, err := bundle.Open(signRendered(t, b, "")); err != nil {
				t.Errorf("%d %s (the limit): %v", c.limit, c.name, err)
			}
			b = sampleBundle()
			c.set(b, c.limit+1)
			_, err := bundle.Open(signRendered(t, b, ""))
			wantMalformed(t, fmt.Sprintf("%d %s (one over the limit)", c.limit+1, c.name), err, c.field)
		})
	}
}

func TestOpenRejectsOversizedDocument(t *testing.T) {
	// A validly signed document that is too large: a comment pads it. The
	// size is checked before anything else, so it is malformed, not read.
	b := sampleBundle()
	pad := "# " + strings.Repeat("x", 1000) + "\n"
	payload := render(b, strings.Repeat(pad, bundle.MaxSize/len(pad)+1))
	doc := resign(t, walletPriv, payload)
	if len(doc) <= bundle.MaxSize {
		t.Fatalf("test setup: document of %d bytes is not over the limit", len(doc))
	}
	_, err := bundle.Open(doc)
	if !errors.Is(err, bundle.ErrMalformed) {
		t.Errorf("document of %d bytes: got %v, want ErrMalformed", len(doc), err)
	}

	// Just under the limit is read.
	fill := bundle.MaxSize - len(render(b, "")) - 400 // room for the armor
	under := render(b, strings.Repeat(pad, fill/len(pad))+"#"+strings.Repeat("x", fill%len(pad))+"\n")
	doc = resign(t, walletPriv, under)
	if len(doc) > bundle.MaxSize {
		t.Fatalf("test setup: document of %d bytes is over the limit", len(doc))
	}
	if _, err := bundle.Open(doc); err != nil {
		t.Errorf("document of %d bytes, under the limit: %v", len(doc), err)
	}
}

func TestPeriodAt(t *testing.T) {
	b := sampleBundle()
	first, second := b.Periods[0], b.Periods[1]
	ns := time.Nanosecond
	cases := []struct {
		name string
		at   time.Time
		want *bundle.Period
	}{
		{"before from", first.From.Add(-ns), nil},
		{"at from", first.From, &first},
		{"inside the first", date(2025, 6, 15), &first},
		{"just before the first ends", first.Until.Add(-ns), &first},
		{"at the second's from", second.From, &second},
		{"just before until", b.Validity.Until.Add(-ns), &second},
		{"at until: grace starts", b.Validity.Until, &second},
		{"in grace", b.Validity.Until.AddDate(0, 0, 15), &second},
		{"just before grace ends", b.Validity.GraceUntil.Add(-ns), &second},
		{"at the end of grace", b.Validity.GraceUntil, nil},
		{"after grace", b.Validity.GraceUntil.AddDate(1, 0, 0), nil},
		{"another time zone", time.Date(2025, 12, 31, 20, 0, 0, 0, time.FixedZone("X", -5*3600)), &second},
	}
	for _, c := range cases {
		p, ok := b.Period(c.at)
		if c.want == nil {
			if ok {
				t.Errorf("%s (%s): got period %s to %s, want none", c.name, c.at, p.From, p.Until)
			}
			continue
		}
		if !ok || !p.From.Equal(c.want.From) || !p.Until.Equal(c.want.Until) {
			t.Errorf("%s (%s): got %s to %s (ok %v), want %s to %s", c.name, c.at, p.From, p.Until, ok, c.want.From, c.want.Until)
		}
	}
}

func TestPeriodWithoutGrace(t *testing.T) {
	b := sampleBundle()
	b.Validity.GraceUntil = b.Validity.Until
	if _, ok := b.Period(b.Validity.Until); ok {
		t.Errorf("a bundle without grace is in force at its until")
	}
	if _, ok := b.Period(b.Validity.Until.Add(-time.Nanosecond)); !ok {
		t.Errorf("a bundle without grace is not in force just before its until")
	}
}

func TestMonthsBetween(t *testing.T) {
	cases := []struct {
		a, b time.Time
		want int
	}{
		{date(2025, 1, 1), date(2025, 1, 1), 0},
		{date(2025, 1, 1), date(2025, 1, 31), 0},
		{date(2025, 1, 1), date(2025, 2, 1), 1},
		{date(2025, 1, 15), date(2025, 2, 14), 0},
		{date(2025, 1, 15), date(2025, 2, 15), 1},
		{date(2025, 1, 1), date(2026, 1, 1), 12},
		{date(2025, 1, 1), date(2030, 1, 1), 60},
		{date(2025, 11, 30), date(2026, 1, 30), 2},
		// A month from a day that the next month lacks ends on that
		// month's last day.
		{date(2024, 1, 31), date(2024, 2, 29), 1},
		{date(2024, 1, 31), date(2024, 2, 28), 0},
		{date(2023, 1, 31), date(2023, 2, 28), 1},
		{date(2025, 3, 31), date(2025, 4, 30), 1},
		{date(2025, 1, 31), date(2025, 3, 31), 2},
		{date(2025, 1, 30), date(2025, 2, 28), 1},
		{date(2024, 1, 31), date(2024, 3, 1), 1},
		// Leap days.
		{date(2024, 2, 29), date(2025, 2, 28), 12},
		{date(2024, 2, 29), date(2025, 2, 27), 11},
		{date(2024, 2, 29), date(2025, 3, 1), 12},
		{date(2024, 2, 29), date(2028, 2, 29), 48},
		{date(2023, 2, 28), date(2024, 2, 28), 12},
		{date(2023, 2, 28), date(2024, 2, 29), 12},
		{date(2024, 2, 29), date(2024, 3, 29), 1},
		// Times of day count: a month is not over before its last instant.
		{time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC), time.Date(2025, 2, 1, 11, 59, 59, 0, time.UTC), 0},
		// Time zones do not change the count.
		{time.Date(2025, 1, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600)), date(2025, 2, 1), 1},
	}
	for _, c := range cases {
		if got := bundle.MonthsBetween(c.a, c.b); got != c.want {
			t.Errorf("MonthsBetween(%s, %s) = %d, want %d", c.a.Format(time.RFC3339), c.b.Format(time.RFC3339), got, c.want)
		}
	}
}

func TestPeriodMonths(t *testing.T) {
	b := sampleBundle()
	for _, p := range b.Periods {
		if p.Months() != 12 {
			t.Errorf("period %s to %s: %d months, want 12", p.From, p.Until, p.Months())
		}
	}
}

func TestFormatQuota(t *testing.T) {
	got := bundle.FormatQuota(map[string]int{"intercom": 4, "camera": 40, "analytics-l1": 2})
	if want := "analytics-l1=2, camera=40, intercom=4"; got != want {
		t.Errorf("FormatQuota = %q, want %q", got, want)
	}
}

// TestSSHKeygenVerifies checks the design's promise that anyone can check a
// bundle's signature without allot.
func TestSSHKeygenVerifies(t *testing.T) {
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen not installed")
	}
	doc := sealed(t)
	payload := payloadOf(t, doc)
	dir := t.TempDir()
	signers := filepath.Join(dir, "allowed_signers")
	sig := filepath.Join(dir, "site.lic.sig")
	line := "wallet " + sign.MarshalAuthorized(pubOf(walletPriv), "") + "\n"
	if err := os.WriteFile(signers, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sig, doc[len(payload):], 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(keygen, "-Y", "verify", "-f", signers, "-I", "wallet", "-n", bundle.Namespace, "-s", sig)
	cmd.Stdin = bytes.NewReader(payload)
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y verify: %v\n%s", err, out)
	}
}

// Every entry that names a key costs a device its decoding and signature:
// all sections together hold at most MaxKeys, or a bundle of hardware
// licenses with their expansions would pass the device's memory budget.
func TestKeysLimit(t *testing.T) {
	b := sampleBundle()
	for i := range 60 {
		b.Hardware = append(b.Hardware, bundle.Hardware{Device: fmt.Sprintf("CAM-%d", i), Key: "K", Expansions: make([]string, bundle.MaxExpansions)})
	}
	if _, err := bundle.Seal(b, walletPriv); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d", bundle.MaxKeys)) {
		t.Errorf("60 hardware licenses of 64 expansions: %v", err)
	}
}
