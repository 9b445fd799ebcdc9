package libcontainer

// Update: changing the resources of a created, running or paused container.
// The request is a linux.resources in which a zero value means "leave it"
// (docker sends cpu.shares 0, runc 1.1 starts from all zeros), so it is
// first reduced to its delta: the fields that change something. The delta
// merged into the stored config must pass the checks create makes; then
// only the delta is written to the cgroups, and the merged resources
// replace linux.resources in the stored config.json, so that later
// commands see them and a second update builds on the first.

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"

	"github.com/ocirun/ocirun/libcontainer/specutil"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Update applies r to the container's cgroups and records the result in
// its config. The caller holds the container's lock (LoadLocked).
func (c *Container) Update(r *specs.LinuxResources) error {
	if c.Status() == Stopped {
		return ErrNotRunning
	}
	if c.state.cgroup() == nil {
		return fmt.Errorf("update container %s: it has no cgroups", c.id)
	}
	s, err := c.Spec()
	if err != nil {
		return err
	}
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	d := updateDelta(r)
	merged := mergeResources(s.Linux.Resources, d)
	if err := specutil.ValidateResources(merged); err != nil {
		return fmt.Errorf("update container %s: %w", c.id, err)
	}
	if err := c.checkBeforeUpdate(merged, d); err != nil {
		return fmt.Errorf("update container %s: %w", c.id, err)
	}
	if err := c.state.cgroup().Update(d); err != nil {
		return fmt.Errorf("update container %s: %w", c.id, err)
	}
	s.Linux.Resources = merged
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("update container %s: encode config: %w", c.id, err)
	}
	if err := writeFileAtomic(c.dir, configFile, b); err != nil {
		return fmt.Errorf("update container %s: the cgroups are changed but the config is not: %w", c.id, err)
	}
	return nil
}

// checkBeforeUpdate refuses a new memory limit below the container's
// current usage when memory.checkBeforeUpdate is set (in the request or
// in the container's config): the kernel would reclaim or, on v2, OOM-kill
// to get below it, which that setting asks not to risk.
func (c *Container) checkBeforeUpdate(merged, d *specs.LinuxResources) error {
	if d.Memory == nil || d.Memory.Limit == nil || *d.Memory.Limit <= 0 ||
		merged.Memory == nil || merged.Memory.CheckBeforeUpdate == nil || !*merged.Memory.CheckBeforeUpdate {
		return nil
	}
	st, err := c.state.cgroup().Stats()
	if err != nil {
		return fmt.Errorf("linux.resources.memory.checkBeforeUpdate: read the memory usage: %w", err)
	}
	if usage := st.Memory.Usage.Usage; uint64(*d.Memory.Limit) < usage {
		return fmt.Errorf("linux.resources.memory.limit: %d is below the container's memory usage %d and memory.checkBeforeUpdate is set", *d.Memory.Limit, usage)
	}
	return nil
}

// updateDelta returns the fields of r that ask for a change: without the
// zero integers that mean "unchanged" (memory limits, cpu shares, period,
// quota and realtime values, blkio weights, and a pids limit of 0 as in
// runc 1.1), swappiness -1, empty cpu and mem lists, and the devices,
// which update does not change (runc ignores them too).
func updateDelta(r *specs.LinuxResources) *specs.LinuxResources {
	if r == nil {
		return &specs.LinuxResources{}
	}
	if len(r.Devices) > 0 {
		slog.Debug("update: linux.resources.devices ignored: update does not change the device allowlist")
	}
	d := &specs.LinuxResources{
		HugepageLimits: r.HugepageLimits,
		Network:        r.Network,
		Rdma:           r.Rdma,
		Unified:        r.Unified,
	}
	if m := r.Memory; m != nil {
		dm := &specs.LinuxMemory{
			Limit: nz(m.Limit), Reservation: nz(m.Reservation), Swap: nz(m.Swap),
			Kernel: nz(m.Kernel), KernelTCP: nz(m.KernelTCP),
			Swappiness: m.Swappiness, DisableOOMKiller: m.DisableOOMKiller, UseHierarchy: m.UseHierarchy,
			CheckBeforeUpdate: m.CheckBeforeUpdate,
		}
		if dm.Swappiness != nil && *dm.Swappiness == math.MaxUint64 {
			dm.Swappiness = nil
		}
		if *dm != (specs.LinuxMemory{}) {
			d.Memory = dm
		}
	}
	if cpu := r.CPU; cpu != nil {
		dc := &specs.LinuxCPU{
			Shares: nz(cpu.Shares), Quota: nz(cpu.Quota), Period: nz(cpu.Period), Burst: cpu.Burst,
			RealtimeRuntime: nz(cpu.RealtimeRuntime), RealtimePeriod: nz(cpu.RealtimePeriod),
			Cpus: cpu.Cpus, Mems: cpu.Mems, Idle: cpu.Idle,
		}
		if *dc != (specs.LinuxCPU{}) {
			d.CPU = dc
		}
	}
	if p := r.Pids; p != nil && nz(p.Limit) != nil {
		d.Pids = &specs.LinuxPids{Limit: p.Limit}
	}
	if b := r.BlockIO; b != nil {
		db := *b
		db.Weight, db.LeafWeight = nz(b.Weight), nz(b.LeafWeight)
		if db.Weight != nil || db.LeafWeight != nil || len(db.WeightDevice) > 0 ||
			len(db.ThrottleReadBpsDevice) > 0 || len(db.ThrottleWriteBpsDevice) > 0 ||
			len(db.ThrottleReadIOPSDevice) > 0 || len(db.ThrottleWriteIOPSDevice) > 0 {
			d.BlockIO = &db
		}
	}
	return d
}

