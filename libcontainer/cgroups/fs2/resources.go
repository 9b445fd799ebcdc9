package fs2

// This file: applying linux.resources to the container's cgroup2
// directory — memory, cpu, cpuset and pids here; io, hugetlb, rdma,
// network and unified in resources_more.go; devices through the eBPF
// filter (devices.go). The fields are cgroup v1's; they are converted as
// runc's docs/cgroup-v2.md documents. The conventions of the v1 driver
// (package fs) hold: an integer runc keeps as a plain number is unset when
// 0 (pids.limit 0 is a real limit), -1 means "max", and every value is
// read back and compared with what the kernel should show for it, so a
// limit that does not hold is an error naming the field.
//
// The fields without a cgroup v2 equivalent, decided against the
// runtime-spec ("if the conversion is not possible the runtime MUST
// generate an error", config-linux.md, Unified) and runc 1.1's fs2, which
// silently ignores all of them:
//
//   - memory.kernel, memory.kernelTCP: a warning only. Both are NOT
//     RECOMMENDED by the spec; v2 charges kernel and socket memory to
//     memory.max, so the memory limit bounds them anyway. The v1 driver
//     warns for memory.kernel too (Linux 6 ignores it there).
//   - memory.swappiness: an error. v2 has no per-cgroup swappiness, and
//     nothing would bound what the config asks for; docker and podman
//     drop it themselves on v2 hosts.
//   - memory.disableOOMKiller: true is an error (v2 cannot disable the
//     OOM killer for a cgroup); false is what v2 does, and fine.
//   - memory.useHierarchy: true is what v2 always does; false an error.
//   - cpu.realtimeRuntime/realtimePeriod: an error (no rt controller).
//   - blockIO.leafWeight, weightDevice[].leafWeight: an error, as in fs.
//   - network.classID/priorities: an error (net_cls and net_prio are
//     v1-only; v2 leaves that to eBPF programs).

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Set applies r to the container's cgroup, which Create has made and no
// process has joined yet. A nil r still installs the device filter: deny
// all but the devices every container needs.
func (m *Manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		r = &specs.LinuxResources{}
	}
	return m.apply(r, false)
}

// Update writes the fields of r that are set to the live container's
// cgroup, leaving every other value, and the device filter, as it is. The
// caller has dropped the zero values that mean "unchanged" and checked the
// values (specutil.ValidateResources).
func (m *Manager) Update(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	return m.apply(r, true)
}

func (m *Manager) apply(r *specs.LinuxResources, live bool) error {
	steps := []func(*specs.LinuxResources, bool) error{
		m.setNetwork, m.setCpuset, m.setDevices, m.setMemory, m.setCPU, m.setPids,
		m.setIO, m.setHugetlb, m.setRdma, m.setUnified,
	}
	for _, step := range steps {
		if err := step(r, live); err != nil {
			return err
		}
	}
	return nil
}

// need returns nil when the container's directory has file, else the error
// for field: the controller that provides the file is not enabled there.
func (m *Manager) need(field, file string) error {
	if cgroups.Exists(m.Dir, file) {
		return nil
	}
	ctrl, _, _ := strings.Cut(file, ".")
	parent := filepath.Dir(m.Dir)
	return cgroups.FieldErrf(field, "%s has no %s: the %s controller is not enabled for it (its parent's cgroup.subtree_control reads %q; the kernel may lack the controller, or the parent holds processes, which keeps it from enabling controllers for its children)",
		m.Dir, file, ctrl, readOr(filepath.Join(parent, "cgroup.subtree_control")))
}

func readOr(p string) string {
	s, _ := cgroups.ReadTrimmed(p)
	return s
}

