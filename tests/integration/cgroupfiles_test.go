package integration

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// This file: where a container's cgroup is and what it holds, on either
// cgroup version, so that one test proves a limit on v1 (hybrid) hosts and
// in the cgroup2 VM (scripts/cgroup2-vm). The directories come from the
// kernel, not from the runtime's state: /proc/<init pid>/cgroup names the
// init's cgroup in each hierarchy and /proc/self/mountinfo where each
// hierarchy is mounted, so the helpers work against runc as well. Values
// are read by logical name (cgValue) from the file that holds them in the
// host's mode and compared in the spec's terms (cgWant). A check that
// exists on one version only runs in cgOnly, a subtest skipped with the
// reason on the other.

// cgMount is a cgroup or cgroup2 mount of this process's mount namespace.
type cgMount struct {
	root, point, superOpts string
	v2                     bool
}

// cgMounts lists the cgroup mounts in /proc/self/mountinfo.
func cgMounts() []cgMount {
	var out []cgMount
	for _, line := range strings.Split(readOr("/proc/self/mountinfo"), "\n") {
		f := strings.Fields(line)
		sep := -1
		for i, x := range f {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 6 || len(f) < sep+4 || (f[sep+1] != "cgroup" && f[sep+1] != "cgroup2") {
			continue
		}
		out = append(out, cgMount{root: unescapeMount(f[3]), point: unescapeMount(f[4]),
			superOpts: f[sep+3], v2: f[sep+1] == "cgroup2"})
	}
	return out
}

// cgPathsOf maps each hierarchy of pid's cgroups to its directory on the
// host: "unified" is the cgroup2 one (in either mode), and every v1
// controller of a hierarchy ("cpu" and "cpuacct" of cpu,cpuacct; "systemd"
// for name=systemd) names its hierarchy's directory. A hierarchy mounted
// under /sys/fs/cgroup wins over other mounts of it.
func cgPathsOf(pid string) map[string]string {
	mounts := cgMounts()
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(readOr(filepath.Join("/proc", pid, "cgroup"))), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var keys []string
		if parts[1] == "" {
			keys = []string{"unified"}
		} else {
			for _, c := range strings.Split(parts[1], ",") {
				keys = append(keys, strings.TrimPrefix(c, "name="))
			}
		}
		best := ""
		for _, m := range mounts {
			if m.v2 != (parts[1] == "") || (!m.v2 && !hasOpt(m.superOpts, strings.Split(parts[1], ",")[0])) {
				continue
			}
			rel, ok := strings.CutPrefix(parts[2], m.root)
			if m.root == "/" {
				rel, ok = parts[2], true
			}
			if !ok || (rel != "" && !strings.HasPrefix(rel, "/")) {
				continue // the cgroup is outside what this mount shows
			}
			dir := filepath.Join(m.point, rel)
			if best == "" || strings.HasPrefix(m.point, "/sys/fs/cgroup") && !strings.HasPrefix(best, "/sys/fs/cgroup") {
				best = dir
			}
		}
		if best != "" {
			for _, k := range keys {
				out[k] = best
			}
		}
	}
	return out
}

// cgCache keeps each bundle's directories: a container's cgroup does not
// change, and tests read them again once the init is gone.
var cgCache sync.Map // *bundle -> map[string]string

// cgDirs returns the container's cgroup directories by hierarchy key (see
// cgPathsOf), read through its init's pid while the init exists.
func cgDirs(t *testing.T, b *bundle) map[string]string {
	t.Helper()
	if d, ok := cgCache.Load(b); ok {
		return d.(map[string]string)
	}
	pid := strconv.Itoa(b.state().Pid)
	dirs := cgPathsOf(pid)
	if len(dirs) == 0 {
		t.Fatalf("no cgroup of the container's init %s in /proc/%s/cgroup", pid, pid)
	}
	cgCache.Store(b, dirs)
	return dirs
}

