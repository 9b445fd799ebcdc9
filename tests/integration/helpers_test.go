package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cmdLimit bounds every runtime call so that a hung runtime fails the test
// instead of the whole run; nothing asserts how long a call takes.
const cmdLimit = 60 * time.Second

// result is one finished runtime call.
type result struct {
	Args   []string
	Stdout string
	Stderr string
	Code   int
}

func (r result) String() string {
	return "`" + strings.Join(r.Args, " ") + "` exit " + strconv.Itoa(r.Code) +
		"\nstdout: " + r.Stdout + "\nstderr: " + r.Stderr
}

// rt runs the runtime with --root set to a per-test directory.
type rt struct {
	t    *testing.T
	root string
}

// newRT gives a test its own state root and checks, after every other
// cleanup of the test, that nothing is left in it.
func newRT(t *testing.T) *rt {
	t.Helper()
	root := t.TempDir()
	t.Cleanup(func() {
		entries, err := os.ReadDir(root)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("read state root: %v", err)
		}
		for _, e := range entries {
			t.Errorf("state root %s still holds %q after cleanup", root, e.Name())
		}
	})
	return &rt{t: t, root: root}
}

// cmd builds a runtime command with the global --root flag.
func (r *rt) cmd(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, runtimeBin, append([]string{"--root", r.root}, args...)...)
}

// run runs the runtime to completion. Output goes to files, not pipes: a
// container started by the call may keep a pipe open long after it returns.
func (r *rt) run(args ...string) result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdLimit)
	defer cancel()
	return runToFiles(r.t, r.cmd(ctx, args...), r.t.TempDir())
}

// runToFiles runs c with stdout and stderr going to files in dir.
func runToFiles(t *testing.T, c *exec.Cmd, dir string) result {
	t.Helper()
	outPath, errPath := filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr")
	stdout, stderr := createFile(t, outPath), createFile(t, errPath)
	c.Stdout, c.Stderr = stdout, stderr
	err := c.Run()
	stdout.Close()
	stderr.Close()
	res := result{Args: c.Args, Stdout: readFile(t, outPath), Stderr: readFile(t, errPath)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	default:
		t.Fatalf("run %v: %v", c.Args, err)
	}
	return res
}

// must runs the runtime and fails the test unless it exits 0.
func (r *rt) must(args ...string) result {
	r.t.Helper()
	res := r.run(args...)
	if res.Code != 0 {
		r.t.Fatalf("runtime call failed: %s", res)
	}
	return res
}

// bundle is one container's bundle directory with its spec.
type bundle struct {
	t    *testing.T
	rt   *rt
	ID   string
	Dir  string
	Spec *specs.Spec
	// Out is a per-test host directory bind-mounted at /out in the container.
	Out string
}

// newBundle makes a bundle with the default spec and a unique id, applies
// mut, writes config.json, and registers `delete --force` plus the leftover
// checks as cleanup.
func (r *rt) newBundle(mut func(b *bundle)) *bundle {
	r.t.Helper()
	t := r.t
	b := &bundle{t: t, rt: r, ID: newID(), Dir: t.TempDir(), Out: t.TempDir()}
	if err := os.Chmod(b.Out, 0o777); err != nil {
		t.Fatal(err)
	}
	b.Spec = defaultSpec(b.ID)
	addBind(b.Spec, b.Out, "/out")
	if mut != nil {
		mut(b)
	}
	b.write()
	t.Cleanup(func() {
		if res := r.run("delete", "--force", b.ID); res.Code != 0 {
			t.Errorf("cleanup delete --force: %s", res)
		}
		assertNoLeftovers(t, r.root, b.ID, b.Dir)
	})
	return b
}

// write (re)writes the bundle's config.json from b.Spec.
func (b *bundle) write() {
	b.t.Helper()
	writeConfig(b.t, b.Dir, b.Spec)
}

