package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestDeleteRemovesEverything: after delete no state dir and no cgroup dir
// remains in any hierarchy, though both existed while the container lived.
func TestDeleteRemovesEverything(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b, pid := startWaiting(t, r, nil, `true`)
	dirs := existingCgroupDirs(b.ID)
	if len(dirs) == 0 {
		t.Fatalf("running container has no cgroup dir")
	}
	// The detector itself must see a live container's traces.
	left := strings.Join(leftovers(r.root, b.ID, b.Dir), "\n")
	for _, want := range []string{"state dir ", "cgroup dir ", "process "} {
		if !strings.Contains(left, want) {
			t.Errorf("leftover detector misses the live container's %q in:\n%s", want, left)
		}
	}
	r.must("delete", "--force", b.ID)
	if left := leftovers(r.root, b.ID, b.Dir); len(left) != 0 {
		t.Errorf("after delete --force: %v", left)
	}
	if procAlive(pid) {
		t.Errorf("init %d alive after delete --force", pid)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup dir %s left", d)
		}
	}
}

// killCreate starts `create`, SIGKILLs it once trigger returns, then checks
// that `delete --force` cleans up and that the id can be used again.
//
// create runs under a subreaper (see subreaperMain), as it does under a
// real manager (containerd's shim is one): the killed create's init is
// orphaned, and a zombie keeps a v1 cgroup busy until it is reaped. This
// machine's PID 1 reaps orphans only every few seconds.
func killCreate(t *testing.T, r *rt, b *bundle, trigger func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdLimit)
	defer cancel()
	rc := r.cmd(ctx, "create", "--bundle", b.Dir, b.ID)
	c := exec.CommandContext(ctx, os.Args[0], append([]string{rc.Path}, rc.Args[1:]...)...)
	c.Env = append(os.Environ(), subreaperEnv+"=1")
	out := createFile(t, filepath.Join(b.Dir, "killed-create.out"))
	defer out.Close()
	c.Stdout, c.Stderr = out, out
	pidR, pidW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c.ExtraFiles = []*os.File{pidW}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	pidW.Close()
	var pid int
	_, err = fmt.Fscan(pidR, &pid)
	pidR.Close()
	if err != nil {
		_ = c.Process.Kill()
		_ = c.Wait()
		t.Fatalf("read the create pid from the subreaper: %v", err)
	}
	trigger()
	_ = syscall.Kill(pid, syscall.SIGKILL)
	res := r.run("delete", "--force", b.ID)
	// delete --force has killed the init and the subreaper has reaped it;
	// whatever else is left (an orphaned hook) is the test's to end.
	_ = c.Process.Kill()
	_ = c.Wait()
	if res.Code != 0 {
		t.Fatalf("delete --force after killed create: %s", res)
	}
	assertNoLeftovers(t, r.root, b.ID, b.Dir)

	b.Spec.Hooks = nil
	b.script(`echo again > /out/again`)
	b.write()
	b.mustCreate()
	r.must("start", b.ID)
	if got := strings.TrimSpace(waitFile(t, filepath.Join(b.Out, "again"))); got != "again" {
		t.Errorf("reused id ran %q", got)
	}
	b.waitStatus("stopped")
	r.must("delete", b.ID)
	_ = os.Remove(filepath.Join(b.Out, "again"))
}

func TestKillCreateImmediately(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) { b.script(`true`) })
	killCreate(t, r, b, func() {})
}

func TestKillCreateRandomDelays(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(nil)
	for i := 0; i < 10; i++ {
		b.script(`true`)
		b.write()
		// The delay picks the moment of the kill; nothing asserts on time.
		delay := time.Duration(rand.IntN(150)) * time.Millisecond
		killCreate(t, r, b, func() { time.Sleep(delay) })
	}
}

// TestKillCreateDuringHook: create is killed while a createRuntime hook
// blocks, i.e. with namespaces, cgroup and init already set up.
func TestKillCreateDuringHook(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	hookDir := t.TempDir()
	pidFile := filepath.Join(hookDir, "pid")
	b := r.newBundle(func(b *bundle) {
		b.script(`true`)
		b.Spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{
			Path: "/bin/sh", Args: []string{"sh", "-c", "echo $$ > " + pidFile + ".tmp; mv " + pidFile + ".tmp " + pidFile + "; exec sleep 100"},
		}}}
	})
	var hookPid int
	killCreate(t, r, b, func() {
		pid, err := strconv.Atoi(strings.TrimSpace(waitFile(t, pidFile)))
		if err != nil {
			t.Fatal(err)
		}
		hookPid = pid
		// The cgroup exists by the time hooks run.
		if len(existingCgroupDirs(b.ID)) == 0 {
			t.Errorf("no cgroup dir while the createRuntime hook runs")
		}
	})
	// The orphaned hook is outside the container; it is ours to end.
	if hookPid > 0 && procAlive(hookPid) {
		_ = killPid(hookPid)
	}
}
