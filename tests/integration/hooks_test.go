package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookScript records one line per call into log ($0, args, an env var and
// the mount namespace it runs in) and the state it got on stdin into
// state-<name>.json. The host directory is not visible after pivot_root, so
// inside the container it falls back to the same directory mounted at /hooklog.
const hookScript = `#!/bin/sh
dir=@DIR@
[ -d "$dir" ] || dir=/hooklog
echo "$1 $0 $2 $HOOK_ENV $(readlink /proc/self/ns/mnt)" >> "$dir/log"
cat > "$dir/state-$1.json"
`

type hookLine struct {
	name, arg0, arg2, env, mnt string
}

func readHookLog(t *testing.T, dir string) []hookLine {
	t.Helper()
	var lines []hookLine
	data, _ := os.ReadFile(filepath.Join(dir, "log"))
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 5:
			lines = append(lines, hookLine{f[0], f[1], f[2], f[3], f[4]})
		case len(f) == 1:
			lines = append(lines, hookLine{name: f[0]})
		}
	}
	return lines
}

func hookNames(lines []hookLine) string {
	var n []string
	for _, l := range lines {
		n = append(n, l.name)
	}
	return strings.Join(n, " ")
}

func TestHooksAllTypes(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	script := strings.ReplaceAll(hookScript, "@DIR@", dir)
	if err := os.WriteFile(filepath.Join(dir, "hook.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	hook := func(name, path string) []specs.Hook {
		return []specs.Hook{{Path: path, Args: []string{"hook", name, "extra"}, Env: []string{"PATH=/usr/bin:/bin", "HOOK_ENV=env-" + name}}}
	}
	host := filepath.Join(dir, "hook.sh")
	b := r.newBundle(func(b *bundle) {
		addBind(b.Spec, dir, "/hooklog")
		b.script(`echo process >> /hooklog/log`)
		b.Spec.Hooks = &specs.Hooks{
			Prestart:        hook("prestart", host), //nolint:staticcheck // deprecated but still run
			CreateRuntime:   hook("createRuntime", host),
			CreateContainer: hook("createContainer", host),
			StartContainer:  hook("startContainer", "/hooklog/hook.sh"),
			Poststart:       hook("poststart", host),
			Poststop:        hook("poststop", host),
		}
	})
	b.mustCreate()
	pid := b.state().Pid
	hostMnt, ctrMnt := nsLink(t, "self", "mnt"), nsLink(t, strconv.Itoa(pid), "mnt")

	// runc runs prestart before createRuntime; the spec orders neither, so
	// only createContainer is required to follow createRuntime.
	got := hookNames(readHookLog(t, dir))
	if isRunc {
		// runc 1.1 wrongly runs poststart during create (see
		// TestPoststartNotDuringCreate); tolerate only that.
		got = strings.TrimSuffix(got, " poststart")
	}
	if got != "prestart createRuntime createContainer" && got != "createRuntime prestart createContainer" {
		t.Fatalf("hooks run by create: %q", got)
	}

	r.must("start", b.ID)
	b.waitStatus("stopped")
	// poststart runs after the process was started; it can race with the
	// process writing its line, so only its presence after start is fixed.
	if !poll(func() bool { return strings.Contains(hookNames(readHookLog(t, dir)), "poststart") }) {
		t.Fatalf("no poststart after start: %q", hookNames(readHookLog(t, dir)))
	}
	got = hookNames(readHookLog(t, dir))
	if isRunc {
		// runc ran poststart during create and does not run it again.
		got = strings.Replace(got, "createContainer poststart", "createContainer", 1) + " poststart"
	}
	if !strings.HasSuffix(got, "createContainer startContainer process poststart") &&
		!strings.HasSuffix(got, "createContainer startContainer poststart process") {
		t.Errorf("hooks after start: %q", got)
	}
	r.must("delete", b.ID)
	lines := readHookLog(t, dir)
	if hookNames(lines[len(lines)-1:]) != "poststop" {
		t.Fatalf("no poststop at delete: %q", hookNames(lines))
	}

	for _, l := range lines {
		if l.name == "process" {
			continue
		}
		if !strings.HasSuffix(l.arg0, "hook.sh") || l.arg2 != "extra" || l.env != "env-"+l.name {
			t.Errorf("%s hook got $0=%q $2=%q HOOK_ENV=%q", l.name, l.arg0, l.arg2, l.env)
		}
		wantMnt := hostMnt
		if l.name == "createContainer" || l.name == "startContainer" {
			wantMnt = ctrMnt
		}
		if l.mnt != wantMnt {
			t.Errorf("%s hook ran in mount ns %s, want %s", l.name, l.mnt, wantMnt)
		}
		var st stateJSON
		data := readFile(t, filepath.Join(dir, "state-"+l.name+".json"))
		if err := json.Unmarshal([]byte(data), &st); err != nil {
			t.Errorf("%s hook stdin is not state JSON: %q", l.name, data)
			continue
		}
		if st.ID != b.ID || st.Bundle != b.Dir || st.Status == "" {
			t.Errorf("%s hook state = %+v", l.name, st)
		}
		// runtime.md: these run after lifecycle step 2, when create "has
		// finished": created (the runtime-tools hooks_stdin check too).
		switch l.name {
		case "prestart", "createRuntime", "createContainer":
			if st.Status != "created" && !isRunc {
				t.Errorf("%s hook state status %q, want created", l.name, st.Status)
			}
		}
		// The pid is as seen from the namespace the hook runs in (runtime
		// spec, state.md): the init is pid 1 in its own pid namespace.
		wantPid := pid
		if wantMnt == ctrMnt {
			wantPid = 1
		}
		if l.name != "poststop" && st.Pid != wantPid {
			t.Errorf("%s hook state pid %d, want %d", l.name, st.Pid, wantPid)
		}
	}
}

// TestPoststartNotDuringCreate: poststart belongs to start. runc 1.1 runs
// poststart hooks at the end of `create` (libcontainer runs them when the
// init is set up, not after the user process starts), which violates the
// runtime spec ("called after the user-specified process is executed but
// before the start operation returns"); the check is skipped for runc only.
func TestPoststartNotDuringCreate(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	marker := filepath.Join(t.TempDir(), "poststart")
	b := r.newBundle(func(b *bundle) {
		b.script(`true`)
		b.Spec.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo ran > " + marker}}}}
	})
	b.mustCreate()
	_, err := os.Stat(marker)
	if err == nil && !isRunc {
		t.Errorf("poststart ran during create")
	}
	if err == nil && isRunc {
		t.Logf("runc ran poststart during create (known runc bug)")
	}
	r.must("start", b.ID)
	waitFile(t, marker)
}

func TestHookTimeout(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	timeout := 1
	b := r.newBundle(func(b *bundle) {
		b.script(`true`)
		b.Spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{
			Path: "/bin/sh", Args: []string{"sh", "-c", "echo $$ > " + pidFile + "; exec sleep 100"}, Timeout: &timeout,
		}}}
	})
	if res := b.create(); res.Code == 0 {
		t.Fatalf("create with a hung hook succeeded: %s", res)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	if err != nil {
		t.Fatal(err)
	}
	if !poll(func() bool { return !procAlive(pid) }) {
		t.Errorf("timed-out hook %d still alive", pid)
		_ = killPid(pid) // the hung hook is ours to end
	}
}

