package licensekey

// ValidDevice checks a device serial as a hardware or expansion key
// carries it: at most 64 letters, digits, '-', '.', '_' and ':'.
func ValidDevice(s string) error { return validDevice(s) }
