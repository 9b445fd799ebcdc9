package fs2

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// realBase makes a fresh directory under the test process's own cgroup2
// cgroup (on /sys/fs/cgroup in unified mode, /sys/fs/cgroup/unified in
// hybrid mode) and removes it at the end. Managers of these tests use it
// as their root, so that Create enables controllers in no directory but
// ours.
func realBase(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating cgroups needs root")
	}
	mnt := ""
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(p, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			mnt = p
			break
		}
	}
	if mnt == "" {
		t.Skip("no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified")
	}
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		t.Skipf("no /proc/self/cgroup: %v", err)
	}
	defer f.Close()
	entries, err := cgroups.ParseProcCgroup(f)
	if err != nil {
		t.Fatal(err)
	}
	own := ""
	for _, e := range entries {
		if e.Keys[0] == cgroups.UnifiedKey {
			own = e.Path
		}
	}
	if own == "" || strings.HasPrefix(own, "/..") {
		t.Skip("this process's cgroup2 cgroup is not visible")
	}
	b := make([]byte, 6)
	rand.Read(b)
	base := filepath.Join(mnt, own, "ocirun-fs2-test-"+hex.EncodeToString(b))
	if err := os.Mkdir(base, 0o755); err != nil {
		t.Skipf("cannot create a cgroup under our own: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Rmdir(base); err != nil {
			t.Errorf("remove %s: %v", base, err)
		}
	})
	return base
}

// startIn starts a shell script cloned straight into the cgroup dir (as
// nsexec clones the init), with its stdin and stdout as pipes.
func startIn(t *testing.T, dir, script string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start a process in %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, stdin, bufio.NewReader(stdout)
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read from the child: %v", err)
	}
	return strings.TrimSpace(l)
}

func TestRealLifecycle(t *testing.T) {
	base := realBase(t)
	m, err := NewAt(base, strings.NewReader(""), "/a/leaf", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	m.Plan()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	if want := []string{base + "/a", base + "/a/leaf"}; !reflect.DeepEqual(m.Created, want) {
		t.Fatalf("Created = %q, want %q", m.Created, want)
	}
	// Every controller our base has reaches the leaf.
	if got, want := read(t, m.Dir+"/cgroup.controllers"), read(t, base+"/cgroup.controllers"); got != want {
		t.Errorf("leaf cgroup.controllers = %q, want the base's %q", got, want)
	}

	// Set(nil) installs the device filter: the default devices only.
	if err := m.Set(nil); err != nil {
		t.Fatalf("Set(nil): %v", err)
	}
	_, unified := m.Placement()
	cmd, stdin, out := startIn(t, unified, `
		if true </dev/null; then echo null-ok; else echo null-denied; fi
		if true 2>/dev/null </dev/kmsg; then echo kmsg-ok; else echo kmsg-denied; fi
		read x`)
	if got := readLine(t, out) + " " + readLine(t, out); got != "null-ok kmsg-denied" {
		t.Errorf("inside: %q, want /dev/null allowed and /dev/kmsg denied", got)
	}
	// A cgroup the container made itself.
	sub := m.Dir + "/sub"
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd2, stdin2, _ := startIn(t, sub, "read x")
	pid, pid2 := cmd.Process.Pid, cmd2.Process.Pid
	if pids, err := m.Pids(); err != nil || !reflect.DeepEqual(pids, []int{pid}) {
		t.Fatalf("Pids = %v, %v; want [%d]", pids, err, pid)
	}
	all, err := m.AllPids()
	slices.Sort(all)
	if want := []int{min(pid, pid2), max(pid, pid2)}; err != nil || !reflect.DeepEqual(all, want) {
		t.Fatalf("AllPids = %v, %v; want %v", all, err, want)
	}

	if err := m.Freeze(); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	if v, _ := eventValue(m.Dir, "frozen"); !m.Frozen() || v != "1" {
		t.Fatalf("after Freeze: Frozen %v, cgroup.events frozen %q", m.Frozen(), v)
	}
	s, err := m.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if s.Pids.Current < 1 || s.CPU.Usage.Total == 0 {
		t.Errorf("Stats: pids %d, cpu total %d; want some", s.Pids.Current, s.CPU.Usage.Total)
	}
	if err := m.Thaw(); err != nil || m.Frozen() {
		t.Fatalf("Thaw: %v, Frozen %v", err, m.Frozen())
	}

	// With processes inside, Destroy gives up after its bound and keeps
	// everything recorded.
	old := destroyTimeout
	destroyTimeout = 300 * time.Millisecond
	t.Cleanup(func() { destroyTimeout = old })
	created := slices.Clone(m.Created)
	if err := m.Destroy(); err == nil || !strings.Contains(err.Error(), "processes still inside") {
		t.Fatalf("Destroy with live processes = %v", err)
	}
	if !reflect.DeepEqual(m.Created, created) {
		t.Fatalf("Created = %q after a failed Destroy, want %q", m.Created, created)
	}

	// The OOM notifier reports the end of the last process.
	n, err := m.OOM()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	stdin.Close()
	stdin2.Close()
	deadline := time.Now().Add(10 * time.Second)
	for gone := false; !gone; {
		if time.Now().After(deadline) {
			t.Fatal("the notifier never reported the cgroup empty")
		}
		unix.Poll([]unix.PollFd{{Fd: int32(n.Fd()), Events: unix.POLLIN}}, 100)
		var c uint64
		if c, gone = n.Read(); c != 0 {
			t.Errorf("%d OOM kills reported", c)
		}
	}
	destroyTimeout = old
	if err := m.Destroy(); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	cmd.Wait()
	cmd2.Wait()
	if _, err := os.Stat(base + "/a"); !errors.Is(err, os.ErrNotExist) || len(m.Created) != 0 {
		t.Fatalf("after Destroy: %s/a: %v, Created %q", base, err, m.Created)
	}
}

// TestRealMissingController: a limit for a controller that is not enabled
// is an error naming the field, not a silently skipped limit.
func TestRealMissingController(t *testing.T) {
	base := realBase(t)
	if strings.Contains(read(t, base+"/cgroup.controllers"), "pids") {
		t.Skip("pids is enabled here: nothing is missing")
	}
	m, err := NewAt(base, strings.NewReader(""), "/leaf", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Destroy() })
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	limit := int64(10)
	err = m.Update(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}})
	if fieldOf(err) != "pids.limit" || !strings.Contains(err.Error(), "pids controller is not enabled") {
		t.Fatalf("Update(pids) = %v", err)
	}
}
