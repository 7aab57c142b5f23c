package bundle_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/tomlfile"
)

// seedKey returns a deterministic Ed25519 key: the same n always gives the
// same key, so documents and their signatures are stable between runs.
func seedKey(n byte) ed25519.PrivateKey {
	seed := bytes.Repeat([]byte{n}, ed25519.SeedSize)
	return ed25519.NewKeyFromSeed(seed)
}

func pubOf(priv ed25519.PrivateKey) ed25519.PublicKey {
	return priv.Public().(ed25519.PublicKey)
}

// walletPriv is the wallet signer of the sample bundles.
var walletPriv = seedKey(1)

func date(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func hashID(value string) string {
	return hwid.Hash("site-1", hwid.Identifier{Kind: hwid.MachineID, Value: value})
}

// sampleBundle returns a valid, unsigned bundle of two consecutive periods:
// 2025-01-01 to 2026-01-01 and 2026-01-01 to 2027-01-01, 30 days of grace.
func sampleBundle() *bundle.Bundle {
	pub := pubOf(walletPriv)
	return &bundle.Bundle{
		ID:                     "0123456789abcdef",
		Sequence:               2,
		Organization:           "Example Housing",
		System:                 "site-1",
		Issued:                 time.Date(2025, 1, 1, 9, 30, 0, 0, time.UTC),
		WalletID:               licensekey.WalletIDOf(pub),
		WalletKey:              sign.PublicKey{Key: pub, Comment: "wallet:Example_Housing"},
		Features:               []string{"mobile-app", "sip-trunk"},
		AnalyticsRetentionDays: 7,
		GrowthAllowancePercent: 100,
		Validity: bundle.Validity{
			From:       date(2025, 1, 1),
			Until:      date(2027, 1, 1),
			GraceUntil: date(2027, 1, 31),
		},
		Binding: bundle.Binding{Required: 1, Servers: []bundle.Server{
			{Name: "nvr-1", Identifiers: []string{hashID("a"), hashID("b")}},
			{Name: "nvr-2", Identifiers: []string{hashID("c")}},
		}},
		Periods: []bundle.Period{
			{From: date(2025, 1, 1), Until: date(2026, 1, 1), Quota: map[string]int{"camera": 40, "intercom": 4}},
			{From: date(2026, 1, 1), Until: date(2027, 1, 1), Quota: map[string]int{"camera": 50, "intercom": 4}},
		},
		Funding: []bundle.Funding{
			{Key: "KEY-ONE", Period: 1, License: "camera", Months: 480},
			{Key: "KEY-ONE", Period: 2, License: "camera", Months: 600},
			{Key: "KEY-TWO", Period: 1, License: "intercom", Months: 48},
			{Key: "KEY-TWO", Period: 2, License: "intercom", Months: 48},
		},
		Certificates: [][]byte{[]byte("certificate one\n"), []byte("certificate two\n")},
	}
}

// sealed returns the sample bundle signed by the wallet key.
func sealed(t *testing.T) []byte {
	t.Helper()
	doc, err := bundle.Seal(sampleBundle(), walletPriv)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return doc
}

// split returns the payload of a signed document.
func payloadOf(t *testing.T, doc []byte) []byte {
	t.Helper()
	payload, _, rest, err := sign.Split(doc)
	if err != nil {
		t.Fatalf("Split: %v", err)
	}
	if len(rest) != 0 {
		t.Fatalf("Split: %d bytes after the signature", len(rest))
	}
	return payload
}

// resign signs payload as a bundle, without any check of its content: it is
// how the tests make documents that are validly signed but wrong inside.
func resign(t *testing.T, priv ed25519.PrivateKey, payload []byte) []byte {
	t.Helper()
	doc, err := sign.Seal(priv, bundle.Namespace, payload)
	if err != nil {
		t.Fatalf("sign.Seal: %v", err)
	}
	return doc
}

// render writes b's payload in the bundle's documented TOML form (see
// formats/), independently of the package's own writer and without any
// validation, so tests can sign payloads that Seal would refuse. extra is
// added to the top-level keys.
func render(b *bundle.Bundle, extra string) []byte {
	q := tomlfile.Quote
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	var w bytes.Buffer
	fmt.Fprintf(&w, "version = %d\n", bundle.Version)
	fmt.Fprintf(&w, "id = %s\n", q(b.ID))
	fmt.Fprintf(&w, "sequence = %d\n", b.Sequence)
	fmt.Fprintf(&w, "organization = %s\n", q(b.Organization))
	fmt.Fprintf(&w, "system = %s\n", q(b.System))
	fmt.Fprintf(&w, "issued = %s\n", ts(b.Issued))
	fmt.Fprintf(&w, "wallet_id = %s\n", q(b.WalletID.String()))
	fmt.Fprintf(&w, "wallet_key = %s\n", q(b.WalletKey.String()))
	fmt.Fprintf(&w, "features = %s\n", tomlfile.QuoteList(b.Features))
	fmt.Fprintf(&w, "analytics_retention_days = %d\n", b.AnalyticsRetentionDays)
	fmt.Fprintf(&w, "growth_allowance_percent = %d\n", b.GrowthAllowancePercent)
	w.WriteString(extra)
	fmt.Fprintf(&w, "\n[validity]\nfrom = %s\nuntil = %s\ngrace_until = %s\n",
		ts(b.Validity.From), ts(b.Validity.Until), ts(b.Validity.GraceUntil))
	fmt.Fprintf(&w, "\n[binding]\nrequired = %d\n", b.Binding.Required)
	for _, s := range b.Binding.Servers {
		fmt.Fprintf(&w, "\n[[binding.server]]\nname = %s\nidentifiers = %s\n", q(s.Name), tomlfile.QuoteList(s.Identifiers))
	}
	for _, p := range b.Periods {
		fmt.Fprintf(&w, "\n[[period]]\nfrom = %s\nuntil = %s\n[period.quota]\n", ts(p.From), ts(p.Until))
		for _, t := range slices.Sorted(maps.Keys(p.Quota)) {
			fmt.Fprintf(&w, "%s = %d\n", t, p.Quota[t])
		}
	}
	for _, sh := range b.Shares {
		fmt.Fprintf(&w, "\n[[share]]\nperiod = %d\nserver = %s\n[share.quota]\n", sh.Period, q(sh.Server))
		for _, t := range slices.Sorted(maps.Keys(sh.Quota)) {
			fmt.Fprintf(&w, "%s = %d\n", t, sh.Quota[t])
		}
	}
	for _, f := range b.Funding {
		fmt.Fprintf(&w, "\n[[funding]]\nkey = %s\nperiod = %d\nlicense = %s\nmonths = %d\n", q(f.Key), f.Period, q(f.License), f.Months)
	}
	for _, c := range b.Certificates {
		fmt.Fprintf(&w, "\n[[certificate]]\ndocument = %s\n", q(base64.StdEncoding.EncodeToString(c)))
	}
	return w.Bytes()
}

// signRendered renders b and signs it with the wallet key.
func signRendered(t *testing.T, b *bundle.Bundle, extra string) []byte {
	t.Helper()
	return resign(t, walletPriv, render(b, extra))
}
