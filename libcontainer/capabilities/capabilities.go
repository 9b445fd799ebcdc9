// Package capabilities applies the five capability sets of
// process.capabilities to the thread that will exec the container's process.
//
// Names come from syndtr/gocapability; the sets are applied with the raw
// system calls (capget/capset, PR_CAPBSET_*, PR_CAP_AMBIENT_*), never through
// /proc, which belongs to the container by the time they are applied. Every
// failure is returned, except for an ambient capability whose inheritable
// and permitted bits are not configured: the kernel cannot raise it, and
// runc's default spec asks for exactly that, so it is left out (logged at
// debug level), as runc does.
package capabilities

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/syndtr/gocapability/capability"
	"golang.org/x/sys/unix"
)

// Set is a capability set: bit n is capability number n.
type Set uint64

// Has reports whether c is in s.
func (s Set) Has(c int) bool { return c >= 0 && c < 64 && s&(1<<uint(c)) != 0 }

// Names lists the capabilities of s as CAP_ names, in number order.
func (s Set) Names() []string {
	var names []string
	for c := 0; c < 64; c++ {
		if s.Has(c) {
			names = append(names, Name(c))
		}
	}
	return names
}

var byName = func() map[string]int {
	m := make(map[string]int)
	for _, c := range capability.List() {
		m["CAP_"+strings.ToUpper(c.String())] = int(c)
	}
	return m
}()

// Name is the CAP_ name of capability number c.
func Name(c int) string {
	for name, n := range byName {
		if n == c {
			return name
		}
	}
	return fmt.Sprintf("capability %d", c)
}

// Parse turns capability names (CAP_CHOWN; any case) into a set. An unknown
// name is an error naming it.
func Parse(names []string) (Set, error) {
	var s Set
	for _, n := range names {
		c, ok := byName[strings.ToUpper(n)]
		if !ok {
			return 0, fmt.Errorf("unknown capability %q", n)
		}
		s |= 1 << uint(c)
	}
	return s, nil
}

// Caps is the resolved configuration of the five sets.
type Caps struct {
	Bounding, Effective, Permitted, Inheritable, Ambient Set
}

// FieldError is a problem with one set of process.capabilities, named by its
// config name ("bounding", "effective", ...).
type FieldError struct {
	Field, Problem string
}

func (e *FieldError) Error() string {
	return "config.json: process.capabilities." + e.Field + ": " + e.Problem
}

// New resolves the configured sets; an unknown name is a *FieldError. A nil
// config means every set empty (as in runc).
func New(pc *specs.LinuxCapabilities) (*Caps, error) {
	if pc == nil {
		pc = &specs.LinuxCapabilities{}
	}
	c := &Caps{}
	for _, f := range []struct {
		name  string
		names []string
		set   *Set
	}{
		{"bounding", pc.Bounding, &c.Bounding},
		{"effective", pc.Effective, &c.Effective},
		{"permitted", pc.Permitted, &c.Permitted},
		{"inheritable", pc.Inheritable, &c.Inheritable},
		{"ambient", pc.Ambient, &c.Ambient},
	} {
		s, err := Parse(f.names)
		if err != nil {
			return nil, &FieldError{Field: f.name, Problem: err.Error()}
		}
		*f.set = s
	}
	return c, nil
}

// current is the calling thread's capability state.
type current struct {
	bounding, effective, permitted, inheritable Set
}

func readCurrent() (current, error) {
	var cur current
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return cur, fmt.Errorf("read capabilities: %w", err)
	}
	join := func(lo, hi uint32) Set { return Set(lo) | Set(hi)<<32 }
	cur.effective = join(data[0].Effective, data[1].Effective)
	cur.permitted = join(data[0].Permitted, data[1].Permitted)
	cur.inheritable = join(data[0].Inheritable, data[1].Inheritable)
	// lastCap probes with prctl: once, not in the loop condition (that was
	// ~1700 prctl calls per read).
	for n, last := 0, lastCap(); n <= last; n++ {
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n), 0, 0, 0)
		if err != nil {
			return cur, fmt.Errorf("read bounding capability %s: %w", Name(n), err)
		}
		if in == 1 {
			cur.bounding |= 1 << uint(n)
		}
	}
	return cur, nil
}

