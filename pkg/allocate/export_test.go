package allocate

// Apportion is apportion, for the tests.
var Apportion = apportion
