package integration

import (
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

// fd hygiene, the cwd and dumpability: what a leaked fd or /proc could give
// the container (CVE-2024-21626, CVE-2016-9962).

// secLeak opens n fds without O_CLOEXEC on the given paths (cycling) and
// returns them as *os.File for ExtraFiles: the runtime gets them as fds
// 3..3+n-1, the way a careless caller leaks fds into it.
func secLeak(t *testing.T, n int, paths ...string) []*os.File {
	t.Helper()
	var files []*os.File
	for i := 0; i < n; i++ {
		p := paths[i%len(paths)]
		fd, err := unix.Open(p, unix.O_RDONLY, 0) // no O_CLOEXEC, on purpose
		if err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		f := os.NewFile(uintptr(fd), p)
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
	}
	return files
}

// TestFdsExact: the process holds exactly fds 0-2 plus the
// --preserve-fds ones (which are the caller's files), though the caller
// leaked eight more fds into the runtime without O_CLOEXEC.
func TestFdsExact(t *testing.T) {
	t.Parallel()
	host := t.TempDir()
	fileA, fileB := filepath.Join(host, "a"), filepath.Join(host, "b")
	mntWriteFile(t, fileA, "preserved-a\n")
	mntWriteFile(t, fileB, "preserved-b\n")
	// No pipeline: the shell would hold the pipe's fds while ls lists its own.
	script := `ls /proc/$$/fd; echo --; for n in 3 4; do [ -e /proc/$$/fd/$n ] && cat /proc/$$/fd/$n; done; true`
	for _, c := range []struct {
		start    string
		preserve int
		want     string
	}{{"run", 0, "0 1 2"}, {"run", 2, "0 1 2 3 4"}, {"create", 0, "0 1 2"}, {"create", 2, "0 1 2 3 4"}} {
		t.Run(fmt.Sprintf("%s_preserve_%d", c.start, c.preserve), func(t *testing.T) {
			t.Parallel()
			leaked := append(secLeak(t, 2, fileA, fileB), secLeak(t, 8, host, fileA)...)
			caller := func(cmd *exec.Cmd) { cmd.ExtraFiles = leaked }
			r := newRT(t)
			b := r.newBundle(func(b *bundle) { b.script(script) })
			out := secStart(b, c.start, caller, "--preserve-fds="+strconv.Itoa(c.preserve))
			fds, files, _ := strings.Cut(out, "--\n")
			// busybox ls sorts by name: fine for one-digit fds.
			if got := strings.Join(strings.Fields(fds), " "); got != c.want {
				t.Errorf("fds inside = %q, want %q (output %q)", got, c.want, out)
			}
			if c.preserve == 2 && files != "preserved-a\npreserved-b\n" {
				t.Errorf("preserved fds 3, 4 do not hold the caller's files: %q", out)
			}
		})
	}
}

// TestCwdLeakedFd (CVE-2024-21626): with host directories leaked into
// the runtime as fds 3..10, a cwd of /proc/self/fd/N, given directly or
// through a link in the image, must never put the process in a host
// directory: create fails, or the cwd is inside the container.
func TestCwdLeakedFd(t *testing.T) {
	t.Parallel()
	host := t.TempDir()
	canary := "canary-" + newID()
	mntWriteFile(t, filepath.Join(host, canary), "host\n")
	for _, via := range []string{"direct", "image_link"} {
		for n := 3; n <= 10; n++ {
			t.Run(fmt.Sprintf("%s_fd%d", via, n), func(t *testing.T) {
				t.Parallel()
				leaked := secLeak(t, 8, host)
				r := newRT(t)
				b := r.newBundle(func(b *bundle) {
					b.script(`pwd; ls -a; cat ` + canary + ` 2>/dev/null; true`)
					b.Spec.Process.Cwd = "/proc/self/fd/" + strconv.Itoa(n)
					if via == "image_link" {
						root := b.copyRootfs()
						if err := os.Symlink(b.Spec.Process.Cwd, filepath.Join(root, "work")); err != nil {
							t.Fatal(err)
						}
						b.Spec.Process.Cwd = "/work"
					}
				})
				res := secRunFg(b, func(c *exec.Cmd) { c.ExtraFiles = leaked })
				if strings.Contains(res.Stdout, canary) {
					t.Fatalf("ESCAPE: the process's cwd is the host directory %s: %s", host, res)
				}
				if res.Code != 0 {
					t.Logf("refused: %s", strings.TrimSpace(res.Stderr))
				}
			})
		}
	}
	// The same leak with a plain cwd runs: the refusals above are about the cwd.
	t.Run("control", func(t *testing.T) {
		t.Parallel()
		leaked := secLeak(t, 8, host)
		r := newRT(t)
		b := r.newBundle(func(b *bundle) { b.script(`pwd`) })
		if res := secRunFg(b, func(c *exec.Cmd) { c.ExtraFiles = leaked }); res.Code != 0 || res.Stdout != "/\n" {
			t.Errorf("control run: %s", res)
		}
	})
}

// secOwner is the owner uid of a file, or -1.
func secOwner(path string) int {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return -1
	}
	return int(st.Uid)
}

