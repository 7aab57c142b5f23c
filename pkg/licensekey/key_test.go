package licensekey

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/sign"
)

func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("allot licensekey test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func pubOf(priv ed25519.PrivateKey) ed25519.PublicKey { return priv.Public().(ed25519.PublicKey) }

// serialReader returns a fixed serial, so that key texts are stable.
func serialReader(b byte) *bytes.Reader { return bytes.NewReader(bytes.Repeat([]byte{b}, SerialSize)) }

var issued = time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)

func subscriptionKey() *Key {
	return &Key{
		Kind:       Subscription,
		Issued:     issued,
		TermMonths: 12,
		Product:    "vms",
		Licenses:   []License{{"camera", 16}, {"analytics-l2", 4}},
		Features:   []string{"web-dialer"},
		Wallet:     WalletIDOf(pubOf(testKey("wallet"))),
	}
}

func bearerKey() *Key {
	return &Key{Kind: Subscription, Issued: issued, TermMonths: 1, Product: "intercom",
		Licenses: []License{{"sip-number", 1}}, Bearer: true}
}

func hardwareKey() *Key {
	return &Key{Kind: Hardware, Issued: issued, Product: "vms",
		Licenses: []License{{"camera", 64}}, Device: "AXIS-P3265:ACCC8E012345",
		Wallet: WalletIDOf(pubOf(testKey("wallet")))}
}

// signed signs k and returns it with its text.
func signed(t testing.TB, k *Key, serial byte) (*Key, string) {
	t.Helper()
	text, err := k.Sign(testKey("issuer"), serialReader(serial))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return k, text
}

// sameFields compares the decoded fields of two keys.
func sameFields(a, b *Key) bool {
	norm := func(k *Key) Key {
		c := *k
		c.signed, c.signature = nil, nil
		c.Issued = time.Time{}
		if len(c.Features) == 0 {
			c.Features = nil
		}
		return c
	}
	return a.Issued.Equal(b.Issued) && reflect.DeepEqual(norm(a), norm(b))
}

func TestSignParseVerify(t *testing.T) {
	issuer := testKey("issuer")
	for _, tc := range []struct {
		name string
		key  *Key
	}{
		{"subscription", subscriptionKey()},
		{"bearer", bearerKey()},
		{"hardware", hardwareKey()},
		{"expansion", &Key{Kind: Expansion, Issued: issued, Product: "vms",
			Licenses: []License{{"camera", 8}}, Bearer: true}},
		{"every count at its limit", largeKey()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			textLen := tc.key.TextLen() // before Sign sets the issuer and serial
			k, text := signed(t, tc.key, 7)
			if len(text) != textLen {
				t.Fatalf("TextLen = %d, the text has %d characters", textLen, len(text))
			}
			if k.Issuer != sign.IDOf(pubOf(issuer)) {
				t.Fatalf("Sign set issuer %s", k.Issuer)
			}
			if k.Serial != (Serial{7, 7, 7, 7, 7, 7, 7, 7}) {
				t.Fatalf("Sign set serial %s, want it read from rand", k.Serial)
			}
			if k.Text() != text {
				t.Fatal("Text() differs from what Sign returned")
			}
			got, err := Parse(text)
			if err != nil {
				t.Fatalf("Parse(%s): %v", text, err)
			}
			if !sameFields(got, k) {
				t.Fatalf("Parse = %+v\nwant %+v", got, k)
			}
			if got.Text() != text || !bytes.Equal(got.Raw(), k.Raw()) {
				t.Fatal("a parsed key does not print back to the same text")
			}
			if got.ID() != k.Issuer.String()+":"+k.Serial.String() {
				t.Fatalf("ID = %q", got.ID())
			}
			if err := got.Verify(pubOf(issuer)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if err := got.Verify(pubOf(testKey("other"))); !errors.Is(err, sign.ErrSignature) {
				t.Fatalf("Verify with another key: %v, want ErrSignature", err)
			}
		})
	}
}

func TestTextForm(t *testing.T) {
	_, text := signed(t, subscriptionKey(), 1)
	groups := strings.Split(text, "-")
	for i, g := range groups {
		if i < len(groups)-1 && len(g) != groupLen || len(g) < 2 || len(g) > groupLen {
			t.Errorf("group %d %q has %d characters", i+1, g, len(g))
		}
		for _, c := range g {
			if !strings.ContainsRune(alphabet, c) {
				t.Errorf("group %d %q: %q is not in the alphabet", i+1, g, c)
			}
		}
	}
}