// cgDir is the container's cgroup directory for controller c ("memory",
// "cpu", "pids", "freezer", "devices", "cpuset", "blkio", ...) or
// "unified" (the cgroup2 hierarchy): on a cgroup2-only host every
// controller is in the one directory. It fails the test when the container
// shares the test's own cgroup there (the runtime did not place it).
func cgDir(t *testing.T, b *bundle, c string) string {
	t.Helper()
	key := c
	if cgroupV2Only() {
		key = "unified"
	}
	dir, ok := cgDirs(t, b)[key]
	if !ok {
		t.Skipf("no %s hierarchy on this host", c)
	}
	if own := cgPathsOf("self")[key]; own == dir {
		t.Fatalf("the container's %s cgroup is the test's own (%s): the runtime did not place it", c, dir)
	}
	return dir
}

// cgInside is a shell snippet that sets $cg, inside the container, to the
// directory of its own cgroup for controller c as its /sys/fs/cgroup mount
// shows it: v1, /sys/fs/cgroup/<c>; v2, the path of /proc/self/cgroup's
// 0:: line under /sys/fs/cgroup (a cgroup namespace or a bind of the
// container's own cgroup makes that /sys/fs/cgroup itself). It uses shell
// builtins only: a container at pids.max cannot fork.
func cgInside(c string) string {
	if !cgroupV2Only() {
		return "cg=/sys/fs/cgroup/" + c
	}
	return `read cg < /proc/self/cgroup; cg=/sys/fs/cgroup${cg#0::}; [ -e "$cg/cgroup.procs" ] || cg=/sys/fs/cgroup`
}

// cgUnlimited is v1's "no limit" for memory (PAGE_COUNTER_MAX pages).
const cgUnlimited = "9223372036854771712"

// cgFiles names the file holding each one-file logical value, v1 then v2,
// with the controller whose directory holds it.
var cgFiles = map[string][3]string{
	"memory.limit":       {"memory", "memory.limit_in_bytes", "memory.max"},
	"memory.reservation": {"memory", "memory.soft_limit_in_bytes", "memory.low"},
	"memory.usage":       {"memory", "memory.usage_in_bytes", "memory.current"},
	"memory.peak":        {"memory", "memory.max_usage_in_bytes", "memory.peak"},
	"cpu.shares":         {"cpu", "cpu.shares", "cpu.weight"},
	"cpu.burst":          {"cpu", "cpu.cfs_burst_us", "cpu.max.burst"},
	"cpu.idle":           {"cpu", "cpu.idle", "cpu.idle"},
	"cpuset.cpus":        {"cpuset", "cpuset.cpus", "cpuset.cpus"},
	"cpuset.mems":        {"cpuset", "cpuset.mems", "cpuset.mems"},
	"pids.max":           {"pids", "pids.max", "pids.max"},
	"pids.current":       {"pids", "pids.current", "pids.current"},
}

// cgFile is the name of the file holding the one-file logical value key in
// this host's mode (see cgFiles).
func cgFile(key string) string {
	f, ok := cgFiles[key]
	if !ok {
		panic("cgFile: no file for " + key)
	}
	if cgroupV2Only() {
		return f[2]
	}
	return f[1]
}

// cgRead reads file of the container's cgroup for controller c.
func cgRead(t *testing.T, b *bundle, c, file string) string {
	t.Helper()
	return strings.TrimSpace(readFile(t, filepath.Join(cgDir(t, b, c), file)))
}

// cgMax maps the unlimited values to "max": v1's memory page counter
// maximum and cfs quota -1, the spec's -1.
func cgMax(v string) string {
	if v == cgUnlimited || v == "-1" {
		return "max"
	}
	return v
}

