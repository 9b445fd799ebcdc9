package fs2

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func TestNewAtPaths(t *testing.T) {
	const root = "/sys/fs/cgroup"
	session := "0::/user.slice/user-0.slice/session-1.scope\n"
	cases := []struct {
		name, self, path, id, want, err string
	}{
		{name: "relative nests under the parent of our cgroup", self: session, path: "ctr/one", want: root + "/user.slice/user-0.slice/ctr/one"},
		{name: "empty path is the id", self: session, id: "abc", want: root + "/user.slice/user-0.slice/abc"},
		{name: "caller in the root cgroup", self: "0::/\n", path: "ctr", want: root + "/ctr"},
		{name: "caller one level down", self: "0::/init.scope\n", path: "ctr", want: root + "/ctr"},
		{name: "hybrid lines are ignored", self: "4:memory:/x\n1:name=systemd:/y\n" + session, path: "c", want: root + "/user.slice/user-0.slice/c"},
		{name: "absolute starts at the root", self: session, path: "/machine.slice/c1", want: root + "/machine.slice/c1"},
		{name: "absolute needs no cgroup line", self: "", path: "/a/b", want: root + "/a/b"},
		{name: "dot-dot inside is fine", self: session, path: "a/../b", want: root + "/user.slice/user-0.slice/b"},
		{name: "dot-dot escape", self: session, path: "../etc", err: "escapes its parent"},
		{name: "absolute dot-dot escape", self: session, path: "/../../etc", err: "escapes its parent"},
		{name: "root itself", self: session, path: "/", err: "cgroup2 root itself"},
		{name: "bad id", self: session, id: "a/b", err: "not a single path element"},
		{name: "no cgroup2 line", self: "4:memory:/x\n", path: "c", err: "no cgroup2 (0::) line"},
		{name: "outside our namespace", self: "0::/../..\n", path: "c", want: root + "/c"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := NewAt(root, strings.NewReader(c.self), c.path, c.id)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("NewAt = %+v, %v; want error containing %q", m, err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewAt: %v", err)
			}
			if m.Dir != c.want || m.Root != root {
				t.Fatalf("Dir, Root = %q, %q; want %q, %q", m.Dir, m.Root, c.want, root)
			}
			if tasks, unified := m.Placement(); tasks != nil || unified != c.want {
				t.Fatalf("Placement = %q, %q; want nil, %q", tasks, unified, c.want)
			}
		})
	}
}

// fakeTree is a cgroup2 root with controllers available, one existing
// child "a" that already passes cpu on, and a manager for a/b/c.
func fakeTree(t *testing.T) *Manager {
	t.Helper()
	root := t.TempDir()
	write(t, root+"/cgroup.controllers", "cpu memory pids\n")
	write(t, root+"/cgroup.subtree_control", "\n")
	write(t, root+"/a/cgroup.controllers", "cpu memory pids\n")
	write(t, root+"/a/cgroup.subtree_control", "cpu\n")
	m, err := NewAt(root, strings.NewReader("0::/\n"), "/a/b/c", "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCreateRecordsAndEnables(t *testing.T) {
	m := fakeTree(t)
	root := m.Root
	m.Plan()
	want := []string{root + "/a/b", root + "/a/b/c"}
	if !reflect.DeepEqual(m.Planned, want) {
		t.Fatalf("Planned = %q, want %q", m.Planned, want)
	}
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Created, want) || m.Planned != nil {
		t.Fatalf("Created, Planned = %q, %q; want %q, nil", m.Created, m.Planned, want)
	}
	// Only what is missing is written: all three at the root, two in a
	// (cpu is on already).
	if got := read(t, root+"/cgroup.subtree_control"); got != "+cpu +memory +pids" {
		t.Errorf("root subtree_control got %q", got)
	}
	if got := read(t, root+"/a/cgroup.subtree_control"); got != "+memory +pids" {
		t.Errorf("a subtree_control got %q", got)
	}
	// A second Create makes nothing new, and an ancestor that passes on
	// everything is only read.
	write(t, root+"/cgroup.subtree_control", "cpu memory pids")
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	if len(m.Created) != 2 || read(t, root+"/cgroup.subtree_control") != "cpu memory pids" {
		t.Fatalf("second Create: Created %q, root subtree_control %q", m.Created, read(t, root+"/cgroup.subtree_control"))
	}

	// Destroy removes what Create made, deepest first, and never "a".
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if exists(root+"/a/b") || !exists(root+"/a") || len(m.Created) != 0 {
		t.Fatalf("after Destroy: a/b exists %v, a exists %v, Created %q", exists(root+"/a/b"), exists(root+"/a"), m.Created)
	}
}

