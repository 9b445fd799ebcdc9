// Package capabilities applies the five capability sets of process.capabilities.
package capabilities

import (
	"fmt"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/syndtr/gocapability/capability"
)

var byName = func() map[string]capability.Cap {
	m := make(map[string]capability.Cap)
	for _, c := range capability.List() {
		m["CAP_"+strings.ToUpper(c.String())] = c
	}
	return m
}()

// Caps is the resolved configuration of the five sets.
type Caps struct {
	sets map[capability.CapType][]capability.Cap
	pid  capability.Capabilities
}

// Parse resolves capability names; an unknown name is an error naming it.
func Parse(names []string, field string) ([]capability.Cap, error) {
	caps := make([]capability.Cap, 0, len(names))
	for _, n := range names {
		c, ok := byName[strings.ToUpper(n)]
		if !ok {
			return nil, fmt.Errorf("config.json: process.capabilities.%s: unknown capability %q", field, n)
		}
		caps = append(caps, c)
	}
	return caps, nil
}

// New resolves the configured sets against the current process. A nil config
// means every set empty (as runc does).
func New(pc *specs.LinuxCapabilities) (*Caps, error) {
	if pc == nil {
		pc = &specs.LinuxCapabilities{}
	}
	c := &Caps{sets: make(map[capability.CapType][]capability.Cap)}
	for _, s := range []struct {
		t     capability.CapType
		names []string
		field string
	}{
		{capability.BOUNDING, pc.Bounding, "bounding"},
		{capability.EFFECTIVE, pc.Effective, "effective"},
		{capability.PERMITTED, pc.Permitted, "permitted"},
		{capability.INHERITABLE, pc.Inheritable, "inheritable"},
		{capability.AMBIENT, pc.Ambient, "ambient"},
	} {
		caps, err := Parse(s.names, s.field)
		if err != nil {
			return nil, err
		}
		c.sets[s.t] = caps
	}
	pid, err := capability.NewPid2(0)
	if err != nil {
		return nil, fmt.Errorf("read capabilities: %w", err)
	}
	if err := pid.Load(); err != nil {
		return nil, fmt.Errorf("read capabilities: %w", err)
	}
	c.pid = pid
	for _, b := range c.sets[capability.BOUNDING] {
		if !pid.Get(capability.BOUNDING, b) {
			return nil, fmt.Errorf("config.json: process.capabilities.bounding: %s is not in the runtime's bounding set", "CAP_"+strings.ToUpper(b.String()))
		}
	}
	return c, nil
}

// ApplyBounding drops every capability not in the bounding set. It needs
// CAP_SETPCAP, so it runs before the user switch.
func (c *Caps) ApplyBounding() error {
	c.pid.Clear(capability.BOUNDING)
	c.pid.Set(capability.BOUNDING, c.sets[capability.BOUNDING]...)
	if err := c.pid.Apply(capability.BOUNDING); err != nil {
		return fmt.Errorf("apply bounding capabilities: %w", err)
	}
	return nil
}

// ApplyCaps sets the effective, permitted, inheritable and ambient sets of
// the calling thread (the one that will exec).
func (c *Caps) ApplyCaps() error {
	c.pid.Clear(capability.CAPS | capability.AMBIENT)
	for _, t := range []capability.CapType{capability.EFFECTIVE, capability.PERMITTED, capability.INHERITABLE, capability.AMBIENT} {
		c.pid.Set(t, c.sets[t]...)
	}
	if err := c.pid.Apply(capability.CAPS); err != nil {
		return fmt.Errorf("apply capabilities: %w", err)
	}
	if err := c.pid.Apply(capability.AMBIENT); err != nil {
		return fmt.Errorf("apply ambient capabilities: %w", err)
	}
	return nil
}
