package wallet_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"allot.dev/allot/pkg/licensekey"
	"allot.dev/allot/pkg/sign"
	"allot.dev/allot/pkg/wallet"
)

func TestInit(t *testing.T) {
	f := newFixture(t)
	st, err := os.Stat(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if m := st.Mode().Perm(); m != 0o600 {
		t.Errorf("wallet file mode %v, want 0600", m)
	}
	w := f.open()
	if w.Organization != "Example Housing" {
		t.Errorf("Organization = %q", w.Organization)
	}
	if w.ID != f.walletID || !w.PublicKey.Key.Equal(pubOf(f.wallet)) {
		t.Errorf("ID %s, PublicKey %s: not the wallet signer's", w.ID, w.PublicKey)
	}
	if !sign.ContainsKey(w.Trust, f.root.pub()) || len(w.Trust) != 1 {
		t.Errorf("Trust = %d keys, want the root given at init", len(w.Trust))
	}
	if !w.Created.Equal(t0) {
		t.Errorf("Created = %s, want %s", w.Created, t0)
	}
	if len(w.History) != 1 || w.History[0].Op != "init" || w.History[0].Who != "tester" {
		t.Errorf("History = %+v, want one init record by tester", w.History)
	}
	if len(w.Keys) != 0 || len(w.Allocations) != 0 {
		t.Errorf("a new wallet holds %d keys and %d allocations", len(w.Keys), len(w.Allocations))
	}
	f.noTemp()
}

func TestInitNeverOverwrites(t *testing.T) {
	f := newFixture(t)
	before := f.read()
	_, err := wallet.Init(f.path, wallet.InitParams{Organization: "Someone Else", PublicKey: pubOf(seedKey(2)), Time: t0})
	if !errors.Is(err, wallet.ErrExists) {
		t.Errorf("Init over a wallet: got %v, want ErrExists", err)
	}
	f.unchanged(before)

	// Nor any other file, nor through a symbolic link.
	dir := t.TempDir()
	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := wallet.Init(other, wallet.InitParams{Organization: "O", PublicKey: pubOf(seedKey(2)), Time: t0}); !errors.Is(err, wallet.ErrExists) {
		t.Errorf("Init over another file: got %v, want ErrExists", err)
	}
	if data, _ := os.ReadFile(other); string(data) != "precious\n" {
		t.Errorf("Init changed an existing file: %q", data)
	}
	link := filepath.Join(dir, "link.wallet")
	target := filepath.Join(dir, "target")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("no symbolic links: %v", err)
	}
	if _, err := wallet.Init(link, wallet.InitParams{Organization: "O", PublicKey: pubOf(seedKey(2)), Time: t0}); !errors.Is(err, wallet.ErrExists) {
		t.Errorf("Init over a dangling symbolic link: got %v, want ErrExists", err)
	}
	if _, err := os.Lstat(target); err == nil {
		t.Errorf("Init created the target of a symbolic link")
	}
}

func TestInitRequiresOrganization(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w")
	if _, err := wallet.Init(path, wallet.InitParams{PublicKey: pubOf(seedKey(2)), Time: t0}); err == nil {
		t.Fatal("Init without an organization: got nil error")
	}
	if _, err := os.Lstat(path); err == nil {
		t.Errorf("a failed Init left a file behind")
	}
}

func TestOpenMissing(t *testing.T) {
	if _, err := wallet.Open(filepath.Join(t.TempDir(), "none")); !errors.Is(err, wallet.ErrNotFound) {
		t.Errorf("Open of a missing wallet: got %v, want ErrNotFound", err)
	}
}

func TestUpdateMissing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "none")
	called := false
	_, err := wallet.Update(path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		called = true
		return nil, nil
	})
	if !errors.Is(err, wallet.ErrNotFound) {
		t.Errorf("Update of a missing wallet: got %v, want ErrNotFound", err)
	}
	if called {
		t.Errorf("Update called fn without a wallet")
	}
	if _, err := os.Lstat(path); err == nil {
		t.Errorf("Update created the wallet")
	}
}

