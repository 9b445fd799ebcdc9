package fs

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// fakeControllers makes one container directory per controller under a
// temporary root, holding the given control files with their initial
// content (a cgroupfs never creates files, so a file the test leaves out
// is one "the kernel lacks"), and a Manager whose Paths point there.
func fakeControllers(t *testing.T, files map[string]map[string]string) *Manager {
	t.Helper()
	root := t.TempDir()
	m := &Manager{Paths: map[string]string{}}
	for ctrl, fs := range files {
		dir := filepath.Join(root, ctrl, "c1")
		mkdir(t, dir)
		for name, content := range fs {
			write(t, filepath.Join(dir, name), content)
		}
		m.Paths[ctrl] = dir
	}
	return m
}

func p64(n int64) *int64    { return &n }
func pu64(n uint64) *uint64 { return &n }
func pu16(n uint16) *uint16 { return &n }
func pu32(n uint32) *uint32 { return &n }
func pbool(b bool) *bool    { return &b }

const unlimited = "9223372036854771712"

func memoryFiles() map[string]string {
	return map[string]string{
		memLimitFile: unlimited, memswFile: unlimited, kmemTCPFile: unlimited,
		"memory.soft_limit_in_bytes": unlimited, "memory.swappiness": "60",
		"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0", "memory.use_hierarchy": "1",
	}
}

func TestSetWritesEachController(t *testing.T) {
	if os.Getpagesize() != 4096 {
		t.Skip("the expected byte limits assume 4 KiB pages")
	}
	m := fakeControllers(t, map[string]map[string]string{
		"memory": memoryFiles(),
		"cpu": {"cpu.shares": "1024", "cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "100000",
			"cpu.cfs_burst_us": "0", "cpu.rt_period_us": "1000000", "cpu.rt_runtime_us": "0", "cpu.idle": "0"},
		"cpuset":  {"cpuset.cpus": "0-3", "cpuset.mems": "0"},
		"pids":    {"pids.max": "max"},
		"blkio":   {"blkio.bfq.weight": "100", "blkio.bfq.weight_device": "default 100", "blkio.throttle.read_bps_device": "", "blkio.throttle.write_iops_device": ""},
		"net_cls": {"net_cls.classid": "0"},
		"unified": {"cgroup.max.descendants": "max", "hugetlb.2MB.max": "max", "hugetlb.2MB.rsvd.max": "max"},
	})
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{
			Limit: p64(64 << 20), Swap: p64(128 << 20), Reservation: p64(32 << 20), KernelTCP: p64(1 << 20),
			Swappiness: pu64(0), UseHierarchy: pbool(true),
		},
		CPU: &specs.LinuxCPU{
			Shares: pu64(512), Quota: p64(20000), Period: pu64(50000), Burst: pu64(1000),
			RealtimePeriod: pu64(500000), RealtimeRuntime: p64(1000), Idle: p64(1),
			Cpus: "1,2,3", Mems: "0",
		},
		Pids: &specs.LinuxPids{Limit: p64(0)},
		BlockIO: &specs.LinuxBlockIO{
			Weight:                  pu16(333),
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1 << 20}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 300}},
		},
		Network:        &specs.LinuxNetwork{ClassID: pu32(0x100001)},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}},
		Unified:        map[string]string{"cgroup.max.descendants": "7"},
	}
	if err := m.Set(r); err != nil {
		t.Fatalf("Set: %v", err)
	}
	want := map[string]string{
		"memory/" + memLimitFile: "67108864", "memory/" + memswFile: "134217728",
		"memory/memory.soft_limit_in_bytes": "33554432", "memory/" + kmemTCPFile: "1048576",
		"memory/memory.swappiness": "0", "memory/memory.use_hierarchy": "1",
		"cpu/cpu.shares": "512", "cpu/cpu.cfs_quota_us": "20000", "cpu/cpu.cfs_period_us": "50000",
		"cpu/cpu.cfs_burst_us": "1000", "cpu/cpu.rt_period_us": "500000", "cpu/cpu.rt_runtime_us": "1000",
		"cpu/cpu.idle": "1", "cpuset/cpuset.cpus": "1,2,3", "cpuset/cpuset.mems": "0",
		"pids/pids.max":          "0", // spec 1.3.0: 0 is a limit
		"blkio/blkio.bfq.weight": "333", "blkio/blkio.throttle.read_bps_device": "8:0 1048576",
		"blkio/blkio.throttle.write_iops_device": "8:0 300",
		"net_cls/net_cls.classid":                "1048577",
		"unified/hugetlb.2MB.max":                "4194304", "unified/hugetlb.2MB.rsvd.max": "4194304",
		"unified/cgroup.max.descendants": "7",
	}
	for path, w := range want {
		ctrl, file, _ := strings.Cut(path, "/")
		if got := read(t, filepath.Join(m.Paths[ctrl], file)); got != w {
			t.Errorf("%s = %q, want %q", path, got, w)
		}
	}
}

