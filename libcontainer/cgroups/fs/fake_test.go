package fs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

// fakeRoot is a directory tree standing in for /sys/fs/cgroup, with the
// matching mountinfo and /proc/self/cgroup texts.
type fakeRoot struct {
	dir        string
	mountinfo  string
	selfCgroup string
}

// newFakeRoot lays out hybrid hierarchies like this machine's: co-mounted
// cpu,cpuacct, cpuset, memory (the caller nested at /process_api/abc),
// name=systemd, the cgroup2 "unified" mount, and blkio listed in
// /proc/self/cgroup but not mounted.
func newFakeRoot(t *testing.T) *fakeRoot {
	t.Helper()
	dir := t.TempDir()
	f := &fakeRoot{dir: dir}
	lines := []string{
		"22 1 0:21 / /proc rw,nosuid - proc proc rw",
		fmt.Sprintf("31 23 0:28 / %s rw,relatime - tmpfs tmpfs rw,mode=755", dir),
	}
	mounts := []struct{ name, fstype, opts string }{
		{"cpu,cpuacct", "cgroup", "rw,cpu,cpuacct"},
		{"cpuset", "cgroup", "rw,cpuset"},
		{"memory", "cgroup", "rw,memory"},
		{"systemd", "cgroup", "rw,xattr,name=systemd"},
		{"unified", "cgroup2", "rw,nsdelegate"},
	}
	for i, m := range mounts {
		mkdir(t, filepath.Join(dir, m.name))
		lines = append(lines, fmt.Sprintf("%d 31 0:%d / %s rw,nosuid shared:%d - %s %s %s",
			40+i, 40+i, filepath.Join(dir, m.name), i, m.fstype, m.fstype, m.opts))
	}
	f.mountinfo = strings.Join(lines, "\n") + "\n"
	f.selfCgroup = "9:name=systemd:/\n7:blkio:/\n4:memory:/process_api/abc\n3:cpuset:/\n2:cpu,cpuacct:/\n0::/\n"
	mkdir(t, filepath.Join(dir, "memory/process_api/abc"))
	write(t, filepath.Join(dir, "cpuset/cpuset.cpus"), "0-1\n")
	write(t, filepath.Join(dir, "cpuset/cpuset.mems"), "0\n")
	return f
}

func (f *fakeRoot) manager(t *testing.T, cgroupsPath, id string) *Manager {
	t.Helper()
	m, err := NewAt(strings.NewReader(f.mountinfo), strings.NewReader(f.selfCgroup), cgroupsPath, id)
	if err != nil {
		t.Fatalf("NewAt(%q, %q): %v", cgroupsPath, id, err)
	}
	// A fake /proc/<pid>/cgroup: the process starts where the caller is.
	m.procDir = filepath.Join(f.dir, "proc")
	write(t, filepath.Join(m.procDir, "4242", "cgroup"), f.selfCgroup)
	return m
}

func (f *fakeRoot) p(rel string) string { return filepath.Join(f.dir, rel) }

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p, text string) {
	t.Helper()
	mkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func TestNewAtPaths(t *testing.T) {
	f := newFakeRoot(t)
	paths := func(cpu, cpuset, memory, systemd, unified string) map[string]string {
		return map[string]string{
			"cpu": f.p("cpu,cpuacct/" + cpu), "cpuacct": f.p("cpu,cpuacct/" + cpu),
			"cpuset": f.p("cpuset/" + cpuset), "memory": f.p("memory/" + memory),
			"name=systemd": f.p("systemd/" + systemd), "unified": f.p("unified/" + unified),
		}
	}
	cases := []struct {
		name, path, id string
		want           map[string]string
	}{
		{"relative nests under own cgroup", "pods/c1", "c1",
			paths("pods/c1", "pods/c1", "process_api/abc/pods/c1", "pods/c1", "pods/c1")},
		{"absolute starts at mount root", "/default/c1", "c1",
			paths("default/c1", "default/c1", "default/c1", "default/c1", "default/c1")},
		{"empty means relative id", "", "c1",
			paths("c1", "c1", "process_api/abc/c1", "c1", "c1")},
		{"harmless dotdot is cleaned", "a/../b//c/", "c1",
			paths("b/c", "b/c", "process_api/abc/b/c", "b/c", "b/c")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := f.manager(t, tc.path, tc.id)
			if !reflect.DeepEqual(m.Paths, tc.want) {
				t.Fatalf("Paths = %v\nwant %v", m.Paths, tc.want)
			}
		})
	}
}

func TestNewAtBindMountedHierarchy(t *testing.T) {
	// Inside a container without a cgroup namespace the memory hierarchy is
	// often a bind mount of the caller's own cgroup.
	dir := t.TempDir()
	mi := fmt.Sprintf("35 31 0:32 /process_api %s rw - cgroup cgroup rw,memory\n", dir)
	m, err := NewAt(strings.NewReader(mi), strings.NewReader("4:memory:/process_api/abc\n"), "x", "id")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "abc/x"); m.Paths["memory"] != want {
		t.Fatalf("memory path %q, want %q", m.Paths["memory"], want)
	}
	// A mount showing another part of the hierarchy cannot place us.
	_, err = NewAt(strings.NewReader(mi), strings.NewReader("4:memory:/other\n"), "x", "id")
	if err == nil {
		t.Fatal("NewAt found a hierarchy through a mount that does not show the caller's cgroup")
	}
}