// secReadAs tries to read path as host uid; it reports whether it could.
func secReadAs(t *testing.T, uid uint32, path string) (bool, string) {
	t.Helper()
	c := exec.Command("/bin/cat", path)
	c.Dir = "/"
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	out, err := c.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run cat as %d: %v", uid, err)
	}
	return err == nil, string(out)
}

// TestInitNonDumpable (CVE-2016-9962): while the container is created,
// its init (already switched to the container's user) is not dumpable: its
// /proc files belong to root, and a host process of the container's own
// uid cannot read its environ. After start, the user process is dumpable
// again: its /proc files belong to its uid, inside and from the host.
func TestInitNonDumpable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		uid     uint32 // in the container
		hostUID uint32
		userns  bool
		after   bool // dumpable after exec is visible (not the userns root)
	}{
		{name: "user", uid: 1000, hostUID: 1000, after: true},
		{name: "userns_root", uid: 0, hostUID: 100000, userns: true},
		{name: "userns_user", uid: 1000, hostUID: 101000, userns: true, after: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newRT(t)
			b := r.newBundle(func(b *bundle) {
				b.script(`stat -c %u /proc/$$/environ > /out/owner; while [ ! -e /out/stop ]; do sleep 0.05; done`)
				b.Spec.Process.User = specs.User{UID: c.uid, GID: c.uid}
				// No capabilities: a process with capabilities its reader
				// lacks is unreadable whatever its dumpable flag.
				b.Spec.Process.Capabilities = nil
				if c.userns {
					userNS(b.Spec)
				}
			})
			b.mustCreate()
			pid := b.state().Pid
			environ := fmt.Sprintf("/proc/%d/environ", pid)
			if uid := strings.Fields(statusField(t, pid, "Uid")); len(uid) == 0 || uid[0] != strconv.Itoa(int(c.hostUID)) {
				t.Fatalf("created init runs as host uid %v, want %d", uid, c.hostUID)
			}
			if owner := secOwner(environ); owner != 0 {
				t.Errorf("created init: %s owned by uid %d, want 0 (non-dumpable)", environ, owner)
			}
			if ok, out := secReadAs(t, c.hostUID, environ); ok {
				t.Errorf("created init: host uid %d read %s: %q", c.hostUID, environ, out)
			}
			r.must("start", b.ID)
			owner := waitFile(t, filepath.Join(b.Out, "owner"))
			if c.after {
				if strings.TrimSpace(owner) != strconv.Itoa(int(c.uid)) {
					t.Errorf("after exec: /proc/self/environ owned by %q inside, want %d (dumpable)", owner, c.uid)
				}
				if got := secOwner(environ); got != int(c.hostUID) {
					t.Errorf("after exec: %s owned by host uid %d, want %d", environ, got, c.hostUID)
				}
				// From another user namespace only CAP_SYS_PTRACE in the
				// container's reads it, so the host check is for !userns.
				if ok, out := secReadAs(t, c.hostUID, environ); !ok && !c.userns {
					t.Errorf("after exec: host uid %d cannot read %s: %s", c.hostUID, environ, out)
				}
			}
			createFile(t, filepath.Join(b.Out, "stop")).Close()
			b.waitStatus("stopped")
		})
	}
}
