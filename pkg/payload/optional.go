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
