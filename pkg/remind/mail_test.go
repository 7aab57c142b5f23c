package remind_test

import (
	"bytes"
	"io"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/remind"
	"allot.dev/allot/pkg/termtext"
)

func dueOne(t *testing.T, it remind.Item, now time.Time) *remind.Reminder {
	t.Helper()
	r := remind.Due([]remind.Item{it}, remind.NewState(), now, defaults(catalog.Reminder{Days: 30, Every: "weekly"}))
	if len(r) != 1 {
		t.Fatalf("%d due", len(r))
	}
	return &r[0]
}

func testMail(t *testing.T) *remind.Mail {
	t.Helper()
	m, err := remind.ParseMail("allot <allot@example.com>", []string{"ops@example.com, Jörg Müller <jm@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMessage(t *testing.T) {
	now := ends.AddDate(0, 0, -28).Add(-time.Hour)
	r := dueOne(t, sub("site-1"), now)
	name, msg := testMail(t).Message(r, now)
	if name != "20271025-subscription-"+name[len("20271025-subscription-"):] || !strings.HasSuffix(name, ".eml") || len(name) != len("20271025-subscription-")+16+4 {
		t.Errorf("name %s", name)
	}
	// Every line ends in CRLF, and none is longer than 78 characters.
	for i, line := range strings.SplitAfter(string(msg), "\n") {
		if line == "" {
			continue
		}
		if !strings.HasSuffix(line, "\r\n") || strings.Contains(strings.TrimSuffix(line, "\r\n"), "\r") {
			t.Errorf("line %d does not end in CRLF: %q", i+1, line)
		}
		if len(line) > 80 {
			t.Errorf("line %d is %d long", i+1, len(line)-2)
		}
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"Date":                      "Mon, 25 Oct 2027 09:00:00 +0000",
		"From":                      `"allot" <allot@example.com>`,
		"To":                        `<ops@example.com>, =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <jm@example.com>`,
		"Subject":                   "system site-1 (Org): the subscription ends on 2027-11-22, in 29 days",
		"Message-ID":                "<" + strings.TrimSuffix(name[len("20271025-subscription-"):], ".eml") + ".20271025.remind@example.com>",
		"Mime-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
		"Auto-Submitted":            "auto-generated",
	} {
		if got := m.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if d, err := m.Header.Date(); err != nil || !d.Equal(now) {
		t.Errorf("Date: %v, %v", d, err)
	}
	body, _ := io.ReadAll(m.Body)
	for _, want := range []string{"the subscription ends on 2027-11-22, in 29 days.\r\n", "Found in: site-1.lic\r\n", "Reminder 1; allot remind says this weekly until it ends.\r\n"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}

	// The same reminder on the same day makes the same file; the next
	// day, another.
	if n2, msg2 := testMail(t).Message(r, now.Add(time.Hour)); n2 != name || bytes.Equal(msg2, msg) {
		t.Errorf("an hour later: %s", n2)
	}
	if n3, _ := testMail(t).Message(r, now.AddDate(0, 0, 1)); n3 == name {
		t.Errorf("a day later, the same name %s", n3)
	}
}

// TestMessageInjection gives the organization (an input file's value) CR,
// LF, a header of its own and terminal controls: the message keeps one
// Subject, no Bcc, and the decoded subject is the escaped text.
func TestMessageInjection(t *testing.T) {
	it := sub("site-1")
	it.Organization = "Acme\r\nBcc: evil@example.net\r\n\r\nbody\x1b[2J\u202e"
	it.Source = "x.lic\nSubject: forged"
	now := ends.AddDate(0, 0, -10)
	r := dueOne(t, it, now)
	_, msg := testMail(t).Message(r, now)
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Header["Bcc"]) != 0 || len(m.Header["Subject"]) != 1 {
		t.Fatalf("headers: %v", m.Header)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if want := termtext.Escape(r.Text()); subject != want {
		t.Errorf("subject %q, want %q", subject, want)
	}
	if strings.ContainsAny(subject, "\r\n\x1b\u202e") {
		t.Errorf("subject keeps a control: %q", subject)
	}
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if strings.HasPrefix(line, "Bcc") || strings.HasPrefix(line, "body") {
			t.Errorf("an injected line: %q", line)
		}
	}
	body, _ := io.ReadAll(m.Body)
	if bytes.Contains(body, []byte("\nSubject: forged")) || bytes.Contains(body, []byte("\x1b")) {
		t.Errorf("body: %q", body)
	}
}

// A long organization name is cut, encoded and folded: every header line
// stays short.
func TestMessageLongSubject(t *testing.T) {
	for _, org := range []string{strings.Repeat("Grüße ", 100), strings.Repeat("x", 3000)} {
		it := sub("site-1")
		it.Organization = org
		now := ends.AddDate(0, 0, -10)
		_, msg := testMail(t).Message(dueOne(t, it, now), now)
		head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
		for _, line := range strings.Split(string(head), "\r\n") {
			if len(line) > 998 || strings.TrimSpace(line) == "" {
				t.Errorf("a header line of %d: %.60q…", len(line), line)
			}
		}
		m, err := mail.ReadMessage(bytes.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		var dec mime.WordDecoder
		s, err := dec.DecodeHeader(m.Header.Get("Subject"))
		if err != nil || len([]rune(s)) > 200 || !strings.HasPrefix(s, "system site-1 (") {
			t.Errorf("subject %q, %v", s, err)
		}
	}
}

func TestParseMail(t *testing.T) {
	for _, tt := range []struct {
		from string
		to   []string
		msg  string
	}{
		{"", []string{"a@b"}, "from"},
		{"not an address", []string{"a@b"}, "from"},
		{"a@b\r\nBcc: c@d", []string{"a@b"}, "from"},
		{"a@b", nil, "to: no recipient"},
		{"a@b", []string{"c@d\nBcc: e@f"}, "to"},
		{strings.Repeat("x", 300) + "@b", []string{"c@d"}, "longer than"},
	} {
		if _, err := remind.ParseMail(tt.from, tt.to); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseMail(%q, %q): %v, want %q", tt.from, tt.to, err, tt.msg)
		}
	}
	m, err := remind.ParseMail("a@b", []string{"c@d", "e@f, g@h"})
	if err != nil || len(m.To) != 3 {
		t.Errorf("three recipients: %v, %v", m, err)
	}
}