func TestUpdateAppendsOneRecord(t *testing.T) {
	f := newFixture(t)
	before := f.read()
	w0 := f.open()
	later := t0.Add(36 * 3600e9)
	w, _, err := f.redeem(later, f.keys(2)...)
	if err != nil {
		t.Fatal(err)
	}
	after := f.read()
	if !bytes.HasPrefix(after, before) {
		t.Fatalf("Update rewrote earlier records")
	}
	added := after[len(before):]
	// One record: its JSON line, then a line per redeemed key.
	if bytes.Count(added, []byte("\n")) != 3 || added[len(added)-1] != '\n' || bytes.Count(added, []byte("\nkey ")) != 2 {
		t.Fatalf("Update added %q, want a record line and two key lines", added)
	}
	if len(w.History) != len(w0.History)+1 {
		t.Fatalf("History: %d records, want %d", len(w.History), len(w0.History)+1)
	}
	last := w.History[len(w.History)-1]
	sum := sha256.Sum256(added)
	if last.Hash != hex.EncodeToString(sum[:]) || w.Head() != sum {
		t.Errorf("the last record's hash is not the SHA-256 of the appended line")
	}
	if !strings.Contains(string(added), hex.EncodeToString(func() []byte { h := w0.Head(); return h[:] }())) {
		t.Errorf("the new record does not name the hash of the one before")
	}
	if last.Seq != 1 || last.Op != "redeem" || last.Who != "tester" || !last.Time.Equal(later) {
		t.Errorf("last record %+v, want seq 1, redeem by tester at %s", last, later)
	}
	if !strings.Contains(last.Note, "redeemed 2 keys") {
		t.Errorf("note %q does not say what was redeemed", last.Note)
	}
	// The state returned is the state on disk.
	if got := f.open(); len(got.Keys) != 2 || got.Head() != w.Head() {
		t.Errorf("Open after Update: %d keys, want 2, and the same head", len(got.Keys))
	}
	if st, err := os.Stat(f.path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("wallet file after Update: mode %v, err %v; want 0600", st.Mode().Perm(), err)
	}
	f.noTemp()
}

func TestUpdateFailingFnLeavesFileUnchanged(t *testing.T) {
	f := newFixture(t)
	f.mustRedeem(t0, f.keys(1)...)
	before := f.read()
	boom := errors.New("boom")
	_, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		// A change prepared, and then the caller fails: nothing is written.
		ch, _, rerr := w.Redeem(inputs(f.keys(1)...), nil, w.TrustFor(nil), false)
		if rerr != nil {
			t.Errorf("Redeem: %v", rerr)
		}
		return ch, boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("Update: got %v, want fn's error", err)
	}
	f.unchanged(before)

	// A nil change is no change.
	if _, err := wallet.Update(f.path, t0, "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		return nil, nil
	}); err != nil {
		t.Errorf("Update with a nil change: %v", err)
	}
	f.unchanged(before)
}

// chainWallet makes a wallet of several records of every kind and returns
// its lines.
func chainWallet(t *testing.T) (*fixture, [][]byte) {
	f := newFixture(t)
	keys := f.keys(4)
	f.mustRedeem(t0, keys[0])
	f.mustRedeem(t0.AddDate(0, 0, 1), keys[1], keys[2])
	k, _ := licensekey.Parse(keys[0])
	if _, err := wallet.Update(f.path, t0.AddDate(0, 0, 2), "tester", func(w *wallet.Wallet) (*wallet.Change, error) {
		return w.Allocate(&wallet.Allocation{
			System: "site-1", BundleID: "b1", Sequence: 1,
			Periods: []wallet.Period{{From: date(2025, 3, 12), Until: date(2026, 3, 12), Quota: map[string]int{"camera": 5},
				Funding: []wallet.KeyFunding{{Key: k.ID(), License: "camera", Months: 60}}}},
			Taken:  []wallet.KeyFunding{{Key: k.ID(), License: "camera", Months: 60}},
			Bundle: []byte("a signed bundle\n"),
		}, "allocated"), nil
	}); err != nil {
		t.Fatalf("allocate: %v", err)
	}
	f.mustRedeem(t0.AddDate(0, 0, 3), keys[3])
	lines := records(f.read())
	if len(lines) != 5 {
		t.Fatalf("test setup: %d records, want 5", len(lines))
	}
	return f, lines
}

// records splits a wallet file into its records: a JSON line and the key
// lines that follow it.
func records(data []byte) [][]byte {
	var recs [][]byte
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		switch {
		case len(line) == 0:
		case bytes.HasPrefix(line, []byte("key ")) && len(recs) > 0:
			recs[len(recs)-1] = append(recs[len(recs)-1], line...)
		default:
			recs = append(recs, bytes.Clone(line))
		}
	}
	return recs
}

func join(lines [][]byte) []byte { return bytes.Join(lines, nil) }

