// Package integration runs real containers through the runtime binary named by
// OCIRUN_TEST_RUNTIME (an absolute path), or through an ocirun built from the
// repository root when that variable is unset. See README.md.
package integration

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

var (
	// runtimeBin is the absolute path of the runtime under test.
	runtimeBin string
	// isRunc is true when the runtime under test reports itself as runc; only
	// assertions where runc is known to be wrong are conditional on it.
	isRunc bool
	// rootfsDir is the shared, read-only busybox rootfs used by every bundle.
	rootfsDir string
	// cgroupParent is the relative cgroup parent of every test container.
	cgroupParent = "ocirun-it"
)

func TestMain(m *testing.M) {
	if os.Getenv(subreaperEnv) != "" {
		os.Exit(subreaperMain(os.Args[1:]))
	}
	os.Exit(runMain(m))
}

// subreaperEnv makes the test binary run as subreaperMain.
const subreaperEnv = "OCIRUN_IT_SUBREAPER"

// subreaperMain runs args as a child while being a child subreaper: it
// writes the child's pid to fd 3, then reaps every descendant (orphans are
// reparented to it) until none is left, and exits with the child's status.
func subreaperMain(args []string) int {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "subreaper:", err)
		return 125
	}
	c := exec.Command(args[0], args[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := c.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "subreaper:", err)
		return 125
	}
	pidFile := os.NewFile(3, "pid")
	fmt.Fprintln(pidFile, c.Process.Pid)
	pidFile.Close()
	code := 125
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return code
		}
		if pid == c.Process.Pid {
			code = ws.ExitStatus()
		}
	}
}

func runMain(m *testing.M) int {
	work, err := os.MkdirTemp("", "ocirun-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create work dir:", err)
		return 1
	}
	defer os.RemoveAll(work)
	// Readable by everyone: the user-namespace tests run as host uid 100000.
	if err := os.Chmod(work, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "chmod work dir:", err)
		return 1
	}
	if err := pickRuntime(work); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rootfsDir = filepath.Join(work, "rootfs")
	if err := buildRootfs(rootfsDir); err != nil {
		fmt.Fprintln(os.Stderr, "build rootfs:", err)
		return 1
	}
	code := m.Run()
	removeCgroupParents()
	return code
}

// pickRuntime sets runtimeBin from OCIRUN_TEST_RUNTIME or builds ocirun.
func pickRuntime(work string) error {
	if p := os.Getenv("OCIRUN_TEST_RUNTIME"); p != "" {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("OCIRUN_TEST_RUNTIME must be an absolute path, got %q", p)
		}
		runtimeBin = p
	} else {
		runtimeBin = filepath.Join(work, "ocirun")
		build := exec.Command("go", "build", "-tags", "urfave_cli_no_docs", "-o", runtimeBin, ".")
		build.Dir = filepath.Join("..", "..")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build ocirun: %w", err)
		}
	}
	out, err := exec.Command(runtimeBin, "--version").Output()
	if err != nil {
		return fmt.Errorf("run %s --version: %w", runtimeBin, err)
	}
	isRunc = strings.HasPrefix(string(out), "runc ")
	return nil
}

// buildRootfs makes a static busybox rootfs with one symlink per applet, a
// root user and user 1000, and the empty directories a container needs. It
// also holds the mount targets tests use, because the rootfs is shared and
// read-only so that the runtime never has to create anything in it.
func buildRootfs(dir string) error {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("find busybox (install busybox-static): %w", err)
	}
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "etc", "root", "home/user", "out", "data", "hooklog"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	list, err := exec.Command(bb, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("busybox --list-full: %w", err)
	}
	for _, applet := range strings.Fields(string(list)) {
		link := filepath.Join(dir, applet)
		if applet == "bin/busybox" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("/bin/busybox", link); err != nil {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd":   "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n",
		"etc/group":    "root:x:0:\ntty:x:5:\nuser:x:1000:\n",
		"etc/bindfile": "",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// removeCgroupParents removes the empty ocirun-it directories the runtime
// created beneath this process's own cgroups (never anything else).
func removeCgroupParents() {
	for _, d := range cgroupDirsFor(cgroupParent) {
		_ = os.Remove(d)
	}
}