// TestSetReadBackCatchesTheKernel: the fake files hold what was written,
// so a value the kernel would show differently (rounded to pages, to
// whole huge pages) is reported as not holding, naming the field.
func TestSetReadBackCatchesTheKernel(t *testing.T) {
	cases := []struct {
		name, field string
		files       map[string]map[string]string
		r           specs.LinuxResources
	}{
		{"memory limit not page aligned", "memory.limit", map[string]map[string]string{"memory": memoryFiles()},
			specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(1000000)}}},
		{"hugetlb limit not whole pages", "hugepageLimits[0].limit", map[string]map[string]string{"unified": {"hugetlb.2MB.max": "max"}},
			specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 5 << 20}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fakeControllers(t, c.files)
			err := m.Set(&c.r)
			var re *cgroups.ResourceError
			if !errors.As(err, &re) || re.Field != c.field || !strings.Contains(err.Error(), "reads") {
				t.Fatalf("Set = %v, want a read-back error for %s", err, c.field)
			}
		})
	}
}

func TestSetErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name, field, text string
		files             map[string]map[string]string
		r                 specs.LinuxResources
	}{
		{"controller not mounted", "pids.limit", "not mounted", nil,
			specs.LinuxResources{Pids: &specs.LinuxPids{Limit: p64(10)}}},
		{"swap without swap accounting", "memory.swap", "swapaccount", map[string]map[string]string{"memory": {memLimitFile: unlimited}},
			specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(1 << 20), Swap: p64(2 << 20)}}},
		{"swappiness above 100", "memory.swappiness", "0-100", map[string]map[string]string{"memory": memoryFiles()},
			specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: pu64(101)}}},
		{"blkio weight without CFQ or BFQ", "blockIO.weight", "neither", map[string]map[string]string{"blkio": {"blkio.throttle.read_bps_device": ""}},
			specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: pu16(100)}}},
		{"blkio leaf weight", "blockIO.leafWeight", "leaf_weight", map[string]map[string]string{"blkio": {"blkio.bfq.weight": "100"}},
			specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: pu16(100)}}},
		{"hugetlb not enabled in cgroup2", "hugepageLimits[0]", "subtree_control", map[string]map[string]string{"unified": {"cgroup.procs": ""}},
			specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}}},
		{"hugetlb page size unsupported", "hugepageLimits[0].pageSize", "not supported", map[string]map[string]string{"unified": {"hugetlb.2MB.max": "max"}},
			specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "1GB", Limit: 1 << 30}}}},
		{"hugetlb v1 page size unsupported", "hugepageLimits[0].pageSize", "not supported", map[string]map[string]string{"hugetlb": {"hugetlb.2MB.limit_in_bytes": unlimited}},
			specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "1GB", Limit: 1 << 30}}}},
		{"net_prio missing", "network.priorities[0]", "not mounted", nil,
			specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 1}}}}},
		{"rdma missing", "rdma.mlx5_0", "not available", map[string]map[string]string{"unified": {"cgroup.procs": ""}},
			specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: pu32(1)}}}},
		{"unified file absent", "unified.memory.max", "memory", map[string]map[string]string{"unified": {"cgroup.controllers": "hugetlb"}},
			specs.LinuxResources{Unified: map[string]string{"memory.max": "1"}}},
		{"unified outside the directory", "unified.../x", "not a file name", map[string]map[string]string{"unified": {"cgroup.procs": ""}},
			specs.LinuxResources{Unified: map[string]string{"../x": "1"}}},
		{"cpu idle absent", "cpu.idle", "no such file", map[string]map[string]string{"cpu": {"cpu.shares": "1024"}},
			specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: p64(1)}}},
		{"device rules without a devices hierarchy", "devices", "not mounted", nil,
			specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}},
		{"bad device type", "devices[0].type", `"x"`, map[string]map[string]string{"devices": {"devices.allow": "", "devices.deny": ""}},
			specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "x"}}}},
		{"hole in a wildcard rule", "devices[2]", "wildcard", map[string]map[string]string{"devices": {"devices.allow": "", "devices.deny": ""}},
			specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false}, {Allow: true, Type: "c", Access: "rw"}, {Allow: false, Type: "c", Major: p64(1), Minor: p64(3), Access: "w"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fakeControllers(t, c.files)
			err := m.Set(&c.r)
			var re *cgroups.ResourceError
			if !errors.As(err, &re) || re.Field != c.field || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("Set = %v, want an error for linux.resources.%s mentioning %q", err, c.field, c.text)
			}
			if !strings.HasPrefix(err.Error(), "linux.resources."+c.field+": ") {
				t.Errorf("error %q does not start with the field", err)
			}
		})
	}
}

