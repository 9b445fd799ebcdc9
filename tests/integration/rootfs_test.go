package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestDefaultMounts checks each default mount in the container's own
// mountinfo, with its type and options.
func TestDefaultMounts(t *testing.T) {
	t.Parallel()
	mounts := parseMountinfo(inside(t, nil, `cat /proc/self/mountinfo`))
	find := func(point string) *mountEntry {
		var last *mountEntry
		for i := range mounts {
			if mounts[i].Point == point {
				last = &mounts[i] // the topmost mount wins
			}
		}
		return last
	}
	checks := []struct {
		point, fstype string
		opts, super   []string
	}{
		{"/proc", "proc", nil, nil},
		{"/dev", "tmpfs", []string{"nosuid"}, []string{"mode=755"}},
		{"/dev/pts", "devpts", []string{"nosuid", "noexec"}, []string{"mode=620", "ptmxmode=666", "gid=5"}},
		{"/dev/shm", "tmpfs", []string{"nosuid", "noexec", "nodev"}, nil},
		{"/dev/mqueue", "mqueue", []string{"nosuid", "noexec", "nodev"}, nil},
		{"/sys", "sysfs", []string{"nosuid", "noexec", "nodev", "ro"}, nil},
	}
	for _, c := range checks {
		m := find(c.point)
		if m == nil {
			t.Errorf("no mount at %s", c.point)
			continue
		}
		if m.FSType != c.fstype {
			t.Errorf("%s is %s, want %s", c.point, m.FSType, c.fstype)
		}
		for _, o := range c.opts {
			if !hasOpt(m.Options, o) {
				t.Errorf("%s options %q lack %s", c.point, m.Options, o)
			}
		}
		for _, o := range c.super {
			if !hasOpt(m.SuperOpts, o) {
				t.Errorf("%s superblock options %q lack %s", c.point, m.SuperOpts, o)
			}
		}
	}
	// On cgroup v1 /sys/fs/cgroup is a tmpfs holding one read-only cgroup
	// mount per hierarchy; on v2 it is one cgroup2 mount.
	var cgroups int
	for _, m := range mounts {
		if (m.Point == "/sys/fs/cgroup" || strings.HasPrefix(m.Point, "/sys/fs/cgroup/")) &&
			(m.FSType == "cgroup" || m.FSType == "cgroup2") {
			cgroups++
			if !hasOpt(m.Options, "ro") {
				t.Errorf("cgroup mount %s is not read-only: %q", m.Point, m.Options)
			}
		}
	}
	if cgroups == 0 {
		t.Errorf("no cgroup mount under /sys/fs/cgroup")
	}
}

func TestBindMountReadOnly(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "hello"), []byte("from host"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := inside(t, func(b *bundle) { addBind(b.Spec, src, "/data", "ro") },
		`cat /data/hello; echo; if touch /data/new 2>/out/err; then echo writable; fi; cat /out/err`)
	if !strings.HasPrefix(out, "from host\n") || strings.Contains(out, "writable") ||
		!strings.Contains(out, "Read-only file system") {
		t.Errorf("ro bind mount: %q", out)
	}
	if _, err := os.Stat(filepath.Join(src, "new")); err == nil {
		t.Errorf("write through the ro bind mount reached the host")
	}
}

func TestBindMountFile(t *testing.T) {
	t.Parallel()
	src := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(src, []byte("file content"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := inside(t, func(b *bundle) { addBind(b.Spec, src, "/etc/bindfile") }, `cat /etc/bindfile`)
	if out != "file content" {
		t.Errorf("file bind shows %q", out)
	}
}

func TestReadonlyRoot(t *testing.T) {
	t.Parallel()
	out := inside(t, nil, `touch /x 2>&1; echo rc=$?; mkdir /tmp/y 2>&1; echo rc=$?`)
	if strings.Count(out, "Read-only file system") != 2 || strings.Contains(out, "rc=0") {
		t.Errorf("read-only root accepted a write: %q", out)
	}
	if _, err := os.Stat(filepath.Join(rootfsDir, "x")); err == nil {
		t.Errorf("write reached the shared rootfs")
	}
}

func TestNoPivot(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) { b.script(`echo $$; cat /etc/passwd | head -1`) })
	res := b.runFg("--no-pivot")
	if res.Code != 0 || res.Stdout != "1\nroot:x:0:0:root:/root:/bin/sh\n" {
		t.Errorf("run --no-pivot: %s", res)
	}
}

func TestDefaultDevices(t *testing.T) {
	t.Parallel()
	out := inside(t, nil, `for d in null zero full random urandom tty; do echo "$d $(stat -c '%t:%T %F' /dev/$d)"; done
for l in ptmx fd stdin stdout stderr; do readlink /dev/$l; done
echo x > /dev/null && echo nullok`)
	want := []string{
		"null 1:3 character special file",
		"zero 1:5 character special file",
		"full 1:7 character special file",
		"random 1:8 character special file",
		"urandom 1:9 character special file",
		"tty 5:0 character special file",
		"pts/ptmx",
		"/proc/self/fd",
		"/proc/self/fd/0",
		"/proc/self/fd/1",
		"/proc/self/fd/2",
		"nullok",
	}
	if got := strings.Split(strings.TrimSpace(out), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("devices:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
}

func TestLinuxDevices(t *testing.T) {
	t.Parallel()
	mode := os.FileMode(0o620)
	uid, gid := uint32(1000), uint32(1000)
	out := inside(t, func(b *bundle) {
		b.Spec.Linux.Devices = []specs.LinuxDevice{{
			Path: "/dev/mydev", Type: "c", Major: 1, Minor: 9, FileMode: &mode, UID: &uid, GID: &gid,
		}}
	}, `stat -c '%t:%T %a %u %g %F' /dev/mydev`)
	if strings.TrimSpace(out) != "1:9 620 1000 1000 character special file" {
		t.Errorf("device node: %q", out)
	}
}
