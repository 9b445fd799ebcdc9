package fs2

import (
	"errors"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"github.com/ocirun/ocirun/libcontainer/cgroups/devicefilter"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// applyDeviceFilter attaches the eBPF device program; tests on a fake tree
// replace it.
var applyDeviceFilter = devicefilter.Apply

// setDevices installs the eBPF device filter at create: a leading "deny
// all", the configured rules in their order, then cgroups.DefaultDevices.
// Update leaves it alone, as the v1 driver leaves its allowlist: runc's
// update does not change devices either.
func (m *Manager) setDevices(r *specs.LinuxResources, live bool) error {
	if live {
		return nil
	}
	rules, fields, err := cgroups.DeviceRules(r.Devices)
	if err != nil {
		return err
	}
	if err := applyDeviceFilter(m.Dir, rules); err != nil {
		field := "devices"
		var re *devicefilter.RuleError
		if errors.As(err, &re) && re.Index < len(fields) && fields[re.Index] != "" {
			field = fields[re.Index]
		}
		return cgroups.FieldErrf(field, "install the eBPF device filter: %w", err)
	}
	return nil
}
