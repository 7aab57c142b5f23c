package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"allot.dev/allot/cmd/internal/input"
	"allot.dev/allot/cmd/internal/ui"
	"allot.dev/allot/cmd/internal/verifycli"
	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/system"
)

func (e *env) systemCommand() *cli.Command {
	return &cli.Command{
		Name:  "system",
		Usage: "describe a site's system: servers, devices, what it needs",
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "write a system description file",
				UsageText: "allot system create --id ID --org ORG [--collect] [--server NAME[:ID,...]]... [--devices FILE] [--need TYPE=QTY]... [--floating] --out ID.system.toml",
				Description: "--collect adds this machine as a server, with keyed hashes of its hardware\n" +
					"identifiers. --server NAME:kind=value,... adds a server from raw identifiers\n" +
					"(hashed before they are written); NAME:kind:hash,... takes the hashes that\n" +
					"`allot fingerprint --system-id ID` printed on that server. --devices reads\n" +
					"\"serial, model, type, server\" lines. Without --need, the need is counted\n" +
					"from the devices: one camera license per camera, one intercom per intercom.\n" +
					"--floating makes one pool for all the servers, divided among them by where the\n" +
					"devices are bound: each server verifies its own usage against its share.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "id", Usage: "the system id"},
					&cli.StringFlag{Name: "org", Usage: "the organization"},
					&cli.BoolFlag{Name: "collect", Usage: "add this machine as a server, with its hardware identifiers"},
					&cli.StringFlag{Name: "name", Usage: "the server name for --collect (default: the host name)"},
					&cli.StringSliceFlag{Name: "server", Usage: "a server, `NAME[:kind=value,...]` or NAME:kind:hash,... (repeat)"},
					&cli.StringFlag{Name: "devices", Usage: "devices `FILE`: lines of serial, model, type, server"},
					&cli.StringSliceFlag{Name: "need", Usage: "the current need, `TYPE=QTY` (repeat)"},
					&cli.IntFlag{Name: "require", Value: -1, Usage: "identifiers of a server that must match (default: up to 2)"},
					&cli.BoolFlag{Name: "floating", Usage: "one pool for all the servers, a share for each (Eocortex network keys)"},
					outFlag("the system `FILE` (default: ID.system.toml)"),
					nowFlag(), catalogFlag(), jsonFlag(),
				},
				Action: e.systemCreate,
			},
			{
				Name:      "inspect",
				Usage:     "check a system description file and summarise it",
				UsageText: "allot system inspect ID.system.toml",
				Flags:     []cli.Flag{catalogFlag(), jsonFlag()},
				Action:    e.systemInspect,
			},
		},
	}
}

func (e *env) fingerprintCommand() *cli.Command {
	return &cli.Command{
		Name:      "fingerprint",
		Usage:     "print this machine's hardware identifiers, as keyed hashes",
		UsageText: "allot fingerprint [--system-id ID]",
		Description: "Hashes are keyed by the system id, so they match a system file with that id.\n" +
			"Raw identifiers are never printed.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "system-id", Usage: "key the hashes for the system `ID`"},
			jsonFlag(),
		},
		Action: e.fingerprint,
	}
}

