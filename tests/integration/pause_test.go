package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// This file: pause/resume through the freezer (v1 freezer.state, v2
// cgroup.freeze), kill and delete of a paused container, ps (json and
// table) and kill --all. The effects are seen from the host: the freezer
// state (cgValue "freezer"), the task state of every container process in
// /proc, a counter the container keeps writing to /out, files a signal
// handler writes, cgroup.procs. Helpers are prefixed "pz".

// pzCounter starts a container whose shell counts in /out/count, plus
// what extra adds to the script (before the loop), and waits until the
// count moves.
func pzCounter(t *testing.T, r *rt, extra string) *bundle {
	t.Helper()
	b := r.newBundle(func(b *bundle) {
		b.script(extra + `i=0; while :; do i=$((i+1)); echo $i > /out/count; sleep 0.01; done`)
	})
	b.mustCreate()
	r.must("start", b.ID)
	pzAdvances(t, b, "")
	return b
}

// pzCount reads the counter, "" while the shell rewrites it.
func pzCount(b *bundle) string {
	return strings.TrimSpace(readOr(filepath.Join(b.Out, "count")))
}

// pzAdvances polls until the counter is non-empty and differs from from.
func pzAdvances(t *testing.T, b *bundle, from string) {
	t.Helper()
	if !poll(func() bool { c := pzCount(b); return c != "" && c != from }) {
		t.Fatalf("counter stuck at %q: the container does not run", from)
	}
}

// pzPids runs `ps --format json` and decodes the pid list.
func pzPids(t *testing.T, b *bundle) []int {
	t.Helper()
	res := b.rt.must("ps", "--format", "json", b.ID)
	var pids []int
	if err := json.Unmarshal([]byte(res.Stdout), &pids); err != nil {
		t.Fatalf("decode ps json %q: %v", res.Stdout, err)
	}
	return pids
}

// pzTaskState is the one-letter state of a host pid ("" once it is gone).
func pzTaskState(pid int) string {
	f := strings.Fields(readOr(filepath.Join("/proc", strconv.Itoa(pid), "status")))
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "State:" {
			return f[i+1]
		}
	}
	return ""
}

// pzFreezer reads the container's freezer state from the host: FROZEN,
// FREEZING or THAWED (v1 freezer.state; v2 cgroup.freeze and the frozen
// key of cgroup.events).
func pzFreezer(t *testing.T, b *bundle) string {
	t.Helper()
	return cgValue(t, b, "freezer")
}

// pzFrozenTask is the /proc state letter of a frozen task: D on v1 (the
// freezer's TASK_FROZEN shows as uninterruptible), S on v2 (the task waits
// in the cgroup freezer's signal-like trap).
func pzFrozenTask() string {
	if cgroupV2Only() {
		return "S"
	}
	return "D"
}

// pzFails runs args and wants a failure whose stderr contains msg.
func pzFails(t *testing.T, r *rt, msg string, args ...string) {
	t.Helper()
	res := r.run(args...)
	if res.Code == 0 || !strings.Contains(res.Stderr, msg) {
		t.Errorf("want failure with %q: %s", msg, res)
	}
}

// TestPauseResume: pause freezes every process (host freezer state FROZEN,
// each task frozen, the counter stops while the runtime is called five
// more times) and state says paused; a second pause and a resume of a
// running container fail with runc's words; resume thaws and the counter
// moves again.
func TestPauseResume(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := pzCounter(t, r, "")
	r.must("pause", b.ID)
	if st := b.state(); st.Status != "paused" {
		t.Errorf("state after pause: %q", st.Status)
	}
	if got := pzFreezer(t, b); got != "FROZEN" {
		t.Errorf("host freezer state (%s) = %q", cgWhere("freezer"), got)
	}
	pids := pzPids(t, b)
	if len(pids) < 1 {
		t.Fatalf("ps lists no process of the paused container")
	}
	for _, p := range pids {
		if st := pzTaskState(p); st != pzFrozenTask() && st != "" {
			t.Errorf("pid %d of the paused container is in state %q, want %s (frozen)", p, st, pzFrozenTask())
		}
	}
	frozen := pzCount(b)
	for range 5 {
		pzFails(t, r, "container not running", "pause", b.ID)
	}
	if got := pzCount(b); got != frozen {
		t.Errorf("counter moved from %q to %q while paused", frozen, got)
	}
	r.must("resume", b.ID)
	if st := b.state(); st.Status != "running" {
		t.Errorf("state after resume: %q", st.Status)
	}
	if got := pzFreezer(t, b); got != "THAWED" {
		t.Errorf("host freezer state (%s) after resume = %q", cgWhere("freezer"), got)
	}
	pzAdvances(t, b, frozen)
	pzFails(t, r, "container not paused", "resume", b.ID)
}

