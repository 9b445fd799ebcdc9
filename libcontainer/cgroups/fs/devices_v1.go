package fs

// This file: the v1 device allowlist (devices.allow, devices.deny,
// devices.list). As in runc, the list starts from "deny everything", the
// configured rules follow in their order (the spec: "The runtime MUST apply
// entries in the listed order"), and the default rules come last, so that
// every container can use /dev/null & co. and mknod any node (opening one
// is what the list guards). The spec's own list is all a config can change;
// docker and containerd send their full lists themselves.
//
// devState mirrors the kernel's rules for one cgroup (security/device_cgroup.c)
// so that the result can be compared with devices.list after the writes.

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// devState is a cgroup's device rules as the kernel keeps them: a default
// (allow all, or deny all) and the exceptions to it, in insertion order.
type devState struct {
	allowAll bool
	exc      []cgroups.DeviceRule // allow is unused
}

// apply changes the state as writing r to devices.allow (r.Allow) or
// devices.deny does.
func (s *devState) apply(r cgroups.DeviceRule) error {
	if r.Type == 'a' {
		*s = devState{allowAll: r.Allow}
		return nil
	}
	if r.Allow != s.allowAll {
		s.add(r)
		return nil
	}
	return s.remove(r)
}

func (s *devState) find(typ byte, major, minor int64) int {
	return slices.IndexFunc(s.exc, func(e cgroups.DeviceRule) bool {
		return e.Type == typ && e.Major == major && e.Minor == minor
	})
}

func (s *devState) add(r cgroups.DeviceRule) {
	bits, _ := cgroups.AccessBits(r.Access)
	if i := s.find(r.Type, r.Major, r.Minor); i >= 0 {
		old, _ := cgroups.AccessBits(s.exc[i].Access)
		s.exc[i].Access = cgroups.AccessString(old | bits)
		return
	}
	s.exc = append(s.exc, cgroups.DeviceRule{Type: r.Type, Major: r.Major, Minor: r.Minor, Access: r.Access})
}

// remove takes r's access away from the exception with r's exact numbers.
// The kernel silently keeps a wildcard exception that covers r (it cannot
// punch a hole in it), so that is an error here, as in runc.
func (s *devState) remove(r cgroups.DeviceRule) error {
	bits, _ := cgroups.AccessBits(r.Access)
	for _, w := range [][2]int64{{-1, r.Minor}, {r.Major, -1}, {-1, -1}} {
		if w[0] == r.Major && w[1] == r.Minor {
			continue
		}
		if i := s.find(r.Type, w[0], w[1]); i >= 0 {
			if have, _ := cgroups.AccessBits(s.exc[i].Access); have&bits != 0 {
				return fmt.Errorf("cannot take %q away from %s: the earlier rule %q covers it, and the kernel cannot make an exception to a wildcard rule",
					r.Access, cgroups.DeviceRule{Type: r.Type, Major: r.Major, Minor: r.Minor, Access: r.Access}, s.exc[i].String())
			}
		}
	}
	if i := s.find(r.Type, r.Major, r.Minor); i >= 0 {
		have, _ := cgroups.AccessBits(s.exc[i].Access)
		if left := have &^ bits; left != 0 {
			s.exc[i].Access = cgroups.AccessString(left)
		} else {
			s.exc = slices.Delete(s.exc, i, i+1)
		}
	}
	return nil
}

// list is what devices.list shows for the state: "a *:* rwm" in allow-all
// mode (whose exceptions it does not show), else the exceptions.
func (s *devState) list() []string {
	if s.allowAll {
		return []string{"a *:* rwm"}
	}
	var out []string
	for _, e := range s.exc {
		out = append(out, e.String())
	}
	return out
}

func (m *Manager) setDevices(r *specs.LinuxResources) error {
	rules, fields, err := cgroups.DeviceRules(r.Devices)
	if err != nil {
		return err
	}
	dir, ok := m.Paths["devices"]
	if !ok {
		if len(r.Devices) > 0 {
			return cgroups.FieldErrf("devices", "the devices cgroup controller is not mounted on this host")
		}
		slog.Warn("the devices cgroup controller is not mounted: the container's device access is not restricted")
		return nil
	}
	var want devState
	for i, rule := range rules {
		field := fields[i]
		if field == "" {
			field = "devices"
		}
		if err := want.apply(rule); err != nil {
			return cgroups.FieldErr(field, err)
		}
		file := "devices.deny"
		if rule.Allow {
			file = "devices.allow"
		}
		if err := cgroups.WriteCtl(dir, file, rule.String()); err != nil {
			if fields[i] == "" {
				err = fmt.Errorf("default rule: %w", err)
			}
			return cgroups.FieldErr(field, err)
		}
	}
	got, err := cgroups.ReadTrimmed(filepath.Join(dir, "devices.list"))
	if err != nil {
		return cgroups.FieldErrf("devices", "read back devices.list: %w", err)
	}
	if have, w := cgroups.Lines(got), want.list(); !slices.Equal(have, w) {
		return cgroups.FieldErrf("devices", "the kernel's devices.list %q is not the configured allowlist %q", have, w)
	}
	return nil
}
