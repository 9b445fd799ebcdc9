package integration

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// This file: linux.resources on cgroup v1 (hybrid) hosts and on cgroup2
// (the VM of scripts/cgroup2-vm); cgroupfiles_test.go finds the files.
// Each limit is shown to bite inside the container (an allocation killed
// at the memory limit, forks refused at pids.max, a device that cannot be
// opened, the CPUs a process may run on) and its value is read from the
// host's cgroupfs and, where the container sees its own cgroup, from inside.
// Bad values are refused before anything is made, with one error line
// naming the field; limits this host cannot apply are refused by name too.
// Every bundle's cleanup checks that delete left no cgroup directory in
// any hierarchy. Helpers are prefixed "cg".

// cgField reads "<key> <value>" lines of a keyed file (memory.oom_control,
// pids.events) and returns key's value.
func cgField(t *testing.T, text, key string) int64 {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == key {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatalf("parse %q: %v", l, err)
			}
			return n
		}
	}
	t.Fatalf("no %q line in %q", key, text)
	return 0
}

// cgAddCap adds a capability to every set of the process.
func cgAddCap(b *bundle, c string) {
	caps := b.Spec.Process.Capabilities
	caps.Bounding = append(caps.Bounding, c)
	caps.Effective = append(caps.Effective, c)
	caps.Permitted = append(caps.Permitted, c)
}

func cgRes(b *bundle) *specs.LinuxResources {
	if b.Spec.Linux.Resources == nil {
		b.Spec.Linux.Resources = &specs.LinuxResources{}
	}
	return b.Spec.Linux.Resources
}

func i64(n int64) *int64   { return &n }
func u64(n uint64) *uint64 { return &n }
func u16(n uint16) *uint16 { return &n }
func bptr(v bool) *bool    { return &v }
func u32(n uint32) *uint32 { return &n }

// cgRefused creates b and wants create to fail with one error line naming
// field. runc's messages name no field, so for runc only the refusal is
// checked; runcGap, when set, explains why runc is known to accept it.
func cgRefused(t *testing.T, b *bundle, field, runcGap string) {
	t.Helper()
	res := b.create()
	if res.Code == 0 {
		if isRunc && runcGap != "" {
			t.Logf("runc accepted the config (%s)", runcGap)
			return
		}
		t.Fatalf("create accepted the config: %s", res)
	}
	lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
	t.Logf("refused: %s", lines[len(lines)-1])
	if isRunc {
		return
	}
	if len(lines) != 1 || !strings.Contains(lines[0], field) {
		t.Errorf("want one error line naming %s, got: %s", field, res)
	}
}