func TestFailingPoststopStillDeletes(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	marker := filepath.Join(t.TempDir(), "second-ran")
	b := r.newBundle(func(b *bundle) {
		b.script(`true`)
		// runtime.md: a failing poststop hook is a warning, and "the
		// remaining hooks and lifecycle continue as if the hook had
		// succeeded": the second hook must still run.
		b.Spec.Hooks = &specs.Hooks{Poststop: []specs.Hook{
			{Path: "/bin/sh", Args: []string{"sh", "-c", "exit 1"}},
			{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + marker}},
		}}
	})
	b.mustCreate()
	r.must("start", b.ID)
	b.waitStatus("stopped")
	if res := r.run("delete", b.ID); res.Code != 0 {
		t.Errorf("delete with a failing poststop hook: %s", res)
	}
	if _, err := os.Stat(filepath.Join(r.root, b.ID)); err == nil {
		t.Errorf("state dir left after delete")
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the poststop hook after the failing one did not run: %v", err)
	}
}

// TestFailingPoststartStopsContainer: runtime.md lifecycle step 9, "If any
// poststart hook fails, the runtime MUST generate an error, stop the
// container, and continue the lifecycle at step 12".
func TestFailingPoststartStopsContainer(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.script(`sleep 100`)
		b.Spec.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "exit 3"}}}}
	})
	if isRunc {
		t.Skip("runc 1.1 runs poststart hooks during create (see TestPoststartNotDuringCreate)")
	}
	b.mustCreate()
	res := r.run("start", b.ID)
	if res.Code == 0 {
		t.Fatalf("start with a failing poststart hook succeeded: %s", res)
	}
	if !strings.Contains(res.Stderr, "poststart") {
		t.Errorf("error does not name the poststart hook: %s", res)
	}
	b.waitStatus("stopped")
	r.must("delete", b.ID)
}
