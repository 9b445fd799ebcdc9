package specutil

// checkResources: the pure checks of linux.resources, before anything is
// created. What only the host can tell (a controller or a file that is
// missing, a value the kernel refuses or clamps) is found when the values
// are applied (cgroups.Manager.Set), with an error naming the field too.

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

// ValidateResources runs the checks of linux.resources on r alone: update
// checks with it the values a container would have after the change.
func ValidateResources(r *specs.LinuxResources) error {
	return checkResources(&specs.Spec{Linux: &specs.Linux{Resources: r}}, "")
}

func checkResources(s *specs.Spec, _ string) error {
	r := s.Linux.Resources
	if r == nil {
		return nil
	}
	const f = "linux.resources."
	for i, d := range r.Devices {
		if err := cgroups.CheckDeviceRule(d); err != nil {
			sub, msg, _ := strings.Cut(err.Error(), ": ")
			return problem(fmt.Sprintf(f+"devices[%d].%s", i, sub), "%s", msg)
		}
	}
	if err := checkMemory(r.Memory); err != nil {
		return err
	}
	if err := checkCPU(r.CPU); err != nil {
		return err
	}
	if b := r.BlockIO; b != nil {
		for i, wd := range b.WeightDevice {
			if wd.Weight == nil && wd.LeafWeight == nil {
				return problem(fmt.Sprintf(f+"blockIO.weightDevice[%d]", i), "needs weight or leafWeight")
			}
		}
	}
	seen := map[string]bool{}
	for i, h := range r.HugepageLimits {
		field := fmt.Sprintf(f+"hugepageLimits[%d].pageSize", i)
		if _, err := cgroups.ParsePageSize(h.Pagesize); err != nil {
			return problem(field, "%v", err)
		}
		if seen[h.Pagesize] {
			return problem(field, "%s is listed twice", h.Pagesize)
		}
		seen[h.Pagesize] = true
	}
	if n := r.Network; n != nil {
		for i, p := range n.Priorities {
			if p.Name == "" || strings.ContainsAny(p.Name, " \t\n/") {
				return problem(fmt.Sprintf(f+"network.priorities[%d].name", i), "%q is not an interface name", p.Name)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Rdma)) {
		l := r.Rdma[name]
		if name == "" || strings.ContainsAny(name, " \t\n") {
			return problem(f+"rdma", "%q is not a device name", name)
		}
		if l.HcaHandles == nil && l.HcaObjects == nil {
			return problem(f+"rdma."+name, "needs hcaHandles or hcaObjects")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Unified)) {
		if k == "" || k == "." || k == ".." || strings.Contains(k, "/") {
			return problem(f+"unified", "key %q is not a cgroup file name", k)
		}
	}
	return nil
}

func checkMemory(m *specs.LinuxMemory) error {
	if m == nil {
		return nil
	}
	const f = "linux.resources.memory."
	for _, v := range []struct {
		name string
		p    *int64
	}{{"limit", m.Limit}, {"reservation", m.Reservation}, {"swap", m.Swap}, {"kernel", m.Kernel}, {"kernelTCP", m.KernelTCP}} {
		if v.p != nil && *v.p < -1 {
			return problem(f+v.name, "%d is not a byte count (or -1 for unlimited)", *v.p)
		}
	}
	// swap is the memory+swap limit: it needs a memory limit it is not below.
	if swap := deref(m.Swap); swap > 0 {
		limit := deref(m.Limit)
		if limit <= 0 {
			return problem(f+"swap", "a memory+swap limit needs a memory limit (linux.resources.memory.limit)")
		}
		if swap < limit {
			return problem(f+"swap", "%d is below limit %d: swap is the memory+swap limit", swap, limit)
		}
	}
	// -1 in uint64, as some managers send, means unset.
	if s := m.Swappiness; s != nil && *s > 100 && *s != math.MaxUint64 {
		return problem(f+"swappiness", "%d is out of range 0-100", *s)
	}
	return nil
}

func checkCPU(c *specs.LinuxCPU) error {
	if c == nil {
		return nil
	}
	const f = "linux.resources.cpu."
	if q := deref(c.Quota); q < -1 {
		return problem(f+"quota", "%d is not a time in microseconds (or -1 for unlimited)", q)
	}
	if c.Burst != nil && deref(c.Quota) > 0 && *c.Burst > uint64(*c.Quota) {
		return problem(f+"burst", "%d is above quota %d", *c.Burst, *c.Quota)
	}
	if rt, p := deref(c.RealtimeRuntime), c.RealtimePeriod; p != nil && *p > 0 && rt > 0 && uint64(rt) > *p {
		return problem(f+"realtimeRuntime", "%d is above realtimePeriod %d", rt, *p)
	}
	if c.Idle != nil && *c.Idle != 0 && *c.Idle != 1 {
		return problem(f+"idle", "%d is neither 0 nor 1", *c.Idle)
	}
	for _, l := range []struct{ name, val string }{{"cpus", c.Cpus}, {"mems", c.Mems}} {
		if _, err := cgroups.ParseList(l.val); err != nil {
			return problem(f+l.name, "%v", err)
		}
	}
	return nil
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