func TestDestroyBookkeeping(t *testing.T) {
	t.Run("a create killed after its first mkdir", func(t *testing.T) {
		m := fakeTree(t)
		m.Plan()
		if err := os.Mkdir(m.Root+"/a/b", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := m.Destroy(); err != nil {
			t.Fatal(err)
		}
		if exists(m.Root+"/a/b") || m.Planned != nil {
			t.Fatalf("a/b exists %v, Planned %q", exists(m.Root+"/a/b"), m.Planned)
		}
	})
	t.Run("a parent another container now uses stays", func(t *testing.T) {
		m := fakeTree(t)
		if err := m.Create(); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(m.Root+"/a/b/other", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := m.Destroy(); err != nil {
			t.Fatal(err)
		}
		if exists(m.Dir) || !exists(m.Root+"/a/b/other") || len(m.Created) != 0 {
			t.Fatalf("leaf exists %v, other exists %v, Created %q", exists(m.Dir), exists(m.Root+"/a/b/other"), m.Created)
		}
	})
	t.Run("the container's own sub-cgroups go with it", func(t *testing.T) {
		m := fakeTree(t)
		if err := m.Create(); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(m.Dir+"/x/y", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := m.Destroy(); err != nil {
			t.Fatal(err)
		}
		if exists(m.Root + "/a/b") {
			t.Fatal("a/b still exists")
		}
	})
	t.Run("a leaf that cannot go stays recorded", func(t *testing.T) {
		m := fakeTree(t)
		if err := m.Create(); err != nil {
			t.Fatal(err)
		}
		// A plain file in the leaf stands in for what the kernel refuses
		// to remove with something other than EBUSY.
		write(t, m.Dir+"/cgroup.procs", "")
		err := m.Destroy()
		if err == nil || !strings.Contains(err.Error(), "remove cgroup "+m.Dir) {
			t.Fatalf("Destroy = %v, want an error naming %s", err, m.Dir)
		}
		// Its parent, which we made too, stays recorded with it.
		if want := []string{m.Root + "/a/b", m.Dir}; !reflect.DeepEqual(m.Created, want) {
			t.Fatalf("Created = %q, want %q", m.Created, want)
		}
	})
}

func TestPidsFake(t *testing.T) {
	m := fakeTree(t)
	write(t, m.Dir+"/cgroup.procs", "10\n11\n")
	write(t, m.Dir+"/sub/cgroup.procs", "12\n")
	write(t, m.Dir+"/sub/deeper/cgroup.procs", "13\n")
	pids, err := m.Pids()
	if err != nil || !reflect.DeepEqual(pids, []int{10, 11}) {
		t.Fatalf("Pids = %v, %v", pids, err)
	}
	all, err := m.AllPids()
	slices.Sort(all)
	if err != nil || !reflect.DeepEqual(all, []int{10, 11, 12, 13}) {
		t.Fatalf("AllPids = %v, %v", all, err)
	}
	os.RemoveAll(m.Dir)
	if _, err := m.Pids(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Pids of a removed cgroup = %v", err)
	}
}

func TestFreezerFake(t *testing.T) {
	m := fakeTree(t)
	if err := os.MkdirAll(m.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.Freeze(); !errors.Is(err, cgroups.ErrNoFreezer) {
		t.Fatalf("Freeze without cgroup.freeze = %v, want ErrNoFreezer", err)
	}
	write(t, m.Dir+"/cgroup.freeze", "0")
	write(t, m.Dir+"/cgroup.events", "populated 1\nfrozen 0\n")
	old := freezeTimeout
	freezeTimeout = 50e6
	t.Cleanup(func() { freezeTimeout = old })
	// The "kernel" never reports frozen: Freeze gives up and thaws.
	err := m.Freeze()
	if err == nil || !strings.Contains(err.Error(), "still running") || read(t, m.Dir+"/cgroup.freeze") != "0" || m.Frozen() {
		t.Fatalf("Freeze = %v, cgroup.freeze %q; want a timeout and 0", err, read(t, m.Dir+"/cgroup.freeze"))
	}
	write(t, m.Dir+"/cgroup.events", "populated 1\nfrozen 1\n")
	if err := m.Freeze(); err != nil || !m.Frozen() {
		t.Fatalf("Freeze = %v, Frozen %v", err, m.Frozen())
	}
	if err := m.Thaw(); err != nil || m.Frozen() {
		t.Fatalf("Thaw = %v, Frozen %v", err, m.Frozen())
	}
}
