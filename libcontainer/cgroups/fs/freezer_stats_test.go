package fs

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

// slowKernel makes readFreezer report FREEZING for the first n reads, then
// what the file holds; it counts the reads.
func slowKernel(t *testing.T, n int) *int {
	reads := 0
	orig := readFreezer
	readFreezer = func(dir string) (string, error) {
		reads++
		if reads <= n {
			return stateFreezing, nil
		}
		return orig(dir)
	}
	t.Cleanup(func() { readFreezer = orig })
	return &reads
}

// Not parallel: these tests replace the package's readFreezer and freezeTimeout.
func TestFreeze(t *testing.T) {
	cases := []struct {
		name      string
		freezing  int // reads that say FREEZING
		timeout   time.Duration
		wantErr   string
		wantState string
		wantReads int
	}{
		{"frozen at once", 0, time.Minute, "", stateFrozen, 1},
		{"FREEZING then FROZEN: writes FROZEN again", 3, time.Minute, "", stateFrozen, 4},
		{"stuck FREEZING: times out and thaws", 1 << 30, 50 * time.Millisecond, "still FREEZING", stateThawed, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := fakeControllers(t, map[string]map[string]string{"freezer": {freezerState: stateThawed}})
			reads := slowKernel(t, tc.freezing)
			freezeTimeout = tc.timeout
			t.Cleanup(func() { freezeTimeout = 5 * time.Second })
			err := m.Freeze()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Freeze() = %v, want error %q", err, tc.wantErr)
			}
			if got := read(t, filepath.Join(m.Paths["freezer"], freezerState)); got != tc.wantState {
				t.Errorf("freezer.state = %q, want %q", got, tc.wantState)
			}
			if tc.wantReads >= 0 && *reads != tc.wantReads {
				t.Errorf("read freezer.state %d times, want %d", *reads, tc.wantReads)
			}
		})
	}
}

func TestFreezeUnexpectedState(t *testing.T) {
	m := fakeControllers(t, map[string]map[string]string{"freezer": {freezerState: stateThawed}})
	orig := readFreezer
	readFreezer = func(string) (string, error) { return "MELTING", nil }
	t.Cleanup(func() { readFreezer = orig })
	if err := m.Freeze(); err == nil || !strings.Contains(err.Error(), `"MELTING"`) {
		t.Fatalf("Freeze() = %v, want an error naming the state", err)
	}
}

