package integration

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// This file: the `cgroup` mount at /sys/fs/cgroup shows the container its
// own cgroup, with or without a cgroup namespace and a user namespace, on
// either cgroup layout. v2 (scripts/cgroup2-vm): one cgroup2 mount whose
// root is the container's cgroup (a fresh mount in a cgroup namespace, else
// a bind of the container's cgroup directory). v1 (hybrid): the same for
// each hierarchy directory, checked on the memory one and, where the host
// has it, the cgroup2 one at /sys/fs/cgroup/unified.

// cgmView is one directory of the container's cgroup mount to look at.
type cgmView struct {
	dir       string // inside the container
	limitFile string // the memory limit file in dir, "" to not read one
	procLine  string // sed expression printing the /proc/self/cgroup path of this hierarchy
}

func cgmViews(t *testing.T) []cgmView {
	if cgroupV2Only() {
		return []cgmView{{"/sys/fs/cgroup", "memory.max", `s/^0:://p`}}
	}
	views := []cgmView{{"/sys/fs/cgroup/memory", "memory.limit_in_bytes", `s/^[0-9]*:memory://p`}}
	for _, m := range cgMounts() {
		// runc 1.1 mounts only the v1 hierarchies of a hybrid host.
		if m.v2 && m.point == "/sys/fs/cgroup/unified" && !isRunc {
			views = append(views, cgmView{"/sys/fs/cgroup/unified", "", `s/^0:://p`})
		}
	}
	return views
}

// TestCgroupMountOwnCgroup: inside, each cgroup directory's cgroup.procs
// lists only the container's processes, the memory limit file holds the
// configured limit (and what the host shows for the container), the mount's
// root is the namespace root ("/") with a cgroup namespace and the
// container's own cgroup path without one, "ro" makes it read-only; on the
// host nothing is left mounted.
func TestCgroupMountOwnCgroup(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name           string
		cgroupNS, user bool
		ro             bool
	}{
		{"cgroupns", true, false, true},
		{"cgroupns-rw", true, false, false},
		{"no-cgroupns", false, false, true},
		{"cgroupns-userns", true, true, true},
		{"no-cgroupns-userns", false, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cgmCheck(t, c.cgroupNS, c.user, c.ro)
		})
	}
}

func cgmCheck(t *testing.T, cgroupNS, user, ro bool) {
	views := cgmViews(t)
	limit := int64(48 << 20)
	var report strings.Builder
	report.WriteString("cat /proc/self/mountinfo; echo ==\n")
	for _, v := range views {
		d := v.dir
		report.WriteString(`echo "view ` + d + `"` + "\n")
		report.WriteString(`echo "cgroup $(sed -n '` + v.procLine + `' /proc/self/cgroup)"` + "\n")
		report.WriteString(`echo "procs $(tr '\n' ' ' < ` + d + `/cgroup.procs)"` + "\n")
		if v.limitFile != "" {
			report.WriteString(`echo "limit $(cat ` + d + "/" + v.limitFile + `)"` + "\n")
		}
		// Only tried where it must fail, or where the container may make
		// (and removes) a child of its own cgroup.
		report.WriteString(`if mkdir ` + d + `/cgm-probe 2>/dev/null; then rmdir ` + d + `/cgm-probe; echo "mkdir ok"; else echo "mkdir failed"; fi` + "\n")
	}
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.script("{\n" + report.String() + "} > /out/report 2>&1; echo ok > /out/ready; while [ ! -e /out/stop ]; do sleep 0.05; done")
		if b.Spec.Linux.Resources == nil {
			b.Spec.Linux.Resources = &specs.LinuxResources{}
		}
		b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
		if cgroupNS {
			setNamespace(b.Spec, specs.CgroupNamespace, "", false)
		}
		if user {
			setNamespace(b.Spec, specs.UserNamespace, "", false)
			b.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			b.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		}
		for i, m := range b.Spec.Mounts {
			if m.Type == "cgroup" && !ro {
				b.Spec.Mounts[i].Options = []string{"nosuid", "noexec", "nodev", "relatime"}
			}
		}
	})
	watch := mntHostWatch(b)
	before := mntHostPoints(watch)
	b.mustCreate()
	r.must("start", b.ID)
	waitFile(t, filepath.Join(b.Out, "ready"))
	hostLimit := cgValue(t, b, "memory.limit")
	createFile(t, filepath.Join(b.Out, "stop")).Close()
	b.waitStatus("stopped")
	r.must("delete", b.ID)
	mntSameHostMounts(t, "after delete", before, watch)

	out := readFile(t, filepath.Join(b.Out, "report"))
	mi, rest, ok := strings.Cut(out, "\n==\n")
	if !ok {
		t.Fatalf("report has no mountinfo separator:\n%s", out)
	}
	roots := map[string]string{} // mount point -> root field
	for _, line := range strings.Split(mi, "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			roots[unescapeMount(f[4])] = unescapeMount(f[3])
		}
	}
	mounts := mntParse(mi)
	sections := strings.Split(rest, "view ")[1:]
	if len(sections) != len(views) {
		t.Fatalf("report has %d views, want %d:\n%s", len(sections), len(views), rest)
	}
	t.Logf("inside:\n%s", rest)
	for _, section := range sections {
		lines := strings.Split(strings.TrimSpace(section), "\n")
		dir := lines[0]
		got := map[string]string{}
		for _, l := range lines[1:] {
			k, v, _ := strings.Cut(l, " ")
			got[k] = strings.TrimSpace(v)
		}
		m := mntFind(mounts, dir)
		if m == nil || (m.FSType != "cgroup" && m.FSType != "cgroup2") {
			t.Errorf("%s: no cgroup mount there: %+v", dir, m)
			continue
		}
		if hasOpt(m.Opts, "ro") != ro {
			t.Errorf("%s: options %q, want ro=%v", dir, m.Opts, ro)
		}
		// The cgroup the container is in, as it sees it, is the mount's root.
		wantRoot := got["cgroup"]
		if cgroupNS && wantRoot != "/" {
			t.Errorf("%s: with a cgroup namespace /proc/self/cgroup says %q, want /", dir, wantRoot)
		}
		if roots[dir] != wantRoot {
			t.Errorf("%s: the mount shows cgroup %q, want the container's own %q", dir, roots[dir], wantRoot)
		}
		procs := strings.Fields(got["procs"])
		hasInit := false
		for _, p := range procs {
			n, err := strconv.Atoi(p)
			if err != nil || n <= 0 {
				t.Errorf("%s/cgroup.procs lists %q: not a process of the container", dir, p)
			}
			hasInit = hasInit || n == 1
		}
		if !hasInit || len(procs) > 4 {
			t.Errorf("%s/cgroup.procs = %q, want the container's pid 1 and its few children", dir, got["procs"])
		}
		if l, ok := got["limit"]; ok {
			if l != hostLimit {
				t.Errorf("%s: the container sees memory limit %q, the host %q for its cgroup", dir, l, hostLimit)
			}
			if l != strconv.FormatInt(limit, 10) {
				t.Errorf("%s: the container sees memory limit %q, want %d", dir, l, limit)
			}
		}
		switch mk := got["mkdir"]; {
		case ro && mk != "failed":
			t.Errorf("%s: mkdir in a read-only cgroup mount: %q", dir, mk)
		case !ro && !user && mk != "ok":
			t.Errorf("%s: mkdir of a child cgroup in a read-write cgroup mount: %q", dir, mk)
		}
	}
}
