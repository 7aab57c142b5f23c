package licensekey_test

// Fuzz targets for the key readers: the text form (Decode, Parse,
// ParseWalletID) and the binary form (ParseRaw). Seeds are real keys signed
// here, the keys of the testscript archives, and the examples of
// formats/license-key.md (testdata/fuzz). `make fuzz` runs them; plain `go
// test` runs each over its seeds only.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/licensekey"
)

func fuzzKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("allot licensekey fuzz key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

type fixedSerial byte

func (s fixedSerial) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(s)
	}
	return len(p), nil
}

// seedKeys returns real key texts of every kind, the longest included.
func seedKeys(t testing.TB) []string {
	wallet := licensekey.WalletIDOf(fuzzKey("wallet").Public().(ed25519.PublicKey))
	issued := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	var feats []string
	for i := range licensekey.MaxFeatures {
		feats = append(feats, "f"+string(rune('a'+i%26))+strings.Repeat("x", i/26))
	}
	keys := []*licensekey.Key{
		{Kind: licensekey.Subscription, Issued: issued, TermMonths: 12, Product: "vms",
			Licenses: []licensekey.License{{Type: "camera", Quantity: 16}, {Type: "analytics-l2", Quantity: 4}},
			Features: []string{"web-dialer"}, Wallet: wallet},
		{Kind: licensekey.Subscription, Issued: issued, TermMonths: 1, Product: "intercom",
			Licenses: []licensekey.License{{Type: "sip-number", Quantity: 1}}, Bearer: true},
		{Kind: licensekey.Hardware, Issued: issued, Product: "vms",
			Licenses: []licensekey.License{{Type: "camera", Quantity: licensekey.MaxQuantity}},
			Device:   "AXIS-P3265:ACCC8E012345", Wallet: wallet},
		{Kind: licensekey.Expansion, Issued: issued, Product: "vms",
			Licenses: []licensekey.License{{Type: "camera", Quantity: 8}}, Bearer: true, Device: "x"},
		{Kind: licensekey.Subscription, Issued: issued, TermMonths: licensekey.MaxTermMonths, Product: "vms",
			Licenses: []licensekey.License{{Type: "camera", Quantity: 1}}, Features: feats[:12], Wallet: wallet},
	}
	var texts []string
	for i, k := range keys {
		s, err := k.Sign(fuzzKey("issuer"), fixedSerial(i+1))
		if err != nil {
			t.Fatalf("seed key %d: %v", i, err)
		}
		texts = append(texts, s)
	}
	return texts
}

// scriptKeys returns the key texts written into the testscript archives.
func scriptKeys(t testing.TB) []string {
	var keys []string
	for _, data := range allottest.ScriptFiles(t, ".txt") {
		for line := range strings.Lines(string(data)) {
			if line = strings.TrimSpace(line); len(line) > 40 && !strings.HasPrefix(line, "#") && strings.Count(line, "-") > 4 {
				keys = append(keys, line)
			}
		}
	}
	return keys
}

// FuzzParse reads key text. Whatever decodes has one canonical text that
// decodes to the same bytes; whatever parses re-encodes to a text that
// parses to the same raw key.
func FuzzParse(f *testing.F) {
	for _, s := range append(seedKeys(f), scriptKeys(f)...) {
		f.Add(s)
		f.Add(strings.ToLower(strings.ReplaceAll(s, "-", "")))
		f.Add(strings.ReplaceAll(s, "-", " - "))
	}
	f.Add("")
	f.Add("0-")
	f.Add("00000000000000000000000000") // a wallet id
	f.Add(strings.Repeat("A", licensekey.MaxTextLen+1))
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := licensekey.Decode(s)
		if err != nil {
			checkErr(t, err)
		} else {
			canon := licensekey.Encode(raw)
			again, err := licensekey.Decode(canon)
			if err != nil {
				t.Fatalf("Decode(Encode(Decode(%q))) = %v", s, err)
			}
			if !bytes.Equal(again, raw) {
				t.Fatalf("Decode(Encode(raw)) = %x, want %x", again, raw)
			}
			if c2 := licensekey.Encode(again); c2 != canon {
				t.Fatalf("Encode is not canonical: %q then %q", canon, c2)
			}
		}
		k, perr := licensekey.Parse(s)
		if perr != nil {
			checkErr(t, perr)
			if k != nil {
				t.Fatalf("Parse returned a key and an error")
			}
		} else {
			if err != nil {
				t.Fatalf("Parse accepts what Decode rejects: %v", err)
			}
			if !bytes.Equal(k.Raw(), raw) {
				t.Fatalf("Parse(s).Raw() = %x, Decode(s) = %x", k.Raw(), raw)
			}
			checkKey(t, k)
		}
		if id, err := licensekey.ParseWalletID(s); err == nil {
			again, err := licensekey.ParseWalletID(id.String())
			if err != nil || again != id {
				t.Fatalf("wallet id %q: printed %q parses to %v, %v", s, id, again, err)
			}
		}
	})
}

// FuzzParseRaw reads the binary form. Every byte string has one text form
// that decodes back to it, and whatever parses survives the text form.
func FuzzParseRaw(f *testing.F) {
	for _, s := range append(seedKeys(f), scriptKeys(f)...) {
		if raw, err := licensekey.Decode(s); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{licensekey.Version})
	f.Fuzz(func(t *testing.T, raw []byte) {
		if text := licensekey.Encode(raw); len(text) <= licensekey.MaxTextLen && len(raw) > 0 {
			back, err := licensekey.Decode(text)
			if err != nil || !bytes.Equal(back, raw) {
				t.Fatalf("Decode(Encode(%x)) = %x, %v", raw, back, err)
			}
		}
		k, err := licensekey.ParseRaw(raw)
		if err != nil {
			checkErr(t, err)
			return
		}
		if !bytes.Equal(k.Raw(), raw) {
			t.Fatalf("ParseRaw(b).Raw() = %x, want %x", k.Raw(), raw)
		}
		checkKey(t, k)
	})
}

// checkKey checks that a parsed key re-encodes to text that parses to the
// same raw key, and that its accessors do not panic.
func checkKey(t *testing.T, k *licensekey.Key) {
	t.Helper()
	text := k.Text()
	k2, err := licensekey.Parse(text)
	if err != nil {
		t.Fatalf("Parse(Key.Text()) = %v for %q", err, text)
	}
	if !bytes.Equal(k2.Raw(), k.Raw()) {
		t.Fatalf("Parse(Key.Text()).Raw() = %x, want %x", k2.Raw(), k.Raw())
	}
	if k2.ID() != k.ID() {
		t.Fatalf("ID %s, then %s", k.ID(), k2.ID())
	}
	if ref, err := licensekey.ParseRef(k.ID()); err != nil || ref != k.Ref() {
		t.Fatalf("ParseRef(%q) = %v, %v", k.ID(), ref, err)
	}
	for _, l := range k.Licenses {
		if c := k.Capacity(l.Type); c < 1 {
			t.Fatalf("capacity of %s is %d", l.Type, c)
		}
	}
	_ = k.Kind.String()
	// A key that parses has a valid issuer-independent structure, so
	// checking its signature is an answer, never a panic.
	if err := k.Verify(fuzzKey("issuer").Public().(ed25519.PublicKey)); err != nil {
		checkErr(t, err)
	}
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("nil error")
	}
	msg := err.Error()
	if msg == "" || strings.Contains(msg, "\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
	var te *licensekey.TypoError
	if errors.As(err, &te) && (te.Group < 1 || te.Char < 0) {
		t.Fatalf("typo error with group %d, char %d", te.Group, te.Char)
	}
}