func TestThawAndFrozen(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string // nil: no freezer hierarchy
		want  bool
	}{
		{"thawed", map[string]string{freezerState: stateThawed, freezerSelf: "0"}, false},
		{"frozen itself", map[string]string{freezerState: stateFrozen, freezerSelf: "1"}, true},
		{"freezing itself", map[string]string{freezerState: stateFreezing, freezerSelf: "1"}, true},
		{"frozen by an ancestor only", map[string]string{freezerState: stateFrozen, freezerSelf: "0"}, false},
		{"no self_freezing file (fake tree)", map[string]string{freezerState: stateFrozen}, true},
		{"no freezer hierarchy", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctrls := map[string]map[string]string{"memory": {}}
			if tc.files != nil {
				ctrls["freezer"] = tc.files
			}
			m := fakeControllers(t, ctrls)
			if got := m.Frozen(); got != tc.want {
				t.Errorf("Frozen() = %v, want %v", got, tc.want)
			}
			err := m.Thaw()
			if tc.files == nil {
				if !errors.Is(err, cgroups.ErrNoFreezer) {
					t.Errorf("Thaw() without freezer = %v, want cgroups.ErrNoFreezer", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := read(t, filepath.Join(m.Paths["freezer"], freezerState)); got != stateThawed {
				t.Errorf("after Thaw freezer.state = %q", got)
			}
		})
	}
	var nilManager *Manager
	if nilManager.Frozen() {
		t.Error("a nil manager (container without cgroup) is frozen")
	}
}

// TestStatsFake reads a fake cgroupfs holding this kernel's files and
// checks the decoded values and runc's JSON names.
func TestStatsFake(t *testing.T) {
	m := fakeControllers(t, map[string]map[string]string{
		"cpu": {"cpu.stat": "nr_periods 10\nnr_throttled 2\nthrottled_time 300\nnr_bursts 0\nburst_time 0\n"},
		"cpuacct": {
			"cpuacct.usage": "1500\n", "cpuacct.usage_percpu": "1000 500 \n",
			"cpuacct.usage_percpu_sys": "600 100 \n", "cpuacct.usage_percpu_user": "400 400 \n",
			"cpuacct.stat": "user 3\nsystem 7\n",
		},
		"cpuset": {
			"cpuset.cpus": "0-2,5\n", "cpuset.mems": "0\n", "cpuset.sched_load_balance": "1\n",
			"cpuset.sched_relax_domain_level": "-1\n", "cpuset.cpu_exclusive": "0\n",
		},
		"memory": {
			"memory.stat":           "cache 4096\nrss 8192\n",
			"memory.usage_in_bytes": "12288\n", "memory.max_usage_in_bytes": "20480\n",
			"memory.limit_in_bytes": "33554432\n", "memory.failcnt": "3\n",
			"memory.memsw.usage_in_bytes": "12288\n", "memory.memsw.limit_in_bytes": "9223372036854771712\n",
			// no memory.kmem.*: an older or newer kernel; skipped
		},
		"pids": {"pids.current": "3\n", "pids.max": "max\n"},
		"blkio": {
			"blkio.bfq.io_service_bytes_recursive":      "",
			"blkio.bfq.io_serviced_recursive":           "Total 0\n",
			"blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n",
			"blkio.throttle.io_serviced_recursive":      "8:0 Read 1\nTotal 1\n",
		},
	})
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := &cgroups.Stats{
		CPU: cgroups.CPU{
			Usage: cgroups.CPUUsage{Total: 1500, Percpu: []uint64{1000, 500}, PercpuKernel: []uint64{600, 100},
				PercpuUser: []uint64{400, 400}, User: 30_000_000, Kernel: 70_000_000},
			Throttling: cgroups.Throttling{Periods: 10, ThrottledPeriods: 2, ThrottledTime: 300},
		},
		CPUSet: cgroups.CPUSet{CPUs: []uint16{0, 1, 2, 5}, Mems: []uint16{0}, SchedLoadBalance: 1, SchedRelaxDomainLevel: -1},
		Memory: cgroups.Memory{
			Cache: 4096, Raw: map[string]uint64{"cache": 4096, "rss": 8192},
			Usage: cgroups.MemoryEntry{Limit: 33554432, Usage: 12288, Max: 20480, Failcnt: 3},
			Swap:  cgroups.MemoryEntry{Limit: 9223372036854771712, Usage: 12288},
		},
		Pids: cgroups.Pids{Current: 3},
		Blkio: cgroups.Blkio{
			IoServiceBytesRecursive: []cgroups.BlkioEntry{{Major: 8, Minor: 0, Op: "Read", Value: 4096}, {Major: 8, Minor: 0, Op: "Write", Value: 0}},
			IoServicedRecursive:     []cgroups.BlkioEntry{{Major: 8, Minor: 0, Op: "Read", Value: 1}},
		},
		Hugetlb: s.Hugetlb, // no hugetlb hierarchy: empty, checked below
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Stats() =\n%+v\nwant\n%+v", s, want)
	}
	if len(s.Hugetlb) != 0 {
		t.Errorf("hugetlb without a hierarchy: %v", s.Hugetlb)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{
		`"cpu":{"usage":{"total":1500,"percpu":[1000,500],"percpu_kernel":[600,100],"percpu_user":[400,400],"kernel":70000000,"user":30000000},"throttling":{"periods":10,"throttledPeriods":2,"throttledTime":300}}`,
		`"usage":{"limit":33554432,"usage":12288,"max":20480,"failcnt":3}`,
		`"kernel":{"limit":0,"failcnt":0}`,
		`"pids":{"current":3}`,
		`"ioServiceBytesRecursive":[{"major":8,"op":"Read","value":4096},{"major":8,"op":"Write"}]`,
		`"hugetlb":{},"intel_rdt":{},"network_interfaces":null`,
		`"sched_relax_domain_level":-1`,
	} {
		if !strings.Contains(string(b), frag) {
			t.Errorf("JSON lacks %s:\n%s", frag, b)
		}
	}
}

func TestStatsParseErrors(t *testing.T) {
	cases := map[string]map[string]map[string]string{
		"pids.current":   {"pids": {"pids.current": "three"}},
		"memory.stat":    {"memory": {"memory.stat": "cache"}},
		"blkio":          {"blkio": {"blkio.throttle.io_serviced_recursive": "8-0 Read 1"}},
		"cpuacct.usage":  {"cpuacct": {"cpuacct.usage": "-1"}},
		"cpuset.cpus":    {"cpuset": {"cpuset.cpus": "a-b"}},
		"cpuset relax":   {"cpuset": {"cpuset.sched_relax_domain_level": "x"}},
		"percpu numbers": {"cpuacct": {"cpuacct.usage_percpu": "1 x"}},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := fakeControllers(t, files).Stats(); err == nil {
				t.Error("Stats() accepted a malformed file")
			}
		})
	}
}

func TestHugePageName(t *testing.T) {
	for kb, want := range map[uint64]string{2048: "2MB", 1048576: "1GB", 64: "64KB", 32768: "32MB"} {
		if got := cgroups.HugePageName(kb << 10); got != want {
			t.Errorf("HugePageName(%d) = %q, want %q", kb, got, want)
		}
	}
}

func TestAllPidsNested(t *testing.T) {
	m := fakeControllers(t, map[string]map[string]string{
		"devices": {}, // sorted first, but no cgroup.procs: skipped
		"pids":    {"cgroup.procs": "10\n11\n"},
	})
	write(t, filepath.Join(m.Paths["pids"], "inner", "cgroup.procs"), "12\n")
	write(t, filepath.Join(m.Paths["pids"], "inner", "deeper", "cgroup.procs"), "")
	got, err := m.AllPids()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []int{10, 11, 12}; !slices.Equal(got, want) {
		t.Errorf("AllPids() = %v, want %v", got, want)
	}
	if _, err := (&Manager{Paths: map[string]string{"pids": t.TempDir()}}).AllPids(); err == nil {
		t.Error("AllPids() with no readable cgroup.procs succeeded")
	}
}
