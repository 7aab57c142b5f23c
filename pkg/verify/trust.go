package verify

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"time"

	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/tomlfile"
)

// TrustVersion is the trust file version this package reads.
const TrustVersion = 1

// Limits of trust files.
const (
	// MaxTrustFileSize bounds the trust file a reader accepts.
	MaxTrustFileSize = 256 << 10
	// MaxTrustRoots bounds the root keys: a vendor's few, with room to
	// rotate them.
	MaxTrustRoots = 256
	// MaxRevoked bounds the revoked serials and key ids, about as many as
	// the file's size holds.
	MaxRevoked = 8192
)

// trustLimits bound a TOML trust file before the TOML library reads it.
var trustLimits = tomlfile.Limits{Tables: 8, Keys: 16, Values: MaxTrustRoots + MaxRevoked + 8, String: 4096}

// DefaultClockTolerance is how far the clock may seem to go back before
// verification calls it a rollback, when the trust file does not say.
const DefaultClockTolerance = 24 * time.Hour

// Trust is a parsed trust file.
type Trust struct {
	cert.Trust
	ClockTolerance time.Duration
	// Policy is the most any bundle may write: its grace, growth
	// allowance and retention, and how far ahead its keys may fund time.
	// The certificates of a bundle's keys may narrow it, never widen it.
	// It is the trust file's [policy], or the embedded catalog's.
	Policy cert.Policy
}

// policy returns t.Policy, or the embedded catalog's for a Trust built
// without one (its zero value allows no year, so it is never a real one).
func (t *Trust) policy() cert.Policy {
	if t.Policy == (cert.Policy{}) {
		return catalog.Default().Policy
	}
	return t.Policy
}

type trustFile struct {
	Version        int          `toml:"version"`
	Roots          []string     `toml:"roots"`
	Revoked        []string     `toml:"revoked"`
	Revocations    []string     `toml:"revocations"`
	ClockTolerance string       `toml:"clock_tolerance"`
	Policy         *cert.Policy `toml:"policy"`
}

// ParseTrust parses a trust file: either allot's TOML trust file, or a
// plain OpenSSH public key file (one or more "ssh-ed25519 …" lines), which
// trusts those keys as roots. name is used in errors.
func ParseTrust(name string, data []byte) (*Trust, error) {
	t := &Trust{Trust: cert.Trust{Revoked: map[string]bool{}}, ClockTolerance: DefaultClockTolerance,
		Policy: catalog.Default().Policy}
	if isKeyFile(data) {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || line[0] == '#' {
				continue
			}
			if len(t.Roots) == MaxTrustRoots {
				return nil, &tomlfile.Error{File: name, Line: n, Err: fmt.Errorf("more than %d root keys", MaxTrustRoots)}
			}
			k, err := sign.ParseAuthorized(line)
			if err != nil {
				return nil, &tomlfile.Error{File: name, Line: n, Err: err}
			}
			t.Roots = append(t.Roots, k.Key)
		}
		if err := sc.Err(); err != nil {
			return nil, &tomlfile.Error{File: name, Err: err}
		}
		return t, nil
	}
	var f trustFile
	if err := tomlfile.DecodeLimits(name, data, &f, trustLimits); err != nil {
		return nil, err
	}
	errf := func(field, format string, args ...any) error {
		return tomlfile.Errorf(name, data, field, format, args...)
	}
	if f.Version != TrustVersion {
		return nil, errf("version", "%d, want %d", f.Version, TrustVersion)
	}
	if len(f.Roots) == 0 {
		return nil, errf("roots", "no root keys")
	}
	if len(f.Roots) > MaxTrustRoots {
		return nil, errf("roots", "more than %d root keys", MaxTrustRoots)
	}
	if len(f.Revoked) > MaxRevoked {
		return nil, errf("revoked", "more than %d entries", MaxRevoked)
	}
	for _, r := range f.Roots {
		k, err := sign.ParseAuthorized(r)
		if err != nil {
			return nil, errf("roots", "%v", err)
		}
		t.Roots = append(t.Roots, k.Key)
	}
	for _, s := range f.Revoked {
		if !cert.ValidTarget(s) {
			return nil, errf("revoked", "%q is neither a certificate serial (16 hexadecimal digits) nor a key id (issuer:serial)", s)
		}
		t.Revoked[s] = true
	}
	if err := t.addRevocations(f.Revocations); err != nil {
		return nil, errf("revocations", "%v", err)
	}
	if f.ClockTolerance != "" {
		d, err := time.ParseDuration(f.ClockTolerance)
		if err != nil || d < 0 {
			return nil, errf("clock_tolerance", "%q is not a duration such as \"24h\"", f.ClockTolerance)
		}
		t.ClockTolerance = d
	}
	if f.Policy != nil {
		if err := f.Policy.Validate(); err != nil {
			field, msg, _ := strings.Cut(err.Error(), ": ")
			return nil, errf(field, "%s", msg)
		}
		t.Policy = *f.Policy
	}
	return t, nil
}

func isKeyFile(data []byte) bool {
	for _, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		return bytes.HasPrefix(line, []byte(sign.KeyType+" "))
	}
	return false
}