// TestSetSwapEqualToLimitWithoutMemsw: with no swap accounting, a swap
// equal to the limit (no swap) or -1 asks nothing the memory limit does
// not already enforce: the limit is applied, swap skipped.
func TestSetSwapEqualToLimitWithoutMemsw(t *testing.T) {
	for _, swap := range []int64{-1, 1 << 20} {
		m := fakeControllers(t, map[string]map[string]string{"memory": {memLimitFile: unlimited}})
		if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(1 << 20), Swap: p64(swap)}}); err != nil {
			t.Fatalf("swap %d: %v", swap, err)
		}
		if got := read(t, filepath.Join(m.Paths["memory"], memLimitFile)); got != "1048576" {
			t.Errorf("swap %d: limit file %q", swap, got)
		}
		if _, err := os.Stat(filepath.Join(m.Paths["memory"], memswFile)); err == nil {
			t.Errorf("swap %d: %s was created", swap, memswFile)
		}
	}
}

// TestSetPidsLimit: -1 (any negative) is "max"; 0 is a limit.
func TestSetPidsLimit(t *testing.T) {
	for limit, want := range map[int64]string{-1: "max", -5: "max", 0: "0", 42: "42"} {
		m := fakeControllers(t, map[string]map[string]string{"pids": {"pids.max": "7"}})
		if err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: p64(limit)}}); err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		if got := read(t, filepath.Join(m.Paths["pids"], "pids.max")); got != want {
			t.Errorf("limit %d: pids.max = %q, want %q", limit, got, want)
		}
	}
}

// TestSetZeroMeansUnset: as in runc, a zero memory limit, cpu shares or
// blkio weight writes nothing (so a kernel lacking the file is no error).
func TestSetZeroMeansUnset(t *testing.T) {
	m := fakeControllers(t, map[string]map[string]string{"memory": {}, "cpu": {}, "blkio": {}})
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: p64(0), Reservation: p64(0), Swap: p64(0), Kernel: p64(0)},
		CPU:     &specs.LinuxCPU{Shares: pu64(0), Quota: p64(0), Period: pu64(0), RealtimeRuntime: p64(0)},
		BlockIO: &specs.LinuxBlockIO{Weight: pu16(0), LeafWeight: pu16(0)},
	}
	if err := m.Set(r); err != nil {
		t.Fatalf("Set: %v", err)
	}
}

