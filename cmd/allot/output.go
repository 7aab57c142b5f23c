package main

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"allot.dev/allot/pkg/atomicfile"
)

// writeOut writes data to a new file at path, or to standard output for
// "-". It never overwrites a file.
func (e *env) writeOut(path string, data []byte, perm fs.FileMode) error {
	if path == "-" {
		_, err := e.stdout.Write(data)
		return err
	}
	if err := atomicfile.Create(path, data, perm); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return outExists(path)
		}
		return err
	}
	return nil
}

// checkOut fails early if an output file exists, before any work is done
// or any wallet is changed.
func checkOut(path string) error {
	if path == "-" {
		return nil
	}
	if _, err := os.Lstat(path); err == nil {
		return outExists(path)
	}
	return nil
}

func outExists(path string) error {
	return withHint(inputErrorf("%s already exists", path), "allot never overwrites an output file: remove it or choose another --out")
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table prints rows under a header.
func (e *env) table(header []string, rows [][]string) error {
	t := tablewriter.NewTable(e.stdout,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	t.Header(toAny(header)...)
	for _, r := range rows {
		if err := t.Append(toAny(r)...); err != nil {
			return err
		}
	}
	return t.Render()
}

func toAny(v []string) []any {
	a := make([]any, len(v))
	for i, s := range v {
		a[i] = s
	}
	return a
}

// readFull reads until buf is full or the reader ends.
func readFull(r io.Reader, buf []byte) (int, error) {
	n, err := io.ReadFull(r, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return n, err
}