// groupOf returns the 1-based group of the character at byte offset i of a
// dashed key text.
func groupOf(text string, i int) int { return strings.Count(text[:i], "-") + 1 }

// TestEverySubstitution replaces each character of a key's text with every
// other key character and with characters outside the alphabet; each must
// be reported as a typo in the group where it was made.
func TestEverySubstitution(t *testing.T) {
	_, text := signed(t, subscriptionKey(), 2)
	for i := 0; i < len(text); i++ {
		if text[i] == '-' {
			continue
		}
		want := groupOf(text, i)
		for _, c := range alphabet + "U*#" {
			if byte(c) == text[i] {
				continue
			}
			bad := text[:i] + string(c) + text[i+1:]
			_, err := Parse(bad)
			var typo *TypoError
			if !errors.As(err, &typo) {
				t.Fatalf("%q at %d → %q: Parse = %v, want a TypoError", text[i], i, c, err)
			}
			if typo.Group != want {
				t.Fatalf("%q at %d → %q: typo reported in group %d, want %d", text[i], i, c, typo.Group, want)
			}
			if !strings.ContainsRune(alphabet, c) {
				if wantChar := i - strings.LastIndex(text[:i], "-"); typo.Char != wantChar {
					t.Fatalf("%q at %d → %q: character %d, want %d", text[i], i, c, typo.Char, wantChar)
				}
			}
		}
	}
}

// TestEveryTransposition swaps every pair of neighbouring characters.
// Within a group, the typo is in that group; a swap with a dash breaks the
// length of one of the two groups beside it.
func TestEveryTransposition(t *testing.T) {
	for serial := byte(0); serial < 4; serial++ {
		_, text := signed(t, subscriptionKey(), serial)
		for i := 0; i+1 < len(text); i++ {
			if text[i] == text[i+1] {
				continue
			}
			b := []byte(text)
			b[i], b[i+1] = b[i+1], b[i]
			_, err := Parse(string(b))
			var typo *TypoError
			if !errors.As(err, &typo) {
				t.Fatalf("swap at %d: Parse = %v, want a TypoError", i, err)
			}
			g := groupOf(text, i)
			switch {
			case text[i] == '-':
				if typo.Group != g && typo.Group != g-1 {
					t.Fatalf("swap of dash at %d: group %d, want %d or %d", i, typo.Group, g-1, g)
				}
			case text[i+1] == '-':
				if typo.Group != g && typo.Group != g+1 {
					t.Fatalf("swap with dash at %d: group %d, want %d or %d", i, typo.Group, g, g+1)
				}
			default:
				if typo.Group != g {
					t.Fatalf("swap at %d: group %d, want %d", i, typo.Group, g)
				}
			}
		}
	}
}

// TestUndashedTypo: without dashes, groups are counted by length, so a typo
// is still placed in its group.
func TestUndashedTypo(t *testing.T) {
	_, text := signed(t, subscriptionKey(), 3)
	plain := strings.ReplaceAll(text, "-", "")
	for i := 0; i < len(plain); i++ {
		c := byte('0')
		if plain[i] == '0' {
			c = '1'
		}
		_, err := Parse(plain[:i] + string(c) + plain[i+1:])
		var typo *TypoError
		if !errors.As(err, &typo) || typo.Group != i/groupLen+1 {
			t.Fatalf("substitution at %d of undashed text: %v, want a typo in group %d", i, err, i/groupLen+1)
		}
	}
}

func TestGroupOrder(t *testing.T) {
	_, text := signed(t, subscriptionKey(), 4)
	groups := strings.Split(text, "-")
	// Swapping two full groups is caught by the group index in the check.
	swapped := slices.Clone(groups)
	swapped[1], swapped[2] = swapped[2], swapped[1]
	var typo *TypoError
	if _, err := Parse(strings.Join(swapped, "-")); !errors.As(err, &typo) || typo.Group != 2 {
		t.Fatalf("groups 2 and 3 swapped: %v, want a typo in group 2", err)
	}
	// A dropped group shifts the ones after it.
	dropped := slices.Delete(slices.Clone(groups), 3, 4)
	if _, err := Parse(strings.Join(dropped, "-")); !errors.As(err, &typo) || typo.Group != 4 {
		t.Fatalf("group 4 dropped: %v, want a typo in group 4", err)
	}
	// A dropped character makes its group short.
	if _, err := Parse(text[1:]); !errors.As(err, &typo) || typo.Group != 1 {
		t.Fatalf("first character dropped: %v, want a typo in group 1", err)
	}
	// Two dashes in a row.
	if _, err := Parse(strings.Replace(text, "-", "--", 1)); !errors.As(err, &typo) || typo.Group != 2 {
		t.Fatalf("double dash: %v, want a typo in group 2", err)
	}
}