// script sets process.args to run script in busybox sh.
func (b *bundle) script(script string) {
	b.Spec.Process.Args = shArgs(b.ID, script)
}

// runFg runs the container in the foreground and returns its result.
func (b *bundle) runFg(extra ...string) result {
	b.t.Helper()
	args := append([]string{"run", "--bundle", b.Dir}, extra...)
	return b.rt.run(append(args, b.ID)...)
}

// create runs `create`; the container's stdout and stderr go to the files
// "stdout" and "stderr" in the bundle, shared with the runtime's own output.
func (b *bundle) create(extra ...string) result {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdLimit)
	defer cancel()
	args := append([]string{"create", "--bundle", b.Dir}, extra...)
	return runToFiles(b.t, b.rt.cmd(ctx, append(args, b.ID)...), b.Dir)
}

// mustCreate creates the container and fails the test on error.
func (b *bundle) mustCreate(extra ...string) {
	b.t.Helper()
	if res := b.create(extra...); res.Code != 0 {
		b.t.Fatalf("create failed: %s", res)
	}
}

// containerStdout is what the created container wrote to its stdout so far.
func (b *bundle) containerStdout() string {
	return readFile(b.t, filepath.Join(b.Dir, "stdout"))
}

// stateJSON is the runtime's `state` output, including runc's extra fields.
type stateJSON struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	Pid         int               `json:"pid"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       *string           `json:"owner"`
	Annotations map[string]string `json:"annotations"`
}

// state runs `state` and decodes it, failing the test on error.
func (b *bundle) state() stateJSON {
	b.t.Helper()
	res := b.rt.must("state", b.ID)
	var st stateJSON
	if err := json.Unmarshal([]byte(res.Stdout), &st); err != nil {
		b.t.Fatalf("decode state %q: %v", res.Stdout, err)
	}
	return st
}

// waitStatus polls `state` until it reports want.
func (b *bundle) waitStatus(want string) stateJSON {
	b.t.Helper()
	var st stateJSON
	ok := poll(func() bool { st = b.state(); return st.Status == want })
	if !ok {
		b.t.Fatalf("container %s never reached %q, last state %+v", b.ID, want, st)
	}
	return st
}

// waitFile polls until path exists and returns its content.
// waitFile waits until path exists and is not empty: a shell's `echo x > f`
// creates f before it writes to it.
func waitFile(t *testing.T, path string) string {
	t.Helper()
	if !poll(func() bool { fi, err := os.Stat(path); return err == nil && fi.Size() > 0 }) {
		t.Fatalf("%s never appeared (or stayed empty)", path)
	}
	return readFile(t, path)
}

// poll calls cond until it is true or a generous deadline passes.
func poll(cond func() bool) bool {
	deadline := time.Now().Add(20 * time.Second)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "it-" + hex.EncodeToString(b[:])
}

func createFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(data)
}

// runToFilesNoFatal runs the runtime from another goroutine (where t.Fatal
// is not allowed) and returns its exit code, -1 if it could not run.
func runToFilesNoFatal(r *rt, dir string, args ...string) int {
	ctx, cancel := context.WithTimeout(context.Background(), cmdLimit)
	defer cancel()
	c := r.cmd(ctx, args...)
	out, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		return -1
	}
	defer out.Close()
	c.Stdout, c.Stderr = out, out
	err = c.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// copyRootfs gives the test its own writable copy of the shared busybox
// rootfs (for images the test changes, or mount points the runtime has to
// create) and points the bundle's root.path at it. It returns the copy's
// path; the copy is removed with the test's temp dir.
func (b *bundle) copyRootfs() string {
	b.t.Helper()
	dir := filepath.Join(b.t.TempDir(), "rootfs")
	if out, err := exec.Command("cp", "-a", rootfsDir, dir).CombinedOutput(); err != nil {
		b.t.Fatalf("copy rootfs: %v: %s", err, out)
	}
	b.Spec.Root.Path = dir
	return dir
}
