package fs2

import (
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"golang.org/x/sys/unix"
)

func TestStatsFake(t *testing.T) {
	m := fakeTree(t)
	hp := t.TempDir()
	for _, d := range []string{"hugepages-2048kB", "hugepages-1048576kB"} {
		if err := os.Mkdir(hp+"/"+d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	old := cgroups.HugePagesDir
	cgroups.HugePagesDir = hp
	t.Cleanup(func() { cgroups.HugePagesDir = old })
	for f, v := range map[string]string{
		"cpu.stat":            "usage_usec 100\nuser_usec 60\nsystem_usec 40\nnr_periods 7\nnr_throttled 2\nthrottled_usec 5\n",
		"memory.stat":         "anon 4096\nfile 8192\n",
		"memory.current":      "12288\n",
		"memory.max":          "1048576\n",
		"memory.swap.current": "4096\n",
		"memory.swap.max":     "max\n",
		"pids.current":        "3\n",
		"pids.max":            "max\n",
		"io.stat":             "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n253:1 rbytes=30 wbytes=0 rios=3 wios=0\n",
		// The reservation counter wins where the kernel has it.
		"hugetlb.2MB.current":      "999\n",
		"hugetlb.2MB.rsvd.current": "2097152\n",
		"hugetlb.2MB.rsvd.events":  "max 4\n",
		"hugetlb.1GB.current":      "0\n",
		"hugetlb.1GB.events":       "max 0\n",
	} {
		write(t, m.Dir+"/"+f, v)
	}
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := &cgroups.Stats{
		CPU: cgroups.CPU{
			Usage:      cgroups.CPUUsage{Total: 100000, User: 60000, Kernel: 40000},
			Throttling: cgroups.Throttling{Periods: 7, ThrottledPeriods: 2, ThrottledTime: 5000},
		},
		Memory: cgroups.Memory{
			Cache: 8192,
			Usage: cgroups.MemoryEntry{Usage: 12288, Limit: 1048576},
			Swap:  cgroups.MemoryEntry{Usage: 16384, Limit: math.MaxUint64},
			Raw:   map[string]uint64{"anon": 4096, "file": 8192},
		},
		Pids: cgroups.Pids{Current: 3},
		Blkio: cgroups.Blkio{
			IoServiceBytesRecursive: []cgroups.BlkioEntry{
				{Major: 8, Op: "Read", Value: 10}, {Major: 8, Op: "Write", Value: 20},
				{Major: 253, Minor: 1, Op: "Read", Value: 30}, {Major: 253, Minor: 1, Op: "Write"},
			},
			IoServicedRecursive: []cgroups.BlkioEntry{
				{Major: 8, Op: "Read", Value: 1}, {Major: 8, Op: "Write", Value: 2},
				{Major: 253, Minor: 1, Op: "Read", Value: 3}, {Major: 253, Minor: 1, Op: "Write"},
			},
		},
		Hugetlb: map[string]cgroups.Hugetlb{"2MB": {Usage: 2097152, Failcnt: 4}, "1GB": {}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("Stats =\n%+v\nwant\n%+v", s, want)
	}

	// A swap limit is reported as memory+swap, as v1's memsw was.
	write(t, m.Dir+"/memory.swap.max", "4096\n")
	write(t, m.Dir+"/pids.max", "10\n")
	if s, err = m.Stats(); err != nil {
		t.Fatal(err)
	}
	if s.Memory.Swap.Limit != 1048576+4096 || s.Pids.Limit != 10 {
		t.Fatalf("swap limit %d, pids limit %d", s.Memory.Swap.Limit, s.Pids.Limit)
	}

	// Missing files are skipped (no pids controller: processes counted).
	for _, f := range []string{"memory.stat", "memory.current", "io.stat", "pids.current", "hugetlb.2MB.rsvd.current", "hugetlb.2MB.current", "cpu.stat"} {
		os.Remove(m.Dir + "/" + f)
	}
	write(t, m.Dir+"/cgroup.procs", "1\n2\n")
	if s, err = m.Stats(); err != nil {
		t.Fatal(err)
	}
	if s.Pids.Current != 2 || s.Memory.Usage.Usage != 0 || len(s.Hugetlb) != 1 {
		t.Fatalf("Stats with files missing = %+v", s)
	}

	// Anything else fails.
	write(t, m.Dir+"/memory.current", "lots\n")
	if _, err := m.Stats(); err == nil || !strings.Contains(err.Error(), "memory.current") {
		t.Fatalf("Stats with a bad memory.current = %v", err)
	}
}

// waitReadable polls fd until it is readable; the test fails after 10 s.
func waitReadable(t *testing.T, fd int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, 100); err == nil && n > 0 {
			return
		}
	}
	t.Fatal("notifier fd never became readable")
}

func TestOOMFake(t *testing.T) {
	m := fakeTree(t)
	write(t, m.Dir+"/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
	write(t, m.Dir+"/cgroup.events", "populated 1\nfrozen 0\n")
	n, err := m.OOM()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	// Kills before OOM() do not count; other events do not either.
	write(t, m.Dir+"/memory.events", "low 0\nhigh 5\nmax 3\noom 1\noom_kill 1\n")
	waitReadable(t, n.Fd())
	if c, gone := n.Read(); c != 0 || gone {
		t.Fatalf("Read after a high event = %d, %v", c, gone)
	}
	write(t, m.Dir+"/memory.events", "low 0\nhigh 5\nmax 9\noom 3\noom_kill 3\n")
	waitReadable(t, n.Fd())
	if c, gone := n.Read(); c != 2 || gone {
		t.Fatalf("Read after two kills = %d, %v; want 2, false", c, gone)
	}
	write(t, m.Dir+"/cgroup.events", "populated 0\nfrozen 0\n")
	waitReadable(t, n.Fd())
	if c, gone := n.Read(); c != 0 || !gone {
		t.Fatalf("Read after the last process left = %d, %v; want 0, true", c, gone)
	}
	// Drained: the fd is not readable any more.
	if k, _ := unix.Poll([]unix.PollFd{{Fd: int32(n.Fd()), Events: unix.POLLIN}}, 0); k != 0 {
		t.Fatal("fd still readable after Read")
	}
	os.RemoveAll(m.Dir)
	if _, gone := n.Read(); !gone {
		t.Fatal("a removed cgroup is not gone")
	}
}
