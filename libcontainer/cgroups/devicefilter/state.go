package devicefilter

// This file: the rule list folded into the state the v1 device controller
// would hold after the same writes (security/device_cgroup.c), as fs's
// devState does for the v1 driver: a default (allow all or deny all) and the
// exceptions to it. The program is generated from that state, not from the
// raw list, so that v1 and v2 agree on every rule list, including the ones
// where order, merging and partial access matter.

import (
	"fmt"
	"math"
	"slices"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

// exception is one entry of the kernel's exception list.
type exception struct {
	typ          byte  // 'b' or 'c'
	major, minor int64 // -1: any
	access       uint8 // cgroups.AccessBits: r=1, w=2, m=4
}

func (e exception) String() string {
	return cgroups.DeviceRule{Type: e.typ, Major: e.major, Minor: e.minor, Access: cgroups.AccessString(e.access)}.String()
}

// state is a cgroup's device rules as the v1 kernel keeps them.
type state struct {
	allowAll bool
	exc      []exception // in insertion order
}

// RuleError is a rule the device controller cannot apply; Index is its
// position in the list given to Compile or Apply.
type RuleError struct {
	Index int
	Rule  cgroups.DeviceRule
	Err   error
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("device rule %d (%s): %v", e.Index, e.Rule, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// fold applies rules in order to a fresh cgroup's state. A fresh v1 cgroup
// copies its parent's; here the parent is whatever the hierarchy above
// enforces (every program on the way up must allow a request too), so the
// start is "allow all".
func fold(rules []cgroups.DeviceRule) (*state, error) {
	s := &state{allowAll: true}
	for i, r := range rules {
		if err := s.apply(r); err != nil {
			return nil, &RuleError{Index: i, Rule: r, Err: err}
		}
	}
	return s, nil
}

// apply changes the state as writing r to devices.allow (r.Allow) or
// devices.deny does.
func (s *state) apply(r cgroups.DeviceRule) error {
	if r.Type == 'a' {
		// "a" empties the list and sets the default, whatever follows it.
		*s = state{allowAll: r.Allow}
		return nil
	}
	if r.Type != 'b' && r.Type != 'c' {
		return fmt.Errorf("unknown device type %q: want a, b or c", r.Type)
	}
	for _, n := range []int64{r.Major, r.Minor} {
		if n < -1 || n >= math.MaxUint32 {
			return fmt.Errorf("%d is not a device number (or -1 for all)", n)
		}
	}
	bits, ok := cgroups.AccessBits(r.Access)
	if !ok || bits == 0 {
		return fmt.Errorf("access %q is not a non-empty combination of r, w and m", r.Access)
	}
	e := exception{typ: r.Type, major: r.Major, minor: r.Minor, access: bits}
	if r.Allow != s.allowAll {
		s.add(e)
		return nil
	}
	return s.remove(e)
}

func (s *state) find(typ byte, major, minor int64) int {
	return slices.IndexFunc(s.exc, func(x exception) bool {
		return x.typ == typ && x.major == major && x.minor == minor
	})
}

// add merges e into the exception with the same numbers, as the kernel
// does, or appends it.
func (s *state) add(e exception) {
	if i := s.find(e.typ, e.major, e.minor); i >= 0 {
		s.exc[i].access |= e.access
		return
	}
	s.exc = append(s.exc, e)
}

// remove takes e's access away from the exception with e's exact numbers.
// The kernel silently keeps a wildcard exception that covers e (it cannot
// punch a hole in it), so that is an error, as in the v1 driver.
func (s *state) remove(e exception) error {
	for _, w := range [][2]int64{{-1, e.minor}, {e.major, -1}, {-1, -1}} {
		if w[0] == e.major && w[1] == e.minor {
			continue
		}
		if i := s.find(e.typ, w[0], w[1]); i >= 0 && s.exc[i].access&e.access != 0 {
			return fmt.Errorf("cannot take %q away from %s: the earlier rule %q covers it, and the kernel cannot make an exception to a wildcard rule",
				cgroups.AccessString(e.access), e, s.exc[i])
		}
	}
	if i := s.find(e.typ, e.major, e.minor); i >= 0 {
		if s.exc[i].access &^= e.access; s.exc[i].access == 0 {
			s.exc = slices.Delete(s.exc, i, i+1)
		}
	}
	return nil
}
