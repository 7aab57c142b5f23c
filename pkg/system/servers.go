package system

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"

	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/tomlfile"
)

// What ReadServers keeps of a file: everything but the devices block and
// the analytics entries, which a system file of MaxDevices devices spends
// most of its 64 MiB on, and the limits the TOML library reads it within.
// A server's 32 identifiers take 1.5 KiB: 1024 servers, with the comments
// Marshal writes, take 1.7 MiB.
const maxKept = 2 << 20

var serverLimits = tomlfile.Limits{
	Tables: MaxServers + 16,
	Keys:   2*MaxServers + catalog.MaxLicenseTypes + 16,
	Values: MaxServers*MaxIdentifiers + 16,
	String: 4096,
}

// ReadServers reads what a device needs of a system file to check a
// bundle's hardware binding against its servers (allot verify --system):
// the id, organization, binding, need and servers, checked as Parse checks
// them. It reads r once, as a stream, and passes over the devices block and
// the [[analytics]] entries without keeping them, checking only that their
// strings and brackets close: they are what a file of a million devices is
// made of, and a device verifies within 20 MiB. The System it returns has
// no Devices and no Analytics. Errors name the file's own lines.
func ReadServers(name string, r io.Reader, cat *catalog.Catalog) (*System, error) {
	sk := &skimmer{name: name, lines: lineMap{{kept: 1, file: 1}}}
	if err := sk.read(r); err != nil {
		return nil, err
	}
	s, err := parse(name, sk.kept.Bytes(), cat, serverLimits)
	if err != nil {
		var te *tomlfile.Error
		if errors.As(err, &te) && te.Line > 0 {
			te.Line = sk.lines.file(te.Line)
		}
		return nil, err
	}
	return s, nil
}

// A segment maps a run of kept lines to the file: kept line kept is the
// file's line file, and so on until the next segment.
type segment struct{ kept, file int }

type lineMap []segment

func (m lineMap) file(kept int) int {
	i := sort.Search(len(m), func(i int) bool { return m[i].kept > kept }) - 1
	return m[i].file + kept - m[i].kept
}

// skimmer copies a system file's lines, but for those it skips, into kept.
type skimmer struct {
	name  string
	kept  bytes.Buffer
	lines lineMap
	lex   lexer

	line      int    // the file's line being read
	keptLines int    // lines in kept
	section   bool   // in an [[analytics]] entry, skipped whole
	statement bool   // in a value skipped at the top level (devices)
	root      bool   // no table header yet
	field     string // what the skipped statement or section is
	analytics int    // [[analytics]] headers seen
	skipped   map[string]bool
}

func (sk *skimmer) errorf(line int, field, format string, args ...any) error {
	return &tomlfile.Error{File: sk.name, Line: line, Field: field, Err: fmt.Errorf(format, args...)}
}

func (sk *skimmer) read(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	sk.root = true
	var total int64
	atLine, skipping, lastKept := true, false, true
	for {
		piece, err := br.ReadSlice('\n')
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return err
		}
		if total += int64(len(piece)); total > MaxFileSize {
			return &tomlfile.Error{File: sk.name, Err: fmt.Errorf("larger than %d MiB", MaxFileSize>>20)}
		}
		if atLine && len(piece) > 0 {
			sk.line++
			if sk.lex.between() {
				if err := sk.classify(piece); err != nil {
					return err
				}
			}
			skipping = sk.section || sk.statement
			if !skipping {
				sk.keptLines++
				if !lastKept {
					sk.lines = append(sk.lines, segment{kept: sk.keptLines, file: sk.line})
				}
			}
			lastKept = !skipping
		}
		sk.lex.feed(piece)
		if sk.lex.bad {
			return sk.errorf(sk.line, sk.field, "text after the value")
		}
		if !skipping {
			if sk.kept.Len()+len(piece) > maxKept {
				return sk.errorf(sk.line, "", "more than %d MiB besides the devices and analytics", maxKept>>20)
			}
			sk.kept.Write(piece)
		}
		atLine = len(piece) > 0 && piece[len(piece)-1] == '\n'
		if atLine && sk.lex.between() {
			sk.statement, sk.lex.part = false, 0
		}
		if err == io.EOF {
			break
		}
	}
	sk.lex.finish()
	if !sk.lex.between() && skipping {
		return sk.errorf(sk.line, sk.field, "unexpected EOF")
	}
	return nil
}

