//go:build !linux

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
)

var errNoUnnamed = errors.New("unnamed temporary files are not supported here")

func openUnnamed(dir string, perm fs.FileMode) (*os.File, error) { return nil, errNoUnnamed }

func linkUnnamed(f *os.File, path string) error { return errNoUnnamed }