func TestForgivenSpellings(t *testing.T) {
	k, text := signed(t, subscriptionKey(), 5)
	variants := map[string]string{
		"lower case":      strings.ToLower(text),
		"no dashes":       strings.ReplaceAll(text, "-", ""),
		"spaces":          "  " + strings.ReplaceAll(text, "-", " - ") + "\n",
		"line breaks":     text[:20] + "\n" + text[20:],
		"no dashes lower": strings.ToLower(strings.ReplaceAll(text, "-", "")),
		"aliases":         strings.NewReplacer("0", "O", "1", "I").Replace(text),
		"alias l":         strings.NewReplacer("0", "o", "1", "l").Replace(text),
		"alias L":         strings.NewReplacer("1", "L").Replace(text),
	}
	for name, v := range variants {
		got, err := Parse(v)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got.Raw(), k.Raw()) {
			t.Errorf("%s: a different key", name)
		}
	}
	// The aliases matter only if the text has 0s and 1s; make sure a
	// text with both decodes through them.
	raw := []byte{0x00, 0x44}
	enc := Encode(raw)
	if !strings.ContainsRune(enc, '0') || !strings.ContainsRune(enc, '1') {
		t.Fatalf("Encode(%x) = %q has no 0 and 1", raw, enc)
	}
	for _, v := range []string{strings.NewReplacer("0", "O", "1", "I").Replace(enc), strings.NewReplacer("0", "o", "1", "l").Replace(enc)} {
		if got, err := Decode(v); err != nil || !bytes.Equal(got, raw) {
			t.Errorf("Decode(%q) = %x, %v, want %x", v, got, err, raw)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	_, text := signed(t, subscriptionKey(), 6)
	tests := []struct {
		name string
		in   string
		want any // error value for errors.Is, or a *TypoError target
	}{
		{"empty", "", ErrMalformed},
		{"blank", " \n\t", ErrMalformed},
		{"too long", strings.Repeat("0", MaxTextLen+1), ErrMalformed},
		{"one character", "0", new(*TypoError)},
		{"last group of one", text + "-0", new(*TypoError)},
		{"long group", strings.Replace(text, "-", "", 1), new(*TypoError)},
		{"leading dash", "-" + text, new(*TypoError)},
		{"trailing dash", text + "-", new(*TypoError)},
		{"not base32", "ABCDE!", new(*TypoError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			switch want := tt.want.(type) {
			case error:
				if !errors.Is(err, want) {
					t.Fatalf("Parse = %v, want %v", err, want)
				}
			case **TypoError:
				if !errors.As(err, want) {
					t.Fatalf("Parse = %v, want a TypoError", err)
				}
			}
		})
	}
}

// TestChangedFieldFailsVerify re-encodes a signed key with one field changed
// and valid check characters: the text is well formed, the key parses, and
// only the signature catches the change.
func TestChangedFieldFailsVerify(t *testing.T) {
	issuer := pubOf(testKey("issuer"))
	changes := map[string]func(*Key){
		"quantity":   func(k *Key) { k.Licenses[0].Quantity++ },
		"type":       func(k *Key) { k.Licenses[0].Type = "intercom" },
		"term":       func(k *Key) { k.TermMonths = 24 },
		"product":    func(k *Key) { k.Product = "intercom" },
		"issued":     func(k *Key) { k.Issued = k.Issued.AddDate(0, 0, 1) },
		"serial":     func(k *Key) { k.Serial[0] ^= 1 },
		"wallet":     func(k *Key) { k.Wallet[0] ^= 1 },
		"bearer":     func(k *Key) { k.Bearer = true; k.Wallet = WalletID{} },
		"feature":    func(k *Key) { k.Features = append(k.Features, "elevator") },
		"no feature": func(k *Key) { k.Features = nil },
		"license":    func(k *Key) { k.Licenses = k.Licenses[:1] },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			k, _ := signed(t, subscriptionKey(), 9)
			forged := *k
			forged.Licenses = slices.Clone(k.Licenses)
			forged.Features = slices.Clone(k.Features)
			change(&forged)
			raw := append(forged.marshal(), k.signature...)
			got, err := Parse(Encode(raw))
			if err != nil {
				t.Fatalf("forged key does not parse: %v", err)
			}
			if sameFields(got, k) {
				t.Fatal("the change did not change the key")
			}
			if err := got.Verify(issuer); !errors.Is(err, sign.ErrSignature) {
				t.Fatalf("Verify = %v, want ErrSignature", err)
			}
		})
	}
	// A changed issuer id is caught before the signature is checked.
	k, _ := signed(t, subscriptionKey(), 9)
	forged := *k
	forged.Issuer = sign.IDOf(pubOf(testKey("other")))
	got, err := Parse(Encode(append(forged.marshal(), k.signature...)))
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(issuer); !errors.Is(err, sign.ErrSignature) {
		t.Fatalf("changed issuer: %v, want ErrSignature", err)
	}
	// So is a flipped signature byte.
	raw := k.Raw()
	raw[len(raw)-1] ^= 0x80
	got, err = Parse(Encode(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(issuer); !errors.Is(err, sign.ErrSignature) {
		t.Fatalf("flipped signature: %v, want ErrSignature", err)
	}
}

// rawOf marshals k as is, without validation, followed by a dummy
// signature: ParseRaw must do all the checking.
func rawOf(k *Key) []byte {
	return append(k.marshal(), make([]byte, ed25519.SignatureSize)...)
}

func TestParseRawRejects(t *testing.T) {
	good := rawOf(subscriptionKey())
	if _, err := ParseRaw(good); err != nil {
		t.Fatalf("the valid base case does not parse: %v", err)
	}
	with := func(f func(*Key)) []byte {
		k := subscriptionKey()
		f(k)
		return rawOf(k)
	}
	bearer := rawOf(bearerKey())
	unknownFlag := bytes.Clone(bearer)
	unknownFlag[len(unknownFlag)-ed25519.SignatureSize-1] |= 1 << 2
	highFlag := bytes.Clone(bearer)
	highFlag[len(highFlag)-ed25519.SignatureSize-1] |= 1 << 7
	n := len(good) - ed25519.SignatureSize
	trailing := append(append(bytes.Clone(good[:n]), 0), good[n:]...)

	tests := []struct {
		name string
		raw  []byte
	}{
		{"empty", nil},
		{"signature only", make([]byte, ed25519.SignatureSize)},
		{"version 0", append([]byte{0}, good[1:]...)},
		{"version 2", append([]byte{2}, good[1:]...)},
		{"trailing byte before the signature", trailing},
		{"unknown flag", unknownFlag},
		{"high flag", highFlag},
		{"kind 0", with(func(k *Key) { k.Kind = 0 })},
		{"kind 4", with(func(k *Key) { k.Kind = 4 })},
		{"kind 255", with(func(k *Key) { k.Kind = 255 })},
		{"quantity 0", with(func(k *Key) { k.Licenses[0].Quantity = 0 })},
		{"quantity too large", with(func(k *Key) { k.Licenses[0].Quantity = MaxQuantity + 1 })},
		{"term too long", with(func(k *Key) { k.TermMonths = MaxTermMonths + 1 })},
		{"subscription without term", with(func(k *Key) { k.TermMonths = 0 })},
		{"subscription on a device", with(func(k *Key) { k.Device = "cam-1" })},
		{"hardware with a term", with(func(k *Key) { k.Kind = Hardware })},
		{"expansion with a term", with(func(k *Key) { k.Kind = Expansion })},
		{"no licenses", with(func(k *Key) { k.Licenses = nil })},
		{"too many licenses", with(func(k *Key) {
			for i := range MaxLicenses {
				k.Licenses = append(k.Licenses, License{"t" + strings.Repeat("x", i), 1})
			}
		})},
		{"duplicate license type", with(func(k *Key) { k.Licenses[1].Type = k.Licenses[0].Type })},
		{"too many features", with(func(k *Key) {
			for i := range MaxFeatures {
				k.Features = append(k.Features, "g"+strings.Repeat("x", i))
			}
		})},
		{"duplicate feature", with(func(k *Key) { k.Features = []string{"a", "a"} })},
		{"upper-case product", with(func(k *Key) { k.Product = "VMS" })},
		{"empty product", with(func(k *Key) { k.Product = "" })},
		{"product with a space", with(func(k *Key) { k.Product = "v ms" })},
		{"product starting with a digit", with(func(k *Key) { k.Product = "1vms" })},
		{"long product", with(func(k *Key) { k.Product = strings.Repeat("p", 33) })},
		{"bad license type", with(func(k *Key) { k.Licenses[0].Type = "Camera" })},
		{"bad feature", with(func(k *Key) { k.Features = []string{"web_dialer"} })},
		{"bad device", func() []byte { k := hardwareKey(); k.Device = "cam 1"; return rawOf(k) }()},
		{"long device", func() []byte { k := hardwareKey(); k.Device = strings.Repeat("d", 65); return rawOf(k) }()},
		{"issue date after 9999", with(func(k *Key) { k.Issued = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseRaw(tt.raw)
			if err == nil {
				t.Fatalf("ParseRaw accepted it: %+v", k)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseRaw = %v, want ErrMalformed", err)
			}
		})
	}
}

// TestParseRawTruncated: every proper prefix of a valid key, and every
// key with a byte cut out of the signed part, is refused.
func TestParseRawTruncated(t *testing.T) {
	for _, k := range []*Key{subscriptionKey(), bearerKey(), hardwareKey()} {
		k, _ := signed(t, k, 1)
		raw := k.Raw()
		for n := range len(raw) {
			if _, err := ParseRaw(raw[:n]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("prefix of %d of %d bytes: %v, want ErrMalformed", n, len(raw), err)
			}
			if _, err := Parse(Encode(raw[:n])); err == nil {
				t.Fatalf("text of a prefix of %d bytes parses", n)
			}
		}
		signedLen := len(raw) - ed25519.SignatureSize
		for i := range signedLen {
			cut := append(bytes.Clone(raw[:i]), raw[i+1:]...)
			if got, err := ParseRaw(cut); err == nil && got.Verify(pubOf(testKey("issuer"))) == nil {
				t.Fatalf("key with byte %d cut out still verifies", i)
			}
		}
	}
}

// largeKey has as many licenses and features as a key may carry, each at
// its largest value, with short names so that the text stays readable.
func largeKey() *Key {
	k := &Key{Kind: Subscription, Issued: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
		TermMonths: MaxTermMonths, Product: strings.Repeat("p", 32),
		Wallet: WalletIDOf(pubOf(testKey("w")))}
	for i := range MaxLicenses {
		k.Licenses = append(k.Licenses, License{string(rune('a'+i)) + "-type", MaxQuantity})
	}
	for i := range MaxFeatures {
		k.Features = append(k.Features, string(rune('a'+i/26))+string(rune('a'+i%26)))
	}
	return k
}

// TestSignRefusesUnparsableText: a key whose text would be longer than
// Parse accepts is refused when it is signed, not after it was handed out.
func TestSignRefusesUnparsableText(t *testing.T) {
	k := largeKey()
	for i := range k.Features {
		k.Features[i] = fmt.Sprintf("f%02d%s", i, strings.Repeat("x", 28))
	}
	text, err := k.Sign(testKey("issuer"), serialReader(1))
	if err == nil {
		t.Fatalf("Sign made a key of %d characters, which Parse refuses", len(text))
	}
	if !strings.Contains(err.Error(), "characters") {
		t.Fatalf("Sign = %v, want it to say the text is too long", err)
	}
}

func TestSignRejectsInvalid(t *testing.T) {
	tests := map[string]func(*Key){
		"no licenses":   func(k *Key) { k.Licenses = nil },
		"time of day":   func(k *Key) { k.Issued = k.Issued.Add(time.Hour) },
		"zero date":     func(k *Key) { k.Issued = time.Time{} },
		"before 1970":   func(k *Key) { k.Issued = time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC) },
		"no term":       func(k *Key) { k.TermMonths = 0 },
		"negative term": func(k *Key) { k.TermMonths = -1 },
		"bad kind":      func(k *Key) { k.Kind = 9 },
		"bad product":   func(k *Key) { k.Product = "Vms" },
	}
	for name, change := range tests {
		k := subscriptionKey()
		change(k)
		if text, err := k.Sign(testKey("issuer"), serialReader(1)); err == nil {
			t.Errorf("%s: Sign = %q, want an error", name, text)
		}
	}
	// A failing random source is an error, not a zero serial.
	k := subscriptionKey()
	if _, err := k.Sign(testKey("issuer"), bytes.NewReader([]byte{1, 2, 3})); err == nil {
		t.Error("Sign with a short random source succeeded")
	}
}

func TestCapacity(t *testing.T) {
	k := subscriptionKey() // camera 16 and analytics-l2 4, for 12 months
	if got := k.Capacity("camera"); got != 16*12 {
		t.Errorf("subscription camera capacity %d, want %d license-months", got, 16*12)
	}
	if got := k.Capacity("analytics-l2"); got != 4*12 {
		t.Errorf("analytics-l2 capacity %d", got)
	}
	if got := k.Capacity("intercom"); got != 0 {
		t.Errorf("capacity of a type the key does not carry: %d", got)
	}
	if got := hardwareKey().Capacity("camera"); got != 64 {
		t.Errorf("hardware capacity %d, want 64 units", got)
	}
}

func TestKind(t *testing.T) {
	for _, k := range []Kind{Subscription, Hardware, Expansion} {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
		text, err := k.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Kind
		if err := back.UnmarshalText(text); err != nil || back != k {
			t.Errorf("UnmarshalText(%q) = %v, %v", text, back, err)
		}
	}
	if Subscription.String() != "subscription" || Hardware.String() != "hardware" || Expansion.String() != "expansion" || Trial.String() != "trial" {
		t.Error("kind names changed; they are part of the file formats")
	}
	for _, k := range []Kind{0, 5, 200} {
		if s, want := k.String(), fmt.Sprintf("kind(%d)", k); s != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, s, want)
		}
	}
	for _, s := range []string{"", "Subscription", "kind(1)", "perpetual"} {
		if _, err := ParseKind(s); err == nil {
			t.Errorf("ParseKind(%q) succeeded", s)
		}
		var k Kind = Hardware
		if err := k.UnmarshalText([]byte(s)); err == nil {
			t.Errorf("UnmarshalText(%q) succeeded", s)
		}
	}
}

