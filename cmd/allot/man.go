package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/verifycli"
	"allot.dev/allot/pkg/errclass"
)

// The man pages (section 1) are written from the command tree by a small
// roff writer of allot's own rather than by urfave/cli's ToMan: that one
// is compiled out by the urfave_cli_no_docs tag every binary is built
// with, and it renders markdown through blackfriday, whose package
// initialisation is start-up cost DESIGN.md budgets against. `make
// generate` checks the pages in under completions/man/man1, and a test
// fails when they are stale.

// manCommand prints one page, or with no argument the names of all of
// them; `make generate` calls it. It is hidden: the checked-in pages are
// what people read.
func (e *env) manCommand() *cli.Command {
	return &cli.Command{
		Name:      "man",
		Hidden:    true,
		Usage:     "print a man page, or the list of pages",
		UsageText: "allot man [PAGE]",
		Action: func(c *cli.Context) error {
			pages := manPages(e.newApp())
			if c.NArg() == 0 {
				for _, p := range pages {
					fmt.Fprintln(e.stdout, p.name)
				}
				return nil
			}
			if c.NArg() != 1 {
				return usageErrorf("man: give one page name, or none for the list")
			}
			for _, p := range pages {
				if p.name == c.Args().First() {
					_, err := fmt.Fprint(e.stdout, p.roff)
					return err
				}
			}
			return usageErrorf("man: no page %q; allot man lists them", c.Args().First())
		},
	}
}

// manPage is one page of section 1: "allot-wallet-redeem" and its roff.
type manPage struct{ name, roff string }

// manPages returns a page for allot and for every visible command, in the
// order of the command tree. The page of `allot verify` is allot-verify(1),
// which is also the device binary's page: both run verifycli, so the page
// is written from verifycli.Usage.
func manPages(app *cli.App) []manPage {
	pages := []manPage{{"allot", rootPage(app)}}
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			p := append(slices.Clone(path), c.Name)
			name := pageName(p)
			if name == "allot-verify" {
				pages = append(pages, manPage{name, verifyPage(app, c)})
			} else {
				pages = append(pages, manPage{name, commandPage(app, p, c)})
			}
			walk(p, c.Subcommands)
		}
	}
	walk(nil, app.Commands)
	return pages
}

func pageName(path []string) string { return strings.Join(append([]string{"allot"}, path...), "-") }

func rootPage(app *cli.App) string {
	var r roff
	r.header("allot", app.Version)
	r.section("NAME")
	r.line(roffEscape("allot - " + app.Usage))
	r.section("SYNOPSIS")
	r.line(`\fBallot\fR \fICOMMAND\fR [\fIoptions\fR] [\fIarguments\fR]`)
	r.section("DESCRIPTION")
	r.text(sentence(app.Usage))
	r.text("Each command has its page, listed below, and prints its usage with --help. Flags may follow arguments.")
	r.section("COMMANDS")
	for _, c := range app.Commands {
		if !c.Hidden {
			r.item(`\fB`+roffEscape(pageName([]string{c.Name}))+`\fR(1)`, c.Usage)
		}
	}
	r.section("OPTIONS")
	for _, f := range []cli.Flag{cli.HelpFlag, cli.VersionFlag} {
		r.flag(f)
	}
	r.environment(nil)
	r.exitStatus(true)
	var see []string
	for _, c := range app.Commands {
		if !c.Hidden {
			see = append(see, pageName([]string{c.Name}))
		}
	}
	r.seeAlso(see)
	return r.String()
}

func commandPage(app *cli.App, path []string, c *cli.Command) string {
	name := pageName(path)
	var r roff
	r.header(name, app.Version)
	r.section("NAME")
	r.line(roffEscape(name + " - " + c.Usage))
	r.section("SYNOPSIS")
	cmd := "allot " + strings.Join(path, " ")
	usage := c.UsageText
	switch {
	case usage == "" && len(c.Subcommands) > 0:
		usage = cmd + " COMMAND [options]"
	case usage == "":
		usage = cmd + " [options]"
	}
	r.synopsis(cmd, usage)
	r.section("DESCRIPTION")
	r.text(sentence(c.Usage))
	r.description(c.Description)
	var see []string
	if len(c.Subcommands) > 0 {
		r.section("COMMANDS")
		for _, s := range c.Subcommands {
			if !s.Hidden {
				sub := pageName(append(slices.Clone(path), s.Name))
				r.item(`\fB`+roffEscape(sub)+`\fR(1)`, s.Usage)
				see = append(see, sub)
			}
		}
	}
	r.section("OPTIONS")
	for _, f := range c.Flags {
		r.flag(f)
	}
	r.flag(cli.HelpFlag)
	r.environment(c.Flags)
	r.exitStatus(false)
	if len(path) > 1 {
		see = append(see, pageName(path[:len(path)-1]))
	}
	r.seeAlso(append([]string{"allot"}, see...))
	return r.String()
}

