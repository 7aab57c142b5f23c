package verify

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strings"

	"allot.dev/allot/pkg/tomlfile"
)

// decodeUsage decodes a usage file into f. Its nodes block, a line for
// each node of a quota tree, is most of a big file, and one string cost
// the TOML library ten milliseconds for 10,000 nodes. So a block in plain
// form (plainNodes) is taken as it is, and the library reads the rest of
// the file with the block's lines left empty: the same lines, so that its
// errors name the same ones. If the library then does not read back the
// empty block as the value of nodes, the block was not what it looked
// like (inside another string, say), and the library reads the whole file.
func decodeUsage(name string, data []byte, f *usageFile) error {
	// A block longer than the library's string limit is the library's to
	// refuse.
	if from, to, ok := plainNodes(data); ok && plainNodesOn && to-from <= usageLimits.String {
		// The emptied block starts with a mark the file cannot hold, so
		// that nothing but the block itself, read as nodes, reads back
		// as it: not a value of as many newlines elsewhere in the file.
		var mark [16]byte
		rand.Read(mark[:])
		empty := hex.EncodeToString(mark[:]) + strings.Repeat("\n", bytes.Count(data[from:to], []byte("\n")))
		rest := make([]byte, 0, len(data)-(to-from)+len(empty))
		rest = append(rest, data[:from]...)
		rest = append(rest, empty...)
		rest = append(rest, data[to:]...)
		var g usageFile
		if err := tomlfile.DecodeLimits(name, rest, &g, usageLimits); err == nil && g.Nodes == empty {
			g.Nodes = string(data[from:to])
			*f = g
			return nil
		}
	}
	return tomlfile.DecodeLimits(name, data, f, usageLimits)
}

// plainNodesOn switches the plain block's path on; tests switch it off to
// compare.
var plainNodesOn = true

// nodesOpen is how a plain nodes block starts, on a line of its own.
const nodesOpen = "nodes = \"\"\"\n"

// plainNodes finds the text of the nodes block of a usage file, from
// after the line `nodes = """` to the `"""` that starts a line and ends
// it: data[from:to]. ok is false unless the text is plain, lines of
// printable ASCII and tabs without a quote or a backslash, whose value in
// TOML is the text itself.
func plainNodes(data []byte) (from, to int, ok bool) {
	at := bytes.Index(data, []byte("\n"+nodesOpen))
	switch {
	case bytes.HasPrefix(data, []byte(nodesOpen)):
		from = len(nodesOpen)
	case at >= 0:
		from = at + 1 + len(nodesOpen)
	default:
		return 0, 0, false
	}
	for i := from; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			if data[i-1] != '\n' || !bytes.HasPrefix(data[i:], []byte(`"""`)) {
				return 0, 0, false
			}
			return from, i, true
		case c == '\\' || c < 0x20 && c != '\t' && c != '\n' || c >= 0x7f:
			return 0, 0, false
		}
	}
	return 0, 0, false
}
