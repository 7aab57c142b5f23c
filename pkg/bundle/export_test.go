package bundle

// SetSpan switches the tree-span reader on or off, and returns a function
// that puts it back.
func SetSpan(on bool) (restore func()) {
	was := spanOn
	spanOn = on
	return func() { spanOn = was }
}

// ParsePayload reads a bundle's payload, with the span reader if on; the
// bundle returned holds neither document nor model, for comparing.
func ParsePayload(body []byte) (*Bundle, error) {
	b, err := parse(body)
	if b != nil {
		b.model, b.doc = nil, nil
	}
	return b, err
}

// Payload returns the payload b is signed over.
func (b *Bundle) Payload() []byte { return b.writePayload() }
