package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestRunSpecBundle starts from the runtime's own `spec` output and runs it.
func TestRunSpecBundle(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(nil)
	if err := os.Remove(filepath.Join(b.Dir, "config.json")); err != nil {
		t.Fatal(err)
	}
	r.must("spec", "--bundle", b.Dir)
	var s specs.Spec
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(b.Dir, "config.json"))), &s); err != nil {
		t.Fatalf("decode generated spec: %v", err)
	}
	s.Process.Terminal = false
	s.Process.Args = shArgs(b.ID, `echo $$; hostname; id`)
	s.Process.User = specs.User{UID: 1000, GID: 1000}
	s.Hostname = "lifecycle-host"
	s.Root.Path = rootfsDir
	s.Linux.CgroupsPath = cgroupParent + "/" + b.ID
	b.Spec = &s
	b.write()

	res := b.runFg()
	if res.Code != 0 {
		t.Fatalf("run: %s", res)
	}
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(lines) != 3 || lines[0] != "1" || lines[1] != "lifecycle-host" ||
		!strings.HasPrefix(lines[2], "uid=1000(user) gid=1000(user)") {
		t.Errorf("want pid 1, hostname and uid 1000, got %q", res.Stdout)
	}
}

// TestCreateStartDelete walks a container through every status and checks
// the host-side traces at each step.
func TestCreateStartDelete(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.script(`echo started > /out/started; while [ ! -e /out/stop ]; do sleep 0.05; done; echo bye`)
	})
	b.mustCreate()
	st := b.state()
	if st.Status != "created" || st.Pid <= 0 || st.ID != b.ID {
		t.Fatalf("after create want created with a pid, got %+v", st)
	}
	if !procAlive(st.Pid) {
		t.Fatalf("init pid %d not alive on the host", st.Pid)
	}
	for _, ns := range []string{"pid", "net", "ipc", "uts", "mnt"} {
		host := nsLink(t, "self", ns)
		if nsLink(t, strconv.Itoa(st.Pid), ns) == host {
			t.Errorf("container %s namespace equals the host's %s", ns, host)
		}
	}
	// The init is in the container cgroup, nested under ours, and that
	// directory exists in every hierarchy.
	cg := readOr(filepath.Join("/proc", strconv.Itoa(st.Pid), "cgroup"))
	if !strings.Contains(cg, cgroupParent+"/"+b.ID) {
		t.Errorf("init /proc/%d/cgroup does not name %s/%s:\n%s", st.Pid, cgroupParent, b.ID, cg)
	}
	if dirs := existingCgroupDirs(b.ID); len(dirs) == 0 {
		t.Errorf("no cgroup directory for %s in any hierarchy", b.ID)
	}
	if _, err := os.Stat(filepath.Join(b.Out, "started")); err == nil {
		t.Errorf("user process ran before start")
	}

	r.must("start", b.ID)
	waitFile(t, filepath.Join(b.Out, "started"))
	if st := b.state(); st.Status != "running" {
		t.Errorf("after start want running, got %q", st.Status)
	}
	createFile(t, filepath.Join(b.Out, "stop")).Close()
	b.waitStatus("stopped")
	if out := b.containerStdout(); out != "bye\n" {
		t.Errorf("container stdout = %q, want bye", out)
	}
	r.must("delete", b.ID)
	if left := leftovers(r.root, b.ID, b.Dir); len(left) != 0 {
		t.Errorf("after delete: %v", left)
	}
	if procAlive(st.Pid) {
		t.Errorf("init pid %d still alive after delete", st.Pid)
	}
	res := r.run("state", b.ID)
	if res.Code == 0 || !strings.Contains(res.Stderr, "container does not exist") {
		t.Errorf("state after delete: %s", res)
	}
}

func TestRunExitCode(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) { b.script(`exit 3`) })
	if res := b.runFg(); res.Code != 3 {
		t.Errorf("want exit 3, got %s", res)
	}
}

