package main

import (
	"bytes"
	_ "embed"
	"html/template"
	"slices"
	"strings"
	"sync"
	"time"

	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/status"
)

// statusHTML is the page of `allot status --html`: one file with its CSS
// inline and no script, font, image or link to load, so that it opens
// from a USB stick on any machine or phone, offline. html/template escapes
// every name from the input files.
//
//go:embed status.html
var statusHTML string

// statusTemplate is parsed on first use: every other command starts
// without paying for it.
var statusTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("status").Funcs(template.FuncMap{
		"date":       func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
		"minute":     func(t time.Time) string { return t.UTC().Format(recheckLayout) },
		"rfc3339":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"count":      count,
		"negative":   func(n *int64) bool { return n != nil && *n < 0 },
		"systemWord": func(s string) string { return systemWords[s] },
		"serverWord": func(s string) string { return serverWords[s] },
		"why":        problemWhy,
		"anyShare": func(ss []status.Server) bool {
			return slices.ContainsFunc(ss, func(s status.Server) bool { return s.Share != nil })
		},
		"quota": func(q map[string]int) string {
			if q == nil {
				return "-"
			}
			return bundle.FormatQuota(q)
		},
		"recheck": func(t *time.Time) string {
			if t == nil {
				return "-"
			}
			return t.UTC().Format(recheckLayout)
		},
	}).Parse(statusHTML))
})

// statusPage renders r as the HTML page.
func statusPage(r *status.Report) ([]byte, error) {
	var b bytes.Buffer
	if err := statusTemplate().Execute(&b, r); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// problemWhy is a problem's error without the file name it opens with,
// for a row that names the file already.
func problemWhy(file, err string) string { return strings.TrimPrefix(err, file+": ") }
