package system

// Serials returns the serials of the system's devices, in the file's
// order: what a hardware license is tied to.
func (s *System) Serials() []string {
	out := make([]string, len(s.Devices))
	for i, d := range s.Devices {
		out[i] = d.Serial
	}
	return out
}
