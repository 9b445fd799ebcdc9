package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// systemdRunning is sd_booted(3): the host was booted with systemd.
func systemdRunning() bool {
	fi, err := os.Lstat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// systemdCreate runs `--systemd-cgroup create` (the flag is global: it goes
// before the command, which b.create cannot do).
func (b *bundle) systemdCreate() result {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdLimit)
	defer cancel()
	return runToFiles(b.t, b.rt.cmd(ctx, "--systemd-cgroup", "create", "--bundle", b.Dir, b.ID), b.Dir)
}

// unitProps reads properties of a unit with systemctl show, "" for each
// one systemctl does not print.
func unitProps(t *testing.T, unit string, names ...string) map[string]string {
	t.Helper()
	out, err := exec.Command("systemctl", "show", "-p", strings.Join(names, ","), unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemctl show %s: %v: %s", unit, err, out)
	}
	props := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			props[k] = v
		}
	}
	return props
}

// TestSystemdCgroupWithoutSystemd: on a host not booted with systemd,
// `--systemd-cgroup create` fails with one clear line before it creates
// anything: no state dir, no cgroup, no process.
func TestSystemdCgroupWithoutSystemd(t *testing.T) {
	t.Parallel()
	if systemdRunning() {
		t.Skip("systemd is running here: the error cannot happen (TestSystemdCgroupScope runs instead)")
	}
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.Spec.Linux.CgroupsPath = "system.slice:ocirun-test:" + b.ID
		b.script("sleep 100")
	})
	res := b.systemdCreate()
	if res.Code == 0 {
		t.Fatalf("create with --systemd-cgroup succeeded without systemd: %s", res)
	}
	if !strings.Contains(res.Stderr, "systemd") {
		t.Errorf("the error does not say what is missing: %s", res)
	}
	if !isRunc {
		want := "--systemd-cgroup: systemd is not running on this host (no /run/systemd/system)"
		if got := strings.TrimSpace(res.Stderr); got != want {
			t.Errorf("stderr = %q, want the one line %q", got, want)
		}
	}
	if _, err := os.Lstat(filepath.Join(r.root, b.ID)); err == nil {
		t.Errorf("the failed create left its state dir %s", filepath.Join(r.root, b.ID))
	}
	assertNoLeftovers(t, r.root, b.ID, b.Dir)
}

// TestSystemdCgroupBadPath: with systemd, a cgroupsPath that is not
// slice:prefix:name is refused, naming the field, before anything exists.
func TestSystemdCgroupBadPath(t *testing.T) {
	t.Parallel()
	if !systemdRunning() {
		t.Skip("systemd is not running here (no /run/systemd/system): the path is never parsed")
	}
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.Spec.Linux.CgroupsPath = "/plain/" + b.ID
		b.script("sleep 100")
	})
	res := b.systemdCreate()
	if res.Code == 0 {
		t.Fatalf("create with a cgroupfs path and --systemd-cgroup succeeded: %s", res)
	}
	if !isRunc && !strings.Contains(res.Stderr, "linux.cgroupsPath") {
		t.Errorf("the error does not name linux.cgroupsPath: %s", res)
	}
	if _, err := os.Lstat(filepath.Join(r.root, b.ID)); err == nil {
		t.Errorf("the failed create left its state dir")
	}
}

// TestSystemdCgroupScope: with systemd, the container runs in the transient
// scope <prefix>-<name>.scope in the slice asked for, which systemd reports
// active with the memory and task limits of the spec, the cgroup files hold
// them too, the init is the only process in it (the holder that created the
// scope is gone), and delete stops the unit and removes its cgroup.
func TestSystemdCgroupScope(t *testing.T) {
	t.Parallel()
	if !systemdRunning() {
		t.Skip("systemd is not running here (no /run/systemd/system); scripts/systemd-vm/run.sh runs this test under systemd")
	}
	if _, err := exec.LookPath("systemctl"); err != nil {
		t.Skip("no systemctl to ask systemd about the unit")
	}
	const limit = 96 << 20
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.Spec.Linux.CgroupsPath = "system.slice:ocirun-test:" + b.ID
		lim, pids := int64(limit), int64(64)
		b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &lim}
		b.Spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: &pids}
		b.script("cat /proc/self/cgroup > /out/cgroup; sleep 100")
	})
	unit := "ocirun-test-" + b.ID + ".scope"
	cgPath := "/system.slice/" + unit
	if res := b.systemdCreate(); res.Code != 0 {
		t.Fatalf("create: %s", res)
	}
	st := b.state()
	p := unitProps(t, unit, "ActiveState", "ControlGroup", "MemoryMax", "MemoryLimit", "TasksMax", "Delegate")
	if p["ActiveState"] != "active" || p["ControlGroup"] != cgPath || p["Delegate"] != "yes" {
		t.Errorf("unit %s: %v, want active in %s with Delegate=yes", unit, p, cgPath)
	}
	if p["MemoryMax"] != strconv.Itoa(limit) && p["MemoryLimit"] != strconv.Itoa(limit) {
		t.Errorf("systemd does not know the memory limit: %v", p)
	}
	if p["TasksMax"] != "64" {
		t.Errorf("systemd's TasksMax = %q, want 64", p["TasksMax"])
	}
	// Where the init is, and what the kernel enforces there.
	self, err := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var dir, memFile string
	switch {
	case strings.Contains(string(self), "0::"+cgPath+"\n") && fileExists("/sys/fs/cgroup/cgroup.controllers"):
		dir, memFile = "/sys/fs/cgroup"+cgPath, "memory.max"
	case strings.Contains(string(self), ":name=systemd:"+cgPath+"\n"):
		dir, memFile = "/sys/fs/cgroup/memory"+cgPath, "memory.limit_in_bytes"
	default:
		t.Fatalf("init %d is not in %s:\n%s", st.Pid, cgPath, self)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(dir, memFile))); got != strconv.Itoa(limit) {
		t.Errorf("%s/%s = %s, want %d", dir, memFile, got, limit)
	}
	if got := strings.Fields(readFile(t, filepath.Join(dir, "cgroup.procs"))); len(got) != 1 || got[0] != strconv.Itoa(st.Pid) {
		t.Errorf("%s/cgroup.procs = %v, want only the init %d", dir, got, st.Pid)
	}
	b.rt.must("start", b.ID)
	if got := waitFile(t, filepath.Join(b.Out, "cgroup")); !strings.Contains(got, cgPath) {
		t.Errorf("the container's own /proc/self/cgroup does not name its scope %s:\n%s", cgPath, got)
	}
	b.rt.must("kill", b.ID, "KILL")
	b.waitStatus("stopped")
	b.rt.must("delete", b.ID)
	if p := unitProps(t, unit, "ActiveState"); p["ActiveState"] == "active" {
		t.Errorf("unit %s is still active after delete", unit)
	}
	// Gone from every hierarchy: those systemd made and, on v1, those the
	// cgroupfs driver added (cpuset, freezer, ...).
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + cgPath)
	for _, d := range append(dirs, "/sys/fs/cgroup"+cgPath) {
		if !poll(func() bool { return !fileExists(d) }) {
			t.Errorf("the scope's cgroup %s is still there after delete", d)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
