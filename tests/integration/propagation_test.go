package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// This file: linux.rootfsPropagation seen from inside (the "/" line of the
// container's mountinfo, the runtime-tools bind check) and from the host (no
// mount made in the container reaches a shared host mount, host mounts reach
// a slave container), --no-pivot with a read-only root, and
// linux.maskedPaths / linux.readonlyPaths. Helpers are prefixed "prop".

// propSharedMount mounts a fresh tmpfs on a new temp dir and makes it shared,
// so that a mount made below it in any namespace still linked to its peer
// group shows up in the host's mountinfo (the host's own mounts are private
// on a machine without systemd, which would hide every leak). It is lazily
// unmounted with everything below it in cleanup: cleanups run last-in
// first-out, so after the delete of a container created later in the test.
func propSharedMount(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=755,size=64m"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	if err := unix.Mount("", dir, "", unix.MS_SHARED, ""); err != nil {
		t.Fatalf("make %s shared: %v", dir, err)
	}
	return dir
}

// propRootfsOnShared puts a copy of the busybox rootfs (with an empty /mnt)
// in a new shared tmpfs and points the bundle at it. It returns the tmpfs
// directory: nothing may ever be mounted below it on the host.
func propRootfsOnShared(b *bundle) string {
	b.t.Helper()
	shared := propSharedMount(b.t)
	rootfs := filepath.Join(shared, "rootfs")
	if out, err := exec.Command("cp", "-a", rootfsDir, rootfs).CombinedOutput(); err != nil {
		b.t.Fatalf("copy rootfs: %v: %s", err, out)
	}
	if err := os.Mkdir(filepath.Join(rootfs, "mnt"), 0o755); err != nil {
		b.t.Fatal(err)
	}
	b.Spec.Root.Path = rootfs
	return shared
}

// propAddCaps adds capabilities to every set of the process (new slices:
// defaultSpec shares one slice between the sets).
func propAddCaps(s *specs.Spec, caps ...string) {
	c := s.Process.Capabilities
	add := func(set []string) []string { return append(append([]string{}, set...), caps...) }
	c.Bounding, c.Effective, c.Permitted, c.Ambient = add(c.Bounding), add(c.Effective), add(c.Permitted), add(c.Ambient)
}

// propBelow lists host mount points strictly below dir (dir itself is not
// listed: the tests' shared tmpfs is mounted there).
func propBelow(dir string) []string {
	var found []string
	for _, m := range parseMountinfo(readOr("/proc/self/mountinfo")) {
		if strings.HasPrefix(m.Point, dir+"/") {
			found = append(found, m.Point)
		}
	}
	return found
}

// propNoMountsBelow fails the test for every host mount strictly below each
// dir, then detaches it so that a leak does not outlive the test.
func propNoMountsBelow(t *testing.T, when string, dirs ...string) {
	t.Helper()
	for _, dir := range dirs {
		leaked := propBelow(dir)
		for _, p := range leaked {
			t.Errorf("%s: host mount %s below %s", when, p, dir)
		}
		for i := len(leaked) - 1; i >= 0; i-- {
			_ = unix.Unmount(leaked[i], unix.MNT_DETACH)
		}
	}
}

// propAssertTeardown checks from the host, once the container of b is gone,
// that nothing is mounted at or below its bundle or a rootfs of its own;
// whatever is found is reported, then detached.
func propAssertTeardown(t *testing.T, b *bundle) {
	t.Helper()
	dirs := []string{b.Dir}
	if b.Spec.Root.Path != rootfsDir {
		dirs = append(dirs, b.Spec.Root.Path)
	}
	for _, d := range dirs {
		left := mountsUnder(d)
		for _, p := range left {
			t.Errorf("after delete: host mount %s left by container %s", p, b.ID)
		}
		for i := len(left) - 1; i >= 0; i-- {
			_ = unix.Unmount(left[i], unix.MNT_DETACH)
		}
	}
}

