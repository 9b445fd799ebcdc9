package fs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

// realManager makes a Manager for a fresh relative cgroup on this host and
// makes sure the test leaves no directory behind.
func realManager(t *testing.T) (*Manager, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating cgroups on the host needs root")
	}
	if _, err := os.Stat("/proc/self/cgroup"); err != nil {
		t.Skipf("no /proc/self/cgroup: %v", err)
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	// Nested, so that Destroy's handling of a parent it made is exercised.
	name := "ocirun-test-" + hex.EncodeToString(b) + "/leaf"
	m, err := New(name, "unused")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return m, name
}

func startChild(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

func TestRealHierarchy(t *testing.T) {
	m, name := realManager(t)
	cmd := startChild(t, "sleep", "1000")
	pid := cmd.Process.Pid
	if err := m.Apply(pid); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(m.Created) == 0 {
		t.Fatal("Apply created no directory")
	}

	// Every hierarchy's new directory lists the child, and the child's own
	// /proc/<pid>/cgroup agrees, nested under where this test process is.
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	selfEntries, _ := cgroups.ParseProcCgroup(strings.NewReader(string(self)))
	childText, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	childEntries, _ := cgroups.ParseProcCgroup(strings.NewReader(string(childText)))
	for i, e := range childEntries {
		if _, mounted := m.Paths[e.Keys[0]]; !mounted {
			continue
		}
		if want := filepath.Join(selfEntries[i].Path, name); e.Path != want {
			t.Errorf("child in %v cgroup %q, want %q", e.Keys, e.Path, want)
		}
	}
	for key, dir := range m.Paths {
		if !strings.HasSuffix(dir, "/"+name) {
			t.Errorf("%s path %s does not end in %s", key, dir, name)
		}
		pids, err := cgroups.ReadPids(dir)
		if err != nil || !reflect.DeepEqual(pids, []int{pid}) {
			t.Errorf("%s: %s/cgroup.procs = %v, %v; want [%d]", key, dir, pids, err, pid)
		}
	}
	if dir, ok := m.Paths["cpuset"]; ok {
		got, _ := cgroups.ReadTrimmed(filepath.Join(dir, "cpuset.cpus"))
		parent, _ := inheritedValue(filepath.Dir(dir), "cpuset.cpus")
		if got == "" || got != parent {
			t.Errorf("new cpuset.cpus = %q, want the parent's %q", got, parent)
		}
	}
	pids, err := m.Pids()
	if err != nil || !reflect.DeepEqual(pids, []int{pid}) {
		t.Fatalf("Pids = %v, %v; want [%d]", pids, err, pid)
	}

	// The child never exits by itself: Destroy gives up after its bound,
	// reports the busy directory and keeps every directory.
	created := append([]string(nil), m.Created...)
	start := time.Now()
	err = m.Destroy()
	if took := time.Since(start); err == nil || !strings.Contains(err.Error(), "processes still inside") || took < destroyTimeout || took > destroyTimeout+2*time.Second {
		t.Fatalf("Destroy with a live process: %v after %v, want a timeout after about %v", err, took, destroyTimeout)
	}
	if !reflect.DeepEqual(m.Created, created) {
		t.Fatalf("Created = %q after a failed Destroy, want %q", m.Created, created)
	}

	// Killed (and not yet reaped), the child no longer holds the cgroups.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := m.Destroy(); err != nil {
		t.Fatalf("Destroy after kill: %v", err)
	}
	cmd.Wait()
	for _, d := range created {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still exists after Destroy (%v)", d, err)
		}
	}
	if len(m.Created) != 0 {
		t.Errorf("Created = %q after Destroy", m.Created)
	}
}

func TestRealDestroyWaitsForExit(t *testing.T) {
	m, _ := realManager(t)
	cmd := exec.Command("sh", "-c", "read x")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	created := append([]string(nil), m.Created...)
	done := make(chan error, 1)
	go func() { done <- m.Destroy() }()
	// Let the shell finish: Destroy must notice without failing.
	stdin.Close()
	if err := <-done; err != nil {
		t.Fatalf("Destroy while the process exits: %v", err)
	}
	cmd.Wait()
	for _, d := range created {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still exists after Destroy (%v)", d, err)
		}
	}
}
