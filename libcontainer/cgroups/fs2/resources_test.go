package fs2

import (
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func ptr[T any](v T) *T { return &v }

// fakeLeaf is a created container directory holding the control files of
// every controller, with the values a fresh cgroup reads. The fake reads
// back exactly what was written, so files the kernel reformats (io.weight's
// "default N", io.max's lines) fail their read-back here: the tests use
// that to see the converted value that was written.
func fakeLeaf(t *testing.T) *Manager {
	t.Helper()
	m := fakeTree(t)
	files := map[string]string{
		"cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma",
		"memory.max":         "max", "memory.swap.max": "max", "memory.low": "0", "memory.current": "0",
		"cpu.weight": "100", "cpu.max": "max 100000", "cpu.max.burst": "0", "cpu.idle": "0",
		"cpuset.cpus": "", "cpuset.mems": "", "pids.max": "max",
		"io.weight": "default 100", "io.max": "",
		"hugetlb.2MB.max": "max", "hugetlb.1GB.max": "max", "rdma.max": "",
		"memory.high": "max",
	}
	for f, v := range files {
		write(t, m.Dir+"/"+f, v+"\n")
	}
	applyDeviceFilter = func(string, []cgroups.DeviceRule) error { return nil }
	t.Cleanup(func() { applyDeviceFilter = realDeviceFilter })
	return m
}

var realDeviceFilter = applyDeviceFilter

func fieldOf(err error) string {
	var re *cgroups.ResourceError
	if errors.As(err, &re) {
		return re.Field
	}
	return ""
}

func TestSetWritesV2Files(t *testing.T) {
	ps := int64(os.Getpagesize())
	m := fakeLeaf(t)
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(256 * ps), Swap: ptr(384 * ps), Reservation: ptr(128 * ps), Kernel: ptr(int64(1 << 20)), DisableOOMKiller: ptr(false)},
		CPU:    &specs.LinuxCPU{Shares: ptr(uint64(1024)), Quota: ptr(int64(50000)), Burst: ptr(uint64(1000)), Idle: ptr(int64(1)), Cpus: "0,1", Mems: "0"},
		Pids:   &specs.LinuxPids{Limit: ptr(int64(0))},
		HugepageLimits: []specs.LinuxHugepageLimit{
			{Pagesize: "2MB", Limit: 4 << 20},
			{Pagesize: "1048576KB", Limit: 1 << 30}, // the kernel calls it 1GB
		},
		Rdma:    map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: ptr(uint32(3))}},
		Unified: map[string]string{"memory.high": "1G"},
		BlockIO: &specs.LinuxBlockIO{
			WeightDevice:            []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: ptr(uint16(1000))}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}, Rate: 300}},
		},
	}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"memory.max":      strconv.FormatInt(256*ps, 10),
		"memory.swap.max": strconv.FormatInt(128*ps, 10), // 384 pages of memory+swap minus 256 of memory
		"memory.low":      strconv.FormatInt(128*ps, 10),
		"cpu.weight":      "39", // 1 + (1022*9999)/262142
		"cpu.max":         "50000 100000",
		"cpu.max.burst":   "1000",
		"cpu.idle":        "1",
		"cpuset.cpus":     "0,1",
		"cpuset.mems":     "0",
		"pids.max":        "0",
		"hugetlb.2MB.max": "4194304",
		"hugetlb.1GB.max": "1073741824",
		"rdma.max":        "mlx5_0 hca_handle=3",
		"memory.high":     "1G", // the fake keeps the spelling; the kernel would show 1073741824
		"io.weight":       "8:0 10000",
		"io.max":          "8:16 wiops=300",
	}
	for f, v := range want {
		if got := read(t, m.Dir+"/"+f); got != v {
			t.Errorf("%s = %q, want %q", f, got, v)
		}
	}
}