// propRun runs script in a new container in the foreground (mut adjusts the
// bundle), fails unless it exits 0, and checks the host for mounts the
// finished container left. It returns the container's stdout.
func propRun(t *testing.T, mut func(b *bundle), script string) string {
	t.Helper()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.script(script)
		if mut != nil {
			mut(b)
		}
	})
	res := b.runFg()
	if res.Code != 0 {
		t.Fatalf("container failed: %s", res)
	}
	r.must("delete", "--force", b.ID) // a no-op when run already deleted it
	propAssertTeardown(t, b)
	return res.Stdout
}

// propFinish lets a startWaiting container end, deletes it and checks the
// host for mounts left at or below its bundle, its rootfs and extra dirs.
func propFinish(t *testing.T, b *bundle, extra ...string) {
	t.Helper()
	createFile(t, filepath.Join(b.Out, "stop")).Close()
	b.waitStatus("stopped")
	b.rt.must("delete", b.ID)
	propAssertTeardown(t, b)
	propNoMountsBelow(t, "after delete", extra...)
}

// propRootFields returns the optional fields (shared:N, master:N,
// propagate_from:N, unbindable) of the last mountinfo line in text whose
// mount point is point, and whether there was one.
func propRootFields(text, point string) ([]string, bool) {
	var fields []string
	found := false
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 7 || unescapeMount(f[4]) != point {
			continue
		}
		found, fields = true, nil
		for _, x := range f[6:] {
			if x == "-" {
				break
			}
			fields = append(fields, x)
		}
	}
	return fields, found
}

// propField returns the value of the optional field with prefix ("shared:"),
// "" if absent.
func propField(fields []string, prefix string) string {
	for _, f := range fields {
		if v, ok := strings.CutPrefix(f, prefix); ok {
			return v
		}
	}
	return ""
}

// propHostPeerGroup is the peer group number of the host mount at dir.
func propHostPeerGroup(t *testing.T, dir string) string {
	t.Helper()
	fields, ok := propRootFields(readOr("/proc/self/mountinfo"), dir)
	if !ok || propField(fields, "shared:") == "" {
		t.Fatalf("host mount %s is not shared: %v", dir, fields)
	}
	return propField(fields, "shared:")
}