// lastCap is the highest capability number the kernel knows, probed with
// PR_CAPBSET_READ (EINVAL past the end) rather than read from /proc.
func lastCap() int {
	n := 0
	for n < 63 {
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n+1), 0, 0, 0); err != nil {
			break
		}
		n++
	}
	return n
}

// CheckAvailable fails, naming the set and the capability, when the
// configuration asks for a capability the runtime does not hold: one missing
// from its bounding set (this process's, so in a new user namespace every
// capability is there) or, for the sets capset takes, from its permitted set.
// Without this the kernel's answer would be a bare EPERM, or for the
// bounding set nothing at all.
func (c *Caps) CheckAvailable() error {
	cur, err := readCurrent()
	if err != nil {
		return err
	}
	for _, s := range []struct {
		name string
		want Set
		have Set
		what string
	}{
		{"bounding", c.Bounding, cur.bounding, "bounding"},
		{"effective", c.Effective, cur.permitted & cur.bounding, "permitted"},
		{"permitted", c.Permitted, cur.permitted & cur.bounding, "permitted"},
		{"inheritable", c.Inheritable, cur.bounding | cur.inheritable, "bounding"},
		{"ambient", c.Ambient, cur.permitted & cur.bounding, "permitted"},
	} {
		if missing := s.want &^ s.have; missing != 0 {
			verb := "is"
			if len(missing.Names()) > 1 {
				verb = "are"
			}
			return &FieldError{Field: s.name, Problem: fmt.Sprintf("%s %s not in the runtime's %s set: it cannot be granted here",
				strings.Join(missing.Names(), ", "), verb, s.what)}
		}
	}
	return nil
}

// ApplyBounding drops every capability not in the configured bounding set.
// Dropping needs CAP_SETPCAP, so it runs before the user switch; one that is
// already gone is not dropped again.
func (c *Caps) ApplyBounding() error {
	last := lastCap()
	for n := 0; n <= last; n++ {
		if c.Bounding.Has(n) {
			continue
		}
		if in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n), 0, 0, 0); err == nil && in == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(n), 0, 0, 0); err != nil {
			return fmt.Errorf("drop %s from the bounding set: %w", Name(n), err)
		}
	}
	return nil
}

// ApplyCaps sets the effective, permitted and inheritable sets of the
// calling thread (the one that will exec), then exactly the ambient
// capabilities that the kernel allows: those also inheritable and permitted.
func (c *Caps) ApplyCaps() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(c.Effective), Permitted: uint32(c.Permitted), Inheritable: uint32(c.Inheritable)},
		{Effective: uint32(c.Effective >> 32), Permitted: uint32(c.Permitted >> 32), Inheritable: uint32(c.Inheritable >> 32)},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("apply capabilities (effective %v, permitted %v, inheritable %v): %w",
			c.Effective.Names(), c.Permitted.Names(), c.Inheritable.Names(), err)
	}
	err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	if errors.Is(err, unix.EINVAL) && c.Ambient == 0 {
		return nil // a kernel without ambient capabilities (< 4.3)
	}
	if err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	raisable := c.Ambient & c.Inheritable & c.Permitted
	if dropped := c.Ambient &^ raisable; dropped != 0 {
		slog.Debug("ambient capabilities not raised: not both inheritable and permitted", "caps", dropped.Names())
	}
	for n := 0; n < 64; n++ {
		if !raisable.Has(n) {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(n), 0, 0); err != nil {
			return fmt.Errorf("raise ambient capability %s: %w", Name(n), err)
		}
	}
	return nil
}