func TestSetMemoryVariants(t *testing.T) {
	ps := int64(os.Getpagesize())
	cases := []struct {
		name      string
		mem       specs.LinuxMemory
		max, swap string // "" : untouched (still "max")
		field     string // the error's field, "" for success
		msg       string
	}{
		{name: "limit alone leaves swap", mem: specs.LinuxMemory{Limit: ptr(ps * 10)}, max: strconv.FormatInt(ps*10, 10), swap: "max"},
		{name: "unlimited limit makes swap unlimited", mem: specs.LinuxMemory{Limit: ptr(int64(-1))}, max: "max", swap: "max"},
		{name: "swap equal to limit means no swap", mem: specs.LinuxMemory{Limit: ptr(ps), Swap: ptr(ps)}, max: strconv.FormatInt(ps, 10), swap: "0"},
		{name: "swap -1", mem: specs.LinuxMemory{Limit: ptr(ps), Swap: ptr(int64(-1))}, max: strconv.FormatInt(ps, 10), swap: "max"},
		{name: "swap without a limit", mem: specs.LinuxMemory{Swap: ptr(ps)}, field: "memory.swap", msg: "needs a memory limit"},
		{name: "swap with an unlimited limit", mem: specs.LinuxMemory{Limit: ptr(int64(-1)), Swap: ptr(ps)}, field: "memory.swap", msg: "needs a memory limit"},
		{name: "swap below the limit", mem: specs.LinuxMemory{Limit: ptr(2 * ps), Swap: ptr(ps)}, field: "memory.swap", msg: "below the memory limit"},
		{name: "swappiness", mem: specs.LinuxMemory{Swappiness: ptr(uint64(10))}, field: "memory.swappiness", msg: "no per-cgroup swappiness"},
		{name: "swappiness -1 is unset", mem: specs.LinuxMemory{Swappiness: ptr(uint64(math.MaxUint64))}},
		{name: "disableOOMKiller", mem: specs.LinuxMemory{DisableOOMKiller: ptr(true)}, field: "memory.disableOOMKiller", msg: "cannot disable"},
		{name: "useHierarchy false", mem: specs.LinuxMemory{UseHierarchy: ptr(false)}, field: "memory.useHierarchy"},
		{name: "useHierarchy true", mem: specs.LinuxMemory{UseHierarchy: ptr(true)}},
		{name: "kernelTCP warns", mem: specs.LinuxMemory{KernelTCP: ptr(int64(1 << 20))}},
		// The kernel rounds down to pages: 1000 bytes read back as 0.
		// The fake keeps 1000, so the read-back catches the mismatch.
		{name: "read-back mismatch", mem: specs.LinuxMemory{Limit: ptr(int64(1000))}, field: "memory.limit", msg: `reads "1000", not "0"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fakeLeaf(t)
			err := m.Set(&specs.LinuxResources{Memory: &c.mem})
			if c.field != "" {
				if fieldOf(err) != c.field || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("Set = %v, want an error for %s containing %q", err, c.field, c.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for f, v := range map[string]string{"memory.max": c.max, "memory.swap.max": c.swap} {
				if v == "" {
					v = "max"
				}
				if got := read(t, m.Dir+"/"+f); got != v {
					t.Errorf("%s = %q, want %q", f, got, v)
				}
			}
		})
	}
}

func TestUpdateKeepsWhatIsUnset(t *testing.T) {
	ps := int64(os.Getpagesize())
	m := fakeLeaf(t)
	write(t, m.Dir+"/memory.max", strconv.FormatInt(100*ps, 10))
	write(t, m.Dir+"/memory.swap.max", strconv.FormatInt(100*ps, 10))
	write(t, m.Dir+"/cpu.max", "50000 100000")
	// A new limit alone keeps the memory+swap total of 200 pages.
	if err := m.Update(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(150 * ps)}}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, m.Dir+"/memory.swap.max"); got != strconv.FormatInt(50*ps, 10) {
		t.Errorf("memory.swap.max = %s, want 50 pages", got)
	}
	// A new swap alone is converted against the limit in force.
	if err := m.Update(&specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: ptr(400 * ps)}}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, m.Dir+"/memory.swap.max"); got != strconv.FormatInt(250*ps, 10) {
		t.Errorf("memory.swap.max = %s, want 250 pages", got)
	}
	// Above the total: v1 refused it too.
	err := m.Update(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(500 * ps)}})
	if fieldOf(err) != "memory.limit" || !strings.Contains(err.Error(), "raise swap too") {
		t.Fatalf("Update above memory+swap = %v", err)
	}
	// A new period keeps the quota.
	if err := m.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Period: ptr(uint64(200000))}}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, m.Dir+"/cpu.max"); got != "50000 200000" {
		t.Errorf("cpu.max = %q", got)
	}
	if err := m.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr(int64(-1))}}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, m.Dir+"/cpu.max"); got != "max 200000" {
		t.Errorf("cpu.max = %q", got)
	}
	// Update never touches the device filter.
	applyDeviceFilter = func(string, []cgroups.DeviceRule) error { t.Error("Update installed a device filter"); return nil }
	if err := m.Update(&specs.LinuxResources{}); err != nil {
		t.Fatal(err)
	}
}

func TestSetErrors(t *testing.T) {
	cases := []struct {
		name  string
		r     specs.LinuxResources
		prep  func(m *Manager)
		field string
		msg   string
	}{
		{name: "realtime", r: specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: ptr(int64(1000))}}, field: "cpu.realtimeRuntime", msg: "no real-time"},
		{name: "realtime period", r: specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimePeriod: ptr(uint64(1000))}}, field: "cpu.realtimePeriod"},
		{name: "shares out of range", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr(uint64(1))}}, field: "cpu.shares", msg: "2-262144"},
		{name: "leaf weight", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: ptr(uint16(100))}}, field: "blockIO.leafWeight"},
		{name: "device leaf weight", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{LeafWeight: ptr(uint16(100))}}}}, field: "blockIO.weightDevice[0].leafWeight"},
		{name: "classID", r: specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: ptr(uint32(1))}}, field: "network.classID", msg: "no net_cls"},
		{name: "priorities", r: specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 1}}}}, field: "network.priorities[0]"},
		{name: "unified path", r: specs.LinuxResources{Unified: map[string]string{"../memory.max": "1"}}, field: "unified.../memory.max", msg: "not a file name"},
		{name: "unified no controller", r: specs.LinuxResources{Unified: map[string]string{"misc.max": "1"}}, field: "unified.misc.max", msg: "misc controller is not enabled"},
		{name: "unified no file", r: specs.LinuxResources{Unified: map[string]string{"memory.nope": "1"}}, field: "unified.memory.nope", msg: "no such file"},
		{name: "unified not taken", r: specs.LinuxResources{Unified: map[string]string{"cpu.weight": "100"}}, prep: func(m *Manager) {
			os.Remove(m.Dir + "/cpu.weight")
			if err := os.Mkdir(m.Dir+"/cpu.weight", 0o755); err != nil {
				t.Fatal(err)
			}
		}, field: "unified.cpu.weight", msg: "is a directory"},
		{name: "unified not applied", r: specs.LinuxResources{Unified: map[string]string{"memory.high": "1G"}}, prep: func(m *Manager) {
			// Another file name for the same bytes: only memory files round.
			os.Remove(m.Dir + "/memory.high")
			if err := os.Symlink("/dev/null", m.Dir+"/memory.high"); err != nil {
				t.Fatal(err)
			}
		}, field: "unified.memory.high", msg: `reads ""`},
		{name: "hugetlb size the kernel lacks", r: specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "64KB", Limit: 1}}}, field: "hugepageLimits[0].pageSize", msg: "not supported"},
		{name: "hugetlb not rounded", r: specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 3 << 20}}}, field: "hugepageLimits[0].limit", msg: `not "2097152"`},
		{name: "controller not enabled", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(5))}}, prep: func(m *Manager) {
			os.Remove(m.Dir + "/pids.max")
			write(t, m.Root+"/a/b/cgroup.subtree_control", "cpu memory")
		}, field: "pids.limit", msg: `pids controller is not enabled for it (its parent's cgroup.subtree_control reads "cpu memory"`},
		{name: "hugetlb not enabled", r: specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 2 << 20}}}, prep: func(m *Manager) {
			os.Remove(m.Dir + "/hugetlb.2MB.max")
			os.Remove(m.Dir + "/hugetlb.1GB.max")
		}, field: "hugepageLimits[0]", msg: "hugetlb controller is not enabled"},
		// What was written shows in the read-back error of the fake.
		{name: "io.weight converted", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(500))}}, field: "blockIO.weight", msg: `wrote "4950" to`},
		{name: "io.bfq.weight as is", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(500))}}, prep: func(m *Manager) {
			write(t, m.Dir+"/io.bfq.weight", "default 100")
		}, field: "blockIO.weight", msg: `wrote "500" to`},
		{name: "blkio weight out of range", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(5))}}, field: "blockIO.weight", msg: "10-1000"},
		{name: "bad device rule", r: specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "x"}}}, field: "devices[0].type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fakeLeaf(t)
			if c.prep != nil {
				c.prep(m)
			}
			err := m.Set(&c.r)
			if fieldOf(err) != c.field || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("Set = %v\nwant an error for %s containing %q", err, c.field, c.msg)
			}
			if !strings.HasPrefix(err.Error(), "linux.resources."+c.field+": ") {
				t.Fatalf("error %q does not start with the field", err)
			}
		})
	}
}