// TestRootfsPropagation runs, for every rootfsPropagation value, a
// container (CAP_SYS_ADMIN, writable root) whose rootfs sits on a shared
// host tmpfs and which has a bind volume from a second shared host tmpfs.
// Inside: the propagation of "/" in its own mountinfo; the runtime-tools
// check (rbind / onto /target, bind /testdir onto /mountdir, the file shows
// under /target/mountdir only for shared); for unbindable, rbind of /
// fails with EINVAL. The container then mounts a tmpfs on /mnt and one
// under the volume and keeps running while the host checks that none of
// the runtime's or the container's mounts appeared below the rootfs's
// tmpfs, whatever the value (shared included: the container's "/" is its
// own peer group), nor below the volume's tmpfs except with shared, where
// what happens is only logged.
func TestRootfsPropagation(t *testing.T) {
	t.Parallel()
	cases := []struct{ prop, kind string }{
		{"", "slave"}, {"slave", "slave"}, {"rslave", "slave"},
		{"private", "private"}, {"rprivate", "private"},
		{"shared", "shared"}, {"rshared", "shared"},
		{"unbindable", "unbindable"}, {"runbindable", "unbindable"},
	}
	for _, c := range cases {
		name := c.prop
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRT(t)
			check := `{ mkdir /target /mountdir /testdir && echo x > /testdir/file &&
  mount --rbind / /target && mount --bind /testdir /mountdir &&
  if [ -e /target/mountdir/file ]; then echo exposed; else echo hidden; fi; } > /out/rtcheck 2>&1`
			if c.kind == "unbindable" {
				check = `mkdir /x; mount --rbind / /x > /out/rtcheck 2>&1; echo rc=$? >> /out/rtcheck`
			}
			var shared, vol string
			b, pid := startWaiting(t, r, func(b *bundle) {
				shared = propRootfsOnShared(b)
				vol = propSharedMount(t)
				addBind(b.Spec, vol, "/data")
				b.Spec.Root.Readonly = false
				b.Spec.Linux.RootfsPropagation = c.prop
				propAddCaps(b.Spec, "CAP_SYS_ADMIN")
			}, `cat /proc/self/mountinfo > /out/mountinfo; `+check+`
{ mount -t tmpfs tmpfs /mnt && mkdir /data/sub && mount -t tmpfs tmpfs /data/sub && echo mounted; } > /out/mnt 2>&1`)

			hostGroup := propHostPeerGroup(t, shared)
			fields, ok := propRootFields(readFile(t, filepath.Join(b.Out, "mountinfo")), "/")
			if !ok {
				t.Fatalf("no / in the container's mountinfo:\n%s", readFile(t, filepath.Join(b.Out, "mountinfo")))
			}
			sharedN, masterN := propField(fields, "shared:"), propField(fields, "master:")
			switch c.kind {
			case "slave":
				if sharedN != "" || masterN != hostGroup {
					t.Errorf("container / has %v, want master:%s (the host tmpfs's peer group) and no shared:", fields, hostGroup)
				}
			case "private":
				if sharedN != "" || masterN != "" {
					t.Errorf("container / has %v, want no shared: and no master:", fields)
				}
			case "shared":
				if sharedN == "" || sharedN == hostGroup {
					t.Errorf("container / has %v, want shared:N with its own N (host tmpfs is shared:%s)", fields, hostGroup)
				}
			case "unbindable":
				if sharedN != "" || !strings.Contains(" "+strings.Join(fields, " ")+" ", " unbindable ") {
					t.Errorf("container / has %v, want unbindable and no shared:", fields)
				}
			}

			rtcheck := strings.TrimSpace(readFile(t, filepath.Join(b.Out, "rtcheck")))
			switch c.kind {
			case "shared":
				if rtcheck != "exposed" {
					t.Errorf("runtime-tools check: %q, want the bind under /mountdir exposed at /target/mountdir", rtcheck)
				}
			case "unbindable":
				if strings.Contains(rtcheck, "rc=0") || !strings.Contains(rtcheck, "Invalid argument") {
					t.Errorf("mount --rbind / /x: %q, want EINVAL", rtcheck)
				}
			default:
				if rtcheck != "hidden" {
					t.Errorf("runtime-tools check: %q, want the bind under /mountdir hidden from /target/mountdir", rtcheck)
				}
			}

			// The container's mounts exist (so the host check below is not
			// vacuous) ...
			if got := readFile(t, filepath.Join(b.Out, "mnt")); !strings.Contains(got, "mounted") {
				t.Fatalf("container could not mount: %q", got)
			}
			inner := parseMountinfo(readOr(fmt.Sprintf("/proc/%d/mountinfo", pid)))
			for _, want := range []string{"/mnt", "/data/sub"} {
				found := false
				for _, m := range inner {
					found = found || m.Point == want && m.FSType == "tmpfs"
				}
				if !found {
					t.Errorf("container's mountinfo has no tmpfs on %s", want)
				}
			}
			// ... but none reached the host.
			propNoMountsBelow(t, "while running", shared)
			for _, p := range mountsUnder(b.Dir) {
				t.Errorf("while running: host mount %s in the bundle", p)
			}
			if c.kind == "shared" {
				// Not asserted: a shared volume may well be meant to
				// propagate (bidirectional mounts); reported, then removed.
				left := propBelow(vol)
				t.Logf("rootfsPropagation %q: host mounts below the volume's shared source: %v", c.prop, left)
				for i := len(left) - 1; i >= 0; i-- {
					_ = unix.Unmount(left[i], unix.MNT_DETACH)
				}
			} else {
				propNoMountsBelow(t, "while running, a mount the container made in its bind volume", vol)
			}
			propFinish(t, b, shared, vol)
		})
	}
}