// TestRunKilledBySignal: a container killed by signal N makes run exit 128+N.
// The process runs without a pid namespace because an init in its own pid
// namespace cannot be killed by its own default-action signal.
func TestRunKilledBySignal(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		setNamespace(b.Spec, specs.PIDNamespace, "", true)
		b.script(`kill -TERM $$; sleep 5; exit 9`)
	})
	if res := b.runFg(); res.Code != 128+int(syscall.SIGTERM) {
		t.Errorf("want exit %d, got %s", 128+int(syscall.SIGTERM), res)
	}
}

// TestRunForwardsSignals sends SIGTERM to the foreground `run` process; the
// container's trap must see it.
func TestRunForwardsSignals(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.script(`trap 'echo term > /out/marker; exit 7' TERM; echo ok > /out/ready; while :; do sleep 0.05; done`)
	})
	ctx, cancel := context.WithTimeout(context.Background(), cmdLimit)
	defer cancel()
	c := r.cmd(ctx, "run", "--bundle", b.Dir, b.ID)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(b.Out, "ready"))
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := c.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Errorf("run after SIGTERM: want exit 7, got %v (stderr %q)", err, errb.String())
	}
	if got := strings.TrimSpace(readOr(filepath.Join(b.Out, "marker"))); got != "term" {
		t.Errorf("trap marker = %q, want term", got)
	}
}

func TestRunDetachPidFile(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.script(`echo $$ > /out/inner; while [ ! -e /out/stop ]; do sleep 0.05; done`)
	})
	pidFile := filepath.Join(b.Dir, "pid")
	res := b.runFg("--detach", "--pid-file", pidFile)
	if res.Code != 0 {
		t.Fatalf("run --detach: %s", res)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	st := b.state()
	if st.Status != "running" || st.Pid != pid || !procAlive(pid) {
		t.Errorf("want running with pid-file pid %d alive, got %+v", pid, st)
	}
	if inner := strings.TrimSpace(waitFile(t, filepath.Join(b.Out, "inner"))); inner != "1" {
		t.Errorf("container sees itself as pid %q, want 1", inner)
	}
	createFile(t, filepath.Join(b.Out, "stop")).Close()
	b.waitStatus("stopped")
}

// TestInitExeIsNotTheHostBinary: the container can reach the runtime's
// binary through /proc/<init>/exe while init waits on the exec fifo
// (CVE-2019-5736). It must be a view that cannot write to the host's file:
// another inode, on another device, and opening it for writing fails.
func TestInitExeIsNotTheHostBinary(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) { b.script(`true`) })
	b.mustCreate()
	t.Cleanup(func() { r.run("delete", "--force", b.ID) })
	pid := b.state().Pid
	var host, exe unix.Stat_t
	if err := unix.Stat(runtimeBin, &host); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(fmt.Sprintf("/proc/%d/exe", pid), &exe); err != nil {
		t.Fatal(err)
	}
	if exe.Dev == host.Dev && exe.Ino == host.Ino {
		t.Fatalf("init %d runs the host binary %s itself (dev %d ino %d)", pid, runtimeBin, host.Dev, host.Ino)
	}
	f, err := os.OpenFile(fmt.Sprintf("/proc/%d/exe", pid), os.O_WRONLY, 0)
	if err == nil {
		f.Close()
		t.Fatalf("opened /proc/%d/exe for writing", pid)
	}
}

// TestCreateWithoutProcess: config.md makes process "REQUIRED when start
// is called", not at create; runtime.md: start "MUST generate an error if
// process was not set". The container is created, start refuses and
// changes nothing, delete ends it.
func TestCreateWithoutProcess(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) { b.Spec.Process = nil })
	b.mustCreate()
	if st := b.state(); st.Status != "created" || st.Pid == 0 {
		t.Fatalf("state after create without process: %+v", st)
	}
	res := r.run("start", b.ID)
	if res.Code == 0 {
		t.Fatalf("start without a process succeeded: %s", res)
	}
	if !strings.Contains(res.Stderr, "process") {
		t.Errorf("start error does not say why: %s", res)
	}
	if st := b.state(); st.Status != "created" {
		t.Errorf("start changed the container: status %s", st.Status)
	}
	r.must("delete", b.ID)
}
