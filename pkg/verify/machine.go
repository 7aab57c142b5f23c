package verify

import (
	"fmt"
	"io/fs"
	"sync"

	"allot.dev/allot/pkg/hwid"
	"allot.dev/allot/pkg/system"
)

// ThisMachine returns Options.Machines for the machine whose file system is
// root ("/" on a device): its hardware identifiers, collected once, when a
// bundle first needs them, and hashed for each bundle's system.
func ThisMachine(root fs.FS) func(systemID string) ([]Machine, error) {
	return CollectedMachine(sync.OnceValues(func() ([]hwid.Identifier, error) { return hwid.Collect(root) }))
}

// CollectedMachine is ThisMachine with the identifiers given by collect,
// which is called for every bundle and should remember its answer: a
// caller may run it early, on another goroutine, so that reading the
// machine overlaps the work before the binding check.
func CollectedMachine(collect func() ([]hwid.Identifier, error)) func(systemID string) ([]Machine, error) {
	return func(systemID string) ([]Machine, error) {
		ids, err := collect()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBinding, err)
		}
		return []Machine{{Name: "this machine", Identifiers: hwid.HashAll(systemID, ids)}}, nil
	}
}

// SystemMachines returns Options.Machines for the servers of a system file
// (read from the file named name): the binding is checked against them
// instead of this machine, and a bundle of another system does not match.
func SystemMachines(name string, sys *system.System) func(systemID string) ([]Machine, error) {
	return func(systemID string) ([]Machine, error) {
		if sys.ID != systemID {
			return nil, fmt.Errorf("%w: %s describes system %q, the bundle licenses %q", ErrBinding, name, sys.ID, systemID)
		}
		ms := make([]Machine, 0, len(sys.Servers))
		for _, s := range sys.Servers {
			ms = append(ms, Machine{Name: "server " + s.Name + " of " + name, Identifiers: s.Identifiers})
		}
		return ms, nil
	}
}

// MachineStateKey returns the key that seals this machine's device state,
// from its hardware identifiers under root. A machine whose identifiers
// cannot be read cannot keep a state: that is a rollback, since the clock
// can then no longer be trusted.
func MachineStateKey(root fs.FS) ([]byte, error) {
	ids, err := hwid.Collect(root)
	if err != nil {
		return nil, fmt.Errorf("%w: device state needs this machine's identifiers: %v", ErrRollback, err)
	}
	return DeviceKey(ids), nil
}