// TestCgroupsMemoryLimitOOM: with a 32 MiB memory (and memory+swap) limit,
// dd with an 8 MiB buffer succeeds and dd with a 64 MiB buffer is
// OOM-killed (exit 137), while the shell survives; the host sees the
// limit, the peak usage at the limit and the OOM kill (v1
// memory.oom_control, v2 memory.events), and the container sees its limit.
func TestCgroupsMemoryLimitOOM(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	limit := int64(32 << 20)
	b, _ := startWaiting(t, r, func(b *bundle) {
		cgRes(b).Memory = &specs.LinuxMemory{Limit: &limit, Swap: &limit}
	}, `dd if=/dev/zero of=/dev/null bs=8M count=1 2>/dev/null; echo "small=$?" > /out/dd
dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo "big=$?" >> /out/dd
`+cgInside("memory")+`; cat "$cg/`+cgFile("memory.limit")+`" > /out/inside`)
	if got := readFile(t, filepath.Join(b.Out, "dd")); got != "small=0\nbig=137\n" {
		t.Errorf("dd results %q, want small=0 and big=137 (SIGKILL)", got)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(b.Out, "inside"))); got != "33554432" {
		t.Errorf("container sees %s %q", cgFile("memory.limit"), got)
	}
	cgWant(t, b, "memory.limit", "33554432")
	cgWant(t, b, "memory.swap", "33554432")
	if n := cgValue(t, b, "memory.oom_kill"); n == "0" {
		t.Errorf("%s counts no OOM kill", cgWhere("memory.oom_kill"))
	}
	// Peak usage reached the limit (memory.failcnt stays 0 on Linux 6.x).
	cgWant(t, b, "memory.peak", "33554432")
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// TestCgroupsMemorySettings: the limit, swap -1 (unlimited, written before
// the limit) and the reservation (v2 memory.low) reach their files, seen
// from the host and from inside. On v1 also swappiness, disableOOMKiller,
// useHierarchy and kernelTCP, and the deprecated kernel limit, which
// Linux 6 ignores, does not fail create; cgroup v2 has none of their files.
func TestCgroupsMemorySettings(t *testing.T) {
	t.Parallel()
	v1 := !cgroupV2Only()
	r := newRT(t)
	script := cgInside("memory") + `; cd "$cg"; cat ` + cgFile("memory.reservation") + ` > /out/reservation`
	if v1 {
		script += `; echo "$(cat memory.swappiness) $(head -1 memory.oom_control)" > /out/inside`
	}
	b, _ := startWaiting(t, r, func(b *bundle) {
		m := &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(-1), Reservation: i64(16 << 20)}
		if v1 {
			m.Swappiness, m.DisableOOMKiller, m.UseHierarchy = u64(10), bptr(true), bptr(true)
			m.Kernel, m.KernelTCP = i64(16<<20), i64(8<<20)
		}
		cgRes(b).Memory = m
	}, script)
	if got := strings.TrimSpace(readFile(t, filepath.Join(b.Out, "reservation"))); got != "16777216" {
		t.Errorf("container sees %s %q", cgFile("memory.reservation"), got)
	}
	cgWant(t, b, "memory.limit", "67108864")
	cgWant(t, b, "memory.swap", "-1")
	cgWant(t, b, "memory.reservation", "16777216")
	cgOnly(t, 1, "cgroup v2 has no memory.swappiness, memory.oom_control, memory.use_hierarchy or memory.kmem.tcp.*", func(t *testing.T) {
		if got := strings.TrimSpace(readFile(t, filepath.Join(b.Out, "inside"))); got != "10 oom_kill_disable 1" {
			t.Errorf("container sees swappiness and oom_control %q", got)
		}
		cgRaw(t, b, "memory", "memory.swappiness", "10")
		cgRaw(t, b, "memory", "memory.use_hierarchy", "1")
		if got := strings.Split(cgRead(t, b, "memory", "memory.oom_control"), "\n")[0]; got != "oom_kill_disable 1" {
			t.Errorf("host memory.oom_control starts %q", got)
		}
		if isRunc {
			t.Logf("runc 1.1 ignores kernelTCP: memory.kmem.tcp.limit_in_bytes = %s",
				readOr(filepath.Join(cgDir(t, b, "memory"), "memory.kmem.tcp.limit_in_bytes")))
		} else {
			cgRaw(t, b, "memory", "memory.kmem.tcp.limit_in_bytes", "8388608")
		}
	})
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// TestCgroupsPidsLimit: with pids.max 8, a shell forked by the init (2
// tasks) starts background sleeps until fork fails: exactly 6 start. The
// container and the host both see the limit, and the host's pids.events
// counts the refusals.
func TestCgroupsPidsLimit(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b, _ := startWaiting(t, r, func(b *bundle) {
		cgRes(b).Pids = &specs.LinuxPids{Limit: i64(8)}
	}, `sh -c 'while true; do sleep 1000 & echo $! >> /out/pids; done' 2>/out/forkerr
n=0; while read p; do n=$((n+1)); done < /out/pids
`+cgInside("pids")+`; read cur < "$cg/pids.current"; read max < "$cg/pids.max"
echo "started=$n current=$cur max=$max" > /out/count`)
	if got := strings.TrimSpace(readFile(t, filepath.Join(b.Out, "count"))); got != "started=6 current=7 max=8" {
		t.Errorf("inside: %q, want started=6 current=7 max=8", got)
	}
	if got := readFile(t, filepath.Join(b.Out, "forkerr")); !strings.Contains(got, "can't fork") {
		t.Errorf("the fork loop did not end on a failed fork: %q", got)
	}
	cgWant(t, b, "pids.max", "8")
	if n := cgValue(t, b, "pids.events.max"); n == "0" {
		t.Errorf("pids.events counts no refused fork")
	}
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// TestCgroupsCPU: shares (v2: the cpu.weight derived from them), quota
// and period (v2: cpu.max) are in the container's cpu cgroup, read from
// the host and from inside.
func TestCgroupsCPU(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	files := "cpu.shares) $(cat cpu.cfs_quota_us) $(cat cpu.cfs_period_us"
	if cgroupV2Only() {
		files = "cpu.weight) $(cat cpu.max"
	}
	b, _ := startWaiting(t, r, func(b *bundle) {
		cgRes(b).CPU = &specs.LinuxCPU{Shares: u64(512), Quota: i64(20000), Period: u64(50000)}
	}, cgInside("cpu")+`; cd "$cg"; echo "$(cat `+files+`)" > /out/inside`)
	cgWant(t, b, "cpu.shares", "512")
	cgWant(t, b, "cpu.quota", "20000")
	cgWant(t, b, "cpu.period", "50000")
	want := cgValue(t, b, "cpu.shares") + " 20000 50000"
	if got := strings.TrimSpace(readFile(t, filepath.Join(b.Out, "inside"))); got != want {
		t.Errorf("container sees shares (weight), quota, period %q, want %q", got, want)
	}
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// TestCgroupsCPUBurstIdle: burst and idle (runtime-spec 1.1+) reach
// cpu.cfs_burst_us (v2 cpu.max.burst) and cpu.idle where the kernel has
// them (Linux 5.15).
func TestCgroupsCPUBurstIdle(t *testing.T) {
	t.Parallel()
	if !cgKernelAtLeast(5, 15) {
		t.Skip("the kernel has no cpu burst or idle (Linux 5.15 has both)")
	}
	for _, f := range []string{"cpu.cfs_burst_us", "cpu.idle"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/cpu", f)); err != nil && !cgroupV2Only() {
			t.Skipf("the kernel has no %s", f)
		}
	}
	r := newRT(t)
	b, _ := startWaiting(t, r, func(b *bundle) {
		cgRes(b).CPU = &specs.LinuxCPU{Quota: i64(20000), Period: u64(100000), Burst: u64(5000), Idle: i64(1)}
	}, `true`)
	if isRunc {
		t.Logf("runc 1.1 has no burst or idle: %s %s, cpu.idle %s", cgWhere("cpu.burst"),
			readOr(filepath.Join(cgDir(t, b, "cpu"), cgFile("cpu.burst"))), readOr(filepath.Join(cgDir(t, b, "cpu"), "cpu.idle")))
	} else {
		cgWant(t, b, "cpu.burst", "5000")
		cgWant(t, b, "cpu.idle", "1")
	}
	cgWant(t, b, "cpu.quota", "20000")
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// TestCgroupsCpuset: cpus restricts the CPUs the container's processes may
// run on (their Cpus_allowed_list) and mems their memory nodes.
func TestCgroupsCpuset(t *testing.T) {
	t.Parallel()
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs to restrict to one")
	}
	last := strconv.Itoa(runtime.NumCPU() - 1)
	r := newRT(t)
	b, _ := startWaiting(t, r, func(b *bundle) {
		cgRes(b).CPU = &specs.LinuxCPU{Cpus: last, Mems: "0"}
	}, `grep -E '^(Cpus|Mems)_allowed_list' /proc/self/status > /out/inside`)
	want := "Cpus_allowed_list:\t" + last + "\nMems_allowed_list:\t0\n"
	if got := readFile(t, filepath.Join(b.Out, "inside")); got != want {
		t.Errorf("container process status %q, want %q", got, want)
	}
	cgWant(t, b, "cpuset.cpus", last)
	cgWant(t, b, "cpuset.mems", "0")
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// cgDeviceScript makes nodes with CAP_MKNOD (the default rules allow mknod
// of any node, as runc's do) and tries to open them: a node the allowlist
// does not cover fails with EPERM.
const cgDeviceScript = `try() { if eval "true $2 $1" 2>/dev/null; then echo "$1 $3 ok"; else echo "$1 $3 denied"; fi; }
mknod /dev/lc c 10 237 && mknod /dev/lp b 7 7 && mknod /dev/km c 1 11 && echo mknod-ok
try /dev/lc '<' read; try /dev/lc '>' write; try /dev/lp '<' read; try /dev/lp '>' write
try /dev/km '<' read; try /dev/null '>' write; try /dev/zero '<' read
{ true < /dev/km; } 2>&1 | sed 's/.*: //'`

// TestCgroupsDevices: the configured rules apply in order after the
// leading deny-all (v1: devices.allow/deny; v2: the eBPF program):
// loop-control (10:237) is readable, not writable; loop7 (7:7) allowed rw
// then denied w is readable only; kmsg (1:11), in no rule, cannot be
// opened (EPERM, from the device cgroup); the default devices work. On v1
// the container's devices.list holds the configured exceptions, first and
// in order, then the defaults.
func TestCgroupsDevices(t *testing.T) {
	t.Parallel()
	script := cgDeviceScript
	if !cgroupV2Only() {
		script += "\ncat /sys/fs/cgroup/devices/devices.list"
	}
	out := inside(t, func(b *bundle) {
		cgAddCap(b, "CAP_MKNOD")
		cgRes(b).Devices = []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: i64(10), Minor: i64(237), Access: "r"},
			{Allow: true, Type: "b", Major: i64(7), Minor: i64(7), Access: "rw"},
			{Allow: false, Type: "b", Major: i64(7), Minor: i64(7), Access: "w"},
		}
	}, script)
	devWant(t, out, "mknod-ok",
		"/dev/lc read ok", "/dev/lc write denied", "/dev/lp read ok", "/dev/lp write denied",
		"/dev/km read denied", "/dev/null write ok", "/dev/zero read ok", "Operation not permitted")
	cgOnly(t, 1, "cgroup v2 has no devices.list: the rules are an eBPF program, whose effect the opens above show", func(t *testing.T) {
		list := out[strings.Index(out, "Operation not permitted\n")+len("Operation not permitted\n"):]
		if isRunc {
			// runc writes its rules sorted by numbers, not in the listed order.
			devWant(t, list, "c 10:237 r", "b 7:7 r")
			return
		}
		want := "c 10:237 r\nb 7:7 r\nc *:* m\nb *:* m\nc 1:3 rwm\nc 1:8 rwm\nc 1:7 rwm\nc 5:0 rwm\nc 1:5 rwm\nc 1:9 rwm\nc 136:* rwm\nc 5:2 rwm\n"
		if list != want {
			t.Errorf("devices.list inside:\n%s\nwant:\n%s", list, want)
		}
	})
}