func TestDeviceState(t *testing.T) {
	rule := func(allow bool, typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
		d := specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Access: access}
		if major != -2 {
			d.Major = &major
		}
		if minor != -2 {
			d.Minor = &minor
		}
		return d
	}
	const unset = -2
	cases := []struct {
		name  string
		rules []specs.LinuxDeviceCgroup
		want  []string // devices.list
		err   string
	}{
		{"empty list is deny all", nil, nil, ""},
		{"allow merges access in first position", []specs.LinuxDeviceCgroup{
			rule(true, "c", 1, 3, "r"), rule(true, "b", 8, 0, "rw"), rule(true, "c", 1, 3, "m"),
		}, []string{"c 1:3 rm", "b 8:0 rw"}, ""},
		{"deny takes access away, then the exception", []specs.LinuxDeviceCgroup{
			rule(true, "c", 1, 3, "rwm"), rule(false, "c", 1, 3, "w"), rule(true, "c", 1, 5, "r"), rule(false, "c", 1, 5, "r"),
		}, []string{"c 1:3 rm"}, ""},
		{"unset fields mean all", []specs.LinuxDeviceCgroup{
			rule(true, "c", unset, unset, ""), rule(true, "b", 7, unset, "r"),
		}, []string{"c *:* rwm", "b 7:* r"}, ""},
		{"allow all switches to allow mode", []specs.LinuxDeviceCgroup{
			rule(true, "c", 1, 3, "r"), rule(true, "", unset, unset, "rwm"), rule(false, "c", 1, 3, "w"),
		}, []string{"a *:* rwm"}, ""},
		{"deny all after allow all starts over", []specs.LinuxDeviceCgroup{
			rule(true, "a", unset, unset, ""), rule(false, "a", unset, unset, ""), rule(true, "c", 1, 3, "r"),
		}, []string{"c 1:3 r"}, ""},
		{"no hole in a wildcard", []specs.LinuxDeviceCgroup{
			rule(true, "c", 136, unset, "rwm"), rule(false, "c", 136, 2, "r"),
		}, nil, "cannot take"},
		{"disjoint access is no hole", []specs.LinuxDeviceCgroup{
			rule(true, "c", unset, unset, "m"), rule(false, "c", 1, 3, "r"),
		}, []string{"c *:* m"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rules, _, err := cgroups.DeviceRules(c.rules)
			if err != nil {
				t.Fatal(err)
			}
			var s devState
			for _, r := range rules[:len(rules)-len(cgroups.DefaultDevices)] {
				if err = s.apply(r); err != nil {
					break
				}
			}
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("apply = %v, want an error with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.list(); !slices.Equal(got, c.want) {
				t.Errorf("list = %q, want %q", got, c.want)
			}
		})
	}
}

// TestSetDevicesWritesAndChecks: the writes end with the default rules, and
// devices.list, read back, must be exactly the expected allowlist.
func TestSetDevicesWritesAndChecks(t *testing.T) {
	var defaults []string
	for _, d := range cgroups.DefaultDevices {
		defaults = append(defaults, d.String())
	}
	r := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Major: p64(10), Minor: p64(229), Access: "rw"},
	}}
	good := strings.Join(append([]string{"c 10:229 rw"}, defaults...), "\n")
	for _, c := range []struct {
		name, list string
		ok         bool
	}{
		{"kernel agrees", good, true},
		{"kernel in allow-all mode", "a *:* rwm", false},
		{"rule missing", strings.Join(defaults, "\n"), false},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			m := fakeControllers(t, map[string]map[string]string{"devices": {"devices.allow": "", "devices.deny": "", "devices.list": c.list}})
			err := m.Set(r)
			if c.ok != (err == nil) {
				t.Fatalf("Set = %v, want ok=%v", err, c.ok)
			}
			// The fake keeps the last write: the last default rule.
			if got := read(t, filepath.Join(m.Paths["devices"], "devices.allow")); got != defaults[len(defaults)-1] {
				t.Errorf("last devices.allow write %q", got)
			}
		})
	}
}