// TestPropagationHostToContainer: the source of a bind volume sits on a
// shared host tmpfs; after the container started, the host mounts a tmpfs
// below it. A container whose mounts are slaves (the default, rslave, and
// rshared, which keeps receiving) sees it under the volume; rprivate cuts
// the link. The host's mount(2) has propagated by the time it returns, so
// the container looks once, after the host says "go".
func TestPropagationHostToContainer(t *testing.T) {
	t.Parallel()
	cases := []struct {
		prop string
		seen bool
	}{{"", true}, {"rslave", true}, {"rshared", true}, {"rprivate", false}}
	for _, c := range cases {
		name := c.prop
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRT(t)
			vol := propSharedMount(t)
			b := r.newBundle(func(b *bundle) {
				addBind(b.Spec, vol, "/data")
				b.Spec.Linux.RootfsPropagation = c.prop
				b.script(`echo ok > /out/ready; while [ ! -e /out/go ]; do sleep 0.05; done
{ if [ -e /data/sub/marker ]; then echo seen; else echo unseen; fi; awk '$5 == "/data/sub"' /proc/self/mountinfo; } > /out/result.tmp && mv /out/result.tmp /out/result`)
			})
			b.mustCreate()
			r.must("start", b.ID)
			waitFile(t, filepath.Join(b.Out, "ready"))
			sub := filepath.Join(vol, "sub")
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
				t.Fatalf("host mount on %s: %v", sub, err)
			}
			if err := os.WriteFile(filepath.Join(sub, "marker"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			createFile(t, filepath.Join(b.Out, "go")).Close()
			got := waitFile(t, filepath.Join(b.Out, "result"))
			seen := strings.HasPrefix(got, "seen\n")
			if seen != c.seen {
				t.Errorf("host mount below the volume source, container sees: %q; want seen=%v", got, c.seen)
			}
			if seen && !strings.Contains(got, "tmpfs") {
				t.Errorf("marker visible but no tmpfs on /data/sub in the container's mountinfo: %q", got)
			}
			b.waitStatus("stopped")
			r.must("delete", b.ID)
			propAssertTeardown(t, b)
			if left := propBelow(vol); len(left) != 1 || left[0] != sub {
				t.Errorf("after delete, host mounts below the volume: %v, want only the host's own %s", left, sub)
			}
		})
	}
}

// TestNoPivotReadonlyRootOnSharedMount: --no-pivot with root.readonly, the
// rootfs on a shared host tmpfs. The root is read-only inside, and neither
// while running nor after delete is anything mounted below the tmpfs on
// the host (the rootfs bind, /proc, /dev, /sys, the read-only remount).
func TestNoPivotReadonlyRootOnSharedMount(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	var shared string
	b := r.newBundle(func(b *bundle) {
		shared = propRootfsOnShared(b)
		b.Spec.Root.Readonly = true
		b.script(`{ touch /rootfile; echo rc=$?; awk '$5 == "/"' /proc/self/mountinfo; } > /out/result 2>&1
echo ok > /out/ready; while [ ! -e /out/stop ]; do sleep 0.05; done`)
	})
	b.mustCreate("--no-pivot")
	r.must("start", b.ID)
	waitFile(t, filepath.Join(b.Out, "ready"))
	got := readFile(t, filepath.Join(b.Out, "result"))
	if !strings.Contains(got, "Read-only file system") || strings.Contains(got, "rc=0") {
		t.Errorf("write to / with --no-pivot and root.readonly: %q", got)
	}
	if m := parseMountinfo(got); len(m) == 0 || !hasOpt(m[len(m)-1].Options, "ro") {
		t.Errorf("container / is not mounted ro: %q", got)
	}
	if _, err := os.Stat(filepath.Join(b.Spec.Root.Path, "rootfile")); err == nil {
		t.Errorf("write reached the rootfs on the host")
	}
	propNoMountsBelow(t, "while running", shared)
	propFinish(t, b, shared)
}

