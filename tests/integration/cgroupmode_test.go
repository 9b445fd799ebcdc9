package integration

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// This file: which cgroup layout the host has. Most hosts here are v1
// "hybrid" (v1 controllers, cgroup2 at /sys/fs/cgroup/unified); the
// cgroup2 VM (scripts/cgroup2-vm, `make test-cgroup2`) mounts cgroup2 alone
// at /sys/fs/cgroup. A test reads cgroup values through
// cgroupfiles_test.go, which knows both layouts; a test whose assertions
// exist on v1 only calls requireCgroupV1 (or cgOnly for part of a test); a
// test of behaviour that any layout must have does neither, so that it
// fails where the runtime lacks v2 support.

// cgroupV2Only reports whether /sys/fs/cgroup is a cgroup2 mount, i.e. the
// host is in unified mode with no v1 hierarchy under /sys/fs/cgroup.
func cgroupV2Only() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// requireCgroupV1 skips a test whose assertions are written for v1 (or
// hybrid) cgroup files and hierarchies when the host is cgroup2 only.
func requireCgroupV1(t *testing.T) {
	t.Helper()
	if cgroupV2Only() {
		t.Skip("asserts cgroup v1 (hybrid) files and hierarchies; this host is cgroup2 only")
	}
}

// ownCgroupUnified returns ownCgroups' answer on a cgroup2-only host: the
// single hierarchy, keyed "" (its directory is /sys/fs/cgroup itself),
// mapped to this process's path from the "0::" line of /proc/self/cgroup.
// ok is false on other hosts. (ownCgroups' v1 scan would take the child
// cgroups under /sys/fs/cgroup for hierarchies.)
func ownCgroupUnified() (own map[string]string, ok bool) {
	if !cgroupV2Only() {
		return nil, false
	}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return map[string]string{}, true
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if p, found := strings.CutPrefix(line, "0::"); found {
			return map[string]string{"": p}, true
		}
	}
	return map[string]string{}, true
}

// Other limits of small hosts such as the cgroup2 VM, which has no Go
// toolchain and keeps its temporary directories on tmpfs.

// requireTool skips a test that runs the host tool name when it is not in
// PATH.
func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("needs %s on the host: %v", name, err)
	}
}

// requireIDMappableTmp skips a test that idmaps directories made with
// t.TempDir when those are on tmpfs and the kernel is older than 6.3, the
// first to support idmapped tmpfs mounts (mount_setattr says EINVAL).
func requireIDMappableTmp(t *testing.T) {
	t.Helper()
	var st unix.Statfs_t
	if unix.Statfs(os.TempDir(), &st) != nil || st.Type != unix.TMPFS_MAGIC {
		return
	}
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return
	}
	var major, minor int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor); err != nil {
		return
	}
	if major < 6 || major == 6 && minor < 3 {
		t.Skipf("%s is tmpfs and kernel %d.%d cannot idmap tmpfs mounts (6.3 can)", os.TempDir(), major, minor)
	}
}
