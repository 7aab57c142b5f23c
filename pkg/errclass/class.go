package errclass

import (
	"errors"
	"io/fs"
)

// The classes of failure a user can cause. Every error a package returns
// for bad input, a broken trust chain or a failed check belongs to one of
// them (errors.Is(err, errclass.Trust)); ExitCode maps the class to the
// exit code of the README's table. An error of no class is a bug.
var (
	Usage    = errors.New("usage error")          // a bad flag or argument
	Input    = errors.New("input error")          // an input that cannot be read or is malformed
	Trust    = errors.New("trust failure")        // a bad signature, an unknown, revoked or out-of-scope signer
	Validity = errors.New("outside the validity") // expired or not yet valid
	Binding  = errors.New("binding mismatch")     // the hardware binding does not match
	Quota    = errors.New("quota exceeded")       // more used or asked for than licensed
	Rollback = errors.New("rollback detected")    // the clock or the bundle sequence went backwards
)

// Exit codes, as the README documents them.
const (
	ExitOK       = 0
	ExitInternal = 1
	ExitUsage    = 2
	ExitInput    = 3
	ExitTrust    = 10
	ExitValidity = 11
	ExitBinding  = 12
	ExitQuota    = 13
	ExitRollback = 14
)

// Table is the exit codes with their meaning, as the README's table gives
// them (a test keeps the two equal); the man pages print it.
var Table = []struct {
	Code    int
	Meaning string
}{
	{ExitOK, "licensed: valid, or in a grace period (reported)"},
	{ExitInternal, "internal error (a bug)"},
	{ExitUsage, "usage error: bad flag or argument"},
	{ExitInput, "an input cannot be read or is malformed"},
	{ExitTrust, "signature or trust failure: bad signature, unknown, revoked or out-of-scope signer"},
	{ExitValidity, "outside the validity period: expired or not yet valid"},
	{ExitBinding, "hardware binding does not match"},
	{ExitQuota, "quota exceeded"},
	{ExitRollback, "rollback detected: clock or bundle sequence went backwards"},
}

// codes lists the classes in the order ExitCode tries them: an error that
// wraps several classes takes the first, the most specific verdict.
var codes = []struct {
	class error
	code  int
}{
	{Usage, ExitUsage},
	{Rollback, ExitRollback},
	{Quota, ExitQuota},
	{Binding, ExitBinding},
	{Validity, ExitValidity},
	{Trust, ExitTrust},
	{Input, ExitInput},
}

// ExitCode returns the exit code of err: 0 for nil, the code of its class,
// ExitInput for a file that could not be opened or read (a path the user
// gave), and ExitInternal for an error of no class, a bug.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	for _, c := range codes {
		if errors.Is(err, c.class) {
			return c.code
		}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return ExitInput
	}
	return ExitInternal
}

// Sentinel returns a package's sentinel error of class: its message is
// msg, it is itself (errors.Is(err, sentinel)), and it is of class
// (errors.Is(err, class)).
func Sentinel(class error, msg string) error { return &sentinel{msg: msg, class: class} }

type sentinel struct {
	msg   string
	class error
}

func (s *sentinel) Error() string        { return s.msg }
func (s *sentinel) Is(target error) bool { return target == s.class }