// TestCgroupsDevicesWithoutConfig: a config without linux.resources still
// gets the deny-by-default allowlist (as with runc): the default devices
// work and any other node cannot be opened (v1 devices.list, v2 eBPF).
func TestCgroupsDevicesWithoutConfig(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b, _ := startWaiting(t, r, func(b *bundle) {
		cgAddCap(b, "CAP_MKNOD")
		b.Spec.Linux.Resources = nil
	}, "{\n"+cgDeviceScript+"\n} > /out/devices")
	out := readFile(t, filepath.Join(b.Out, "devices"))
	devWant(t, out, "mknod-ok", "/dev/lc read denied", "/dev/lp read denied", "/dev/km read denied",
		"/dev/null write ok", "/dev/zero read ok", "Operation not permitted")
	cgOnly(t, 1, "cgroup v2 has no devices.list: the rules are an eBPF program, whose effect the opens above show", func(t *testing.T) {
		list := cgRead(t, b, "devices", "devices.list")
		if strings.Contains(list, "a *:* rwm") || !strings.Contains(list, "c 1:3 rwm") {
			t.Errorf("host devices.list is not the default allowlist:\n%s", list)
		}
	})
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// cgBlockDevice returns the major:minor of a block device of the host.
func cgBlockDevice(t *testing.T) (int64, int64) {
	t.Helper()
	devs, _ := filepath.Glob("/sys/block/*/dev")
	for _, d := range devs {
		maj, min, ok := strings.Cut(strings.TrimSpace(readOr(d)), ":")
		a, err1 := strconv.ParseInt(maj, 10, 64)
		b, err2 := strconv.ParseInt(min, 10, 64)
		if ok && err1 == nil && err2 == nil {
			return a, b
		}
	}
	t.Skip("no block device under /sys/block")
	return 0, 0
}

// TestCgroupsBlkioThrottle: throttle rates reach their per-device files
// (v1 blkio.throttle.*_device, v2 io.max).
func TestCgroupsBlkioThrottle(t *testing.T) {
	t.Parallel()
	maj, min := cgBlockDevice(t)
	dev := specs.LinuxBlockIODevice{Major: maj, Minor: min}
	r := newRT(t)
	b, _ := startWaiting(t, r, func(b *bundle) {
		cgRes(b).BlockIO = &specs.LinuxBlockIO{
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 1 << 20}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 100}},
		}
	}, `true`)
	d := strconv.FormatInt(maj, 10) + ":" + strconv.FormatInt(min, 10)
	for kind, want := range map[string]string{"rbps": "1048576", "wiops": "100", "wbps": "max", "riops": "max"} {
		if got := cgIO(t, b, kind, d); got != want {
			t.Errorf("host %s of %s = %q, want %q", kind, d, got, want)
		}
	}
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// TestCgroupsBlkioWeight: the weight goes to blkio.weight (CFQ) or, on
// kernels since 5.0, blkio.bfq.weight; on v2 to io.bfq.weight or, mapped,
// io.weight. A kernel with none of them refuses it by name, which is a
// host limitation here.
func TestCgroupsBlkioWeight(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.script(`echo ok > /out/ready; while [ ! -e /out/stop ]; do sleep 0.05; done`)
		cgRes(b).BlockIO = &specs.LinuxBlockIO{Weight: u16(333)}
	})
	res := b.create()
	if res.Code != 0 {
		if !isRunc && strings.Count(strings.TrimSpace(res.Stderr), "\n") == 0 && strings.Contains(res.Stderr, "linux.resources.blockIO.weight") {
			t.Skipf("host has no block I/O weight files: %s", strings.TrimSpace(res.Stderr))
		}
		t.Fatalf("create failed: %s", res)
	}
	file, got, want := cgWeight(t, b, 333)
	if file == "" {
		t.Fatalf("create accepted a weight, but the container's cgroup has no weight file to hold it")
	}
	if got != want {
		t.Errorf("host %s holds %q, want %q (blkio weight 333)", file, got, want)
	}
}

