package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// inside runs script in a fresh container built by mut and returns stdout.
func inside(t *testing.T, mut func(b *bundle), script string) string {
	t.Helper()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.script(script)
		if mut != nil {
			mut(b)
		}
	})
	res := b.runFg()
	if res.Code != 0 {
		t.Fatalf("container failed: %s", res)
	}
	return res.Stdout
}

// startWaiting creates and starts a container that touches /out/ready and
// waits for /out/stop; the test creates /out/stop (or the cleanup kills it).
func startWaiting(t *testing.T, r *rt, mut func(b *bundle), script string) (*bundle, int) {
	t.Helper()
	b := r.newBundle(func(b *bundle) {
		b.script(script + `; echo ok > /out/ready; while [ ! -e /out/stop ]; do sleep 0.05; done`)
		if mut != nil {
			mut(b)
		}
	})
	b.mustCreate()
	r.must("start", b.ID)
	waitFile(t, filepath.Join(b.Out, "ready"))
	return b, b.state().Pid
}

func TestPidNamespace(t *testing.T) {
	t.Parallel()
	out := inside(t, nil, `echo $$; ls /proc | grep -c '^[0-9]'`)
	// Only sh itself, ls and grep exist: a host-sized process table means
	// the pid namespace or the /proc mount is wrong.
	f := strings.Fields(out)
	if len(f) != 2 || f[0] != "1" {
		t.Fatalf("want pid 1 and a count, got %q", out)
	}
	if n, _ := strconv.Atoi(f[1]); n > 4 {
		t.Errorf("container sees %d processes in /proc", n)
	}
}

func TestNetNamespace(t *testing.T) {
	t.Parallel()
	out := inside(t, nil, `tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '`)
	if strings.TrimSpace(out) != "lo" {
		t.Errorf("container interfaces = %q, want only lo", out)
	}
}

// TestNamespacesDifferOrShare: configured types are new, absent ones are the
// host's own (ipc is left out here).
func TestNamespacesDifferOrShare(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b, pid := startWaiting(t, r, func(b *bundle) {
		setNamespace(b.Spec, specs.IPCNamespace, "", true)
	}, `true`)
	p := strconv.Itoa(pid)
	for _, ns := range []string{"mnt", "uts", "net", "pid"} {
		if nsLink(t, p, ns) == nsLink(t, "self", ns) {
			t.Errorf("%s namespace shared with the host but configured", ns)
		}
	}
	for _, ns := range []string{"ipc", "user", "cgroup"} {
		if got, host := nsLink(t, p, ns), nsLink(t, "self", ns); got != host {
			t.Errorf("%s namespace %s differs from host %s but is not configured", ns, got, host)
		}
	}
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

func TestUTSNamespace(t *testing.T) {
	t.Parallel()
	host, _ := os.Hostname()
	out := inside(t, func(b *bundle) { b.Spec.Hostname = "uts-test" }, `hostname`)
	if strings.TrimSpace(out) != "uts-test" {
		t.Errorf("hostname inside = %q", out)
	}
	if now, _ := os.Hostname(); now != host {
		t.Errorf("host hostname changed from %q to %q", host, now)
	}
}

func TestIPCNamespace(t *testing.T) {
	t.Parallel()
	out := inside(t, nil, `readlink /proc/self/ns/ipc`)
	if strings.TrimSpace(out) == nsLink(t, "self", "ipc") {
		t.Errorf("ipc namespace is the host's")
	}
}

func TestMountNamespace(t *testing.T) {
	t.Parallel()
	out := inside(t, nil, `readlink /proc/self/ns/mnt; cut -d' ' -f5 /proc/self/mountinfo`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] == nsLink(t, "self", "mnt") {
		t.Errorf("mount namespace is the host's")
	}
	for _, p := range lines[1:] {
		if strings.HasPrefix(p, rootfsDir) {
			t.Errorf("container mount table shows host path %s (no pivot_root?)", p)
		}
	}
}

func TestUserNamespace(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b, pid := startWaiting(t, r, func(b *bundle) {
		b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		b.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		b.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	}, `id -u > /out/id; id -g >> /out/id; cat /proc/self/uid_map >> /out/id`)
	got := strings.Fields(readFile(t, filepath.Join(b.Out, "id")))
	if strings.Join(got, " ") != "0 0 0 100000 65536" {
		t.Errorf("inside: id and uid_map = %q", got)
	}
	if uid := strings.Fields(statusField(t, pid, "Uid")); len(uid) == 0 || uid[0] != "100000" {
		t.Errorf("host sees container uid %v, want 100000", uid)
	}
	if gid := strings.Fields(statusField(t, pid, "Gid")); len(gid) == 0 || gid[0] != "100000" {
		t.Errorf("host sees container gid %v, want 100000", gid)
	}
	if nsLink(t, strconv.Itoa(pid), "user") == nsLink(t, "self", "user") {
		t.Errorf("user namespace is the host's")
	}
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

func TestCgroupNamespace(t *testing.T) {
	t.Parallel()
	out := inside(t, func(b *bundle) {
		b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}, `cat /proc/self/cgroup`)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasSuffix(line, ":/") {
			t.Errorf("cgroup line %q is not the namespace root", line)
		}
	}
}

// TestTimeNamespace: runc 1.1 has no time namespace support (added in 1.2),
// so it rejects this config; see README.md.
func TestTimeNamespace(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/timens_offsets"); err != nil {
		t.Skip("kernel has no time namespaces (no /proc/self/timens_offsets)")
	}
	out := inside(t, func(b *bundle) {
		b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		b.Spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 3600}}
	}, `readlink /proc/self/ns/time; grep monotonic /proc/self/timens_offsets`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || lines[0] == nsLink(t, "self", "time") {
		t.Fatalf("want a new time namespace, got %q", out)
	}
	if f := strings.Fields(lines[1]); len(f) != 3 || f[1] != "3600" {
		t.Errorf("monotonic offset = %q, want 3600", lines[1])
	}
}

// TestJoinNamespacePath: a second container joins the first one's net and
// uts namespaces by path.
func TestJoinNamespacePath(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	a, pid := startWaiting(t, r, func(b *bundle) { b.Spec.Hostname = "alpha" }, `true`)
	p := strconv.Itoa(pid)
	out := inside(t, func(b *bundle) {
		b.Spec.Hostname = ""
		setNamespace(b.Spec, specs.NetworkNamespace, "/proc/"+p+"/ns/net", false)
		setNamespace(b.Spec, specs.UTSNamespace, "/proc/"+p+"/ns/uts", false)
	}, `hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/uts`)
	want := "alpha\n" + nsLink(t, p, "net") + "\n" + nsLink(t, p, "uts")
	if strings.TrimSpace(out) != want {
		t.Errorf("joined container sees %q, want %q", out, want)
	}
	if nsLink(t, p, "net") == nsLink(t, "self", "net") {
		t.Errorf("first container shares the host net namespace")
	}
	createFile(t, filepath.Join(a.Out, "stop")).Close()
}