// TestMaskedPaths: a masked file reads empty and is the 1:3 character
// device; a masked directory is an empty read-only tmpfs; a masked path
// that does not exist is ignored and not created (the root is writable
// here, so the runtime could have); the default masks hold (/proc/keys, a
// file, and /sys/firmware, a directory). The image on the host is untouched.
func TestMaskedPaths(t *testing.T) {
	t.Parallel()
	var rootfs string
	out := propRun(t, func(b *bundle) {
		rootfs = b.copyRootfs()
		b.Spec.Root.Readonly = false
		b.Spec.Linux.MaskedPaths = append(b.Spec.Linux.MaskedPaths, "/etc/passwd", "/home", "/nonexistent/deeper")
	}, `for f in /etc/passwd /proc/keys; do echo "file $f $(wc -c < $f) $(stat -c '%F %t:%T' $f)"; done
for d in /home /sys/firmware; do
  echo "dir $d $(ls -A $d | wc -l)"
  awk -v d=$d '$5 == d { print "dirmount", $5, $6, $(NF-2) }' /proc/self/mountinfo
done
touch /home/x 2>&1
[ -e /nonexistent ] && echo "nonexistent created"
echo end`)
	for _, w := range []string{
		"file /etc/passwd 0 character special file 1:3",
		"file /proc/keys 0 character special file 1:3",
		"dir /home 0", "dir /sys/firmware 0",
		"touch: /home/x: Read-only file system", "end",
	} {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("container output lacks %q:\n%s", w, out)
		}
	}
	for _, d := range []string{"/home", "/sys/firmware"} {
		var top []string
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) == 4 && f[0] == "dirmount" && f[1] == d {
				top = f // the last line is the topmost mount
			}
		}
		if top == nil || !hasOpt(top[2], "ro") || top[3] != "tmpfs" {
			t.Errorf("masked %s is %v, want a ro tmpfs on top:\n%s", d, top, out)
		}
	}
	if strings.Contains(out, "nonexistent created") {
		t.Errorf("the runtime created the missing masked path")
	}
	if _, err := os.Stat(filepath.Join(rootfs, "nonexistent")); err == nil {
		t.Errorf("missing masked path created in the image on the host")
	}
	if data := readFile(t, filepath.Join(rootfs, "etc/passwd")); !strings.HasPrefix(data, "root:") {
		t.Errorf("image's /etc/passwd changed on the host: %q", data)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "home/user")); err != nil {
		t.Errorf("image's /home/user gone on the host: %v", err)
	}
}

// TestReadonlyPaths: a directory of a writable root and a writable bind
// volume, listed in readonlyPaths, refuse writes with EROFS, while the rest
// of the root stays writable; with the default capabilities the container
// cannot remount them rw either. With CAP_SYS_ADMIN, a plain write still
// fails with EROFS. Nothing reaches the host.
func TestReadonlyPaths(t *testing.T) {
	t.Parallel()
	for _, sysAdmin := range []bool{false, true} {
		name := "default_caps"
		if sysAdmin {
			name = "cap_sys_admin"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			vol := t.TempDir()
			var rootfs string
			out := propRun(t, func(b *bundle) {
				rootfs = b.copyRootfs()
				b.Spec.Root.Readonly = false
				addBind(b.Spec, vol, "/data")
				b.Spec.Linux.ReadonlyPaths = append(b.Spec.Linux.ReadonlyPaths, "/etc", "/data")
				if sysAdmin {
					propAddCaps(b.Spec, "CAP_SYS_ADMIN")
				}
			}, `touch /etc/x 2>&1; touch /data/x 2>&1; touch /rootfile && echo root-writable
awk '$5 == "/etc" || $5 == "/data" { print "mount", $5, $6 }' /proc/self/mountinfo
mount -o remount,rw,bind /etc 2>/dev/null && echo remounted
touch /etc/y 2>&1; echo end`)
			for _, w := range []string{
				"touch: /etc/x: Read-only file system", "touch: /data/x: Read-only file system",
				"root-writable", "end",
			} {
				if !strings.Contains(out, w+"\n") {
					t.Errorf("container output lacks %q:\n%s", w, out)
				}
			}
			ro := map[string]bool{}
			for _, l := range strings.Split(out, "\n") {
				if f := strings.Fields(l); len(f) == 3 && f[0] == "mount" {
					ro[f[1]] = hasOpt(f[2], "ro") // the last (topmost) line wins
				}
			}
			for _, p := range []string{"/etc", "/data"} {
				if !ro[p] {
					t.Errorf("%s is not a read-only mount in the container:\n%s", p, out)
				}
			}
			if !sysAdmin {
				if strings.Contains(out, "remounted") || !strings.Contains(out, "touch: /etc/y: Read-only file system\n") {
					t.Errorf("container without CAP_SYS_ADMIN made /etc writable again:\n%s", out)
				}
			}
			for _, p := range []string{filepath.Join(rootfs, "etc/x"), filepath.Join(vol, "x")} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("write to a read-only path reached the host: %s", p)
				}
			}
		})
	}
}