// maxOr is the v2 spelling of a limit: "max" for -1.
func maxOr(v int64) string {
	if v == -1 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

// bytesCheck is how the kernel shows a byte limit v written to a memory
// file (a page_counter): rounded down to whole pages, "max" for -1 or for
// anything at or above the counter's maximum.
func bytesCheck(v int64) cgroups.Checker {
	if v == -1 {
		return cgroups.Same("max")
	}
	ps := int64(os.Getpagesize())
	pages := v / ps
	if pages >= math.MaxInt64/ps {
		return cgroups.Same("max")
	}
	return cgroups.Same(strconv.FormatInt(pages*ps, 10))
}

func setBytes(field, dir, file string, v int64) error {
	return cgroups.WriteChecked(field, dir, file, maxOr(v), bytesCheck(v))
}

// readLimit reads a memory limit file: -1 for "max".
func readLimit(dir, file string) (int64, error) {
	s, err := cgroups.ReadTrimmed(filepath.Join(dir, file))
	if err != nil {
		return 0, err
	}
	if s == "max" {
		return -1, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", file, err)
	}
	return v, nil
}

func (m *Manager) setMemory(r *specs.LinuxResources, live bool) error {
	mem := r.Memory
	if mem == nil {
		return nil
	}
	if cgroups.Val(mem.Kernel) != 0 {
		slog.Warn("linux.resources.memory.kernel: not applied: cgroup v2 has no kernel memory limit (kernel memory counts against memory.limit)")
	}
	if cgroups.Val(mem.KernelTCP) != 0 {
		slog.Warn("linux.resources.memory.kernelTCP: not applied: cgroup v2 has no TCP buffer limit (socket memory counts against memory.limit)")
	}
	if s := mem.Swappiness; s != nil && *s != math.MaxUint64 {
		return cgroups.FieldErrf("memory.swappiness", "cgroup v2 has no per-cgroup swappiness (leave it unset, or -1)")
	}
	if d := mem.DisableOOMKiller; d != nil && *d {
		return cgroups.FieldErrf("memory.disableOOMKiller", "cgroup v2 cannot disable the OOM killer for a cgroup")
	}
	if u := mem.UseHierarchy; u != nil && !*u {
		return cgroups.FieldErrf("memory.useHierarchy", "false is impossible on cgroup v2, which always accounts hierarchically")
	}
	limit, swap, res := cgroups.Val(mem.Limit), cgroups.Val(mem.Swap), cgroups.Val(mem.Reservation)
	if limit == 0 && swap == 0 && res == 0 {
		return nil
	}
	first := "reservation"
	if limit != 0 {
		first = "limit"
	} else if swap != 0 {
		first = "swap"
	}
	if err := m.need("memory."+first, "memory.max"); err != nil {
		return err
	}
	swapMax, err := m.swapMax(limit, swap, live)
	if err != nil {
		return err
	}
	if limit != 0 {
		if err := setBytes("memory.limit", m.Dir, "memory.max", limit); err != nil {
			return err
		}
	}
	if swapMax != nil {
		if !cgroups.Exists(m.Dir, "memory.swap.max") {
			if *swapMax != -1 && *swapMax != 0 {
				return cgroups.FieldErrf("memory.swap", "%s has no memory.swap.max: the kernel does not account swap (CONFIG_MEMCG_SWAP, swapaccount=1)", m.Dir)
			}
			// Unlimited, or no swap at all: nothing beyond the memory
			// limit to enforce, and no file to enforce it with.
			slog.Warn("linux.resources.memory.swap: not applied: the kernel does not account swap (no memory.swap.max)")
		} else if err := setBytes("memory.swap", m.Dir, "memory.swap.max", *swapMax); err != nil {
			return err
		}
	}
	if res != 0 {
		if err := setBytes("memory.reservation", m.Dir, "memory.low", res); err != nil {
			return err
		}
	}
	return nil
}

// swapMax converts the spec's swap, a memory+swap limit, to cgroup v2's
// memory.swap.max, which counts swap alone: swap - limit, -1 ("max")
// staying -1. nil means: leave memory.swap.max as it is.
//
// As runc does, an unlimited memory limit without a swap limit makes swap
// unlimited too, and a swap limit needs a memory limit (there is nothing
// to subtract otherwise). On a live container (update) an unset limit or
// swap means the current one: a new swap is converted against the memory
// limit in force, and a new limit alone keeps the memory+swap total the
// stored config still says (v1 kept memsw when only the limit changed).
func (m *Manager) swapMax(limit, swap int64, live bool) (*int64, error) {
	ret := func(v int64) (*int64, error) { return &v, nil }
	switch {
	case limit == -1 && swap == 0, swap == -1:
		return ret(-1)
	case swap < -1:
		return nil, cgroups.FieldErrf("memory.swap", "%d is neither a byte count nor -1 (unlimited)", swap)
	case swap == 0:
		if !live || limit <= 0 || !cgroups.Exists(m.Dir, "memory.swap.max") {
			return nil, nil
		}
		curMem, err1 := readLimit(m.Dir, "memory.max")
		curSwap, err2 := readLimit(m.Dir, "memory.swap.max")
		if err := errors.Join(err1, err2); err != nil {
			return nil, cgroups.FieldErr("memory.limit", err)
		}
		if curMem == -1 || curSwap == -1 {
			return nil, nil // no memory+swap total to keep
		}
		total := curMem + curSwap
		if limit > total {
			return nil, cgroups.FieldErrf("memory.limit", "%d is above the memory+swap limit %d in force (memory.swap): raise swap too", limit, total)
		}
		return ret(total - limit)
	}
	lim := limit
	if lim == 0 && live {
		cur, err := readLimit(m.Dir, "memory.max")
		if err != nil {
			return nil, cgroups.FieldErr("memory.swap", err)
		}
		lim = cur
	}
	if lim == 0 || lim == -1 {
		return nil, cgroups.FieldErrf("memory.swap", "a swap limit needs a memory limit on cgroup v2 (swap is the memory+swap total; memory.swap.max is swap alone)")
	}
	if swap < lim {
		return nil, cgroups.FieldErrf("memory.swap", "%d is below the memory limit %d (swap is the memory+swap total)", swap, lim)
	}
	return ret(swap - lim)
}

// sharesToWeight converts cpu.shares (2-262144, v1's default 1024) to
// cpu.weight (1-10000, default 100) linearly, as runc 1.1 does.
func sharesToWeight(shares uint64) uint64 {
	return 1 + ((shares-2)*9999)/262142
}

func (m *Manager) setCPU(r *specs.LinuxResources, live bool) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	if cgroups.Val(c.RealtimeRuntime) != 0 {
		return cgroups.FieldErrf("cpu.realtimeRuntime", "cgroup v2 has no real-time CPU controller (cpu.rt_runtime_us is cgroup v1's)")
	}
	if cgroups.Val(c.RealtimePeriod) != 0 {
		return cgroups.FieldErrf("cpu.realtimePeriod", "cgroup v2 has no real-time CPU controller (cpu.rt_period_us is cgroup v1's)")
	}
	if s := cgroups.Val(c.Shares); s != 0 {
		if s < 2 || s > 262144 {
			return cgroups.FieldErrf("cpu.shares", "%d is out of range 2-262144", s)
		}
		if err := m.need("cpu.shares", "cpu.weight"); err != nil {
			return err
		}
		if err := cgroups.WriteChecked("cpu.shares", m.Dir, "cpu.weight", strconv.FormatUint(sharesToWeight(s), 10), nil); err != nil {
			return err
		}
	}
	quota, period := cgroups.Val(c.Quota), cgroups.Val(c.Period)
	if quota != 0 || period != 0 {
		field := "cpu.quota"
		if quota == 0 {
			field = "cpu.period"
		}
		if err := m.need(field, "cpu.max"); err != nil {
			return err
		}
		// cpu.max is "QUOTA PERIOD": the half that is unset keeps its
		// current value (at create: "max 100000").
		cur := strings.Fields(readOr(filepath.Join(m.Dir, "cpu.max")))
		if len(cur) != 2 {
			cur = []string{"max", "100000"}
		}
		if quota < 0 {
			cur[0] = "max"
		} else if quota > 0 {
			cur[0] = strconv.FormatInt(quota, 10)
		}
		if period != 0 {
			cur[1] = strconv.FormatUint(period, 10)
		}
		if err := cgroups.WriteChecked(field, m.Dir, "cpu.max", strings.Join(cur, " "), nil); err != nil {
			return err
		}
	}
	if c.Burst != nil {
		if err := m.need("cpu.burst", "cpu.max.burst"); err != nil {
			return err
		}
		if err := cgroups.WriteChecked("cpu.burst", m.Dir, "cpu.max.burst", strconv.FormatUint(*c.Burst, 10), nil); err != nil {
			return err
		}
	}
	if c.Idle != nil {
		if err := m.need("cpu.idle", "cpu.idle"); err != nil {
			return err
		}
		if err := cgroups.WriteChecked("cpu.idle", m.Dir, "cpu.idle", strconv.FormatInt(*c.Idle, 10), nil); err != nil {
			return err
		}
	}
	return nil
}

