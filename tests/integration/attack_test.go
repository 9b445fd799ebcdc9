package integration

// Hostile-image attacks: images (and configs) whose paths lead outside the
// rootfs, the class of runc's CVE-2019-16884, CVE-2019-19921,
// CVE-2021-30465, CVE-2023-27561, CVE-2024-45310, CVE-2025-31133,
// CVE-2025-52565, CVE-2025-52881 and runc's 2026 bug with a symlinked /dev
// (device links created on the host). Every symlink points at a "canary"
// under the test's own temp dir that stands for the host path an attacker
// would use (/proc/sys/kernel, core_pattern, ...); links that must name a
// real path ("/proc", "/") are only meaningful resolved inside the root.
//
// The container may be refused with one error line naming the path, or be
// created with the hostile path handled inside the root; each test states
// which ocirun does. Whatever the outcome, the host-side checks always run:
// the canary (content, modes, mtimes) is unchanged, no mount appeared under
// the test's temp dir in the host's mountinfo, no host mount shows the
// canary, and (when created) the container's own mountinfo shows the canary
// mounted nowhere it was not bound on purpose. Against runc, an outcome
// other than ocirun's (refused instead of created, or the reverse) is only
// logged; the host-side checks fail runc like any runtime.

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// atkEnv is the host side of one attack: the runtime root and the canary.
type atkEnv struct {
	t *testing.T
	r *rt
	// base is the test's own temp root: nothing may be mounted under it.
	base string
	// canary is a host directory standing for a sensitive host directory;
	// canaryFile is a file in it standing for a sensitive host file.
	canary, canaryFile string
	snap               map[string]string
}

// atkSetup makes the canary (with old mtimes, so any touch shows) and the
// runtime root, and checks the host once more after every container of the
// test has been deleted.
func atkSetup(t *testing.T) *atkEnv {
	t.Helper()
	dir := t.TempDir()
	e := &atkEnv{t: t, base: filepath.Dir(dir)}
	e.canary = filepath.Join(dir, "canary")
	e.canaryFile = filepath.Join(e.canary, "canary-file")
	if err := os.Mkdir(e.canary, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.canaryFile, []byte("canary\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range []string{e.canaryFile, e.canary} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	e.snap = atkSnapshot(t, e.canary)
	t.Cleanup(func() { e.checkHost("after delete") })
	e.r = newRT(t)
	return e
}

// atkRel is a relative symlink target that climbs out of any directory of
// the rootfs and then names p: followed on the host it is p itself.
func atkRel(p string) string {
	return strings.Repeat("../", 24) + strings.TrimPrefix(p, "/")
}

// checkHost asserts that nothing reached the host: the canary tree is as it
// was, no host mount is at or under the test's temp root, and no host mount
// shows the canary.
func (e *atkEnv) checkHost(when string) {
	t := e.t
	t.Helper()
	for _, d := range atkDiff(e.snap, atkSnapshot(t, e.canary)) {
		t.Errorf("%s: host canary changed: %s", when, d)
	}
	for _, m := range mountsUnder(e.base) {
		t.Errorf("%s: host mountinfo has a mount at %s", when, m)
	}
	host := atkMountinfo(readOr("/proc/self/mountinfo"))
	for _, m := range atkMountsOf(t, host, e.canary) {
		t.Errorf("%s: the canary is mounted on the host at %s", when, m.Point)
	}
}

// atkSnapshot describes every entry of the tree at dir: type and mode,
// size, mtime, device number, link target and file content.
func atkSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("%v size=%d mtime=%d", fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Rdev != 0 {
			desc += fmt.Sprintf(" rdev=%#x", st.Rdev)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			desc += " -> " + l
		case fi.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			desc += fmt.Sprintf(" content=%q", data)
		}
		rel, _ := filepath.Rel(dir, p)
		snap[rel] = desc
		return nil
	})
	if err != nil {
		t.Errorf("snapshot %s: %v", dir, err)
	}
	return snap
}

// atkDiff lists what differs between two snapshots.
func atkDiff(before, after map[string]string) []string {
	var out []string
	for k, v := range before {
		switch w, ok := after[k]; {
		case !ok:
			out = append(out, fmt.Sprintf("%s removed (was %s)", k, v))
		case w != v:
			out = append(out, fmt.Sprintf("%s changed: %s -> %s", k, v, w))
		}
	}
	for k, w := range after {
		if _, ok := before[k]; !ok {
			out = append(out, fmt.Sprintf("%s created: %s", k, w))
		}
	}
	sort.Strings(out)
	return out
}

