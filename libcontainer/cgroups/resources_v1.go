package cgroups

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
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ResourceError is a failure to apply one field of linux.resources.
type ResourceError struct {
	Field string // JSON path below linux.resources, such as "memory.swappiness"
	Err   error
}

func (e *ResourceError) Error() string { return "linux.resources." + e.Field + ": " + e.Err.Error() }

func (e *ResourceError) Unwrap() error { return e.Err }

func fieldErr(field string, err error) error { return &ResourceError{Field: field, Err: err} }

func fieldErrf(field, format string, args ...any) error {
	return &ResourceError{Field: field, Err: fmt.Errorf(format, args...)}
}

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
	return "", fieldErrf(field, "the %s cgroup controller is not mounted on this host", controller)
}

// checker tells whether got, a control file's trimmed content after a
// write, shows the value written; if not it also returns what it should be.
type checker func(got string) (want string, ok bool)

// same is the checker for files that read back exactly what was written.
func same(val string) checker {
	return func(got string) (string, bool) { return val, got == val }
}

// set writes val to file in dir and reads it back through check (nil:
// the file must read back val).
func set(field, dir, file, val string, check checker) error {
	if err := writeCtl(dir, file, val); err != nil {
		return fieldErr(field, err)
	}
	if check == nil {
		check = same(val)
	}
	got, err := readTrimmed(filepath.Join(dir, file))
	if err != nil {
		return fieldErrf(field, "read back %s: %w", file, err)
	}
	if want, ok := check(got); !ok {
		return fieldErrf(field, "wrote %q to %s but it reads %q, not %q", val, filepath.Join(dir, file), got, want)
	}
	return nil
}

// writeCtl writes val to an existing control file: a cgroupfs never
// creates one, so a missing file means the kernel lacks the feature.
func writeCtl(dir, file, val string) error {
	p := filepath.Join(dir, file)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err == nil {
		_, err = f.WriteString(val)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("write %q to %s: %w", val, p, err)
	}
	return nil
}

func exists(dir, file string) bool {
	_, err := os.Stat(filepath.Join(dir, file))
	return err == nil
}

// val is *p, or 0 when p is nil.
func val[T int64 | uint64 | uint16](p *T) T {
	if p == nil {
		return 0
	}
	return *p
}

// bytesCheck is how the kernel shows a byte limit v written to a memory
// (page_counter) file: rounded down to whole pages, -1 (or anything
// larger than the counter can hold) as its maximum.
func bytesCheck(v int64) checker {
	ps := int64(os.Getpagesize())
	limit := math.MaxInt64 / ps * ps
	want := limit
	if v >= 0 {
		want = min(v/ps*ps, limit)
	}
	return same(strconv.FormatInt(want, 10))
}

