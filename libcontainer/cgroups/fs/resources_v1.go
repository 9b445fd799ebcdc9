package fs

// This file: applying linux.resources at create, before any process joins
// the cgroups: memory, cpu, cpuset and pids here; blkio, hugetlb, network,
// rdma and unified in resources_extra_v1.go; the device allowlist in
// devices_v1.go. runc's fs (v1) driver is the reference behaviour:
//
//   - A field runc keeps as a plain integer (memory limit, reservation, swap,
//     kernel, kernelTCP; cpu shares, period, quota, realtime runtime and
//     period; blkio weight and leafWeight) is not set when it is 0. pids.limit
//     0 is a real limit, as runtime-spec 1.3.0 says (runc 1.1 skips it).
//   - -1 means unlimited where the kernel has such a value.
//   - Every value is written, then read back and compared with what the
//     kernel should show for it (a byte limit rounded down to whole pages,
//     "max" for -1, a CPU list in any spelling), so a value the kernel clamps
//     or ignores is an error naming the field instead of a limit that does
//     not hold. The deprecated memory.kernel is the one exception: the kernel
//     accepts and ignores it, so it is only a warning, as in runc.

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ocirun/ocirun/libcontainer/cgroups"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Set applies r to the container's cgroups, which Create has made and no
// process has joined yet, in runc's controller order. A nil r still sets
// up the device allowlist: deny all but the devices every container needs.
// Set is for create: it rebuilds the allowlist from "deny all", which on a
// running container would briefly cut it off from every device, and an
// update would need the minimal transition between two lists instead.
func (m *Manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		r = &specs.LinuxResources{}
	}
	steps := []func(*specs.LinuxResources) error{
		m.setCpuset, m.setDevices, m.setMemory, m.setCPU, m.setPids,
		m.setBlkio, m.setHugetlb, m.setNetwork, m.setRdma, m.setUnified,
	}
	for _, step := range steps {
		if err := step(r); err != nil {
			return err
		}
	}
	return nil
}

// dir returns the container's directory for controller, or an error naming
// field (the first field that needs it) when the controller is not mounted.
func (m *Manager) dir(controller, field string) (string, error) {
	if d, ok := m.Paths[controller]; ok {
		return d, nil
	}
	return "", cgroups.FieldErrf(field, "the %s cgroup controller is not mounted on this host", controller)
}

const (
	memLimitFile = "memory.limit_in_bytes"
	memswFile    = "memory.memsw.limit_in_bytes"
	kmemFile     = "memory.kmem.limit_in_bytes"
	kmemTCPFile  = "memory.kmem.tcp.limit_in_bytes"
)

