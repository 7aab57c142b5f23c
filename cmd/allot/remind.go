package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/input"
	"allot.dev/allot/cmd/internal/ui"
	"allot.dev/allot/pkg/atomicfile"
	"allot.dev/allot/pkg/bundle"
	"allot.dev/allot/pkg/catalog"
	"allot.dev/allot/pkg/remind"
	"allot.dev/allot/pkg/system"
	"allot.dev/allot/pkg/wallet"
)

func (e *env) remindCommand() *cli.Command {
	return &cli.Command{
		Name:      "remind",
		Usage:     "say what ends soon: subscriptions, grace periods, group windows, unallocated licenses",
		UsageText: "allot remind BUNDLE|SYSTEM|WALLET... --state FILE [--eml DIR --from ADDR --to ADDR] [--days N] [--every E]",
		Description: "Made for cron. Reads bundles, system files and wallets, finds what ends soon, and\n" +
			"says each thing from its days before the end, then again at its frequency\n" +
			"(once, daily, weekly or 30d: the catalog's [reminders], or --days and --every)\n" +
			"until it ends. The state file remembers what was said: a second run at the\n" +
			"same time says nothing, and two runs at once say each reminder once between\n" +
			"them. Prints one line per reminder (nothing when nothing is due), --json, or\n" +
			"with --eml writes one RFC 5322 message per reminder into DIR for a mail relay,\n" +
			"and prints nothing. A damaged state file is refused and nothing is written.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "state", Usage: "the state `FILE` of what was already said (created if missing)"},
			&cli.StringFlag{Name: "eml", Usage: "write one .eml message per reminder into `DIR`, never overwriting"},
			&cli.StringFlag{Name: "from", Usage: "with --eml: the sender, `ADDRESS` (\"allot <allot@example.com>\")"},
			&cli.StringSliceFlag{Name: "to", Usage: "with --eml: the recipients, `ADDRESS`es separated by commas (repeat)"},
			&cli.IntFlag{Name: "days", Usage: "remind `N` days before an end (default: the catalog's, per kind)"},
			&cli.StringFlag{Name: "every", Usage: "then again `E`: once, daily, weekly or 30d (default: the catalog's, per kind)"},
			nowFlag(), catalogFlag(), jsonFlag(),
		},
		Action: e.remind,
	}
}

// remindResult is the JSON of `allot remind`.
type remindResult struct {
	ui.Head
	State     string        `json:"state"`
	Now       time.Time     `json:"now"`
	Reminders []remindEntry `json:"reminders"`
}

type remindEntry struct {
	ID           string         `json:"id"`
	Kind         string         `json:"kind"`
	Ends         time.Time      `json:"ends"`
	DaysLeft     int            `json:"days_left"`
	System       string         `json:"system,omitempty"`
	Group        string         `json:"group,omitempty"`
	WalletID     string         `json:"wallet_id,omitempty"`
	Organization string         `json:"organization,omitempty"`
	Licenses     map[string]int `json:"licenses,omitempty"`
	Keys         int            `json:"keys,omitempty"`
	Source       string         `json:"source"`
	Days         int            `json:"days"`
	Every        string         `json:"every"`
	Count        int            `json:"count"`
	Message      string         `json:"message"`
	Eml          string         `json:"eml,omitempty"`
}