// TestPauseCreated: a created container can be paused (runc allows it) and
// reads paused; resumed, it is created again and starts.
func TestPauseCreated(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) { b.script(`echo started > /out/started`) })
	b.mustCreate()
	r.must("pause", b.ID)
	if st := b.state(); st.Status != "paused" {
		t.Errorf("state of a paused created container: %q", st.Status)
	}
	r.must("resume", b.ID)
	if st := b.state(); st.Status != "created" {
		t.Errorf("state after resume: %q, want created", st.Status)
	}
	r.must("start", b.ID)
	waitFile(t, filepath.Join(b.Out, "started"))
}

// TestPauseStopped: pause and resume of a stopped container fail with
// runc's words, and of an unknown id with "container does not exist".
func TestPauseStopped(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) { b.script(`exit 0`) })
	b.mustCreate()
	r.must("start", b.ID)
	b.waitStatus("stopped")
	pzFails(t, r, "container not running", "pause", b.ID)
	pzFails(t, r, "container not paused", "resume", b.ID)
	pzFails(t, r, "container does not exist", "pause", "it-nosuchid")
	pzFails(t, r, "container does not exist", "resume", "it-nosuchid")
}

// TestPauseDeleteForce: delete --force of a paused container (whose tasks
// cannot die while frozen) removes everything.
func TestPauseDeleteForce(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := pzCounter(t, r, "sleep 1000 & ")
	r.must("pause", b.ID)
	pzFails(t, r, "", "delete", b.ID) // not without --force
	r.must("delete", "--force", b.ID)
	assertNoLeftovers(t, r.root, b.ID, b.Dir)
}

// TestPauseKill: kill TERM to a paused container is held until resume (the
// handler runs only then); kill KILL stops it while paused (runc thaws for
// SIGKILL).
func TestPauseKill(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := pzCounter(t, r, `trap 'echo term > /out/term' TERM; `)
	r.must("pause", b.ID)
	r.must("kill", b.ID, "TERM")
	for range 5 {
		if st := b.state(); st.Status != "paused" {
			t.Fatalf("state after kill TERM of a paused container: %q", st.Status)
		}
	}
	if _, err := os.Stat(filepath.Join(b.Out, "term")); err == nil {
		t.Errorf("the TERM handler ran while the container was paused")
	}
	r.must("resume", b.ID)
	waitFile(t, filepath.Join(b.Out, "term"))

	r.must("pause", b.ID)
	r.must("kill", b.ID, "KILL")
	b.waitStatus("stopped")
}