func (m *Manager) setMemory(r *specs.LinuxResources) error {
	mem := r.Memory
	if mem == nil {
		return nil
	}
	first := firstSet([]struct {
		name string
		set  bool
	}{
		{"limit", cgroups.Val(mem.Limit) != 0}, {"reservation", cgroups.Val(mem.Reservation) != 0},
		{"swap", cgroups.Val(mem.Swap) != 0}, {"kernel", cgroups.Val(mem.Kernel) != 0},
		{"kernelTCP", cgroups.Val(mem.KernelTCP) != 0},
		{"swappiness", mem.Swappiness != nil && *mem.Swappiness != math.MaxUint64},
		{"disableOOMKiller", mem.DisableOOMKiller != nil}, {"useHierarchy", mem.UseHierarchy != nil},
	})
	if first == "" {
		return nil
	}
	dir, err := m.dir("memory", "memory."+first)
	if err != nil {
		return err
	}
	if err := setMemoryAndSwap(dir, cgroups.Val(mem.Limit), cgroups.Val(mem.Swap)); err != nil {
		return err
	}
	if k := cgroups.Val(mem.Kernel); k != 0 {
		// Deprecated; Linux 6 keeps the file but ignores what is written.
		err := errors.New("this kernel has no " + kmemFile)
		if cgroups.Exists(dir, kmemFile) {
			err = errors.Unwrap(cgroups.SetBytes("memory.kernel", dir, kmemFile, k))
		}
		if err != nil {
			slog.Warn("linux.resources.memory.kernel: not applied (kernel memory limits are deprecated, and ignored by Linux 6): " + err.Error())
		}
	}
	if k := cgroups.Val(mem.KernelTCP); k != 0 {
		if !cgroups.Exists(dir, kmemTCPFile) {
			slog.Warn("linux.resources.memory.kernelTCP: not applied (deprecated): this kernel has no " + kmemTCPFile)
		} else if err := cgroups.SetBytes("memory.kernelTCP", dir, kmemTCPFile, k); err != nil {
			return err
		}
	}
	if v := cgroups.Val(mem.Reservation); v != 0 {
		if err := cgroups.SetBytes("memory.reservation", dir, "memory.soft_limit_in_bytes", v); err != nil {
			return err
		}
	}
	if mem.DisableOOMKiller != nil {
		v := boolDigit(*mem.DisableOOMKiller)
		if err := cgroups.WriteChecked("memory.disableOOMKiller", dir, "memory.oom_control", v, oomCheck(v)); err != nil {
			return err
		}
	}
	// The spec's range is 0-100 (Linux takes up to 200); -1 in uint64, as
	// some managers send, means unset.
	if s := mem.Swappiness; s != nil && *s != math.MaxUint64 {
		if *s > 100 {
			return cgroups.FieldErrf("memory.swappiness", "%d is out of range 0-100", *s)
		}
		if err := cgroups.WriteChecked("memory.swappiness", dir, "memory.swappiness", strconv.FormatUint(*s, 10), nil); err != nil {
			return err
		}
	}
	if mem.UseHierarchy != nil {
		err := cgroups.WriteChecked("memory.useHierarchy", dir, "memory.use_hierarchy", boolDigit(*mem.UseHierarchy), nil)
		if errors.Is(err, unix.EINVAL) && !*mem.UseHierarchy {
			err = cgroups.FieldErrf("memory.useHierarchy", "false is refused by this kernel, which always accounts hierarchically: %w", errors.Unwrap(err))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// setMemoryAndSwap sets the memory limit and the memory+swap limit (the
// spec's swap) in the order the kernel accepts: memsw may never be below
// the limit, so a memsw above the current limit goes first.
func setMemoryAndSwap(dir string, limit, swap int64) error {
	hasMemsw := cgroups.Exists(dir, memswFile)
	if limit == -1 && swap == 0 && hasMemsw {
		swap = -1 // unlimited memory means unlimited swap too (runc)
	}
	if swap != 0 && !hasMemsw {
		if swap != -1 && swap != limit {
			return cgroups.FieldErrf("memory.swap", "%s has no %s: the kernel does not account swap (boot with swapaccount=1)", dir, memswFile)
		}
		// -1, or equal to the limit (no swap): nothing beyond the memory
		// limit to enforce, and no file to enforce it with.
		slog.Warn(fmt.Sprintf("linux.resources.memory.swap: not applied: the kernel does not account swap (no %s)", memswFile))
		swap = 0
	}
	setLimit := func() error {
		if limit == 0 {
			return nil
		}
		return cgroups.SetBytes("memory.limit", dir, memLimitFile, limit)
	}
	setSwap := func() error {
		if swap == 0 {
			return nil
		}
		return cgroups.SetBytes("memory.swap", dir, memswFile, swap)
	}
	swapFirst := false
	if limit != 0 && swap != 0 {
		cur, err := cgroups.ReadTrimmed(filepath.Join(dir, memLimitFile))
		if err != nil {
			return cgroups.FieldErrf("memory.limit", "read %s: %w", memLimitFile, err)
		}
		n, err := strconv.ParseUint(cur, 10, 64)
		if err != nil {
			return cgroups.FieldErrf("memory.limit", "parse %s: %w", memLimitFile, err)
		}
		swapFirst = swap == -1 || n < uint64(swap)
	}
	if swapFirst {
		if err := setSwap(); err != nil {
			return err
		}
		return setLimit()
	}
	if err := setLimit(); err != nil {
		return err
	}
	return setSwap()
}

// oomCheck reads memory.oom_control, whose first line is
// "oom_kill_disable N".
func oomCheck(v string) cgroups.Checker {
	return func(got string) (string, bool) {
		line, _, _ := strings.Cut(got, "\n")
		return "oom_kill_disable " + v, line == "oom_kill_disable "+v
	}
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// firstSet returns the name of the first field that is set, or "".
func firstSet(fields []struct {
	name string
	set  bool
}) string {
	for _, f := range fields {
		if f.set {
			return f.name
		}
	}
	return ""
}

func (m *Manager) setCPU(r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	first := firstSet([]struct {
		name string
		set  bool
	}{
		{"shares", cgroups.Val(c.Shares) != 0}, {"period", cgroups.Val(c.Period) != 0}, {"quota", cgroups.Val(c.Quota) != 0},
		{"burst", c.Burst != nil}, {"realtimePeriod", cgroups.Val(c.RealtimePeriod) != 0},
		{"realtimeRuntime", cgroups.Val(c.RealtimeRuntime) != 0}, {"idle", c.Idle != nil},
	})
	if first == "" {
		return nil
	}
	dir, err := m.dir("cpu", "cpu."+first)
	if err != nil {
		return err
	}
	if v := cgroups.Val(c.Shares); v != 0 {
		s := strconv.FormatUint(v, 10)
		if err := cgroups.WriteCtl(dir, "cpu.shares", s); err != nil {
			return cgroups.FieldErr("cpu.shares", err)
		}
		// The kernel clamps shares silently (to 2-262144).
		got, err := cgroups.ReadTrimmed(filepath.Join(dir, "cpu.shares"))
		if err != nil {
			return cgroups.FieldErrf("cpu.shares", "read back cpu.shares: %w", err)
		}
		if got != s {
			return cgroups.FieldErrf("cpu.shares", "%d is out of the kernel's range: it keeps %s instead", v, got)
		}
	}
	// A period the kernel refuses (EINVAL) can be fine once the quota is
	// set: try again after it, as runc does.
	retryPeriod := false
	if v := cgroups.Val(c.Period); v != 0 {
		err := cgroups.WriteCtl(dir, "cpu.cfs_period_us", strconv.FormatUint(v, 10))
		if errors.Is(err, unix.EINVAL) && cgroups.Val(c.Quota) != 0 {
			retryPeriod = true
		} else if err != nil {
			return cgroups.FieldErr("cpu.period", err)
		}
	}
	if v := cgroups.Val(c.Quota); v != 0 {
		want := strconv.FormatInt(v, 10)
		if v < 0 {
			want = "-1"
		}
		if err := cgroups.WriteChecked("cpu.quota", dir, "cpu.cfs_quota_us", strconv.FormatInt(v, 10), cgroups.Same(want)); err != nil {
			return err
		}
	}
	if v := cgroups.Val(c.Period); v != 0 {
		s := strconv.FormatUint(v, 10)
		if retryPeriod {
			if err := cgroups.WriteCtl(dir, "cpu.cfs_period_us", s); err != nil {
				return cgroups.FieldErr("cpu.period", err)
			}
		}
		if err := cgroups.WriteChecked("cpu.period", dir, "cpu.cfs_period_us", s, nil); err != nil {
			return err
		}
	}
	if c.Burst != nil {
		if err := cgroups.WriteChecked("cpu.burst", dir, "cpu.cfs_burst_us", strconv.FormatUint(*c.Burst, 10), nil); err != nil {
			return err
		}
	}
	if v := cgroups.Val(c.RealtimePeriod); v != 0 {
		if err := cgroups.WriteChecked("cpu.realtimePeriod", dir, "cpu.rt_period_us", strconv.FormatUint(v, 10), nil); err != nil {
			return err
		}
	}
	if v := cgroups.Val(c.RealtimeRuntime); v != 0 {
		err := cgroups.WriteChecked("cpu.realtimeRuntime", dir, "cpu.rt_runtime_us", strconv.FormatInt(v, 10), nil)
		if errors.Is(err, unix.EINVAL) {
			// The sum of the children's runtimes must fit their parent's.
			err = cgroups.FieldErrf("cpu.realtimeRuntime", "%w (it must fit in what the parent cgroup's cpu.rt_runtime_us leaves, and within kernel.sched_rt_runtime_us)", errors.Unwrap(err))
		}
		if err != nil {
			return err
		}
	}
	if c.Idle != nil {
		if err := cgroups.WriteChecked("cpu.idle", dir, "cpu.idle", strconv.FormatInt(*c.Idle, 10), nil); err != nil {
			return err
		}
	}
	return nil
}

// setCpuset runs first: Create has filled cpuset.cpus and cpuset.mems from
// the parent, and the spec's values must be within those.
func (m *Manager) setCpuset(r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil || (c.Cpus == "" && c.Mems == "") {
		return nil
	}
	for _, f := range []struct{ field, file, val string }{
		{"cpu.cpus", "cpuset.cpus", c.Cpus},
		{"cpu.mems", "cpuset.mems", c.Mems},
	} {
		if f.val == "" {
			continue
		}
		dir, err := m.dir("cpuset", f.field)
		if err != nil {
			return err
		}
		want, err := cgroups.ParseList(f.val)
		if err != nil {
			return cgroups.FieldErr(f.field, err)
		}
		err = cgroups.WriteChecked(f.field, dir, f.file, f.val, func(got string) (string, bool) {
			have, err := cgroups.ParseList(got)
			return cgroups.FormatList(want), err == nil && slices.Equal(have, want)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) setPids(r *specs.LinuxResources) error {
	if r.Pids == nil || r.Pids.Limit == nil {
		return nil
	}
	dir, err := m.dir("pids", "pids.limit")
	if err != nil {
		return err
	}
	v := "max"
	if n := *r.Pids.Limit; n >= 0 {
		v = strconv.FormatInt(n, 10)
	}
	return cgroups.WriteChecked("pids.limit", dir, "pids.max", v, nil)
}
