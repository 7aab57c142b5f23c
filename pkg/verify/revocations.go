package verify

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/sign"
)

// MaxRevocations bounds the signed revocations a trust file holds.
const MaxRevocations = 1024

// addRevocations reads the trust file's signed revocations: each the
// base64 of a revocation document (cert.ParseRevocation), its signature
// checked here. Whether it counts is decided per chain (cert.Revocation):
// a device honours a revocation only if a root, or a key above what it
// revokes, signed it.
func (t *Trust) addRevocations(entries []string) error {
	if len(entries) > MaxRevocations {
		return fmt.Errorf("more than %d", MaxRevocations)
	}
	for i, e := range entries {
		doc, err := base64.StdEncoding.Strict().DecodeString(e)
		if err != nil {
			return fmt.Errorf("entry %d: not base64", i+1)
		}
		r, err := cert.ParseRevocation(doc)
		if err != nil {
			return fmt.Errorf("entry %d: %w", i+1, err)
		}
		t.AddRevocation(r)
	}
	return nil
}

// AddRevocations returns the trust file data (TOML) with the signed
// revocations revs added to its `revocations` array, everything else kept
// as it was, comments included; a revocation it holds already is not
// added twice. name is the file's name in errors.
func AddRevocations(name string, data []byte, revs []*cert.Revocation) ([]byte, error) {
	if isKeyFile(data) {
		return nil, fmt.Errorf("%s: %w: a public key file has no room for revocations; write a TOML trust file (--out)", name, ErrMalformed)
	}
	old, err := ParseTrust(name, data)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	n := 0
	for _, rs := range old.Revocations {
		for _, r := range rs {
			have[string(r.Document())] = true
			n++
		}
	}
	var entries []string
	for _, r := range revs {
		if have[string(r.Document())] {
			continue
		}
		have[string(r.Document())] = true
		entries = append(entries, revocationEntry(r))
	}
	if len(entries) == 0 {
		return data, nil
	}
	lines := strings.SplitAfter(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var out []string
	start, end := -1, -1
	for i, l := range lines {
		if start < 0 && strings.HasPrefix(strings.TrimSpace(l), "revocations") && strings.Contains(l, "=") {
			start = i
		}
		if start >= 0 && end < 0 && i >= start && strings.HasSuffix(strings.TrimSpace(l), "]") {
			end = i
		}
	}
	block := func(existing []string) []string {
		b := []string{"revocations = [\n"}
		b = append(b, existing...)
		return append(append(b, entries...), "]\n")
	}
	switch {
	case start >= 0 && end > start && strings.TrimSpace(lines[end]) == "]":
		// allot's own layout: one entry a line, "]" alone at the end.
		out = append(append(append(out, lines[:end]...), entries...), lines[end:]...)
	case start >= 0 && end == start && strings.HasSuffix(strings.TrimSpace(lines[start]), "[]"):
		out = append(append(append(out, lines[:start]...), block(nil)...), lines[start+1:]...)
	case start >= 0:
		return nil, fmt.Errorf("%s: revocations: laid out in a way allot cannot extend; put it as allot writes it (one entry a line, ']' alone)", name)
	default:
		// Before the first table, where a top-level key must be.
		at := len(lines)
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), "[") {
				at = i
				break
			}
		}
		head := append([]string{}, lines[:at]...)
		if len(head) > 0 && !strings.HasSuffix(head[len(head)-1], "\n") {
			head[len(head)-1] += "\n"
		}
		b := append([]string{"# Signed revocations (allot revoke): each the base64 of a revocation document.\n"}, block(nil)...)
		if at < len(lines) {
			b = append(b, "\n")
		}
		out = append(append(head, b...), lines[at:]...)
	}
	result := []byte(strings.Join(out, ""))
	t, err := ParseTrust(name, result)
	if err != nil {
		return nil, fmt.Errorf("%s: adding the revocations would damage the file: %w", name, err)
	}
	got := 0
	for _, rs := range t.Revocations {
		got += len(rs)
	}
	if got != n+len(entries) {
		return nil, fmt.Errorf("%s: revocations: could not add them; add them by hand", name)
	}
	return result, nil
}

// FormatTrust writes a new TOML trust file: t's roots, its unsigned
// revocations, clock tolerance and policy, and the signed revocations of
// t and revs.
func FormatTrust(t *Trust, revs []*cert.Revocation) []byte {
	var b strings.Builder
	b.WriteString("# The vendor roots this device accepts, and what they revoked.\nversion = 1\nroots = [\n")
	for _, r := range t.Roots {
		fmt.Fprintf(&b, "  %q,\n", sign.MarshalAuthorized(r, ""))
	}
	b.WriteString("]\n")
	if len(t.Revoked) > 0 {
		b.WriteString("revoked = [\n")
		for _, s := range sortedKeys(t.Revoked) {
			fmt.Fprintf(&b, "  %q,\n", s)
		}
		b.WriteString("]\n")
	}
	if t.ClockTolerance != DefaultClockTolerance {
		fmt.Fprintf(&b, "clock_tolerance = %q\n", t.ClockTolerance.String())
	}
	b.WriteString("# Signed revocations (allot revoke): each the base64 of a revocation document.\nrevocations = [\n")
	seen := map[string]bool{}
	for _, target := range sortedKeys(t.Revocations) {
		for _, r := range t.Revocations[target] {
			seen[string(r.Document())] = true
			b.WriteString(revocationEntry(r))
		}
	}
	for _, r := range revs {
		if !seen[string(r.Document())] {
			seen[string(r.Document())] = true
			b.WriteString(revocationEntry(r))
		}
	}
	b.WriteString("]\n")
	if t.Policy != (cert.Policy{}) && t.Policy != catalog.Default().Policy {
		p := t.Policy
		fmt.Fprintf(&b, "\n[policy]\ngrace_days = %d\nmax_renewal_years = %d\nunallocated_expiry_years = %d\nanalytics_retention_days = %d\ngrowth_allowance_percent = %d\n",
			p.GraceDays, p.MaxRenewalYears, p.UnallocatedExpiryYears, p.AnalyticsRetentionDays, p.GrowthAllowancePercent)
	}
	return []byte(b.String())
}

// revocationEntry is one line of the array, with a comment above it that
// says what it revokes (readers ignore it; the signed document decides).
func revocationEntry(r *cert.Revocation) string {
	c := fmt.Sprintf("  # %s, revoked by %s on %s", r.What(), sign.IDOf(r.Signer), r.Issued.Format(time.DateOnly))
	if r.Reason != "" {
		c += ": " + strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return ' '
			}
			return r
		}, r.Reason)
	}
	return c + "\n  \"" + base64.StdEncoding.EncodeToString(r.Document()) + "\",\n"
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