func TestSetDeviceRules(t *testing.T) {
	m := fakeLeaf(t)
	var got []cgroups.DeviceRule
	applyDeviceFilter = func(dir string, rules []cgroups.DeviceRule) error {
		if dir != m.Dir {
			t.Errorf("device filter for %s, want %s", dir, m.Dir)
		}
		got = rules
		return nil
	}
	if err := m.Set(nil); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1+len(cgroups.DefaultDevices) || got[0].String() != "a" || got[0].Allow {
		t.Fatalf("rules for a nil r = %v, want deny-all then the defaults", got)
	}
	err := m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: ptr(int64(10)), Minor: ptr(int64(200)), Access: "rw"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got[1].String() != "c 10:200 rw" || !got[1].Allow || got[len(got)-1] != cgroups.DefaultDevices[len(cgroups.DefaultDevices)-1] {
		t.Fatalf("rules = %v", got)
	}
	applyDeviceFilter = func(string, []cgroups.DeviceRule) error { return errors.New("no bpf") }
	if err := m.Set(nil); fieldOf(err) != "devices" || !strings.Contains(err.Error(), "no bpf") {
		t.Fatalf("Set with a failing filter = %v", err)
	}
}

func TestConversions(t *testing.T) {
	for shares, w := range map[uint64]uint64{2: 1, 1024: 39, 262144: 10000} {
		if got := sharesToWeight(shares); got != w {
			t.Errorf("sharesToWeight(%d) = %d, want %d", shares, got, w)
		}
	}
	for bw, w := range map[uint16]uint64{10: 1, 500: 4950, 1000: 10000} {
		if got := ioWeight(bw); got != w {
			t.Errorf("ioWeight(%d) = %d, want %d", bw, got, w)
		}
	}
	for b, name := range map[uint64]string{64 << 10: "64KB", 2 << 20: "2MB", 32 << 20: "32MB", 1 << 30: "1GB", 16 << 30: "16GB"} {
		if got := cgroups.HugePageName(b); got != name {
			t.Errorf("HugePageName(%d) = %q, want %q", b, got, name)
		}
	}
	ps := os.Getpagesize()
	for _, c := range []struct {
		val, got string
		ok       bool
	}{
		{"max", "max 100000", true},                     // cpu.max keeps its period
		{"50000 100000", "50000 100000", true},          // both halves
		{"1G", "1073741824", true},                      // memparse suffix
		{strconv.Itoa(ps + 1), strconv.Itoa(ps), true},  // page rounding
		{strconv.Itoa(2 * ps), strconv.Itoa(ps), false}, // more than rounding
		{"0,1,2", "0-2", true},                          // lists
		{"8:0 rbps=1000", "8:0 rbps=1000 wbps=max riops=max wiops=max", true},
		{"8:0 rbps=max", "", true},                         // io.max drops an all-max line
		{"8:0 rbps=1000", "8:0 rbps=2000 wbps=max", false}, // not applied
		{"+cpu -io", "cpu memory", true},
		{"+cpu", "memory", false},
		{"0-1", "0", false},
	} {
		if _, ok := unifiedCheck("memory.high", c.val)(c.got); ok != c.ok {
			t.Errorf("unifiedCheck(%q)(%q) = %v, want %v", c.val, c.got, ok, c.ok)
		}
	}
	if _, ok := unifiedCheck("cgroup.freeze", "1")("0"); ok {
		t.Error("a non-memory file accepted a page-rounded value")
	}
	if w, _ := bytesCheck(math.MaxInt64)(""); w != "max" {
		t.Errorf("bytesCheck(MaxInt64) wants %q, not max", w)
	}
}