// atkMount is one mountinfo line with the fields the attacks need.
type atkMount struct {
	MajMin, Root, Point, FSType, Source string
}

func atkMountinfo(text string) []atkMount {
	var out []atkMount
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		sep := -1
		for i, x := range f {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 6 || len(f) < sep+3 {
			continue
		}
		out = append(out, atkMount{
			MajMin: f[2], Root: unescapeMount(f[3]), Point: unescapeMount(f[4]),
			FSType: f[sep+1], Source: f[sep+2],
		})
	}
	return out
}

// atkOrigin is where the host path p lives as mountinfo shows a bind of it:
// the device of the host mount holding p and p's path inside that device.
func atkOrigin(t *testing.T, p string) (majmin, root string) {
	t.Helper()
	resolved, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatalf("resolve %s: %v", p, err)
	}
	var best *atkMount
	host := atkMountinfo(readOr("/proc/self/mountinfo"))
	for i := range host {
		m := &host[i]
		if m.Point == resolved || m.Point == "/" || strings.HasPrefix(resolved, m.Point+"/") {
			if best == nil || len(m.Point) >= len(best.Point) {
				best = m // the longest, and of those the topmost
			}
		}
	}
	if best == nil {
		t.Fatalf("no host mount holds %s", resolved)
	}
	rel := strings.TrimPrefix(resolved, best.Point)
	return best.MajMin, path.Join(best.Root, rel)
}

// atkMountsOf returns the mounts in mounts that show the host path p (or
// something beneath it) at their mount point.
func atkMountsOf(t *testing.T, mounts []atkMount, p string) []atkMount {
	t.Helper()
	majmin, root := atkOrigin(t, p)
	var out []atkMount
	for _, m := range mounts {
		if m.MajMin == majmin && (m.Root == root || strings.HasPrefix(m.Root, root+"/")) {
			out = append(out, m)
		}
	}
	return out
}

// atkTopmost is the topmost mount at point, nil if none.
func atkTopmost(mounts []atkMount, point string) *atkMount {
	var top *atkMount
	for i := range mounts {
		if mounts[i].Point == point {
			top = &mounts[i]
		}
	}
	return top
}

// atkResult is what create did with a hostile bundle.
type atkResult struct {
	res result
	// pid and mounts are the created container's init and its own
	// mountinfo (all mounts, masks and read-only paths are in place once
	// create returns).
	pid    int
	mounts []atkMount
	// alive: created and its init is waiting for start (pid and mounts
	// are valid).
	alive bool
}

func (c atkResult) created() bool { return c.res.Code == 0 }

// atkCreate creates the container (never starts it) and records its
// mountinfo; the bundle's cleanup deletes it.
func atkCreate(e *atkEnv, b *bundle, extra ...string) atkResult {
	e.t.Helper()
	c := atkResult{res: b.create(extra...)}
	if c.created() {
		st := b.state()
		c.pid = st.Pid
		e.t.Logf("outcome: created (pid %d)", c.pid)
		if st.Status != "created" || c.pid == 0 {
			e.t.Errorf("create exited 0, but the container is %q with pid %d: its init died after reporting ready", st.Status, c.pid)
		} else {
			c.mounts = atkMountinfo(readOr(fmt.Sprintf("/proc/%d/mountinfo", c.pid)))
			c.alive = true
		}
	} else {
		e.t.Logf("outcome: refused: %s", atkLastLine(c.res.Stderr))
	}
	e.checkHost("after create")
	return c
}

// atkLastLine is the last non-empty line of s: the runtime's final error.
func atkLastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// wantRefused asserts that create failed with an error naming one of names.
// runc is only logged when it creates the container instead: the host-side
// checks decide whether that was an escape.
func (e *atkEnv) wantRefused(c atkResult, names ...string) {
	e.t.Helper()
	if c.created() {
		if isRunc {
			e.t.Logf("runc created the container; ocirun refuses it (error naming %q)", names)
			return
		}
		e.t.Errorf("hostile container was created, want a refusal naming %q", names)
		return
	}
	line := atkLastLine(c.res.Stderr)
	for _, n := range names {
		if atkNames(line, n) {
			return
		}
	}
	e.t.Errorf("refused, but the error does not name %q: %s", names, c.res)
}