// TestPsJSONAndTable: ps --format json lists exactly the container's pids:
// those in cgroup.procs on the host, i.e. the init and a known child whose
// in-container pid the container reported; the table has ps -ef's header
// and one line per pid; ps options replace -ef.
func TestPsJSONAndTable(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		// No polling loop: the process set stays exactly {sh, sleep}.
		b.script(`sleep 1000 & echo $! > /out/child; echo ok > /out/ready; wait`)
	})
	b.mustCreate()
	r.must("start", b.ID)
	waitFile(t, filepath.Join(b.Out, "ready"))
	childNs := strings.TrimSpace(readFile(t, filepath.Join(b.Out, "child")))
	initPid := b.state().Pid

	pids := pzPids(t, b)
	slices.Sort(pids)
	var procs []int
	for _, f := range strings.Fields(cgRead(t, b, "pids", "cgroup.procs")) {
		n, _ := strconv.Atoi(f)
		procs = append(procs, n)
	}
	slices.Sort(procs)
	if !slices.Equal(pids, procs) {
		t.Errorf("ps json %v, host cgroup.procs %v", pids, procs)
	}
	var child int
	for _, p := range pids {
		ns := strings.Fields(statusField(t, p, "NSpid"))
		if p != initPid && len(ns) == 2 && ns[1] == childNs {
			child = p
		}
	}
	if len(pids) != 2 || !slices.Contains(pids, initPid) || child == 0 {
		t.Fatalf("ps json %v: want exactly init %d and the child (pid %s inside)", pids, initPid, childNs)
	}

	res := r.must("ps", b.ID)
	lines := strings.Split(strings.TrimRight(res.Stdout, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "UID") || !slices.Contains(strings.Fields(lines[0]), "PID") {
		t.Fatalf("ps table: want ps -ef's header and 2 lines, got:\n%s", res.Stdout)
	}
	for _, l := range lines[1:] {
		if n, _ := strconv.Atoi(strings.Fields(l)[1]); !slices.Contains(pids, n) {
			t.Errorf("ps table line of another process: %q", l)
		}
	}
	if !strings.Contains(res.Stdout, "sleep 1000") {
		t.Errorf("ps table lacks the child's command line:\n%s", res.Stdout)
	}

	res = r.must("ps", b.ID, "-o", "pid,args")
	lines = strings.Split(strings.TrimRight(res.Stdout, "\n"), "\n")
	if len(lines) != 3 || strings.Fields(lines[0])[0] != "PID" || !strings.Contains(lines[2]+lines[1], "sleep 1000") {
		t.Errorf("ps -o pid,args: got:\n%s", res.Stdout)
	}
	pzFails(t, r, "invalid format option", "ps", "--format", "yaml", b.ID)
}

// TestKillAll: kill --all reaches a background child as well as the init
// (each traps USR1 and writes a file), and leaves the container thawed;
// without --all only the init gets it.
func TestKillAll(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.script(`trap 'echo init >> /out/init' USR1
sh -c 'trap "echo child >> /out/child" USR1; echo ok > /out/ready; while :; do sleep 0.05; done' &
while :; do sleep 0.05; done`)
	})
	b.mustCreate()
	r.must("start", b.ID)
	waitFile(t, filepath.Join(b.Out, "ready"))
	r.must("kill", b.ID, "USR1")
	waitFile(t, filepath.Join(b.Out, "init"))
	if _, err := os.Stat(filepath.Join(b.Out, "child")); err == nil {
		t.Errorf("kill without --all reached the child")
	}
	r.must("kill", "--all", b.ID, "USR1")
	waitFile(t, filepath.Join(b.Out, "child"))
	if !poll(func() bool { return readOr(filepath.Join(b.Out, "init")) == "init\ninit\n" }) {
		t.Errorf("kill --all did not reach the init: %q", readOr(filepath.Join(b.Out, "init")))
	}
	if got := pzFreezer(t, b); got != "THAWED" {
		t.Errorf("freezer state (%s) after kill --all = %q", cgWhere("freezer"), got)
	}
	if st := b.state(); st.Status != "running" {
		t.Errorf("state after kill --all: %q", st.Status)
	}
	r.must("kill", "-a", b.ID, "KILL")
	b.waitStatus("stopped")
}

// TestKillAllPaused: kill --all of a paused container. ocirun keeps it
// paused for signals other than SIGKILL (the handler runs on resume);
// runc 1.1 thaws it (signalAllProcesses thaws unconditionally), which is
// only logged here.
func TestKillAllPaused(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := pzCounter(t, r, `trap 'echo usr1 > /out/usr1' USR1; `)
	r.must("pause", b.ID)
	r.must("kill", "--all", b.ID, "USR1")
	st := b.state().Status
	if isRunc && st == "running" {
		t.Logf("runc 1.1 thawed the paused container on kill --all (known runc behaviour)")
		waitFile(t, filepath.Join(b.Out, "usr1"))
		return
	}
	if st != "paused" {
		t.Fatalf("state after kill --all USR1 of a paused container: %q", st)
	}
	if _, err := os.Stat(filepath.Join(b.Out, "usr1")); err == nil {
		t.Errorf("the USR1 handler ran while the container was paused")
	}
	r.must("resume", b.ID)
	waitFile(t, filepath.Join(b.Out, "usr1"))
	r.must("pause", b.ID)
	r.must("kill", "--all", b.ID, "KILL")
	b.waitStatus("stopped")
}
