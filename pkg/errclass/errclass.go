// Package errclass attaches a class to an error without changing its
// message. allot decides exit codes by class (errors.Is against a package's
// sentinel errors); with fmt.Errorf("%w: …") every layer would repeat the
// class's words ("malformed: malformed bundle: malformed: …").
package errclass

import "fmt"

type classed struct {
	class error
	err   error
}

func (e *classed) Error() string { return e.err.Error() }

// Unwrap returns both the class and the cause, so errors.Is and errors.As
// see through to either.
func (e *classed) Unwrap() []error { return []error{e.class, e.err} }

// New returns an error of class whose message is the formatted text alone.
func New(class error, format string, args ...any) error {
	return &classed{class: class, err: fmt.Errorf(format, args...)}
}

// Wrap returns err, unchanged in message, as an error of class as well.
func Wrap(class, err error) error {
	if err == nil {
		return nil
	}
	return &classed{class: class, err: err}
}
