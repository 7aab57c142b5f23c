package main

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"allot.dev/allot/pkg/allocate"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/errclass"
	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/payload"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/sign/keyfile"
	"allot.dev/allot/pkg/tomlfile"
	"allot.dev/allot/pkg/verify"
	"allot.dev/allot/pkg/wallet"
)

// Every error class a package can return maps to the exit code the README
// documents, through the one table in package errclass, however deeply it
// is wrapped; an error of no class is a bug (exit 1).
func TestExitTable(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{nil, 0},
		{errors.New("no class"), 1},
		{usageErrorf("bad flag"), 2},
		{cert.ErrInvalid, 2},
		{inputErrorf("bad file"), 3},
		{&fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist}, 3},
		{&licensekey.TypoError{Group: 1, Text: "x"}, 3},
		{&tomlfile.Error{File: "f", Err: errors.New("x")}, 3},
		{&allocate.InsufficientError{}, 3},
		{licensekey.ErrMalformed, 3}, {licensekey.ErrTruncated, 3},
		{bundle.ErrMalformed, 3}, {cert.ErrMalformed, 3}, {payload.ErrSyntax, 3},
		{sign.ErrMalformed, 3}, {sign.ErrCRLF, 3}, {sign.ErrBOM, 3}, {tomlfile.ErrBOM, 3},
		{wallet.ErrCorrupt, 3}, {wallet.ErrNotFound, 3}, {wallet.ErrExists, 3},
		{wallet.ErrRedeemed, 3}, {wallet.ErrDuplicate, 3}, {wallet.ErrNoTrust, 3},
		{allocate.ErrRequest, 3}, {keyfile.ErrNoMatch, 3},
		{verify.ErrMalformed, 3}, {verify.ErrStateMissing, 3},
		{sign.ErrSignature, 10}, {cert.ErrScope, 10}, {cert.ErrUntrusted, 10}, {cert.ErrRevoked, 10},
		{wallet.ErrOtherWallet, 10}, {verify.ErrTrust, 10},
		{verify.ErrExpired, 11}, {verify.ErrNotYetValid, 11},
		{verify.ErrBinding, 12},
		{verify.ErrQuota, 13},
		{verify.ErrRollback, 14},
		{&exitCodeError{13}, 13},
	}
	for _, c := range cases {
		for _, err := range []error{c.err, wrap(c.err)} {
			if got := exitCode(err); got != c.code {
				t.Errorf("%v (%T): exit %d, want %d", err, err, got, c.code)
			}
		}
	}
}

// wrap hides err two layers deep, as commands add context.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("outer: %w", errclass.Wrap(errors.New("context"), fmt.Errorf("inner: %w", err)))
}
