package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"allot.dev/allot/pkg/atomicfile"
	"allot.dev/allot/pkg/termtext"
)

// writeOut writes data to a new file at path, or to standard output for
// "-". It never overwrites a file.
func (e *env) writeOut(path string, data []byte, perm fs.FileMode) error {
	return e.writeOutFunc(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeOutFunc is writeOut for content that write streams, such as many
// thousand keys; a file is created only if write succeeds.
func (e *env) writeOutFunc(path string, perm fs.FileMode, write func(w io.Writer) error) error {
	if path == "-" {
		return write(e.stdout)
	}
	if err := atomicfile.CreateFunc(path, perm, write); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return outExists(path)
		}
		return err
	}
	return nil
}

// readInput reads an input file of at most limit bytes, refusing a larger
// one by its size before reading it, so a wrong file given by mistake (or
// /dev/zero) costs nothing.
func readInput(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > limit {
		return nil, inputErrorf("%s: larger than %d bytes: not the file allot expects here", path, limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, inputErrorf("%s: larger than %d bytes: not the file allot expects here", path, limit)
	}
	return data, nil
}

// Size limits of the small input files.
const (
	maxPubFile        = 8 << 10
	maxPassphraseFile = 8 << 10
)

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

// printText prints text for people: a line of a command's result on
// standard output, or a message on standard error. Its string and error
// arguments may come from input files (a bundle's organization, a key's
// product, a file name, an error quoting them), so each is escaped
// (termtext) as it is formatted, and no control code reaches a terminal
// or a log line. JSON output (printJSON) keeps strings as they are.
func printText(w io.Writer, format string, args ...any) {
	shown := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			shown[i] = escaped(v)
		case error:
			shown[i] = escaped(v.Error())
		default:
			shown[i] = a
		}
	}
	fmt.Fprintf(w, format, shown...)
}

// escaped is text formatted with any verb and then escaped: %q too,
// whose %#q form would keep a bidi control.
type escaped string

func (s escaped) Format(f fmt.State, verb rune) {
	io.WriteString(f, termtext.Escape(fmt.Sprintf(fmt.FormatString(f, verb), string(s))))
}

// table prints rows under a header, as plain aligned columns: no borders,
// no lines, two spaces between columns. Cells are escaped (termtext): a
// tab or newline in one would break the columns, a control code the
// terminal.
func (e *env) table(header []string, rows [][]string) error {
	header = escapeAll(header)
	shown := make([][]string, len(rows))
	for i, r := range rows {
		shown[i] = escapeAll(r)
	}
	rows = shown
	var b bytes.Buffer
	pad := tw.CellPadding{Global: tw.Padding{Left: tw.Empty, Right: "  ", Overwrite: true}}
	cell := tw.CellConfig{
		Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone, AutoFormat: tw.Off},
		Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
		Padding:    pad,
	}
	head := cell
	head.Formatting.AutoFormat = tw.On // headers in capitals, as people expect of a CLI
	t := tablewriter.NewTable(&b,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders:  tw.BorderNone,
			Symbols:  tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{Lines: tw.LinesNone, Separators: tw.SeparatorsNone},
		})),
		tablewriter.WithConfig(tablewriter.Config{Header: head, Row: cell}),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	// The library pads the last column too; trailing blanks are noise.
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(e.stdout, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func escapeAll(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = termtext.Escape(c)
	}
	return out
}