// atkNames reports whether line names the path p itself: p neither
// continued nor preceded by more of a path ("/proc" is not named by
// "/proc/self/status" nor by "/vol/proc").
func atkNames(line, p string) bool {
	isPath := func(i int) bool {
		if i < 0 || i >= len(line) {
			return false
		}
		c := line[i]
		return strings.IndexByte("/._-", c) >= 0 || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}
	for i := 0; ; {
		j := strings.Index(line[i:], p)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(p)
		if !isPath(start-1) && !isPath(end) {
			return true
		}
		i = start + 1
	}
}

// wantCreated asserts that create succeeded (the hostile path was handled
// inside the root); like wantRefused, runc is only logged.
func (e *atkEnv) wantCreated(c atkResult) {
	e.t.Helper()
	if c.created() {
		return
	}
	if isRunc {
		e.t.Logf("runc refused the container; ocirun creates it with the path handled inside the root")
		return
	}
	e.t.Errorf("create failed, want the hostile path handled inside the root: %s", c.res)
}

// assertCanaryMounts fails if the created container shows the canary (or
// anything in it) mounted more often than the test bound it on purpose.
func (e *atkEnv) assertCanaryMounts(c atkResult, want int) {
	e.t.Helper()
	if !c.alive {
		return
	}
	got := atkMountsOf(e.t, c.mounts, e.canary)
	if len(got) != want {
		e.t.Errorf("the container shows the host canary mounted %d times, want %d: %+v", len(got), want, got)
	}
}

// atkImage copies the busybox rootfs for b and returns the copy.
func atkImage(b *bundle) string {
	return b.copyRootfs()
}

// atkLink replaces the image path p (inside rootfs) by a symlink to target.
func atkLink(t *testing.T, rootfs, p, target string) {
	t.Helper()
	full := filepath.Join(rootfs, p)
	if err := os.RemoveAll(full); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, full); err != nil {
		t.Fatal(err)
	}
}

// atkDropMount removes the config's mounts at dest.
func atkDropMount(s *specs.Spec, dest string) {
	var out []specs.Mount
	for _, m := range s.Mounts {
		if path.Clean(m.Destination) != dest {
			out = append(out, m)
		}
	}
	s.Mounts = out
}

// atkDir makes a host directory holding a file "marker" with content name.
func atkDir(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "marker"), []byte(name), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestAttackProcSysSymlink: /proc or /sys in the image is a symlink to a
// host directory (CVE-2019-16884, CVE-2019-19921): procfs and sysfs are
// mounted only on a real directory, so create is refused naming the path.
func TestAttackProcSysSymlink(t *testing.T) {
	t.Parallel()
	for _, fsPath := range []string{"/proc", "/sys"} {
		for _, kind := range []string{"abs", "rel"} {
			t.Run(strings.TrimPrefix(fsPath, "/")+"_"+kind, func(t *testing.T) {
				t.Parallel()
				e := atkSetup(t)
				b := e.r.newBundle(func(b *bundle) {
					rootfs := atkImage(b)
					target := e.canary
					if kind == "rel" {
						target = atkRel(e.canary)
					}
					atkLink(t, rootfs, fsPath, target)
				})
				c := atkCreate(e, b)
				e.wantRefused(c, fsPath)
				e.assertCanaryMounts(c, 0)
			})
		}
	}
}

// TestAttackDevSymlink: /dev in the image is a symlink to a host directory,
// with the default tmpfs on /dev and with no /dev mount at all (device
// nodes made in the image itself). Nothing may be created in the canary;
// create is refused naming /dev.
func TestAttackDevSymlink(t *testing.T) {
	t.Parallel()
	for _, tmpfs := range []bool{true, false} {
		name := "tmpfs"
		if !tmpfs {
			name = "no_tmpfs"
		}
		for _, kind := range []string{"abs", "rel"} {
			t.Run(name+"_"+kind, func(t *testing.T) {
				t.Parallel()
				e := atkSetup(t)
				b := e.r.newBundle(func(b *bundle) {
					rootfs := atkImage(b)
					target := e.canary
					if kind == "rel" {
						target = atkRel(e.canary)
					}
					atkLink(t, rootfs, "/dev", target)
					if !tmpfs {
						atkDropMount(b.Spec, "/dev")
					}
				})
				c := atkCreate(e, b)
				e.wantRefused(c, "/dev")
				e.assertCanaryMounts(c, 0)
			})
		}
	}
}

