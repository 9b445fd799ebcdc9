package cgroups

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
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// devRule is one allowlist entry.
type devRule struct {
	typ          byte  // 'a' (all: major, minor and access do not matter), 'b' or 'c'
	major, minor int64 // -1: any
	access       string
	allow        bool
}

// String is the rule as devices.allow and devices.deny take it, and as
// devices.list shows an exception.
func (r devRule) String() string {
	if r.typ == 'a' {
		return "a"
	}
	return fmt.Sprintf("%c %s:%s %s", r.typ, devNum(r.major), devNum(r.minor), r.access)
}

func devNum(n int64) string {
	if n < 0 {
		return "*"
	}
	return strconv.FormatInt(n, 10)
}

// defaultDevices are allowed after the configured rules: runc's list (its
// AllowedDevices) without tun/tap, which runc dropped after 1.1 too.
var defaultDevices = []devRule{
	{typ: 'c', major: -1, minor: -1, access: "m", allow: true},    // mknod any char device
	{typ: 'b', major: -1, minor: -1, access: "m", allow: true},    // mknod any block device
	{typ: 'c', major: 1, minor: 3, access: "rwm", allow: true},    // /dev/null
	{typ: 'c', major: 1, minor: 8, access: "rwm", allow: true},    // /dev/random
	{typ: 'c', major: 1, minor: 7, access: "rwm", allow: true},    // /dev/full
	{typ: 'c', major: 5, minor: 0, access: "rwm", allow: true},    // /dev/tty
	{typ: 'c', major: 1, minor: 5, access: "rwm", allow: true},    // /dev/zero
	{typ: 'c', major: 1, minor: 9, access: "rwm", allow: true},    // /dev/urandom
	{typ: 'c', major: 136, minor: -1, access: "rwm", allow: true}, // /dev/pts/*, /dev/console
	{typ: 'c', major: 5, minor: 2, access: "rwm", allow: true},    // /dev/ptmx
}

// devRuleFromSpec converts linux.resources.devices[i]: an unset type is "a", unset
// numbers are "*" and an unset access is "rwm" (every unset field of the
// entry means "all").
func devRuleFromSpec(d specs.LinuxDeviceCgroup) (devRule, error) {
	r := devRule{typ: 'a', major: -1, minor: -1, access: "rwm", allow: d.Allow}
	switch d.Type {
	case "", "a":
	case "b", "c":
		r.typ = d.Type[0]
	default:
		return r, fmt.Errorf("type: unknown device type %q: want a, b or c", d.Type)
	}
	for _, n := range []struct {
		name string
		p    *int64
		dst  *int64
	}{{"major", d.Major, &r.major}, {"minor", d.Minor, &r.minor}} {
		if n.p == nil {
			continue
		}
		if *n.p < -1 {
			return r, fmt.Errorf("%s: %d is not a device number (or -1 for all)", n.name, *n.p)
		}
		*n.dst = *n.p
	}
	if d.Access != "" {
		bits, ok := accessBits(d.Access)
		if !ok {
			return r, fmt.Errorf("access: %q is not a combination of r, w and m", d.Access)
		}
		r.access = accessString(bits)
	}
	return r, nil
}

// CheckDeviceRule is the pure check of one linux.resources.devices entry:
// the returned error starts with the name of the bad sub-field.
func CheckDeviceRule(d specs.LinuxDeviceCgroup) error {
	_, err := devRuleFromSpec(d)
	return err
}

func accessBits(s string) (uint8, bool) {
	var b uint8
	for _, c := range s {
		i := strings.IndexRune("rwm", c)
		if i < 0 {
			return 0, false
		}
		b |= 1 << i
	}
	return b, true
}

func accessString(b uint8) string {
	var s []byte
	for i, c := range []byte("rwm") {
		if b&(1<<i) != 0 {
			s = append(s, c)
		}
	}
	return string(s)
}

// devState is a cgroup's device rules as the kernel keeps them: a default
// (allow all, or deny all) and the exceptions to it, in insertion order.
type devState struct {
	allowAll bool
	exc      []devRule // allow is unused
}