func TestNewAtRejects(t *testing.T) {
	f := newFakeRoot(t)
	cases := []struct{ name, mountinfo, path, id, want string }{
		{"relative escape", f.mountinfo, "a/../../b", "c1", "escapes"},
		{"absolute escape", f.mountinfo, "/../b", "c1", "escapes"},
		{"empty path and id", f.mountinfo, "", "", "container id"},
		{"empty path, id with slash", f.mountinfo, "", "a/b", "container id"},
		{"no cgroup mounts", "22 1 0:21 / /proc rw - proc proc rw\n", "x", "c1", "none of the caller's cgroups"},
		{"bad mountinfo", "garbage\n", "x", "c1", "mountinfo"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewAt(strings.NewReader(tc.mountinfo), strings.NewReader(f.selfCgroup), tc.path, tc.id)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewAt: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestApplyAndDestroyFake(t *testing.T) {
	f := newFakeRoot(t)
	// Pre-existing: part of the path in one hierarchy, and an empty cpuset
	// parent (cpus/mems must come from the nearest non-empty ancestor).
	mkdir(t, f.p("systemd/pods"))
	write(t, f.p("cpuset/pods/cpuset.cpus"), "")
	write(t, f.p("cpuset/pods/cpuset.mems"), "\n")
	m := f.manager(t, "pods/c1", "c1")
	if err := m.Apply(4242); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	wantCreated := []string{
		f.p("cpu,cpuacct/pods"), f.p("cpu,cpuacct/pods/c1"),
		f.p("cpuset/pods/c1"),
		f.p("memory/process_api/abc/pods"), f.p("memory/process_api/abc/pods/c1"),
		f.p("systemd/pods/c1"),
		f.p("unified/pods"), f.p("unified/pods/c1"),
	}
	if !reflect.DeepEqual(m.Created, wantCreated) {
		t.Fatalf("Created = %q\nwant %q", m.Created, wantCreated)
	}
	for _, dir := range m.dirs() {
		if got := read(t, filepath.Join(dir, "cgroup.procs")); got != "4242" {
			t.Errorf("%s/cgroup.procs = %q, want 4242", dir, got)
		}
	}
	if got := read(t, f.p("cpuset/pods/c1/cpuset.cpus")); got != "0-1" {
		t.Errorf("cpuset.cpus = %q, want 0-1 from the root", got)
	}
	if got := read(t, f.p("cpuset/pods/c1/cpuset.mems")); got != "0" {
		t.Errorf("cpuset.mems = %q, want 0 from the root", got)
	}
	// An empty cpuset parent must be filled first: the kernel refuses a
	// child's cpus that are not within its parent's (and an empty cpuset
	// can hold no task, so filling it takes nothing from its creator).
	if got := read(t, f.p("cpuset/pods/cpuset.cpus")); got != "0-1" {
		t.Errorf("empty pre-existing cpuset parent = %q, want 0-1 from the root", got)
	}
	pids, err := m.Pids()
	if err != nil || !reflect.DeepEqual(pids, []int{4242}) {
		t.Fatalf("Pids = %v, %v; want [4242]", pids, err)
	}
	// Applying again joins again and creates nothing more.
	if err := m.Apply(4242); err != nil || len(m.Created) != len(wantCreated) {
		t.Fatalf("second Apply: %v, Created %q", err, m.Created)
	}

	// A real cgroupfs drops control files with the directory; emulate that.
	dropFiles(t, m.Created)
	if err := m.Destroy(); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	for _, d := range wantCreated {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there after Destroy (%v)", d, err)
		}
	}
	for _, d := range []string{"systemd/pods", "cpuset/pods", "memory/process_api/abc", "unified"} {
		if _, err := os.Stat(f.p(d)); err != nil {
			t.Errorf("Destroy removed %s which it did not create: %v", d, err)
		}
	}
	if len(m.Created) != 0 {
		t.Errorf("Created = %q after Destroy, want empty", m.Created)
	}
	// Destroying again, with everything gone, is fine.
	m.Created = wantCreated
	if err := m.Destroy(); err != nil {
		t.Fatalf("second Destroy: %v", err)
	}
}

// dropFiles removes the regular files in dirs, as the kernel does for
// control files when a cgroup directory is removed.
func dropFiles(t *testing.T, dirs []string) {
	t.Helper()
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				if err := os.Remove(filepath.Join(d, e.Name())); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func TestDestroyKeepsWhatItCannotRemove(t *testing.T) {
	f := newFakeRoot(t)
	m := f.manager(t, "c1", "c1")
	if err := m.Apply(4242); err != nil {
		t.Fatal(err)
	}
	// Files left in one directory: on cgroupfs that would be a child cgroup
	// someone else made, which Destroy must report and leave alone.
	all := slices.Clone(m.Created)
	busy := f.p("memory/process_api/abc/c1")
	var others []string
	for _, d := range all {
		if d != busy {
			others = append(others, d)
		}
	}
	dropFiles(t, others)
	err := m.Destroy()
	if err == nil || !strings.Contains(err.Error(), busy) {
		t.Fatalf("Destroy: %v, want an error naming %s", err, busy)
	}
	if !reflect.DeepEqual(m.Created, []string{busy}) {
		t.Fatalf("Created = %q, want only %s kept", m.Created, busy)
	}
	if _, err := os.Stat(f.p("unified/c1")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("unified/c1 not removed: %v", err)
	}
}

func TestApplyRollsBackOnMkdirFailure(t *testing.T) {
	f := newFakeRoot(t)
	// "unified" sorts last: make its mkdir fail after the others succeeded.
	write(t, f.p("unified/pods"), "a file, not a directory")
	m := f.manager(t, "pods/c1", "c1")
	err := m.Apply(4242)
	if err == nil || !strings.Contains(err.Error(), "create cgroup") {
		t.Fatalf("Apply: %v, want a create cgroup error", err)
	}
	// On this fake the new cpuset directories hold real files (cpus, mems),
	// so rollback cannot remove them and must keep them in Created for
	// Destroy; everything else must be gone.
	if want := []string{f.p("cpuset/pods"), f.p("cpuset/pods/c1")}; !reflect.DeepEqual(m.Created, want) {
		t.Fatalf("Created = %q after a failed Apply, want %q", m.Created, want)
	}
	for _, d := range []string{"cpu,cpuacct/pods", "memory/process_api/abc/pods", "systemd/pods"} {
		if _, err := os.Stat(f.p(d)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left behind after rollback (%v)", d, err)
		}
	}
}

func TestApplyMovesPidBackOnJoinFailure(t *testing.T) {
	f := newFakeRoot(t)
	// The unified directory exists and its cgroup.procs cannot be written.
	mkdir(t, f.p("unified/c1/cgroup.procs"))
	m := f.manager(t, "c1", "c1")
	err := m.Apply(4242)
	if err == nil || !strings.Contains(err.Error(), "move pid 4242") {
		t.Fatalf("Apply: %v, want a move pid error", err)
	}
	for _, origin := range []string{"cpu,cpuacct", "cpuset", "memory/process_api/abc", "systemd"} {
		if got := read(t, f.p(origin+"/cgroup.procs")); got != strconv.Itoa(4242) {
			t.Errorf("%s/cgroup.procs = %q: pid not moved back", origin, got)
		}
	}
	if slices.Contains(m.Created, f.p("unified/c1")) {
		t.Errorf("Created lists unified/c1 which existed before: %q", m.Created)
	}
}

func TestApplyNeedsNew(t *testing.T) {
	m := &Manager{Paths: map[string]string{"memory": t.TempDir()}}
	if err := m.Apply(1); err == nil {
		t.Fatal("Apply on a Manager not made by New succeeded")
	}
}

func TestCleanPath(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"", "", ""},
		{"a/b", "a/b", ""},
		{"/a/b/", "/a/b", ""},
		{"a/./b/../c", "a/c", ""},
		{"a/..", ".", ""},
		{"..", "", "escapes"},
		{"a/../..", "", "escapes"},
		{"/..", "", "escapes"},
		{"/a/../../b", "", "escapes"},
	}
	for _, tc := range cases {
		got, err := cgroups.CleanPath(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("cgroups.CleanPath(%q) = %q, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("cgroups.CleanPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseMountinfoEscapes(t *testing.T) {
	mi := `40 31 0:37 / /sys/fs/cgroup/with\040space rw - cgroup cgroup rw,name=systemd` + "\n"
	mounts, err := cgroups.ParseMountinfo(strings.NewReader(mi))
	if err != nil || len(mounts) != 1 || mounts[0].Point != "/sys/fs/cgroup/with space" {
		t.Fatalf("parseMountinfo = %+v, %v", mounts, err)
	}
}

// TestDestroyLeavesSharedParent: a parent this manager created that another
// container has nested under since is left in place at once (no waiting,
// no error), while the container's own cgroup goes.
func TestDestroyLeavesSharedParent(t *testing.T) {
	f := newFakeRoot(t)
	m := f.manager(t, "shared/c1", "c1")
	if err := m.Apply(4242); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	for _, dir := range m.dirs() {
		mkdir(t, filepath.Join(filepath.Dir(dir), "c2")) // a sibling container's cgroup
		os.Remove(filepath.Join(dir, "cgroup.procs"))    // the kernel's files go with the dir
		for _, name := range []string{"cpuset.cpus", "cpuset.mems"} {
			os.Remove(filepath.Join(dir, name))
		}
	}
	start := time.Now()
	if err := m.Destroy(); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Destroy waited %v for a parent in use", d)
	}
	for _, dir := range m.dirs() {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s still exists", dir)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "c2")); err != nil {
			t.Errorf("sibling cgroup: %v", err)
		}
	}
}
