package cgroups

// The device rules of linux.resources.devices, as both the v1 allowlist
// (fs) and the v2 eBPF device filter (fs2) apply them: the configured rules
// in their order after a leading "deny all", then DefaultDevices.

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// devRule is one allowlist entry.
type DeviceRule struct {
	Type         byte  // 'a' (all: major, minor and access do not matter), 'b' or 'c'
	Major, Minor int64 // -1: any
	Access       string
	Allow        bool
}

// String is the rule as devices.allow and devices.deny take it, and as
// devices.list shows an exception.
func (r DeviceRule) String() string {
	if r.Type == 'a' {
		return "a"
	}
	return fmt.Sprintf("%c %s:%s %s", r.Type, devNum(r.Major), devNum(r.Minor), r.Access)
}

func devNum(n int64) string {
	if n < 0 {
		return "*"
	}
	return strconv.FormatInt(n, 10)
}

// defaultDevices are allowed after the configured rules: runc's list (its
// AllowedDevices) without tun/tap, which runc dropped after 1.1 too.
var DefaultDevices = []DeviceRule{
	{Type: 'c', Major: -1, Minor: -1, Access: "m", Allow: true},    // mknod any char device
	{Type: 'b', Major: -1, Minor: -1, Access: "m", Allow: true},    // mknod any block device
	{Type: 'c', Major: 1, Minor: 3, Access: "rwm", Allow: true},    // /dev/null
	{Type: 'c', Major: 1, Minor: 8, Access: "rwm", Allow: true},    // /dev/random
	{Type: 'c', Major: 1, Minor: 7, Access: "rwm", Allow: true},    // /dev/full
	{Type: 'c', Major: 5, Minor: 0, Access: "rwm", Allow: true},    // /dev/tty
	{Type: 'c', Major: 1, Minor: 5, Access: "rwm", Allow: true},    // /dev/zero
	{Type: 'c', Major: 1, Minor: 9, Access: "rwm", Allow: true},    // /dev/urandom
	{Type: 'c', Major: 136, Minor: -1, Access: "rwm", Allow: true}, // /dev/pts/*, /dev/console
	{Type: 'c', Major: 5, Minor: 2, Access: "rwm", Allow: true},    // /dev/ptmx
}

// devRuleFromSpec converts linux.resources.devices[i]: an unset type is "a", unset
// numbers are "*" and an unset access is "rwm" (every unset field of the
// entry means "all").
func devRuleFromSpec(d specs.LinuxDeviceCgroup) (DeviceRule, error) {
	r := DeviceRule{Type: 'a', Major: -1, Minor: -1, Access: "rwm", Allow: d.Allow}
	switch d.Type {
	case "", "a":
	case "b", "c":
		r.Type = d.Type[0]
	default:
		return r, fmt.Errorf("type: unknown device type %q: want a, b or c", d.Type)
	}
	for _, n := range []struct {
		name string
		p    *int64
		dst  *int64
	}{{"major", d.Major, &r.Major}, {"minor", d.Minor, &r.Minor}} {
		if n.p == nil {
			continue
		}
		if *n.p < -1 {
			return r, fmt.Errorf("%s: %d is not a device number (or -1 for all)", n.name, *n.p)
		}
		*n.dst = *n.p
	}
	if d.Access != "" {
		bits, ok := AccessBits(d.Access)
		if !ok {
			return r, fmt.Errorf("access: %q is not a combination of r, w and m", d.Access)
		}
		r.Access = AccessString(bits)
	}
	return r, nil
}

// CheckDeviceRule is the pure check of one linux.resources.devices entry:
// the returned error starts with the name of the bad sub-field.
func CheckDeviceRule(d specs.LinuxDeviceCgroup) error {
	_, err := devRuleFromSpec(d)
	return err
}

func AccessBits(s string) (uint8, bool) {
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

func AccessString(b uint8) string {
	var s []byte
	for i, c := range []byte("rwm") {
		if b&(1<<i) != 0 {
			s = append(s, c)
		}
	}
	return string(s)
}

// deviceRules returns the rules to write, in order, with the config field
// each comes from ("" for the leading deny-all and the defaults).
func DeviceRules(list []specs.LinuxDeviceCgroup) ([]DeviceRule, []string, error) {
	rules := []DeviceRule{{Type: 'a', Allow: false}}
	fields := []string{""}
	for i, d := range list {
		field := fmt.Sprintf("devices[%d]", i)
		r, err := devRuleFromSpec(d)
		if err != nil {
			sub, msg, _ := strings.Cut(err.Error(), ": ")
			return nil, nil, FieldErrf(field+"."+sub, "%s", msg)
		}
		rules = append(rules, r)
		fields = append(fields, field)
	}
	for range DefaultDevices {
		fields = append(fields, "")
	}
	return append(rules, DefaultDevices...), fields, nil
}