func TestHashChain(t *testing.T) {
	f, lines := chainWallet(t)
	check := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(f.path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := wallet.Open(f.path); !errors.Is(err, wallet.ErrCorrupt) {
			t.Errorf("%s: Open: got %v, want ErrCorrupt", name, err)
		}
	}
	n := len(lines)
	for i := range n - 1 { // every record but the last
		// Edit: one character of the record's note.
		edited := bytes.Replace(lines[i], []byte(`"note":"`), []byte(`"note":"~`), 1)
		if bytes.Equal(edited, lines[i]) {
			t.Fatalf("record %d has no note", i)
		}
		ls := append([][]byte{}, lines...)
		ls[i] = edited
		check("record "+itoa(i)+" edited", join(ls))

		// Edit that keeps the record valid JSON with the same meaning:
		// white space before the newline.
		ls = append([][]byte{}, lines...)
		ls[i] = append(bytes.TrimSuffix(bytes.Clone(lines[i]), []byte("\n")), []byte(" \n")...)
		check("record "+itoa(i)+" re-spaced", join(ls))

		// Delete.
		ls = append(append([][]byte{}, lines[:i]...), lines[i+1:]...)
		check("record "+itoa(i)+" deleted", join(ls))

		// Reorder with the next.
		ls = append([][]byte{}, lines...)
		ls[i], ls[i+1] = ls[i+1], ls[i]
		check("records "+itoa(i)+" and "+itoa(i+1)+" swapped", join(ls))

		// Duplicate, right after itself and at the end.
		ls = append(append(append([][]byte{}, lines[:i+1]...), lines[i]), lines[i+1:]...)
		check("record "+itoa(i)+" duplicated", join(ls))
		ls = append(append([][]byte{}, lines...), lines[i])
		check("record "+itoa(i)+" repeated at the end", join(ls))
	}

	// The last record cut short, with and without a newline.
	last := lines[n-1]
	for _, cut := range []int{1, 2, len(last) / 2, len(last) - 1} {
		ls := append([][]byte{}, lines[:n-1]...)
		ls = append(ls, last[:len(last)-cut])
		check("last record truncated by "+itoa(cut), join(ls))
		ls[n-1] = append(bytes.Clone(last[:len(last)-cut-1]), '\n')
		if cut < len(last)-1 {
			check("last record truncated by "+itoa(cut)+", newline kept", join(ls))
		}
	}

	// And the intact file still opens.
	if err := os.WriteFile(f.path, join(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	w := f.open()
	if len(w.Keys) != 4 || len(w.Allocations) != 1 || len(w.History) != 5 {
		t.Errorf("intact wallet: %d keys, %d allocations, %d records", len(w.Keys), len(w.Allocations), len(w.History))
	}
}

func TestOpenRejectsDamage(t *testing.T) {
	f, lines := chainWallet(t)
	for name, data := range map[string][]byte{
		"empty":             {},
		"not json":          []byte("hello\n"),
		"init missing":      join(lines[1:]),
		"unknown field":     bytes.Replace(join(lines[:1]), []byte(`{`), []byte(`{"colour":"blue",`), 1),
		"unknown operation": append(join(lines[:1]), bytes.Replace(lines[1], []byte(`"op":"redeem"`), []byte(`"op":"steal"`), 1)...),
	} {
		if err := os.WriteFile(f.path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := wallet.Open(f.path); !errors.Is(err, wallet.ErrCorrupt) {
			t.Errorf("%s: Open: got %v, want ErrCorrupt", name, err)
		}
	}
}

// TestOpenRejectsTrailingDataInRecord: a record's header is one JSON object
// a line, and a key line one key; a line that holds more is malformed, even
// in the last record, which no later record protects.
func TestOpenRejectsTrailingDataInRecord(t *testing.T) {
	f, lines := chainWallet(t)
	n := len(lines)
	for name, tail := range map[string]string{
		"a second object": ` {"seq":99,"op":"redeem"}`,
		"text":            ` garbage`,
	} {
		ls := append([][]byte{}, lines...)
		header, keyLines, _ := bytes.Cut(lines[n-1], []byte("\n"))
		ls[n-1] = append(append(bytes.Clone(header), []byte(tail+"\n")...), keyLines...)
		if err := os.WriteFile(f.path, join(ls), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := wallet.Open(f.path); !errors.Is(err, wallet.ErrCorrupt) {
			t.Errorf("last record's header followed by %s: Open: got %v, want ErrCorrupt", name, err)
		}
		ls[n-1] = append(bytes.TrimSuffix(bytes.Clone(lines[n-1]), []byte("\n")), []byte(tail+"\n")...)
		if err := os.WriteFile(f.path, join(ls), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := wallet.Open(f.path); !errors.Is(err, wallet.ErrCorrupt) {
			t.Errorf("last record followed by %s on its line: Open: got %v, want ErrCorrupt", name, err)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
