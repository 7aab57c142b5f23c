package grant_test

// Fuzz targets for grants. FuzzOpen reads whole chain files, as a device
// reads --grant FILE; FuzzSealed signs the fuzzed payload with the wallet
// key first, reaching the payload reader, the grant's validation and the
// chain's verification behind the signature, where a wallet or a delegate
// of its own can reach too.

import (
	"bytes"
	"strings"
	"testing"

	"allot.dev/allot/pkg/grant"
	"allot.dev/allot/pkg/sign"
)

func FuzzOpen(f *testing.F) {
	w := newWorld(f)
	g1, g2 := w.chain(f)
	f.Add(g1)
	f.Add(append(bytes.Clone(g1), g2...))
	f.Add([]byte("version = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := grant.Split(data)
		if err != nil {
			oneLine(t, err)
			return
		}
		gs, err := grant.Verify(docs, w.anchor(), w.now)
		if err != nil {
			oneLine(t, err)
			return
		}
		if len(gs) != len(docs) {
			t.Fatalf("%d grants of %d", len(gs), len(docs))
		}
	})
}

func FuzzSealed(f *testing.F) {
	w := newWorld(f)
	g1, _ := w.chain(f)
	payload, _, _, err := sign.Split(g1)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(payload)
	f.Fuzz(func(t *testing.T, payload []byte) {
		doc, err := sign.Seal(w.wallet, grant.Namespace, payload)
		if err != nil {
			return
		}
		gs, err := grant.Verify([][]byte{doc}, w.anchor(), w.now)
		if err != nil {
			oneLine(t, err)
			return
		}
		// What verifies names a node of the tree and narrows it.
		if l, ok := w.anchor().Node(gs[0].Node); !ok || gs[0].Limits.Quota["camera"] > l.Quota["camera"] {
			t.Fatalf("accepted a grant of %s: %+v", gs[0].Node, gs[0].Limits)
		}
	})
}

func oneLine(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
}