// TestCgroupsUnified: a unified key is written to the container's
// cgroup2 directory (on a hybrid host the one under /sys/fs/cgroup/unified;
// here a core file every cgroup has).
func TestCgroupsUnified(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.script(`true`)
		cgRes(b).Unified = map[string]string{"cgroup.max.descendants": "3"}
	})
	res := b.create()
	if isRunc && res.Code != 0 && !cgroupV2Only() {
		t.Logf("runc 1.1 refuses unified on a v1 host: %s", strings.TrimSpace(res.Stderr))
		return
	}
	if res.Code != 0 {
		t.Fatalf("create failed: %s", res)
	}
	cgRaw(t, b, "unified", "cgroup.max.descendants", "3")
}

// TestCgroupsApplyErrors: limits this host cannot apply are refused at
// create with an error naming the field, and leave nothing behind. Each
// case is skipped where the host can apply it. On cgroup v2 the fields
// without a v2 file (real-time cpu, leaf weights, net_cls, net_prio,
// swappiness, disableOOMKiller, useHierarchy false) are refused by name
// instead of being ignored as runc 1.1 does (logged for runc).
func TestCgroupsApplyErrors(t *testing.T) {
	t.Parallel()
	v2 := cgroupV2Only()
	hostHas := func(p string) bool { _, err := os.Stat(p); return err == nil }
	unifiedOwn := filepath.Join("/sys/fs/cgroup/unified", ownCgroups()["unified"])
	if v2 {
		unifiedOwn = filepath.Join("/sys/fs/cgroup", ownCgroups()[""])
	}
	// The v2 controllers the test's own cgroup hands to its children.
	v2Has := func(c string) bool {
		return hasOpt(strings.ReplaceAll(strings.TrimSpace(readOr(filepath.Join(unifiedOwn, "cgroup.subtree_control"))), " ", ","), c)
	}
	canApply := func(yes bool) string {
		if yes {
			return "this host can apply it"
		}
		return ""
	}
	v1Only := func(why string) string {
		if v2 {
			return "v1 only: " + why
		}
		return ""
	}
	v2Only := func(why string) string {
		if !v2 {
			return "v2 only: " + why
		}
		return ""
	}
	cases := []struct {
		name, field string
		skip        string // why the case does not apply here
		mut         func(r *specs.LinuxResources)
	}{
		// v1 clamps shares below 2 to 2; v2 has no weight for it.
		{"cpu shares 1", "linux.resources.cpu.shares", "", func(r *specs.LinuxResources) {
			r.CPU = &specs.LinuxCPU{Shares: u64(1)}
		}},
		// 99% of each second is more than any cgroup may have by default
		// (kernel.sched_rt_runtime_us is 95%); the kernel refuses it. v2
		// has no real-time cpu controller.
		{"realtime runtime beyond the global limit", "linux.resources.cpu.realtimeRuntime",
			canApply(!v2 && (!hostHas("/sys/fs/cgroup/cpu/cpu.rt_runtime_us") || readOr("/proc/sys/kernel/sched_rt_runtime_us") == "-1\n")), func(r *specs.LinuxResources) {
				r.CPU = &specs.LinuxCPU{RealtimePeriod: u64(1000000), RealtimeRuntime: i64(990000)}
			}},
		{"blkio leaf weight", "linux.resources.blockIO.leafWeight", canApply(hostHas("/sys/fs/cgroup/blkio/blkio.leaf_weight")), func(r *specs.LinuxResources) {
			r.BlockIO = &specs.LinuxBlockIO{LeafWeight: u16(500)}
		}},
		{"net_cls classID", "linux.resources.network.classID", canApply(hostHas("/sys/fs/cgroup/net_cls")), func(r *specs.LinuxResources) {
			r.Network = &specs.LinuxNetwork{ClassID: u32(0x100001)}
		}},
		{"net_prio priorities", "linux.resources.network.priorities[0]", canApply(hostHas("/sys/fs/cgroup/net_prio")), func(r *specs.LinuxResources) {
			r.Network = &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 5}}}
		}},
		{"rdma", "linux.resources.rdma.mlx5_0", canApply(hostHas("/sys/fs/cgroup/rdma") || v2Has("rdma")), func(r *specs.LinuxResources) {
			r.Rdma = map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: u32(3)}}
		}},
		{"hugetlb", "linux.resources.hugepageLimits[0]", canApply(hostHas("/sys/fs/cgroup/hugetlb") || v2Has("hugetlb")), func(r *specs.LinuxResources) {
			r.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}
		}},
		{"unified key of a v1 controller", "linux.resources.unified.memory.max",
			v1Only("memory.max is a cgroup v2 file") + canApply(!v2 && !hostHas("/sys/fs/cgroup/memory")), func(r *specs.LinuxResources) {
				r.Unified = map[string]string{"memory.max": "1000000"}
			}},
		{"swappiness", "linux.resources.memory.swappiness", v2Only("cgroup v1 has memory.swappiness"), func(r *specs.LinuxResources) {
			r.Memory = &specs.LinuxMemory{Swappiness: u64(10)}
		}},
		{"disableOOMKiller", "linux.resources.memory.disableOOMKiller", v2Only("cgroup v1 has memory.oom_control"), func(r *specs.LinuxResources) {
			r.Memory = &specs.LinuxMemory{DisableOOMKiller: bptr(true)}
		}},
		{"useHierarchy false", "linux.resources.memory.useHierarchy", v2Only("cgroup v1 has memory.use_hierarchy"), func(r *specs.LinuxResources) {
			r.Memory = &specs.LinuxMemory{UseHierarchy: bptr(false)}
		}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			if c.skip != "" {
				t.Skip(c.skip)
			}
			r := newRT(t)
			b := r.newBundle(func(b *bundle) {
				b.script(`true`)
				c.mut(cgRes(b))
			})
			runcGap := ""
			if v2 {
				runcGap = "runc 1.1's fs2 ignores the v1-only fields"
			}
			cgRefused(t, b, c.field, runcGap)
		})
	}
}