func (e *env) remind(c *cli.Context) error {
	state, dir := c.String("state"), c.String("eml")
	switch {
	case c.NArg() == 0:
		return usageErrorf("remind: give one or more bundles, system files or wallets")
	case state == "":
		return usageErrorf("remind: --state FILE is required: it remembers what was already said")
	case dir != "" && (c.String("from") == "" || len(c.StringSlice("to")) == 0):
		return usageErrorf("remind: --eml needs --from and --to")
	case dir == "" && (c.IsSet("from") || c.IsSet("to")):
		return usageErrorf("remind: --from and --to are for --eml")
	}
	var mailer *remind.Mail
	if dir != "" {
		var err error
		if mailer, err = remind.ParseMail(c.String("from"), c.StringSlice("to")); err != nil {
			return usageErrorf("remind: --%v", err)
		}
	}
	override := catalog.Reminder{Days: c.Int("days"), Every: c.String("every")}
	if c.IsSet("days") {
		if err := (catalog.Reminder{Days: override.Days, Every: "once"}).Validate(); err != nil {
			return usageErrorf("remind: --%v", err)
		}
	}
	if c.IsSet("every") {
		if err := (catalog.Reminder{Days: 1, Every: override.Every}).Validate(); err != nil {
			return usageErrorf("remind: --%v", err)
		}
	}
	now, err := now(c)
	if err != nil {
		return err
	}
	now = now.UTC().Truncate(time.Second)
	cat, err := loadCatalog(c)
	if err != nil {
		return err
	}
	var src remind.Sources
	for _, path := range c.Args().Slice() {
		if err := addRemindInput(&src, path, cat); err != nil {
			return err
		}
	}
	if dir != "" {
		if st, err := os.Stat(dir); err != nil {
			return err
		} else if !st.IsDir() {
			return inputErrorf("--eml %s: not a folder", dir)
		}
	}
	defaults := func(k remind.Kind) catalog.Reminder {
		r := cat.Reminder(string(k))
		if c.IsSet("days") {
			r.Days = override.Days
		}
		if c.IsSet("every") {
			r.Every = override.Every
		}
		return r
	}
	items := src.Items()
	var due []remind.Reminder
	files := map[string]string{}
	err = updateRemindState(state, func(st *remind.State) error {
		due = remind.Due(items, st, now, defaults)
		if mailer == nil {
			return nil
		}
		// The messages are written before the state: a run killed between
		// the two says its reminders again rather than never. A message
		// already there is one this run made earlier the same day.
		for i := range due {
			name, msg := mailer.Message(&due[i], now)
			path := filepath.Join(dir, name)
			if err := atomicfile.Create(path, msg, 0o644); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			files[due[i].ID] = path
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, remind.ErrState) {
			return withHint(err, "allot never rewrites a state file it cannot read: fix it, or move it away to start afresh (every reminder due is then said again)")
		}
		return err
	}
	if c.Bool("json") {
		res := &remindResult{State: state, Now: now}
		for i := range due {
			r := &due[i]
			res.Reminders = append(res.Reminders, remindEntry{
				ID: r.ID, Kind: string(r.Kind), Ends: r.Ends.UTC(), DaysLeft: r.DaysLeft,
				System: r.System, Group: r.Group, WalletID: r.WalletID, Organization: r.Organization,
				Licenses: r.Licenses, Keys: r.Keys, Source: r.Source,
				Days: r.Schedule.Days, Every: r.Schedule.Every, Count: r.Count,
				Message: r.Text(), Eml: files[r.ID],
			})
		}
		return e.out().JSON("remind", res)
	}
	if mailer != nil {
		return nil
	}
	p := e.out()
	for i := range due {
		p.Printf("%s\n", due[i].Text())
	}
	return nil
}

// remindStateMode is the mode of a new state file and of its lock file.
const remindStateMode = 0o600

// updateRemindState runs fn on the state file at path under its lock
// (path.lock, atomicfile.Lock: the wallet's lock), and if fn changed the
// state, replaces the file atomically. A missing file is an empty state,
// created by the first change; a damaged one is refused (remind.ErrState)
// before fn runs, and nothing is written. While one run holds the lock,
// another waits: two crons at once act one after the other, and the second
// reads what the first said. If fn fails, the file is left as it was.
func updateRemindState(path string, fn func(*remind.State) error) error {
	unlock, err := atomicfile.Lock(path+".lock", remindStateMode)
	if err != nil {
		return err
	}
	defer unlock()
	// Holding the lock, any temporary file of the state is litter from a
	// run that was killed.
	if err := atomicfile.RemoveStale(path); err != nil {
		return err
	}
	st := remind.NewState()
	data, err := input.ReadFile(path, remind.MaxStateSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		if st, err = remind.ParseState(data); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := fn(st); err != nil {
		return err
	}
	if !st.Changed() {
		return nil
	}
	if data, err = st.Marshal(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.Replace(path, data, remindStateMode)
}

// addRemindInput reads one input of allot remind and adds what ends in it.
// The kind of file is told by its content: a wallet is JSON records, a
// bundle ends in an SSH signature, and anything else is read as a system
// file.
func addRemindInput(src *remind.Sources, path string, cat *catalog.Catalog) error {
	head, dir, err := readHead(path, 64)
	if err != nil {
		return err
	}
	if dir {
		return withHint(inputErrorf("%s: a folder", path), "give the bundles, system files and wallets in it: allot remind DIR/*.lic …")
	}
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		w, err := wallet.Open(path)
		if err != nil {
			return err
		}
		return src.AddWallet(path, w, cat.Policy.UnallocatedExpiryYears)
	}
	data, err := input.ReadFile(path, system.MaxFileSize)
	if err != nil {
		return err
	}
	if bytes.Contains(data, []byte("\n-----BEGIN SSH SIGNATURE-----\n")) {
		if len(data) > bundle.MaxSize {
			return fmt.Errorf("%s: %w: larger than %d MiB", path, bundle.ErrMalformed, bundle.MaxSize>>20)
		}
		b, err := bundle.Open(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		src.AddBundle(path, b)
		return nil
	}
	sys, err := system.Parse(path, data, cat)
	if err != nil {
		return withHint(err, "allot remind reads bundles (*.lic), system files (*.system.toml) and wallets")
	}
	for _, w := range groupWindows(sys) {
		src.AddWindow(path, w)
	}
	return nil
}

// groupWindows returns the groups of a system file whose restriction has a
// validity window, with their own reminder settings. System files have no
// group tree yet (DESIGN.md's [[group]], issue 11); when they do, each
// group with a validity window becomes a remind.Window here.
func groupWindows(sys *system.System) []remind.Window { return nil }

// readHead reads up to n bytes from the start of a file, or reports that
// path is a folder.
func readHead(path string, n int) (head []byte, dir bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.IsDir() {
		return nil, err == nil, err
	}
	buf := make([]byte, n)
	k, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, false, err
	}
	return buf[:k], false, nil
}