// verifyUsage is verifycli.Usage taken apart: the arguments of its
// synopsis, the paragraphs of its description and its options.
type verifyUsage struct {
	synopsis    string
	description []string
	options     []verifyOption
}

type verifyOption struct{ name, arg, text string }

// parseVerifyUsage reads verifycli.Usage, whose layout is fixed: a
// "Usage: %[1]s ARGS" line, paragraphs, a "Flags:" block of one flag a
// line ("  --name ARG   text"), and more paragraphs.
func parseVerifyUsage() verifyUsage {
	var u verifyUsage
	lines := strings.Split(strings.TrimRight(verifycli.Usage, "\n"), "\n")
	u.synopsis = strings.TrimPrefix(lines[0], "Usage: %[1]s ")
	// Paragraphs, then "Flags:" and one flag a line, its text continued on
	// indented lines, up to a blank line; then paragraphs again.
	var para []string
	flush := func() {
		if len(para) > 0 {
			u.description = append(u.description, strings.ReplaceAll(strings.Join(para, "\n"), "%[1]s", "allot-verify"))
		}
		para = nil
	}
	inFlags := false
	for _, l := range lines[1:] {
		t := strings.TrimSpace(l)
		switch {
		case l == "Flags:" || l == "Options:":
			flush()
			inFlags = true
		case inFlags && t == "":
			inFlags = false
		case inFlags && strings.HasPrefix(t, "-"):
			head, text, _ := strings.Cut(t, "  ")
			name, arg, _ := strings.Cut(head, " ")
			u.options = append(u.options, verifyOption{name, arg, strings.TrimSpace(text)})
		case inFlags && len(u.options) > 0:
			o := &u.options[len(u.options)-1]
			o.text += "\n" + t
		case t == "":
			flush()
		default:
			para = append(para, l)
		}
	}
	flush()
	return u
}

func verifyPage(app *cli.App, c *cli.Command) string {
	u := parseVerifyUsage()
	var r roff
	r.header("allot-verify", app.Version)
	r.section("NAME")
	r.line(roffEscape("allot-verify - " + c.Usage))
	r.section("SYNOPSIS")
	r.synopsis("allot-verify", "allot-verify "+u.synopsis)
	r.req(".br")
	r.synopsis("allot verify", "allot verify "+u.synopsis)
	r.section("DESCRIPTION")
	for _, p := range u.description {
		r.text(p)
	}
	r.text("allot-verify, the device binary, and allot verify run the same code and give the same answers.")
	r.section("OPTIONS")
	var env []envVar
	for _, o := range u.options {
		tag := `\fB` + roffEscape(o.name) + `\fR`
		if o.arg != "" {
			tag += ` \fI` + roffEscape(o.arg) + `\fR`
		}
		r.item(tag, o.text)
		for _, v := range envRef.FindAllString(o.text, -1) {
			env = append(env, envVar{v[1:], o.name})
		}
	}
	r.envSection(env)
	r.exitStatus(true)
	r.text("With several bundles, the exit code is that of the first bundle that fails.")
	r.seeAlso([]string{"allot"})
	return r.String()
}

// roff builds a page. Text goes through roffEscape; lines that would
// start with a control character are guarded.
type roff struct{ strings.Builder }

// line writes a line of text, guarded where it would start with a
// control character.
func (r *roff) line(s string) {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	r.req(s)
}

// req writes a request (".SH NAME") or a line already safe as it is.
func (r *roff) req(s string) {
	r.WriteString(s)
	r.WriteByte('\n')
}

func (r *roff) header(name, version string) {
	fmt.Fprintf(r, ".TH %s 1 \"\" \"allot %s\" \"allot manual\"\n", roffEscape(strings.ToUpper(name)), roffEscape(version))
	r.WriteString(".\\\" Generated by `make generate` from allot's command definitions; do not edit.\n")
	// No hyphenation and a ragged right margin: flags must stay whole
	// to be copied.
	r.WriteString(".nh\n.ad l\n")
}

func (r *roff) section(name string) {
	if strings.Contains(name, " ") {
		name = `"` + name + `"`
	}
	r.req(".SH " + name)
}

// text writes a paragraph of prose; its line breaks are not kept.
func (r *roff) text(s string) {
	if r.startsParagraph() {
		r.req(".PP")
	}
	for _, l := range strings.Split(s, "\n") {
		r.line(roffEscape(strings.TrimSpace(l)))
	}
}

// startsParagraph tells whether text follows other text (and so needs a
// paragraph break) rather than a heading.
func (r *roff) startsParagraph() bool {
	s := strings.TrimSuffix(r.String(), "\n")
	if s == "" {
		return false
	}
	last := s[strings.LastIndexByte(s, '\n')+1:]
	return !strings.HasPrefix(last, ".SH")
}