// cgValue reads the container's logical value key from the host, from the
// file that holds it in this mode:
//
//	memory.limit, memory.reservation   bytes or "max"
//	memory.swap      memory+swap as the spec counts it (v2: memory.max +
//	                 memory.swap.max) or "max"
//	memory.usage, memory.peak          bytes
//	memory.oom_kill  OOM kills (v1 memory.oom_control, v2 memory.events)
//	cpu.shares       v1 cpu.shares; v2 cpu.weight (see cgWant)
//	cpu.quota        microseconds or "max"; cpu.period (v2: cpu.max)
//	cpu.burst, cpu.idle, cpuset.cpus, cpuset.mems, pids.max, pids.current
//	pids.events.max  forks refused at pids.max
//	freezer          FROZEN, FREEZING or THAWED (v2 from cgroup.freeze and
//	                 cgroup.events' frozen)
func cgValue(t *testing.T, b *bundle, key string) string {
	t.Helper()
	v2 := cgroupV2Only()
	switch key {
	case "memory.swap":
		if !v2 {
			return cgMax(cgRead(t, b, "memory", "memory.memsw.limit_in_bytes"))
		}
		mem, swap := cgRead(t, b, "memory", "memory.max"), cgRead(t, b, "memory", "memory.swap.max")
		if mem == "max" || swap == "max" {
			return "max"
		}
		m, err1 := strconv.ParseInt(mem, 10, 64)
		s, err2 := strconv.ParseInt(swap, 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("memory.max %q, memory.swap.max %q: not numbers", mem, swap)
		}
		return strconv.FormatInt(m+s, 10)
	case "memory.oom_kill":
		if v2 {
			return strconv.FormatInt(cgField(t, cgRead(t, b, "memory", "memory.events"), "oom_kill"), 10)
		}
		return strconv.FormatInt(cgField(t, cgRead(t, b, "memory", "memory.oom_control"), "oom_kill"), 10)
	case "cpu.quota", "cpu.period":
		if !v2 {
			file := map[string]string{"cpu.quota": "cpu.cfs_quota_us", "cpu.period": "cpu.cfs_period_us"}[key]
			return cgMax(cgRead(t, b, "cpu", file))
		}
		f := strings.Fields(cgRead(t, b, "cpu", "cpu.max"))
		if len(f) != 2 {
			t.Fatalf("cpu.max %q: want \"<quota> <period>\"", f)
		}
		if key == "cpu.quota" {
			return f[0]
		}
		return f[1]
	case "pids.events.max":
		return strconv.FormatInt(cgField(t, cgRead(t, b, "pids", "pids.events"), "max"), 10)
	case "freezer":
		if !v2 {
			return cgRead(t, b, "freezer", "freezer.state")
		}
		want := cgRead(t, b, "freezer", "cgroup.freeze")
		frozen := cgField(t, cgRead(t, b, "freezer", "cgroup.events"), "frozen")
		switch {
		case want == "1" && frozen == 1:
			return "FROZEN"
		case want == "1":
			return "FREEZING"
		}
		return "THAWED"
	}
	f, ok := cgFiles[key]
	if !ok {
		t.Fatalf("cgValue: unknown key %q", key)
	}
	v := cgRead(t, b, f[0], cgFile(key))
	if strings.HasPrefix(key, "memory.") {
		v = cgMax(v)
	}
	return v
}

// cgWeights are the cpu.weight values cgroup v2 runtimes write for cpu
// shares: runc 1.1-1.3's (and crun's older) linear map of [2, 262144]
// onto [1, 10000], and the quadratic one of runc 1.4 and crun 1.23 that
// maps the default 1024 onto the default 100.
func cgWeights(shares uint64) []string {
	linear := 1 + ((shares-2)*9999)/262142
	l := math.Log2(float64(shares))
	quad := uint64(math.Ceil(math.Pow(10, (l*l+125*l)/612.0-7.0/34.0)))
	return []string{strconv.FormatUint(linear, 10), strconv.FormatUint(quad, 10)}
}

// cgWant fails the test unless the container's logical value key (see
// cgValue), read from the host, is want in the spec's terms: -1 is "max"
// for limits; cpu.shares on v2 is the cpu.weight a runtime derives.
func cgWant(t *testing.T, b *bundle, key, want string) {
	t.Helper()
	got := cgValue(t, b, key)
	if strings.HasPrefix(key, "memory.") || key == "cpu.quota" {
		want = cgMax(want)
	}
	if key == "cpu.shares" && cgroupV2Only() {
		n, err := strconv.ParseUint(want, 10, 64)
		if err != nil {
			t.Fatalf("cgWant cpu.shares %q: %v", want, err)
		}
		weights := cgWeights(n)
		if got != weights[0] && got != weights[1] {
			t.Errorf("host cpu.weight = %q, want %s (cpu shares %s, runc's linear map) or %s (the quadratic one)",
				got, weights[0], want, weights[1])
		}
		return
	}
	if got != want {
		t.Errorf("host %s (%s) = %q, want %q", key, cgWhere(key), got, want)
	}
}