func setBytes(field, dir, file string, v int64) error {
	return set(field, dir, file, strconv.FormatInt(v, 10), bytesCheck(v))
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
		{"limit", val(mem.Limit) != 0}, {"reservation", val(mem.Reservation) != 0},
		{"swap", val(mem.Swap) != 0}, {"kernel", val(mem.Kernel) != 0},
		{"kernelTCP", val(mem.KernelTCP) != 0},
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
	if err := setMemoryAndSwap(dir, val(mem.Limit), val(mem.Swap)); err != nil {
		return err
	}
	if k := val(mem.Kernel); k != 0 {
		// Deprecated; Linux 6 keeps the file but ignores what is written.
		err := errors.New("this kernel has no " + kmemFile)
		if exists(dir, kmemFile) {
			err = errors.Unwrap(setBytes("memory.kernel", dir, kmemFile, k))
		}
		if err != nil {
			slog.Warn("linux.resources.memory.kernel: not applied (kernel memory limits are deprecated, and ignored by Linux 6): " + err.Error())
		}
	}
	if k := val(mem.KernelTCP); k != 0 {
		if !exists(dir, kmemTCPFile) {
			slog.Warn("linux.resources.memory.kernelTCP: not applied (deprecated): this kernel has no " + kmemTCPFile)
		} else if err := setBytes("memory.kernelTCP", dir, kmemTCPFile, k); err != nil {
			return err
		}
	}
	if v := val(mem.Reservation); v != 0 {
		if err := setBytes("memory.reservation", dir, "memory.soft_limit_in_bytes", v); err != nil {
			return err
		}
	}
	if mem.DisableOOMKiller != nil {
		v := boolDigit(*mem.DisableOOMKiller)
		if err := set("memory.disableOOMKiller", dir, "memory.oom_control", v, oomCheck(v)); err != nil {
			return err
		}
	}
	// The spec's range is 0-100 (Linux takes up to 200); -1 in uint64, as
	// some managers send, means unset.
	if s := mem.Swappiness; s != nil && *s != math.MaxUint64 {
		if *s > 100 {
			return fieldErrf("memory.swappiness", "%d is out of range 0-100", *s)
		}
		if err := set("memory.swappiness", dir, "memory.swappiness", strconv.FormatUint(*s, 10), nil); err != nil {
			return err
		}
	}
	if mem.UseHierarchy != nil {
		err := set("memory.useHierarchy", dir, "memory.use_hierarchy", boolDigit(*mem.UseHierarchy), nil)
		if errors.Is(err, unix.EINVAL) && !*mem.UseHierarchy {
			err = fieldErrf("memory.useHierarchy", "false is refused by this kernel, which always accounts hierarchically: %w", errors.Unwrap(err))
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
	hasMemsw := exists(dir, memswFile)
	if limit == -1 && swap == 0 && hasMemsw {
		swap = -1 // unlimited memory means unlimited swap too (runc)
	}
	if swap != 0 && !hasMemsw {
		if swap != -1 && swap != limit {
			return fieldErrf("memory.swap", "%s has no %s: the kernel does not account swap (boot with swapaccount=1)", dir, memswFile)
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
		return setBytes("memory.limit", dir, memLimitFile, limit)
	}
	setSwap := func() error {
		if swap == 0 {
			return nil
		}
		return setBytes("memory.swap", dir, memswFile, swap)
	}
	swapFirst := false
	if limit != 0 && swap != 0 {
		cur, err := readTrimmed(filepath.Join(dir, memLimitFile))
		if err != nil {
			return fieldErrf("memory.limit", "read %s: %w", memLimitFile, err)
		}
		n, err := strconv.ParseUint(cur, 10, 64)
		if err != nil {
			return fieldErrf("memory.limit", "parse %s: %w", memLimitFile, err)
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
func oomCheck(v string) checker {
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
		{"shares", val(c.Shares) != 0}, {"period", val(c.Period) != 0}, {"quota", val(c.Quota) != 0},
		{"burst", c.Burst != nil}, {"realtimePeriod", val(c.RealtimePeriod) != 0},
		{"realtimeRuntime", val(c.RealtimeRuntime) != 0}, {"idle", c.Idle != nil},
	})
	if first == "" {
		return nil
	}
	dir, err := m.dir("cpu", "cpu."+first)
	if err != nil {
		return err
	}
	if v := val(c.Shares); v != 0 {
		s := strconv.FormatUint(v, 10)
		if err := writeCtl(dir, "cpu.shares", s); err != nil {
			return fieldErr("cpu.shares", err)
		}
		// The kernel clamps shares silently (to 2-262144).
		got, err := readTrimmed(filepath.Join(dir, "cpu.shares"))
		if err != nil {
			return fieldErrf("cpu.shares", "read back cpu.shares: %w", err)
		}
		if got != s {
			return fieldErrf("cpu.shares", "%d is out of the kernel's range: it keeps %s instead", v, got)
		}
	}
	// A period the kernel refuses (EINVAL) can be fine once the quota is
	// set: try again after it, as runc does.
	retryPeriod := false
	if v := val(c.Period); v != 0 {
		err := writeCtl(dir, "cpu.cfs_period_us", strconv.FormatUint(v, 10))
		if errors.Is(err, unix.EINVAL) && val(c.Quota) != 0 {
			retryPeriod = true
		} else if err != nil {
			return fieldErr("cpu.period", err)
		}
	}
	if v := val(c.Quota); v != 0 {
		want := strconv.FormatInt(v, 10)
		if v < 0 {
			want = "-1"
		}
		if err := set("cpu.quota", dir, "cpu.cfs_quota_us", strconv.FormatInt(v, 10), same(want)); err != nil {
			return err
		}
	}
	if v := val(c.Period); v != 0 {
		s := strconv.FormatUint(v, 10)
		if retryPeriod {
			if err := writeCtl(dir, "cpu.cfs_period_us", s); err != nil {
				return fieldErr("cpu.period", err)
			}
		}
		if err := set("cpu.period", dir, "cpu.cfs_period_us", s, nil); err != nil {
			return err
		}
	}
	if c.Burst != nil {
		if err := set("cpu.burst", dir, "cpu.cfs_burst_us", strconv.FormatUint(*c.Burst, 10), nil); err != nil {
			return err
		}
	}
	if v := val(c.RealtimePeriod); v != 0 {
		if err := set("cpu.realtimePeriod", dir, "cpu.rt_period_us", strconv.FormatUint(v, 10), nil); err != nil {
			return err
		}
	}
	if v := val(c.RealtimeRuntime); v != 0 {
		err := set("cpu.realtimeRuntime", dir, "cpu.rt_runtime_us", strconv.FormatInt(v, 10), nil)
		if errors.Is(err, unix.EINVAL) {
			// The sum of the children's runtimes must fit their parent's.
			err = fieldErrf("cpu.realtimeRuntime", "%w (it must fit in what the parent cgroup's cpu.rt_runtime_us leaves, and within kernel.sched_rt_runtime_us)", errors.Unwrap(err))
		}
		if err != nil {
			return err
		}
	}
	if c.Idle != nil {
		if err := set("cpu.idle", dir, "cpu.idle", strconv.FormatInt(*c.Idle, 10), nil); err != nil {
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
		want, err := ParseList(f.val)
		if err != nil {
			return fieldErr(f.field, err)
		}
		err = set(f.field, dir, f.file, f.val, func(got string) (string, bool) {
			have, err := ParseList(got)
			return FormatList(want), err == nil && slices.Equal(have, want)
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
	return set("pids.limit", dir, "pids.max", v, nil)
}

// ParseList parses a kernel list such as "0-3,7" (cpuset.cpus, cpuset.mems)
// into its sorted, distinct numbers. The empty string is the empty list.
func ParseList(s string) ([]int, error) {
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("%q is not a list of numbers and ranges such as 0-3,7", s)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a list of numbers and ranges such as 0-3,7", s)
			}
		}
		for n := a; n <= b; n++ {
			out = append(out, int(n))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// FormatList is the kernel's spelling of a sorted list ("0-3,7").
func FormatList(l []int) string {
	var b strings.Builder
	for i := 0; i < len(l); {
		j := i
		for j+1 < len(l) && l[j+1] == l[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(l[i]))
		if j > i {
			b.WriteString("-" + strconv.Itoa(l[j]))
		}
		i = j + 1
	}
	return b.String()
}

// lines returns the non-empty lines of a control file's content.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}