// apply changes the state as writing r to devices.allow (r.allow) or
// devices.deny does.
func (s *devState) apply(r devRule) error {
	if r.typ == 'a' {
		*s = devState{allowAll: r.allow}
		return nil
	}
	if r.allow != s.allowAll {
		s.add(r)
		return nil
	}
	return s.remove(r)
}

func (s *devState) find(typ byte, major, minor int64) int {
	return slices.IndexFunc(s.exc, func(e devRule) bool {
		return e.typ == typ && e.major == major && e.minor == minor
	})
}

func (s *devState) add(r devRule) {
	bits, _ := accessBits(r.access)
	if i := s.find(r.typ, r.major, r.minor); i >= 0 {
		old, _ := accessBits(s.exc[i].access)
		s.exc[i].access = accessString(old | bits)
		return
	}
	s.exc = append(s.exc, devRule{typ: r.typ, major: r.major, minor: r.minor, access: r.access})
}

// remove takes r's access away from the exception with r's exact numbers.
// The kernel silently keeps a wildcard exception that covers r (it cannot
// punch a hole in it), so that is an error here, as in runc.
func (s *devState) remove(r devRule) error {
	bits, _ := accessBits(r.access)
	for _, w := range [][2]int64{{-1, r.minor}, {r.major, -1}, {-1, -1}} {
		if w[0] == r.major && w[1] == r.minor {
			continue
		}
		if i := s.find(r.typ, w[0], w[1]); i >= 0 {
			if have, _ := accessBits(s.exc[i].access); have&bits != 0 {
				return fmt.Errorf("cannot take %q away from %s: the earlier rule %q covers it, and the kernel cannot make an exception to a wildcard rule",
					r.access, devRule{typ: r.typ, major: r.major, minor: r.minor, access: r.access}, s.exc[i].String())
			}
		}
	}
	if i := s.find(r.typ, r.major, r.minor); i >= 0 {
		have, _ := accessBits(s.exc[i].access)
		if left := have &^ bits; left != 0 {
			s.exc[i].access = accessString(left)
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

// deviceRules returns the rules to write, in order, with the config field
// each comes from ("" for the leading deny-all and the defaults).
func deviceRules(list []specs.LinuxDeviceCgroup) ([]devRule, []string, error) {
	rules := []devRule{{typ: 'a', allow: false}}
	fields := []string{""}
	for i, d := range list {
		field := fmt.Sprintf("devices[%d]", i)
		r, err := devRuleFromSpec(d)
		if err != nil {
			sub, msg, _ := strings.Cut(err.Error(), ": ")
			return nil, nil, fieldErrf(field+"."+sub, "%s", msg)
		}
		rules = append(rules, r)
		fields = append(fields, field)
	}
	for range defaultDevices {
		fields = append(fields, "")
	}
	return append(rules, defaultDevices...), fields, nil
}

func (m *Manager) setDevices(r *specs.LinuxResources) error {
	rules, fields, err := deviceRules(r.Devices)
	if err != nil {
		return err
	}
	dir, ok := m.Paths["devices"]
	if !ok {
		if len(r.Devices) > 0 {
			return fieldErrf("devices", "the devices cgroup controller is not mounted on this host")
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
			return fieldErr(field, err)
		}
		file := "devices.deny"
		if rule.allow {
			file = "devices.allow"
		}
		if err := writeCtl(dir, file, rule.String()); err != nil {
			if fields[i] == "" {
				err = fmt.Errorf("default rule: %w", err)
			}
			return fieldErr(field, err)
		}
	}
	got, err := readTrimmed(filepath.Join(dir, "devices.list"))
	if err != nil {
		return fieldErrf("devices", "read back devices.list: %w", err)
	}
	if have, w := lines(got), want.list(); !slices.Equal(have, w) {
		return fieldErrf("devices", "the kernel's devices.list %q is not the configured allowlist %q", have, w)
	}
	return nil
}