// setCpuset writes cpuset.cpus and cpuset.mems. The kernel takes any list
// and grants what the parent offers of it: cpuset.*.effective must show
// the whole list, or the container would run on less than it asked for.
func (m *Manager) setCpuset(r *specs.LinuxResources, live bool) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	for _, f := range []struct{ field, file, val string }{
		{"cpu.cpus", "cpuset.cpus", c.Cpus},
		{"cpu.mems", "cpuset.mems", c.Mems},
	} {
		if f.val == "" {
			continue
		}
		want, err := cgroups.ParseList(f.val)
		if err != nil {
			return cgroups.FieldErr(f.field, err)
		}
		if err := m.need(f.field, f.file); err != nil {
			return err
		}
		if err := cgroups.WriteChecked(f.field, m.Dir, f.file, f.val, listCheck(want)); err != nil {
			return err
		}
		eff := f.file + ".effective"
		got, err := cgroups.ReadTrimmed(filepath.Join(m.Dir, eff))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return cgroups.FieldErrf(f.field, "read back %s: %w", eff, err)
		}
		if _, ok := listCheck(want)(got); !ok {
			return cgroups.FieldErrf(f.field, "%s reads %q, not %q: the parent cgroup offers only %q",
				eff, got, cgroups.FormatList(want), readOr(filepath.Join(filepath.Dir(m.Dir), eff)))
		}
	}
	return nil
}

// listCheck compares a kernel list with want, whatever the spelling.
func listCheck(want []int) cgroups.Checker {
	return func(got string) (string, bool) {
		have, err := cgroups.ParseList(got)
		return cgroups.FormatList(want), err == nil && slices.Equal(have, want)
	}
}

func (m *Manager) setPids(r *specs.LinuxResources, live bool) error {
	if r.Pids == nil || r.Pids.Limit == nil {
		return nil
	}
	if err := m.need("pids.limit", "pids.max"); err != nil {
		return err
	}
	v := "max"
	if n := *r.Pids.Limit; n >= 0 {
		v = strconv.FormatInt(n, 10)
	}
	return cgroups.WriteChecked("pids.limit", m.Dir, "pids.max", v, nil)
}