// cgWhere names the file(s) behind a logical key in this mode, for errors.
func cgWhere(key string) string {
	if _, ok := cgFiles[key]; ok {
		return cgFile(key)
	}
	v2 := map[string]string{"memory.swap": "memory.max+memory.swap.max", "memory.oom_kill": "memory.events",
		"cpu.quota": "cpu.max", "cpu.period": "cpu.max", "pids.events.max": "pids.events",
		"freezer": "cgroup.freeze, cgroup.events"}
	v1 := map[string]string{"memory.swap": "memory.memsw.limit_in_bytes", "memory.oom_kill": "memory.oom_control",
		"cpu.quota": "cpu.cfs_quota_us", "cpu.period": "cpu.cfs_period_us", "pids.events.max": "pids.events",
		"freezer": "freezer.state"}
	if cgroupV2Only() {
		return v2[key]
	}
	return v1[key]
}

// cgRaw fails the test unless file of the container's cgroup for
// controller c holds want (for files that are the same on both versions,
// such as a unified key's file).
func cgRaw(t *testing.T, b *bundle, c, file, want string) {
	t.Helper()
	if got := cgRead(t, b, c, file); got != want {
		t.Errorf("host %s/%s = %q, want %q", c, file, got, want)
	}
}

// cgIO is the container's throttle kind ("rbps", "wbps", "riops",
// "wiops") for device dev ("major:minor"): v1 from
// blkio.throttle.{read,write}_{bps,iops}_device, v2 from io.max. "max" when
// the device has none.
func cgIO(t *testing.T, b *bundle, kind, dev string) string {
	t.Helper()
	if cgroupV2Only() {
		for _, l := range strings.Split(cgRead(t, b, "io", "io.max"), "\n") {
			f := strings.Fields(l)
			if len(f) == 0 || f[0] != dev {
				continue
			}
			for _, kv := range f[1:] {
				if v, ok := strings.CutPrefix(kv, kind+"="); ok {
					return v
				}
			}
		}
		return "max"
	}
	file := map[string]string{"rbps": "read_bps", "wbps": "write_bps", "riops": "read_iops", "wiops": "write_iops"}[kind]
	for _, l := range strings.Split(cgRead(t, b, "blkio", "blkio.throttle."+file+"_device"), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == dev {
			return f[1]
		}
	}
	return "max"
}

// cgWeight reads the container's block I/O weight file and says what
// blkio weight w must look like there: v1 blkio.weight (CFQ) or
// blkio.bfq.weight (BFQ), v2 io.bfq.weight (the blkio value) or io.weight
// (runc's map of [10, 1000] onto [1, 10000]); the bfq files start
// "default N". file is "" when the host has none of them.
func cgWeight(t *testing.T, b *bundle, w uint64) (file, got, want string) {
	t.Helper()
	c, files := "blkio", []string{"blkio.weight", "blkio.bfq.weight"}
	if cgroupV2Only() {
		c, files = "io", []string{"io.bfq.weight", "io.weight"}
	}
	dir := cgDir(t, b, c)
	for _, f := range files {
		text, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		fields := strings.Fields(strings.Split(strings.TrimSpace(string(text)), "\n")[0])
		want = strconv.FormatUint(w, 10)
		if f == "io.weight" {
			want = strconv.FormatUint(1+(w-10)*9999/990, 10)
		}
		if len(fields) > 0 {
			got = fields[len(fields)-1]
		}
		return f, got, want
	}
	return "", "", ""
}

// cgOnly runs the checks of f that exist on one cgroup version only (1:
// v1 or hybrid, 2: cgroup2 only) as a subtest, skipped with why on the
// other.
func cgOnly(t *testing.T, version int, why string, f func(t *testing.T)) {
	t.Helper()
	name := "v1_only"
	if version == 2 {
		name = "v2_only"
	}
	t.Run(name, func(t *testing.T) {
		if cgroupV2Only() != (version == 2) {
			t.Skip(why)
		}
		f(t)
	})
}

// cgKernelAtLeast reports whether the running kernel is major.minor or
// newer (false when uname cannot be parsed).
func cgKernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	var ma, mi int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}
