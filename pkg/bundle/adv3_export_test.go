package bundle

// SpanTakes reports whether parseSpan reads body itself rather than
// leaving it to the general path.
func SpanTakes(body []byte) bool {
	_, _, ok := parseSpan(string(body))
	return ok
}
