package bundle_test

// Fuzz targets for bundles. FuzzOpen reads whole documents, as a device
// reads a file; a changed byte almost always breaks the signature, so
// FuzzSealed signs the fuzzed payload with the wallet key first: that
// reaches the payload reader, the bundle's validation and verify.Bundle
// behind the signature, where an attacker with a wallet of their own can
// reach too. Seeds are real bundles made with pkg/allottest, the sample
// bundle of the unit tests, the bundles of the testscript archives, and
// the example of formats/bundle.md (testdata/fuzz).

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"allot.dev/allot/pkg/allottest"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/verify"
)

// realBundles returns bundles made the way `allot allocate` makes them,
// with chains of 0 to 3 certificates, all signed by allottest.Key("wallet")
// and all under the same vendor root. The world of the last is returned.
func realBundles(t testing.TB) ([][]byte, *allottest.World) {
	var docs [][]byte
	var w *allottest.World
	for _, c := range []struct{ depth, keys int }{{2, 3}, {0, 1}, {1, 2}, {3, 1}} {
		doc, world, err := allottest.TypicalBundle(t.TempDir(), c.depth, c.keys)
		if err != nil {
			t.Fatal(err)
		}
		docs, w = append(docs, doc), world
	}
	return docs, w
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("nil error")
	}
	if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
}

// exercise calls what readers of an open bundle call.
func exercise(t *testing.T, b *bundle.Bundle) {
	t.Helper()
	v := b.Validity
	for _, at := range []time.Time{v.From.Add(-time.Second), v.From, v.Until.Add(-time.Second), v.Until, v.GraceUntil, allottest.Now} {
		if p, ok := b.Period(at); ok && (p.Quota == nil || p.Months() < 1) {
			t.Fatalf("period at %s: %+v, %d months", at, p, p.Months())
		}
	}
	for _, p := range b.Periods {
		if m := bundle.MonthsBetween(p.From, p.Until); m < 0 || m > p.Months() {
			t.Fatalf("period %s to %s: %d whole months of %d", p.From, p.Until, m, p.Months())
		}
		bundle.FormatQuota(p.Quota)
	}
}

// FuzzOpen reads bundle documents.
func FuzzOpen(f *testing.F) {
	docs, _ := realBundles(f)
	for _, doc := range append(docs, allottest.ScriptFiles(f, ".lic")...) {
		f.Add(doc)
	}
	if doc, err := bundle.Seal(sampleBundle(), walletPriv); err == nil {
		f.Add(doc)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, doc []byte) {
		b, err := bundle.Open(doc)
		if err != nil {
			checkErr(t, err)
			if b != nil {
				t.Fatal("Open returned a bundle and an error")
			}
			return
		}
		if !bytes.Equal(b.Document(), doc) {
			t.Fatal("Document() is not the document read")
		}
		exercise(t, b)
	})
}

// exported returns b's exported fields, for comparison.
func exported(b *bundle.Bundle) bundle.Bundle {
	return bundle.Bundle{ID: b.ID, Sequence: b.Sequence, Organization: b.Organization, System: b.System,
		Issued: b.Issued, WalletID: b.WalletID, WalletKey: b.WalletKey, Features: b.Features,
		AnalyticsRetentionDays: b.AnalyticsRetentionDays, GrowthAllowancePercent: b.GrowthAllowancePercent,
		Validity: b.Validity, Binding: b.Binding, Periods: b.Periods, Funding: b.Funding, Certificates: b.Certificates}
}

// statuses are the statuses a report may have: every failure has a class.
var statuses = map[string]bool{
	verify.StatusLicensed: true, verify.StatusGrace: true, verify.StatusMalformed: true,
	verify.StatusUntrusted: true, verify.StatusExpired: true, verify.StatusNotYet: true,
	verify.StatusBinding: true, verify.StatusQuota: true, verify.StatusRollback: true,
}

func checkReport(t *testing.T, r *verify.Report) {
	t.Helper()
	if !statuses[r.Status] {
		t.Fatalf("status %q (error %v): a failure without a class", r.Status, r.Err)
	}
	if ok := r.Status == verify.StatusLicensed || r.Status == verify.StatusGrace; ok != (r.Err == nil) {
		t.Fatalf("status %q with error %v", r.Status, r.Err)
	}
	if r.Err != nil {
		checkErr(t, r.Err)
	}
}

// FuzzSealed signs the fuzzed payload with the wallet key, opens it, checks
// that what opens is written back the same by Seal, and verifies it
// against the allottest vendor root.
func FuzzSealed(f *testing.F) {
	docs, w := realBundles(f)
	wallet := allottest.Key("wallet")
	for _, doc := range docs {
		body, _, _, err := sign.Split(doc)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	if doc, err := bundle.Seal(sampleBundle(), wallet); err == nil {
		body, _, _, _ := sign.Split(doc)
		f.Add(body)
	}
	machine := []verify.Machine{{Name: "nvr-1", Identifiers: []string{hashID("a"), hashID("b")}}}
	opts := verify.Options{
		Trust:    w.Trust,
		Now:      allottest.Now.Add(24 * time.Hour),
		Machines: func(string) ([]verify.Machine, error) { return machine, nil },
		Usage: &verify.Usage{System: "site-1",
			Servers:   []verify.ServerUsage{{Name: "nvr-1", Cameras: 5}},
			Analytics: []verify.AnalyticsUsage{{Type: "line-crossing"}, {Type: "face-recognition"}}},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := sign.Seal(wallet, bundle.Namespace, body)
		if err != nil {
			return
		}
		b, err := bundle.Open(doc)
		if err != nil {
			checkErr(t, err)
		} else {
			exercise(t, b)
			// What opens is what Seal writes back, the same.
			doc2, err := bundle.Seal(b, wallet)
			if err != nil {
				t.Fatalf("Seal refuses an open bundle: %v", err)
			}
			b2, err := bundle.Open(doc2)
			if err != nil {
				t.Fatalf("Open refuses what Seal wrote: %v\n%s", err, doc2)
			}
			if !reflect.DeepEqual(exported(b2), exported(b)) {
				t.Fatalf("Seal and Open changed the bundle:\n%+v\n%+v", exported(b), exported(b2))
			}
		}
		checkReport(t, verify.Bundle("fuzz.lic", doc, opts))
		o := opts
		o.Usage, o.Machines = nil, nil
		checkReport(t, verify.Bundle("fuzz.lic", doc, o))
	})
}