// TestAttackDevNull: with no tmpfs on /dev, the image's /dev/null is not the
// null device, and linux.maskedPaths holds a file that exists. Masking
// binds /dev/null over it, so a /dev/null that is a symlink would bind its
// target instead (CVE-2025-31133). The "bound" variant links /dev/null to
// /hostcanary, where the config binds the host canary file: it stands for
// a host file the container can reach, like /proc/sys/kernel/core_pattern.
// ocirun refuses a /dev/null that is a symlink or a directory; a regular
// file is kept as a bind target, and the host's null device is bound onto
// it (as for device nodes in a user namespace), so the container's
// /dev/null is the real 1:3 device and the mask reads empty.
func TestAttackDevNull(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		bound   bool // the canary file is bound at /hostcanary
		refused bool // what ocirun does
		make    func(t *testing.T, e *atkEnv, devNull string)
	}{
		{name: "symlink_abs", refused: true, make: func(t *testing.T, e *atkEnv, p string) {
			if err := os.Symlink(e.canaryFile, p); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "symlink_bound", bound: true, refused: true, make: func(t *testing.T, e *atkEnv, p string) {
			if err := os.Symlink("/hostcanary", p); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "regular_file", make: func(t *testing.T, e *atkEnv, p string) {
			if err := os.WriteFile(p, []byte("not null\n"), 0o666); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "directory", refused: true, make: func(t *testing.T, e *atkEnv, p string) {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := atkSetup(t)
			b := e.r.newBundle(func(b *bundle) {
				rootfs := atkImage(b)
				if err := os.WriteFile(filepath.Join(rootfs, "etc/masked"), []byte("secret\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				tc.make(t, e, filepath.Join(rootfs, "dev/null"))
				atkDropMount(b.Spec, "/dev")
				if tc.bound {
					addBind(b.Spec, e.canaryFile, "/hostcanary")
				}
				b.Spec.Linux.MaskedPaths = append(b.Spec.Linux.MaskedPaths, "/etc/masked")
			})
			c := atkCreate(e, b)
			want := 0
			if tc.bound {
				want = 1
			}
			e.assertCanaryMounts(c, want)
			if tc.refused {
				e.wantRefused(c, "/dev/null")
			} else {
				e.wantCreated(c)
			}
			if !c.alive {
				return
			}
			if m := atkTopmost(c.mounts, "/etc/masked"); m != nil {
				t.Logf("/etc/masked is masked with %+v", *m)
			}
			if got := readOr(fmt.Sprintf("/proc/%d/root/etc/masked", c.pid)); got != "" {
				t.Errorf("masked /etc/masked reads %q in the container, want nothing", got)
			}
			// dev/null has no symlink left in it once it is a bind target.
			var st syscall.Stat_t
			err := syscall.Lstat(fmt.Sprintf("/proc/%d/root/dev/null", c.pid), &st)
			if err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFCHR || st.Rdev != 0x103 {
				t.Errorf("the container's /dev/null is not the character device 1:3: mode %#o rdev %#x err %v", st.Mode, st.Rdev, err)
			}
		})
	}
}

// TestAttackDevConsole: with no tmpfs on /dev, the image's /dev/console is a
// symlink to a canary file (directly, or to /hostcanary where the config
// binds the host canary file), and the process has a terminal. Binding the
// pty through the link (CVE-2025-52565) would cover, or O_TRUNC open, its
// target; ocirun refuses a /dev/console that is a symlink.
func TestAttackDevConsole(t *testing.T) {
	t.Parallel()
	for _, bound := range []bool{false, true} {
		name := "abs"
		if bound {
			name = "bound"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := atkSetup(t)
			sock := filepath.Join(t.TempDir(), "console.sock")
			l, err := atkListen(sock)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			got := make(chan *os.File, 1)
			go func() {
				f, err := recvConsole(l)
				if err != nil {
					f = nil
				}
				got <- f
			}()
			b := e.r.newBundle(func(b *bundle) {
				rootfs := atkImage(b)
				target := e.canaryFile
				if bound {
					target = "/hostcanary"
					addBind(b.Spec, e.canaryFile, "/hostcanary")
				}
				atkLink(t, rootfs, "/dev/console", target)
				atkDropMount(b.Spec, "/dev")
				b.Spec.Process.Terminal = true
			})
			c := atkCreate(e, b, "--console-socket", sock)
			l.Close() // unblocks the receiver when no console was sent
			if f := <-got; f != nil {
				defer f.Close()
			}
			want := 0
			if bound {
				want = 1
			}
			e.assertCanaryMounts(c, want)
			for _, m := range c.mounts {
				if m.FSType == "devpts" && m.Point != "/dev/pts" && m.Point != "/dev/console" {
					t.Errorf("the pty was bound through the /dev/console link onto %s: %+v", m.Point, m)
				}
			}
			e.wantRefused(c, "/dev/console")
		})
	}
}

// atkListen listens on the unix socket sock for a console.
func atkListen(sock string) (*net.UnixListener, error) {
	return net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
}

// TestAttackFileBindDestination: a file bind whose destination in the image
// is a symlink to a host file, or to a file that does not exist yet in a
// host directory (a runtime following it on the host would create it:
// CVE-2024-45310). Either outcome is fine if the host stays untouched.
func TestAttackFileBindDestination(t *testing.T) {
	t.Parallel()
	for _, existing := range []bool{true, false} {
		name := "to_new_file"
		if existing {
			name = "to_existing_file"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := atkSetup(t)
			src := filepath.Join(t.TempDir(), "bound-file")
			if err := os.WriteFile(src, []byte("bound\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(e.canary, "new-file")
			if existing {
				target = e.canaryFile
			}
			b := e.r.newBundle(func(b *bundle) {
				atkLink(t, atkImage(b), "/etc/secret", target)
				addBind(b.Spec, src, "/etc/secret")
			})
			c := atkCreate(e, b)
			e.assertCanaryMounts(c, 0)
			if !c.created() {
				e.wantRefused(c, "/etc/secret")
			}
			if !c.alive {
				return
			}
			var landed []string
			for _, m := range atkMountsOf(t, c.mounts, src) {
				landed = append(landed, m.Point)
			}
			if len(landed) != 1 || landed[0] != target {
				t.Errorf("the file is bound at %q in the container, want [%s] (the link resolved in the root)", landed, target)
			}
		})
	}
}

// TestAttackMaskedReadonlySymlink: linux.maskedPaths and readonlyPaths
// entries that are symlinks out of the root (to the canary file and the
// canary dir, absolute and relative). The canary must not be masked or made
// read-only on the host; the masks resolve inside the root (where the
// targets do not exist, so they are skipped) or the container is refused.
func TestAttackMaskedReadonlySymlink(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"abs", "rel"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := atkSetup(t)
			b := e.r.newBundle(func(b *bundle) {
				rootfs := atkImage(b)
				file, dir := e.canaryFile, e.canary
				if kind == "rel" {
					file, dir = atkRel(file), atkRel(dir)
				}
				atkLink(t, rootfs, "/etc/secret", file)
				atkLink(t, rootfs, "/etc/secretdir", dir)
				atkLink(t, rootfs, "/etc/rofile", file)
				atkLink(t, rootfs, "/etc/rodir", dir)
				b.Spec.Linux.MaskedPaths = append(b.Spec.Linux.MaskedPaths, "/etc/secret", "/etc/secretdir")
				b.Spec.Linux.ReadonlyPaths = append(b.Spec.Linux.ReadonlyPaths, "/etc/rofile", "/etc/rodir")
			})
			c := atkCreate(e, b)
			e.assertCanaryMounts(c, 0)
			if !c.created() {
				e.wantRefused(c, "/etc/secret", "/etc/rofile", "/etc/rodir")
			}
			if !c.alive {
				return
			}
			for _, m := range c.mounts {
				if m.Point == e.canary || strings.HasPrefix(m.Point, e.canary+"/") {
					t.Logf("mask/read-only landed inside the root at %s (%s)", m.Point, m.FSType)
				}
			}
		})
	}
}