// nz is p, or nil when *p is zero.
func nz[T int64 | uint64 | uint16](p *T) *T {
	if p == nil || *p == 0 {
		return nil
	}
	return p
}

// mergeResources returns a copy of old with the fields of d set over it.
// Per-device, per-page-size and per-interface entries replace the entry
// for the same device, page size or interface and keep the others. An
// unlimited memory limit without a new swap limit makes swap unlimited
// too, as the cgroup writer does (runc's rule).
func mergeResources(old, d *specs.LinuxResources) *specs.LinuxResources {
	var m specs.LinuxResources
	if old != nil {
		// A deep copy: the merge must not change old.
		b, _ := json.Marshal(old)
		_ = json.Unmarshal(b, &m)
	}
	if dm := d.Memory; dm != nil {
		if m.Memory == nil {
			m.Memory = &specs.LinuxMemory{}
		}
		mm := m.Memory
		over(&mm.Limit, dm.Limit)
		over(&mm.Reservation, dm.Reservation)
		over(&mm.Swap, dm.Swap)
		over(&mm.Kernel, dm.Kernel)
		over(&mm.KernelTCP, dm.KernelTCP)
		over(&mm.Swappiness, dm.Swappiness)
		over(&mm.DisableOOMKiller, dm.DisableOOMKiller)
		over(&mm.UseHierarchy, dm.UseHierarchy)
		over(&mm.CheckBeforeUpdate, dm.CheckBeforeUpdate)
		if dm.Limit != nil && *dm.Limit == -1 && dm.Swap == nil && mm.Swap != nil {
			mm.Swap = dm.Limit
		}
	}
	if dc := d.CPU; dc != nil {
		if m.CPU == nil {
			m.CPU = &specs.LinuxCPU{}
		}
		mc := m.CPU
		over(&mc.Shares, dc.Shares)
		over(&mc.Quota, dc.Quota)
		over(&mc.Period, dc.Period)
		over(&mc.Burst, dc.Burst)
		over(&mc.RealtimeRuntime, dc.RealtimeRuntime)
		over(&mc.RealtimePeriod, dc.RealtimePeriod)
		over(&mc.Idle, dc.Idle)
		if dc.Cpus != "" {
			mc.Cpus = dc.Cpus
		}
		if dc.Mems != "" {
			mc.Mems = dc.Mems
		}
	}
	if d.Pids != nil {
		m.Pids = &specs.LinuxPids{Limit: d.Pids.Limit}
	}
	if db := d.BlockIO; db != nil {
		if m.BlockIO == nil {
			m.BlockIO = &specs.LinuxBlockIO{}
		}
		mb := m.BlockIO
		over(&mb.Weight, db.Weight)
		over(&mb.LeafWeight, db.LeafWeight)
		for _, wd := range db.WeightDevice {
			i := slices.IndexFunc(mb.WeightDevice, func(o specs.LinuxWeightDevice) bool { return o.LinuxBlockIODevice == wd.LinuxBlockIODevice })
			if i < 0 {
				mb.WeightDevice = append(mb.WeightDevice, wd)
				continue
			}
			over(&mb.WeightDevice[i].Weight, wd.Weight)
			over(&mb.WeightDevice[i].LeafWeight, wd.LeafWeight)
		}
		mb.ThrottleReadBpsDevice = mergeThrottle(mb.ThrottleReadBpsDevice, db.ThrottleReadBpsDevice)
		mb.ThrottleWriteBpsDevice = mergeThrottle(mb.ThrottleWriteBpsDevice, db.ThrottleWriteBpsDevice)
		mb.ThrottleReadIOPSDevice = mergeThrottle(mb.ThrottleReadIOPSDevice, db.ThrottleReadIOPSDevice)
		mb.ThrottleWriteIOPSDevice = mergeThrottle(mb.ThrottleWriteIOPSDevice, db.ThrottleWriteIOPSDevice)
	}
	m.HugepageLimits = mergeBy(m.HugepageLimits, d.HugepageLimits,
		func(h specs.LinuxHugepageLimit) string { return h.Pagesize })
	if dn := d.Network; dn != nil {
		if m.Network == nil {
			m.Network = &specs.LinuxNetwork{}
		}
		over(&m.Network.ClassID, dn.ClassID)
		m.Network.Priorities = mergeBy(m.Network.Priorities, dn.Priorities,
			func(p specs.LinuxInterfacePriority) string { return p.Name })
	}
	if len(d.Rdma) > 0 {
		m.Rdma = maps.Clone(m.Rdma)
		if m.Rdma == nil {
			m.Rdma = map[string]specs.LinuxRdma{}
		}
		maps.Copy(m.Rdma, d.Rdma)
	}
	if len(d.Unified) > 0 {
		if m.Unified == nil {
			m.Unified = map[string]string{}
		}
		maps.Copy(m.Unified, d.Unified)
	}
	return &m
}

// over sets *dst to v when v is set.
func over[T any](dst **T, v *T) {
	if v != nil {
		x := *v
		*dst = &x
	}
}

func mergeThrottle(old, d []specs.LinuxThrottleDevice) []specs.LinuxThrottleDevice {
	return mergeBy(old, d, func(t specs.LinuxThrottleDevice) specs.LinuxBlockIODevice { return t.LinuxBlockIODevice })
}

// mergeBy replaces the entries of old whose key an entry of d has, and
// appends the others.
func mergeBy[T any, K comparable](old, d []T, key func(T) K) []T {
	out := slices.Clone(old)
	for _, e := range d {
		if i := slices.IndexFunc(out, func(o T) bool { return key(o) == key(e) }); i >= 0 {
			out[i] = e
		} else {
			out = append(out, e)
		}
	}
	return out
}