// TestCgroupsBadValues: values no host could apply are refused before
// anything is created, with one error line naming the field.
func TestCgroupsBadValues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, field, runcGap string
		mut                  func(r map[string]any)
	}{
		{"swappiness 200", "linux.resources.memory.swappiness", "", func(r map[string]any) {
			r["memory"] = map[string]any{"swappiness": 200}
		}},
		{"device type x", "linux.resources.devices[1].type", "", func(r map[string]any) {
			r["devices"] = append(r["devices"].([]any), map[string]any{"allow": true, "type": "x", "access": "r"})
		}},
		{"device access rwx", "linux.resources.devices[1].access", "runc 1.1 does not check the access letters", func(r map[string]any) {
			r["devices"] = append(r["devices"].([]any), map[string]any{"allow": true, "type": "c", "access": "rwx"})
		}},
		{"negative shares", "linux.resources.cpu.shares", "", func(r map[string]any) {
			r["cpu"] = map[string]any{"shares": -1}
		}},
		{"swap below limit", "linux.resources.memory.swap", "", func(r map[string]any) {
			r["memory"] = map[string]any{"limit": 64 << 20, "swap": 32 << 20}
		}},
		{"swap without limit", "linux.resources.memory.swap", "", func(r map[string]any) {
			r["memory"] = map[string]any{"swap": 32 << 20}
		}},
		{"memory limit -2", "linux.resources.memory.limit", "", func(r map[string]any) {
			r["memory"] = map[string]any{"limit": -2}
		}},
		{"quota -5", "linux.resources.cpu.quota", "the kernel takes any negative quota as unlimited", func(r map[string]any) {
			r["cpu"] = map[string]any{"quota": -5}
		}},
		{"burst above quota", "linux.resources.cpu.burst", "runc 1.1 has no burst", func(r map[string]any) {
			r["cpu"] = map[string]any{"quota": 10000, "period": 100000, "burst": 20000}
		}},
		{"idle 2", "linux.resources.cpu.idle", "runc 1.1 has no idle", func(r map[string]any) {
			r["cpu"] = map[string]any{"idle": 2}
		}},
		{"cpus reversed range", "linux.resources.cpu.cpus", "", func(r map[string]any) {
			r["cpu"] = map[string]any{"cpus": "1-0"}
		}},
		{"page size 2M", "linux.resources.hugepageLimits[0].pageSize", "", func(r map[string]any) {
			r["hugepageLimits"] = []any{map[string]any{"pageSize": "2M", "limit": 1 << 21}}
		}},
		{"weightDevice without weights", "linux.resources.blockIO.weightDevice[0]", "runc 1.1 does not check the spec's MUST: weight or leafWeight", func(r map[string]any) {
			r["blockIO"] = map[string]any{"weightDevice": []any{map[string]any{"major": 7, "minor": 0}}}
		}},
		{"rdma without limits", "linux.resources.rdma.mlx5_0", "", func(r map[string]any) {
			r["rdma"] = map[string]any{"mlx5_0": map[string]any{}}
		}},
		{"unified key with a slash", "linux.resources.unified", "", func(r map[string]any) {
			r["unified"] = map[string]any{"../cgroup.procs": "1"}
		}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			r := newRT(t)
			b := r.newBundle(func(b *bundle) { b.script(`true`) })
			m := specMap(t, b.Spec)
			c.mut(m["linux"].(map[string]any)["resources"].(map[string]any))
			writeConfig(t, b.Dir, m)
			cgRefused(t, b, c.field, c.runcGap)
		})
	}
}