func (e *env) systemCreate(c *cli.Context) error {
	id, org := c.String("id"), c.String("org")
	if id == "" || org == "" {
		return usageErrorf("system create: --id and --org are required")
	}
	out := c.String("out")
	if out == "" {
		out = id + ".system.toml"
	}
	if out == "-" && c.Bool("json") {
		return usageErrorf("system create: --json prints a summary; with --out - the system file itself goes to standard output")
	}
	if err := checkOut(out); err != nil {
		return err
	}
	now, err := now(c)
	if err != nil {
		return err
	}
	cat, err := loadCatalog(c)
	if err != nil {
		return err
	}
	sys := &system.System{ID: id, Organization: org, Need: map[string]int{}, Floating: c.Bool("floating")}
	if c.Bool("collect") {
		ids, err := hwid.Collect(verifycli.Sysroot(e.getenv))
		if err != nil {
			return withHint(inputErrorf("--collect: %v", err), "give servers with --server NAME:kind=value instead")
		}
		name := c.String("name")
		if name == "" {
			if name, err = os.Hostname(); err != nil {
				return err
			}
		}
		sys.Servers = append(sys.Servers, system.Server{Name: name, Identifiers: hwid.HashAll(id, ids), OrgIdentifiers: hwid.OrgHashAll(org, ids)})
	}
	for _, s := range c.StringSlice("server") {
		srv, err := parseServer(id, org, s)
		if err != nil {
			return usageErrorf("--server: %v", err)
		}
		sys.Servers = append(sys.Servers, srv)
	}
	if len(sys.Servers) == 0 {
		return withHint(usageErrorf("system create: no servers"), "give --collect on the server, or --server NAME[:identifiers]")
	}
	// Names become ids in the file and the bundle: check them here, as the
	// user's mistake, not when the file is read back.
	if err := system.ValidID(id); err != nil {
		return usageErrorf("--id: %v", err)
	}
	for _, srv := range sys.Servers {
		if err := system.ValidID(srv.Name); err != nil {
			return usageErrorf("server name: %v", err)
		}
	}
	if path := c.String("devices"); path != "" {
		data, err := input.ReadFile(path, system.MaxFileSize)
		if err != nil {
			return err
		}
		var names []string
		for _, srv := range sys.Servers {
			names = append(names, srv.Name)
		}
		devs, err := system.ParseDevices(path, data, names)
		if err != nil {
			return err
		}
		sys.Devices = devs
	}
	for _, s := range c.StringSlice("need") {
		typ, q, err := parseTypeQty(s)
		if err != nil {
			return usageErrorf("--need: %v", err)
		}
		if _, _, err := cat.LicenseType(typ); err != nil {
			return usageErrorf("--need: %v", err)
		}
		sys.Need[typ] = q
	}
	if len(sys.Need) == 0 {
		for _, d := range sys.Devices {
			sys.Need[d.Type]++
		}
	}
	fewest := len(sys.Servers[0].Identifiers)
	for _, s := range sys.Servers {
		fewest = min(fewest, len(s.Identifiers))
	}
	// The products the system needs may demand a binding (the catalog's
	// binding_required, which the vendor's certificates enforce on the
	// device): never less.
	demand, demandBy := 0, ""
	for _, t := range slices.Sorted(maps.Keys(sys.Need)) {
		if _, p, err := cat.LicenseType(t); err == nil && p.BindingRequired > demand {
			demand, demandBy = p.BindingRequired, p.Code
		}
	}
	sys.Binding.Required = max(min(2, fewest), demand)
	if r := c.Int("require"); r >= 0 {
		if r < demand {
			return usageErrorf("--require %d: product %s requires at least %d hardware identifiers to match", r, demandBy, demand)
		}
		sys.Binding.Required = r
	}
	if demand > fewest {
		return inputErrorf("product %s requires %d hardware identifiers to match, but a server of the system has only %d", demandBy, demand, fewest)
	}
	data := sys.Marshal(now)
	// Check the file as it will be read back. The flags and the devices
	// file were checked above, so a failure here is a bug, not bad input.
	if _, err := system.Parse(out, data, cat); err != nil {
		return fmt.Errorf("the system file allot would write does not read back: %v", err)
	}
	if err := e.writeOut(out, data, 0o644); err != nil {
		return err
	}
	if c.Bool("json") {
		return e.out().JSON("system.create", systemJSON(out, sys))
	}
	if out != "-" {
		e.out().Printf("wrote %s: system %s of %s, %d server%s, %d device%s, need %s\n",
			out, id, org, len(sys.Servers), plural(len(sys.Servers)), len(sys.Devices), plural(len(sys.Devices)), formatNeed(sys.Need))
	}
	return nil
}

// parseServer parses --server NAME[:ids]: raw "kind=value" identifiers are
// hashed for the system, and for the organization (org_identifiers);
// "kind:hash" ones are taken as they are.
func parseServer(systemID, org, s string) (system.Server, error) {
	name, rest, _ := strings.Cut(s, ":")
	srv := system.Server{Name: name, Identifiers: []string{}}
	if rest == "" {
		return srv, nil
	}
	for _, part := range strings.Split(rest, ",") {
		if strings.Contains(part, "=") {
			id, err := hwid.ParseIdentifier(part)
			if err != nil {
				return srv, err
			}
			srv.Identifiers = append(srv.Identifiers, hwid.Hash(systemID, id))
			srv.OrgIdentifiers = append(srv.OrgIdentifiers, hwid.OrgHash(org, id))
			continue
		}
		if err := hwid.ValidHash(part); err != nil {
			return srv, fmt.Errorf("%v (raw identifiers are written kind=value)", err)
		}
		srv.Identifiers = append(srv.Identifiers, part)
	}
	return srv, nil
}