// classify decides whether the statement that starts with line is kept.
func (sk *skimmer) classify(line []byte) error {
	t := bytes.TrimLeft(line, " \t")
	switch {
	case len(t) == 0 || t[0] == '\n' || t[0] == '\r' || t[0] == '#':
		return nil // blank lines and comments go with their section
	case t[0] == '[':
		array := bytes.HasPrefix(t, []byte("[["))
		name := bytes.TrimLeft(t, "[ \t")
		if i := bytes.IndexByte(name, ']'); i >= 0 {
			name = name[:i]
		}
		name = bytes.TrimRight(name, " \t")
		sk.root = false
		sk.section = string(name) == "analytics" || bytes.HasPrefix(name, []byte("analytics."))
		if sk.section && array && string(name) == "analytics" {
			if sk.analytics++; sk.analytics > MaxAnalytics {
				return sk.errorf(sk.line, "analytics", "%d entries, at most %d", sk.analytics, MaxAnalytics)
			}
			sk.field = fmt.Sprintf("analytics[%d]", sk.analytics)
		}
		return nil
	}
	if !sk.root || sk.section {
		return nil
	}
	key := t
	if q := t[0]; q == '"' || q == '\'' {
		if i := bytes.IndexByte(t[1:], q); i >= 0 {
			key = t[1 : 1+i]
		}
	} else if i := bytes.IndexAny(t, " \t="); i >= 0 {
		key = t[:i]
	}
	if k := string(key); k == "devices" || k == "analytics" {
		if sk.skipped[k] {
			return sk.errorf(sk.line, k, "defined twice")
		}
		if sk.skipped == nil {
			sk.skipped = map[string]bool{}
		}
		sk.skipped[k] = true
		sk.statement, sk.field = true, k
		sk.lex.statement()
	}
	return nil
}

// lexer follows a TOML file's strings, comments and brackets byte by byte,
// across pieces of lines, to tell where a statement ends: at a newline
// outside strings and brackets. It reads the multi-line strings of TOML
// as package tomlfile's scan does.
type lexer struct {
	state  byte // 0 between tokens, '#' in a comment, 'o' opening a string, 's' in a string, 'm' in a multi-line one
	quote  byte
	quotes int // quotes in a row: at a string's opening, or before its close
	escape bool
	depth  int
	// In a statement the skimmer skips, where its key and value are: 'k'
	// before the '=', '=' after it, 'v' in a bare value, 'e' after the
	// value, where only a comment may follow, or 0 when not checking. bad
	// reports text after the value, which TOML does not allow.
	part byte
	bad  bool
}

// statement follows the key = value statement that starts now.
func (l *lexer) statement() { l.part, l.bad = 'k', false }

// check is called for each byte c read between tokens at the top level.
func (l *lexer) check(c byte) {
	switch {
	case l.part == 0 || c == '\n' || c == '\r':
	case l.part == 'k' && c == '=':
		l.part = '='
	case l.part == '=' && c != ' ' && c != '\t':
		l.part = 'e' // a string or an array: it ends where the lexer leaves it
		if c != '"' && c != '\'' && c != '[' && c != '{' && c != '#' {
			l.part = 'v'
		}
	case l.part == 'v' && (c == ' ' || c == '\t' || c == '#'):
		l.part = 'e'
	case l.part == 'e' && c != ' ' && c != '\t' && c != '#':
		l.bad = true
	}
}

// between reports whether the lexer is outside strings and brackets: after
// a newline, where a new statement starts.
func (l *lexer) between() bool { return l.depth == 0 && (l.state == 0 || l.state == '#') }

// finish ends what the end of the file ends: a multi-line string closed by
// its last bytes, or an empty string.
func (l *lexer) finish() {
	if l.state == 'm' && l.quotes >= 3 || l.state == 'o' && l.quotes == 2 {
		l.state = 0
	}
}

func (l *lexer) feed(b []byte) {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch l.state {
		case '#':
			if c == '\n' {
				l.state = 0
			}
		case 'o':
			if c == l.quote {
				if l.quotes++; l.quotes == 3 {
					l.state, l.quotes = 'm', 0
				}
				continue
			}
			if l.quotes == 2 { // "" or '': an empty string
				l.state = 0
			} else {
				l.state = 's'
			}
			i-- // read c again in the new state
		case 's':
			switch {
			case l.escape:
				l.escape = false
			case c == '\\' && l.quote == '"':
				l.escape = true
			case c == l.quote || c == '\n':
				l.state = 0
			}
		case 'm':
			switch {
			case l.escape:
				l.escape = false
			case c == l.quote:
				l.quotes++
			case l.quotes >= 3:
				l.state, l.quotes = 0, 0
				i-- // the string closed before c
			default:
				l.quotes = 0
				l.escape = c == '\\' && l.quote == '"'
			}
		default:
			if l.depth == 0 {
				l.check(c)
			}
			switch c {
			case '#':
				l.state = '#'
			case '"', '\'':
				l.state, l.quote, l.quotes, l.escape = 'o', c, 1, false
			case '[', '{':
				l.depth++
			case ']', '}':
				l.depth = max(l.depth-1, 0)
			}
		}
	}
}
