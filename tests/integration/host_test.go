package integration

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// ownCgroups maps each hierarchy directory name under /sys/fs/cgroup to this
// process's cgroup path in it ("unified" is the v2 hierarchy, "systemd" the
// named one).
func ownCgroups() map[string]string {
	if own, ok := ownCgroupUnified(); ok {
		return own
	}
	own := map[string]string{}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return own
	}
	byKey := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			byKey["unified"] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			byKey[strings.TrimPrefix(c, "name=")] = parts[2]
		}
	}
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range entries {
		name := e.Name()
		// A joined mount such as "cpu,cpuacct" is keyed by its first controller.
		if p, ok := byKey[strings.Split(name, ",")[0]]; ok {
			own[name] = p
		} else if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", name, "cgroup.procs")); err == nil {
			own[name] = "/"
		}
	}
	if len(entries) == 0 {
		if p, ok := byKey["unified"]; ok {
			own[""] = p // pure cgroup v2 mounted at /sys/fs/cgroup
		}
	}
	return own
}

// cgroupDirsFor lists where a relative cgroupsPath rel would live in every
// hierarchy: nested under this process's own cgroup.
func cgroupDirsFor(rel string) []string {
	var dirs []string
	for h, own := range ownCgroups() {
		dirs = append(dirs, filepath.Join("/sys/fs/cgroup", h, own, rel))
	}
	return dirs
}

// existingCgroupDirs returns the cgroup directories of container id that exist,
// both nested (relative cgroupsPath) and at the hierarchy roots.
func existingCgroupDirs(id string) []string {
	rel := filepath.Join(cgroupParent, id)
	var found []string
	candidates := cgroupDirsFor(rel)
	for h := range ownCgroups() {
		candidates = append(candidates, filepath.Join("/sys/fs/cgroup", h, rel))
	}
	seen := map[string]bool{}
	for _, d := range candidates {
		if seen[d] {
			continue // our own cgroup is the hierarchy root
		}
		seen[d] = true
		if _, err := os.Stat(d); err == nil {
			found = append(found, d)
		}
	}
	return found
}

// mountsUnder returns host mount points at or below dir.
func mountsUnder(dir string) []string {
	var found []string
	for _, m := range parseMountinfo(readOr("/proc/self/mountinfo")) {
		if m.Point == dir || strings.HasPrefix(m.Point, dir+"/") {
			found = append(found, m.Point)
		}
	}
	return found
}

// procsMentioning returns "pid: cmdline" of live processes whose cmdline
// contains s, other than this one.
func procsMentioning(s string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(data) == 0 {
			continue // gone, or a zombie
		}
		cmdline := strings.ReplaceAll(string(data), "\x00", " ")
		if strings.Contains(cmdline, s) {
			found = append(found, e.Name()+": "+cmdline)
		}
	}
	return found
}

// leftovers describes what container id left behind: state dir, cgroup
// dirs, mounts under the bundle and processes naming the id.
func leftovers(root, id, bundleDir string) []string {
	var left []string
	if _, err := os.Lstat(filepath.Join(root, id)); !errors.Is(err, os.ErrNotExist) {
		left = append(left, "state dir "+filepath.Join(root, id))
	}
	for _, d := range existingCgroupDirs(id) {
		left = append(left, "cgroup dir "+d)
	}
	for _, m := range mountsUnder(bundleDir) {
		left = append(left, "mount "+m)
	}
	for _, p := range procsMentioning(id) {
		left = append(left, "process "+p)
	}
	return left
}

// assertNoLeftovers fails the test if container id left anything behind. A
// killed process may take a moment to be reaped, so it polls before failing.
func assertNoLeftovers(t *testing.T, root, id, bundleDir string) {
	t.Helper()
	var left []string
	poll(func() bool { left = leftovers(root, id, bundleDir); return len(left) == 0 })
	for _, l := range left {
		t.Errorf("container %s left behind: %s", id, l)
	}
	if len(left) != 0 {
		reap(t, id)
	}
}

// reap removes what a failing runtime left of container id after the test
// has reported it, so that one bug does not leak onto the machine: it kills
// the processes in the container's own cgroup dirs (which only this suite
// creates, beneath its own cgroup) or naming the id, then removes the dirs.
func reap(t *testing.T, id string) {
	t.Helper()
	for _, p := range procsMentioning(id) {
		if pid, err := strconv.Atoi(strings.SplitN(p, ":", 2)[0]); err == nil {
			_ = killPid(pid)
		}
	}
	dirs := existingCgroupDirs(id)
	for _, d := range dirs {
		for _, f := range strings.Fields(readOr(filepath.Join(d, "cgroup.procs"))) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = killPid(pid)
			}
		}
	}
	for _, d := range dirs {
		if !poll(func() bool { return os.Remove(d) == nil || errors.Is(os.Remove(d), os.ErrNotExist) }) {
			t.Logf("could not remove leftover cgroup dir %s", d)
		}
	}
}

// mountEntry is one /proc/*/mountinfo line.
type mountEntry struct {
	Point     string
	Options   string // per-mount options
	FSType    string
	Source    string
	SuperOpts string
}

func parseMountinfo(text string) []mountEntry {
	var out []mountEntry
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i, x := range f {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 6 || len(f) < sep+4 {
			continue
		}
		out = append(out, mountEntry{
			Point: unescapeMount(f[4]), Options: f[5],
			FSType: f[sep+1], Source: f[sep+2], SuperOpts: f[sep+3],
		})
	}
	return out
}

func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// hasOpt reports whether the comma-separated list has opt.
func hasOpt(list, opt string) bool {
	for _, o := range strings.Split(list, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

func readOr(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

// nsLink is the readlink of /proc/<pid>/ns/<typ> ("self" for this process).
func nsLink(t *testing.T, pid, typ string) string {
	t.Helper()
	l, err := os.Readlink(filepath.Join("/proc", pid, "ns", typ))
	if err != nil {
		t.Fatalf("readlink ns: %v", err)
	}
	return l
}

// procAlive reports whether pid exists and is not a zombie.
func procAlive(pid int) bool {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndex(s, ")")
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// statusField returns a field of /proc/<pid>/status.
func statusField(t *testing.T, pid int, field string) string {
	t.Helper()
	for _, line := range strings.Split(readOr(filepath.Join("/proc", strconv.Itoa(pid), "status")), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return ""
}

// killPid SIGKILLs a process this test started (directly or through a hook).
func killPid(pid int) error {
	return syscall.Kill(pid, syscall.SIGKILL)
}
