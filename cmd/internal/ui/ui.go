// Package ui is allot's one output layer, as restic's internal/ui is
// restic's: commands hand it what they have to say, and it prints text and
// tables for people, one typed JSON document for scripts, and progress on
// a terminal. Libraries never print; commands print only through a
// Printer.
//
// Everything printed as text is escaped (package termtext): a string from
// an input file can carry a terminal's control codes. JSON keeps strings
// as they are, as JSON strings.
package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"allot.dev/allot/pkg/termtext"
)

// JSONVersion is the version of every JSON document allot prints. It
// changes when a field changes meaning or goes away; new fields may be
// added within a version.
const JSONVersion = 1

// Head opens every JSON document: its version and its type, the command
// that printed it ("wallet.status"). A result type embeds it.
type Head struct {
	Version int    `json:"version"`
	Type    string `json:"type"`
}

func (h *Head) head() *Head { return h }

// Result is a typed JSON document: a struct that embeds Head.
type Result interface{ head() *Head }

// Printer prints a command's output.
type Printer struct {
	Stdout, Stderr io.Writer
}

// New returns a Printer writing to stdout and stderr.
func New(stdout, stderr io.Writer) *Printer { return &Printer{Stdout: stdout, Stderr: stderr} }

// Printf prints a line of a command's result for people. String and error
// arguments are escaped, whatever the verb.
func (p *Printer) Printf(format string, args ...any) { Fprintf(p.Stdout, format, args...) }

// Eprintf prints a message for people on standard error, escaped as Printf.
func (p *Printer) Eprintf(format string, args ...any) { Fprintf(p.Stderr, format, args...) }

// Fprintf formats as fmt.Fprintf does, escaping string and error
// arguments (termtext) after formatting each with its verb.
func Fprintf(w io.Writer, format string, args ...any) {
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

// escaped is text formatted with any verb and then escaped: %q too, whose
// %#q form would keep a bidi control.
type escaped string

func (s escaped) Format(f fmt.State, verb rune) {
	io.WriteString(f, termtext.Escape(fmt.Sprintf(fmt.FormatString(f, verb), string(s))))
}

// Table prints rows under a header as plain aligned columns: no borders,
// no lines, two spaces between columns, headers in capitals. Cells are
// escaped: a tab or newline in one would break the columns, a control code
// the terminal.
func (p *Printer) Table(header []string, rows [][]string) error {
	header = escapeAll(header)
	shown := make([][]string, len(rows))
	for i, r := range rows {
		shown[i] = escapeAll(r)
	}
	var b bytes.Buffer
	pad := tw.CellPadding{Global: tw.Padding{Left: tw.Empty, Right: "  ", Overwrite: true}}
	cell := tw.CellConfig{
		Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone, AutoFormat: tw.Off},
		Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
		Padding:    pad,
	}
	head := cell
	head.Formatting.AutoFormat = tw.On
	t := tablewriter.NewTable(&b,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders:  tw.BorderNone,
			Symbols:  tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{Lines: tw.LinesNone, Separators: tw.SeparatorsNone},
		})),
		tablewriter.WithConfig(tablewriter.Config{Header: head, Row: cell}),
	)
	t.Header(header)
	if err := t.Bulk(shown); err != nil {
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
		if _, err := io.WriteString(p.Stdout, strings.TrimRight(line, " \n")+"\n"); err != nil {
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

// JSON prints r as one indented JSON document of type typ: an object whose
// first fields are "version" and "type", in which no list is null.
func (p *Printer) JSON(typ string, r Result) error {
	*r.head() = Head{Version: JSONVersion, Type: typ}
	v := reflect.ValueOf(r)
	emptyLists(v)
	enc := json.NewEncoder(p.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// emptyLists replaces every nil slice and map reachable from v through
// settable fields, elements and pointers with an empty one, so that a list
// with nothing in it prints as [] (a map as {}) and never as null. Values
// inside maps are not settable and are left as they are.
func emptyLists(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			emptyLists(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				emptyLists(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			if v.CanSet() && v.Type().Elem().Kind() != reflect.Uint8 {
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			}
			return
		}
		for i := 0; i < v.Len(); i++ {
			emptyLists(v.Index(i))
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			emptyLists(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() && v.CanSet() {
			v.Set(reflect.MakeMap(v.Type()))
		}
	}
}
