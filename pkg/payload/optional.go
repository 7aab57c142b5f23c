package payload

// Has reports whether the section has a field key, of any type: an
// optional field is read with the getter of its type only if it is there.
func (t *Table) Has(key string) bool {
	for i := range t.sec.Fields {
		if t.sec.Fields[i].Key == key {
			return true
		}
	}
	return false
}

// Reset makes t read sec, as NewTable(sec) does, with t's memory: a
// reader of ten thousand sections needs one Table, not ten thousand.
func (t *Table) Reset(sec *Section) {
	t.sec, t.err = sec, nil
	if cap(t.used) < len(sec.Fields) {
		t.used = make([]bool, len(sec.Fields))
		return
	}
	t.used = t.used[:len(sec.Fields)]
	clear(t.used)
}
