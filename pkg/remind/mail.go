package remind

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"allot.dev/allot/pkg/termtext"
)

// Mail makes one RFC 5322 message of a reminder, for a mail relay that
// picks up files (a pickup or spool folder, `sendmail -t < FILE`).
type Mail struct {
	From *mail.Address
	To   []*mail.Address
}

// maxAddress bounds one address as a header writes it, so that no header
// line can exceed RFC 5322's 998 characters.
const maxAddress = 256

// maxSubject bounds the subject, in characters, for the same reason: an
// organization's name comes from an input file and has no length limit.
const maxSubject = 200

// ParseMail parses the sender and the recipients: one address each, or
// comma-separated lists for to, as RFC 5322 writes them
// ("Site Ops <ops@example.com>").
func ParseMail(from string, to []string) (*Mail, error) {
	m := &Mail{}
	var err error
	if m.From, err = mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("from: %q: %v", from, err)
	}
	if err := checkAddress(m.From); err != nil {
		return nil, fmt.Errorf("from: %q: %v", from, err)
	}
	for _, t := range to {
		list, err := mail.ParseAddressList(t)
		if err != nil {
			return nil, fmt.Errorf("to: %q: %v", t, err)
		}
		for _, a := range list {
			if err := checkAddress(a); err != nil {
				return nil, fmt.Errorf("to: %q: %v", t, err)
			}
		}
		m.To = append(m.To, list...)
	}
	if len(m.To) == 0 {
		return nil, errors.New("to: no recipient")
	}
	return m, nil
}

func checkAddress(a *mail.Address) error {
	if len(a.String()) > maxAddress {
		return fmt.Errorf("longer than %d characters", maxAddress)
	}
	return nil
}

// dotAtom is a domain that can follow the "@" of a Message-ID as it is.
var dotAtom = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)

// Message returns the file name and the message of reminder r said at
// now. Both are made from the reminder's ID and now's day (UTC), so a run
// that is repeated on the same day (after a crash before the state was
// written) makes the same file, and the Message-ID lets a relay drop a
// copy. Every header value that comes from an input file is escaped
// (termtext) and, if not plain ASCII, encoded as RFC 2047 words: no value
// can end a header line and start another. Lines end in CRLF; the body is
// quoted-printable UTF-8.
func (m *Mail) Message(r *Reminder, now time.Time) (name string, msg []byte) {
	now = now.UTC()
	sum := sha256.Sum256([]byte(r.ID + "\x00" + now.Format(time.DateOnly)))
	tag := hex.EncodeToString(sum[:8])
	stamp := now.Format("20060102")
	name = stamp + "-" + string(r.Kind) + "-" + tag + ".eml"

	domain := "allot.invalid"
	if _, d, ok := strings.Cut(m.From.Address, "@"); ok && dotAtom.MatchString(d) {
		domain = d
	}
	to := make([]string, len(m.To))
	for i, a := range m.To {
		to[i] = a.String()
	}
	var b bytes.Buffer
	header(&b, "Date", now.Format(time.RFC1123Z))
	header(&b, "From", m.From.String())
	header(&b, "To", strings.Join(to, ", "))
	header(&b, "Subject", encodeWords(subject(r)))
	header(&b, "Message-ID", "<"+tag+"."+stamp+".remind@"+domain+">")
	header(&b, "Auto-Submitted", "auto-generated")
	header(&b, "MIME-Version", "1.0")
	header(&b, "Content-Type", "text/plain; charset=utf-8")
	header(&b, "Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(body(r)))
	qp.Close()
	return name, b.Bytes()
}

// subject is the reminder's line, escaped and bounded.
func subject(r *Reminder) string {
	s := []rune(termtext.Escape(r.Text()))
	if len(s) > maxSubject {
		s = append(s[:maxSubject-1], '…')
	}
	return string(s)
}

func body(r *Reminder) string {
	again := "only once"
	if r.Schedule.Every != "once" {
		again = r.Schedule.Every + " until it ends"
	}
	return termtext.Escape(r.Text()) + ".\n\n" +
		r.Advice() + "\n\n" +
		"Found in: " + termtext.Escape(r.Source) + "\n" +
		"Ends: " + r.Ends.UTC().Format(time.RFC3339) + "\n" +
		fmt.Sprintf("Reminder %d; allot remind says this %s.\n", r.Count, again) +
		"-- \nallot remind\n"
}

// encodeWords returns s as it is if it is printable ASCII, else as RFC
// 2047 encoded words (each at most 75 characters, separated by spaces),
// in which CR, LF and every other control are =XX.
func encodeWords(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}

// header writes "Name: value" folded at spaces, so that lines stay within
// 78 characters where the value has spaces to fold at. The values are
// made above and hold no control character; any that slipped in would
// become a space, never a line break.
func header(b *bytes.Buffer, name, value string) {
	value = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, value)
	line := name + ":"
	for _, w := range strings.Split(value, " ") {
		if len(line)+1+len(w) > 78 && strings.TrimSpace(line) != "" && !strings.HasSuffix(line, ":") {
			b.WriteString(line + "\r\n")
			line = ""
		}
		line += " " + w
	}
	b.WriteString(line + "\r\n")
}