// TestCgroupsDeleteRemovesAll: with cgroupsPath ocirun-it/<id>/a/b, the
// init is in that path nested under the test's own cgroup in every
// hierarchy the host mounts (v1: each controller's and the named systemd
// one, plus the unified one in hybrid mode; v2: the one), read from
// /proc/<pid>/cgroup; after the container stops, delete leaves none of the
// leaf directories nor the parents <id>/a and <id> that create made.
func TestCgroupsDeleteRemovesAll(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b, _ := startWaiting(t, r, func(b *bundle) {
		b.Spec.Linux.CgroupsPath = cgroupParent + "/" + b.ID + "/a/b"
	}, `true`)
	dirs := cgDirs(t, b)
	var made []string // the container's directories, deepest first
	for key, own := range cgPathsOf("self") {
		want := filepath.Join(own, cgroupParent, b.ID, "a", "b")
		if got := dirs[key]; got != want {
			if isRunc && key == "unified" {
				t.Logf("runc 1.1 leaves the init in %q of the hybrid unified hierarchy", got)
				continue
			}
			t.Errorf("the init's %s cgroup is %q, want %s", key, got, want)
			continue
		}
		if _, err := os.Stat(want); err != nil {
			t.Errorf("the init's %s cgroup: %v", key, err)
		}
		made = append(made, want, filepath.Dir(want), filepath.Dir(filepath.Dir(want)))
	}
	if len(made) == 0 {
		t.Fatalf("the init is in no cgroup nested under the test's: %v", dirs)
	}
	r.must("kill", b.ID, "KILL")
	b.waitStatus("stopped")
	r.must("delete", b.ID)
	var left []string
	for _, d := range made {
		if _, err := os.Stat(d); err == nil {
			left = append(left, d)
		}
	}
	if isRunc && len(left) > 0 {
		// runc removes the leaf only: clean up the parents it made.
		t.Logf("runc 1.1 leaves the parents it created: %v", left)
		for _, d := range left {
			_ = os.Remove(d)
		}
		return
	}
	for _, d := range left {
		t.Errorf("delete left the cgroup directory %s", d)
	}
}