func formatNeed(need map[string]int) string {
	if len(need) == 0 {
		return "nothing"
	}
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(need)) {
		parts = append(parts, t+"="+strconv.Itoa(need[t]))
	}
	return strings.Join(parts, " ")
}

func (e *env) systemInspect(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("system inspect: give one system file")
	}
	cat, err := loadCatalog(c)
	if err != nil {
		return err
	}
	path := c.Args().First()
	sys, err := input.System(path, cat)
	if err != nil {
		return err
	}
	counts := sys.Counts()
	if c.Bool("json") {
		return e.out().JSON("system.inspect", systemJSON(path, sys))
	}
	floating := ""
	if sys.Floating {
		floating = "; floating: one pool, a share for each server"
	}
	e.out().Printf("%s: system %s of %s, need %s; %d identifier%s of a server must match%s\n",
		path, sys.ID, sys.Organization, formatNeed(sys.Need), sys.Binding.Required, plural(sys.Binding.Required), floating)
	var rows [][]string
	for _, s := range sys.Servers {
		rows = append(rows, []string{s.Name, strconv.Itoa(len(s.Identifiers)),
			strconv.Itoa(counts[s.Name][system.Camera]), strconv.Itoa(counts[s.Name][system.Intercom])})
	}
	return e.out().Table([]string{"server", "identifiers", "cameras", "intercoms"}, rows)
}

func (e *env) fingerprint(c *cli.Context) error {
	ids, err := hwid.Collect(verifycli.Sysroot(e.getenv))
	if err != nil {
		return inputErrorf("%v", err)
	}
	sid := c.String("system-id")
	hashes := hwid.HashAll(sid, ids)
	if c.Bool("json") {
		res := &fingerprintResult{SystemID: sid}
		for i, h := range hashes {
			res.Identifiers = append(res.Identifiers, fingerprintID{Kind: ids[i].Kind, Hash: h})
		}
		return e.out().JSON("fingerprint", res)
	}
	e.out().Printf("this machine's identifiers, hashed for system %q:\n", sid)
	var rows [][]string
	for i, h := range hashes {
		rows = append(rows, []string{ids[i].Kind, h})
	}
	if err := e.out().Table([]string{"kind", "keyed hash"}, rows); err != nil {
		return err
	}
	e.out().Printf("for a system file: --server NAME:%s\n", strings.Join(hashes, ","))
	return nil
}

// systemResult is the JSON of `allot system create` and `allot system
// inspect`: a summary of the system file.
type systemResult struct {
	ui.Head
	File            string         `json:"file"`
	ID              string         `json:"id"`
	Organization    string         `json:"organization"`
	BindingRequired int            `json:"binding_required"`
	Floating        bool           `json:"floating"`
	Need            map[string]int `json:"need"`
	Servers         []serverJSON   `json:"servers"`
	Devices         int            `json:"devices"`
}

type serverJSON struct {
	Name        string         `json:"name"`
	Identifiers int            `json:"identifiers"`
	Devices     map[string]int `json:"devices"` // by device type
}

func systemJSON(file string, sys *system.System) *systemResult {
	counts := sys.Counts()
	res := &systemResult{File: file, ID: sys.ID, Organization: sys.Organization,
		BindingRequired: sys.Binding.Required, Floating: sys.Floating, Need: sys.Need, Devices: len(sys.Devices)}
	for _, s := range sys.Servers {
		devs := counts[s.Name]
		if devs == nil {
			devs = map[string]int{}
		}
		res.Servers = append(res.Servers, serverJSON{s.Name, len(s.Identifiers), devs})
	}
	return res
}

// fingerprintResult is the JSON of `allot fingerprint`.
type fingerprintResult struct {
	ui.Head
	SystemID    string          `json:"system_id"`
	Identifiers []fingerprintID `json:"identifiers"`
}

type fingerprintID struct {
	Kind string `json:"kind"`
	Hash string `json:"hash"`
}