func TestChecks(t *testing.T) {
	ps := int64(os.Getpagesize())
	maxBytes := strconv.FormatInt((1<<63-1)/ps*ps, 10)
	cases := []struct {
		name, got string
		check     cgroups.Checker
		ok        bool
	}{
		{"bytes rounded down", strconv.FormatInt(ps, 10), cgroups.BytesCheck(ps + 1), true},
		{"bytes -1 is the maximum", maxBytes, cgroups.BytesCheck(-1), true},
		{"bytes beyond the maximum", maxBytes, cgroups.BytesCheck(1<<63 - 1), true},
		{"bytes differ", "0", cgroups.BytesCheck(ps), false},
		{"oom_control", "oom_kill_disable 1\nunder_oom 0", oomCheck("1"), true},
		{"hugetlb v2 max", "max", hugetlbCheck(1<<64-1, 2<<20, true), true},
		{"hugetlb v1 whole pages", "4194304", hugetlbCheck(5<<20, 2<<20, false), true},
	}
	for _, c := range cases {
		if want, ok := c.check(c.got); ok != c.ok {
			t.Errorf("%s: check(%q) = %v (want %q)", c.name, c.got, ok, want)
		}
	}
}

func TestParseList(t *testing.T) {
	for in, want := range map[string]string{"0-3,7": "0-3,7", "3,1,2": "1-3", "": "", "5": "5", "0-1,1-2": "0-2"} {
		l, err := cgroups.ParseList(in)
		if err != nil || cgroups.FormatList(l) != want {
			t.Errorf("cgroups.ParseList(%q) = %v, %v; formats as %q, want %q", in, l, err, cgroups.FormatList(l), want)
		}
	}
	for _, bad := range []string{"a", "1-", "3-1", "-1", "1,,2"} {
		if _, err := cgroups.ParseList(bad); err == nil {
			t.Errorf("cgroups.ParseList(%q) accepted", bad)
		}
	}
	for in, want := range map[string]uint64{"64KB": 64 << 10, "2MB": 2 << 20, "1GB": 1 << 30} {
		if got, err := cgroups.ParsePageSize(in); err != nil || got != want {
			t.Errorf("cgroups.ParsePageSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"2M", "MB", "0MB", "2mb", "-1MB"} {
		if _, err := cgroups.ParsePageSize(bad); err == nil {
			t.Errorf("cgroups.ParsePageSize(%q) accepted", bad)
		}
	}
}

// TestSetRealKernel sets limits on a real cgroup of this host (as root):
// the kernel's own behaviour that the read-back relies on (cpu.shares
// clamped), and the memory/memsw write order when raising and lowering.
func TestSetRealKernel(t *testing.T) {
	m, _ := realManager(t)
	if _, ok := m.Paths["memory"]; !ok {
		t.Skip("no v1 memory hierarchy")
	}
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	if !cgroups.Exists(m.Paths["memory"], memswFile) {
		t.Skip("no swap accounting")
	}
	mem := func(limit, swap int64) *specs.LinuxResources {
		return &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit, Swap: &swap}}
	}
	for _, step := range []struct{ limit, swap int64 }{{32 << 20, 64 << 20}, {128 << 20, 256 << 20}, {16 << 20, 16 << 20}, {-1, -1}} {
		if err := m.Set(mem(step.limit, step.swap)); err != nil {
			t.Fatalf("memory %d swap %d: %v", step.limit, step.swap, err)
		}
	}
	if err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: pu64(1)}}); err == nil || !strings.Contains(err.Error(), "keeps 2") {
		t.Errorf("shares 1: %v, want the kernel's clamp reported", err)
	}
	// A top-level cgroup fits in the root's real-time budget.
	if cpu, ok := m.Paths["cpu"]; ok && cgroups.Exists(cpu, "cpu.rt_runtime_us") && filepath.Dir(cpu) == "/sys/fs/cgroup/cpu" {
		rt := &specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimePeriod: pu64(1000000), RealtimeRuntime: p64(5000)}}
		switch err := m.Set(rt); {
		case errors.Is(err, unix.EINVAL):
			t.Logf("the root's real-time budget is in use elsewhere: %v", err)
		case err != nil:
			t.Errorf("realtime: %v", err)
		default:
			if got := read(t, filepath.Join(cpu, "cpu.rt_runtime_us")); got != "5000" {
				t.Errorf("cpu.rt_runtime_us = %q", got)
			}
		}
	}
	// oom_control reads back as "oom_kill_disable 1" and more lines.
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{DisableOOMKiller: pbool(true)}}); err != nil {
		t.Errorf("disableOOMKiller: %v", err)
	}
}
