package verify

// SetPlainNodes switches the plain nodes block's path of ParseUsage on or
// off, and returns a function that puts it back.
func SetPlainNodes(on bool) (restore func()) {
	was := plainNodesOn
	plainNodesOn = on
	return func() { plainNodesOn = was }
}