// description writes a command's Description: paragraphs of prose, or
// as they are where columns are aligned with runs of spaces.
func (r *roff) description(d string) {
	for _, p := range strings.Split(strings.TrimSpace(d), "\n\n") {
		if p == "" {
			continue
		}
		if !aligned(p) {
			r.text(p)
			continue
		}
		r.req(".PP")
		r.req(".nf")
		for _, l := range strings.Split(p, "\n") {
			r.line(roffEscape(l))
		}
		r.req(".fi")
	}
}

func aligned(p string) bool {
	for _, l := range strings.Split(p, "\n") {
		if strings.Contains(strings.TrimSpace(l), "  ") {
			return true
		}
	}
	return false
}

// synopsis writes a usage line with the command in bold.
func (r *roff) synopsis(cmd, usage string) {
	rest := strings.TrimPrefix(usage, cmd)
	r.line(`\fB` + roffEscape(cmd) + `\fR` + roffEscape(rest))
}

// item writes a tagged paragraph: a command or flag, then its text.
func (r *roff) item(tag, text string) {
	r.req(".TP")
	r.line(tag)
	for _, l := range strings.Split(text, "\n") {
		r.line(roffEscape(l))
	}
}

// flag writes a flag as urfave/cli's help shows it: names, placeholder,
// usage and default.
func (r *roff) flag(f cli.Flag) {
	if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
		return
	}
	d, ok := f.(cli.DocGenerationFlag)
	if !ok {
		return
	}
	arg, usage := unquoteUsage(d.GetUsage())
	if d.TakesValue() && arg == "" {
		arg = strings.ToUpper(f.Names()[0])
	}
	var names []string
	for _, n := range f.Names() {
		dash := "-"
		if len(n) > 1 {
			dash = "--"
		}
		names = append(names, `\fB`+roffEscape(dash+n)+`\fR`)
	}
	tag := strings.Join(names, ", ")
	if arg != "" {
		tag += ` \fI` + roffEscape(arg) + `\fR`
	}
	if _, isBool := f.(*cli.BoolFlag); !isBool && !strings.Contains(usage, "default:") {
		if def := d.GetDefaultText(); def != "" && def != "0" {
			usage += " (default: " + def + ")"
		}
	}
	r.item(tag, usage)
}

// unquoteUsage takes the placeholder out of a usage string, as
// urfave/cli does: "the `FILE` to read" is FILE and "the FILE to read".
func unquoteUsage(usage string) (arg, text string) {
	start := strings.IndexByte(usage, '`')
	if start < 0 {
		return "", usage
	}
	end := strings.IndexByte(usage[start+1:], '`')
	if end < 0 {
		return "", usage
	}
	arg = usage[start+1 : start+1+end]
	return arg, usage[:start] + arg + usage[start+2+end:]
}

type envVar struct{ name, flag string }

var envRef = regexp.MustCompile(`\$ALLOT_[A-Z_]+`)

// environment lists the variables flags read, or mention in their usage.
func (r *roff) environment(flags []cli.Flag) {
	var env []envVar
	for _, f := range flags {
		d, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		flag := "--" + f.Names()[0]
		for _, v := range d.GetEnvVars() {
			env = append(env, envVar{v, flag})
		}
		for _, v := range envRef.FindAllString(d.GetUsage(), -1) {
			env = append(env, envVar{v[1:], flag})
		}
	}
	r.envSection(env)
}

func (r *roff) envSection(env []envVar) {
	var seen []string
	for _, v := range env {
		if slices.Contains(seen, v.name) {
			continue
		}
		if len(seen) == 0 {
			r.section("ENVIRONMENT")
		}
		seen = append(seen, v.name)
		r.item(`\fB`+roffEscape(v.name)+`\fR`, "see "+v.flag)
	}
}

// exitStatus writes the table of exit codes, or where it is on allot(1)
// a reference to it.
func (r *roff) exitStatus(table bool) {
	r.section("EXIT STATUS")
	if !table {
		r.text("0 on success; otherwise one of the exit codes that allot(1) lists.")
		return
	}
	for _, s := range errclass.Table {
		r.item(fmt.Sprintf(`\fB%d\fR`, s.Code), s.Meaning)
	}
}

func (r *roff) seeAlso(pages []string) {
	r.section("SEE ALSO")
	for i, p := range pages {
		sep := ","
		if i == len(pages)-1 {
			sep = ""
		}
		r.req(".BR " + roffEscape(p) + " (1)" + sep)
	}
}

// sentence makes a usage string ("verify license keys") a sentence.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return strings.TrimSuffix(string(r), ".") + "."
}

// roffEscape makes text safe for roff: a backslash is \e, a hyphen \-
// (a flag stays an ASCII hyphen-minus that can be copied), and anything
// beyond ASCII a \[uXXXX] escape, so no preprocessor is needed.
func roffEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '\\':
			b.WriteString(`\e`)
		case c == '-':
			b.WriteString(`\-`)
		case c > unicode.MaxASCII:
			fmt.Fprintf(&b, `\[u%04X]`, c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