func TestWalletID(t *testing.T) {
	pub := pubOf(testKey("wallet"))
	id := WalletIDOf(pub)
	sum := sha256.Sum256(sign.Wire(pub))
	if !bytes.Equal(id[:], sum[:WalletIDSize]) {
		t.Fatal("WalletIDOf is not the first 16 bytes of SHA-256(wire)")
	}
	if WalletIDOf(pubOf(testKey("other"))) == id {
		t.Fatal("two wallets with one id")
	}
	s := id.String()
	if len(s) != 26 {
		t.Fatalf("wallet id %q has %d characters, want 26", s, len(s))
	}
	for _, v := range []string{s, strings.ToLower(s), s[:5] + "-" + s[5:13] + "-" + s[13:],
		strings.NewReplacer("0", "O", "1", "I").Replace(s)} {
		got, err := ParseWalletID(v)
		if err != nil || got != id {
			t.Errorf("ParseWalletID(%q) = %v, %v", v, got, err)
		}
	}
	text, _ := id.MarshalText()
	var back WalletID
	if err := back.UnmarshalText(text); err != nil || back != id {
		t.Errorf("UnmarshalText(%q) = %v, %v", text, back, err)
	}
	// 128 bits take 26 characters with 2 padding bits; a last character
	// with padding bits set is another spelling and is refused.
	last := strings.IndexByte(alphabet, s[25])
	padded := s[:25] + string(alphabet[last|1])
	if last&1 != 0 {
		padded = s[:25] + string(alphabet[last|2])
	}
	for _, bad := range []string{"", s[:25], s + "0", s[:25] + "U", padded, "!" + s[1:]} {
		if got, err := ParseWalletID(bad); err == nil {
			t.Errorf("ParseWalletID(%q) = %v, want an error", bad, got)
		}
	}
}

func TestAnalyticsLevel(t *testing.T) {
	tests := map[string]int{
		"analytics-l1": 1, "analytics-l2": 2, "analytics-l3": 3, "analytics-l4": 4,
		"analytics-l0": 0, "analytics-l5": 0, "analytics-l10": 0, "analytics-l": 0,
		"camera": 0, "": 0, "xnalytics-l1": 0, "analytics_l1": 0, "Analytics-l1": 0,
	}
	for in, want := range tests {
		if got := AnalyticsLevel(in); got != want {
			t.Errorf("AnalyticsLevel(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "vms", "analytics-l4", "sip-number", "x9", strings.Repeat("a", 32)} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "9a", "-a", "A", "aB", "a b", "a_b", "a.b", "é", strings.Repeat("a", 33)} {
		if ValidName(bad) == nil {
			t.Errorf("ValidName(%q) accepted it", bad)
		}
	}
}
