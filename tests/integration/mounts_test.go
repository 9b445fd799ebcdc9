package integration

// Mount features of the runtime-spec (config.md "Mounts" and "Linux mount
// options"), observed inside the container (its /proc/self/mountinfo and
// what writes, execs, opens and symlink walks do) and on the host (the test
// process's mountinfo gains nothing, no file appears outside the rootfs).

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mntInfo is one /proc/*/mountinfo line with every field these tests use.
type mntInfo struct {
	ID, Parent, Dev string
	Point, Opts     string   // mount point, per-mount options (field 6)
	Optional        []string // shared:N, master:N, propagate_from:N, unbindable
	FSType, Source  string
	Super           string // super options
}

func mntParse(text string) []mntInfo {
	var out []mntInfo
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || len(f) < sep+4 {
			continue
		}
		out = append(out, mntInfo{
			ID: f[0], Parent: f[1], Dev: f[2], Point: unescapeMount(f[4]), Opts: f[5],
			Optional: f[6:sep], FSType: f[sep+1], Source: f[sep+2], Super: f[sep+3],
		})
	}
	return out
}

// mntFind returns the topmost (last listed) mount at point, or nil.
func mntFind(ms []mntInfo, point string) *mntInfo {
	var last *mntInfo
	for i := range ms {
		if ms[i].Point == point {
			last = &ms[i]
		}
	}
	return last
}

// mntSplit splits a container's output into its mountinfo (printed first
// by mntScript) and what the rest of the script printed.
func mntSplit(t *testing.T, out string) ([]mntInfo, string) {
	t.Helper()
	mi, rest, ok := strings.Cut(out, "\n==\n")
	if !ok {
		t.Fatalf("container output has no mountinfo/effect separator:\n%s", out)
	}
	return mntParse(mi), rest
}

// mntScript prints the container's mountinfo, a separator, then runs effect.
func mntScript(effect string) string {
	return "cat /proc/self/mountinfo; echo ==; " + effect
}

// mntHostWatch lists host paths a leaking runtime would mount on: the
// test's own temp dirs (bundle, rootfs copy, sources), the rootfs, and the
// host paths named like the container's mount destinations.
func mntHostWatch(b *bundle) []string {
	watch := []string{filepath.Dir(b.Dir), b.Spec.Root.Path}
	for _, m := range b.Spec.Mounts {
		watch = append(watch, filepath.Clean("/"+m.Destination))
	}
	return watch
}

// mntHostPoints counts the test process's own mounts at or under dirs.
func mntHostPoints(dirs []string) map[string]int {
	got := map[string]int{}
	for _, m := range mntParse(readOr("/proc/self/mountinfo")) {
		for _, d := range dirs {
			if m.Point == d || strings.HasPrefix(m.Point, strings.TrimSuffix(d, "/")+"/") {
				got[m.Point+" ("+m.FSType+")"]++
				break
			}
		}
	}
	return got
}

func mntSameHostMounts(t *testing.T, when string, before map[string]int, watch []string) {
	t.Helper()
	for p, n := range mntHostPoints(watch) {
		if n > before[p] {
			t.Errorf("%s: the host gained a mount at %s", when, p)
		}
	}
}

// mntRun creates the container (script as its process), checks the host's
// mounts while it is created, runs during (if any), starts it, waits for it
// to stop, deletes it, checks the host's mounts again and returns what the
// container printed.
func mntRun(t *testing.T, mut func(b *bundle), script string, during ...func(b *bundle)) string {
	t.Helper()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.script(script)
		if mut != nil {
			mut(b)
		}
	})
	watch := mntHostWatch(b)
	before := mntHostPoints(watch)
	b.mustCreate()
	mntSameHostMounts(t, "while created", before, watch)
	for _, f := range during {
		f(b)
	}
	r.must("start", b.ID)
	b.waitStatus("stopped")
	out := b.containerStdout()
	r.must("delete", b.ID)
	mntSameHostMounts(t, "after delete", before, watch)
	return out
}

// mntCreateFails expects `create` to fail and leave the host's mounts as
// they were; newBundle's cleanup checks that nothing else is left behind.
func mntCreateFails(t *testing.T, mut func(b *bundle)) result {
	t.Helper()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) { b.script("true"); mut(b) })
	watch := mntHostWatch(b)
	before := mntHostPoints(watch)
	res := b.create()
	mntSameHostMounts(t, "after create", before, watch)
	if res.Code == 0 {
		t.Fatalf("create succeeded, want an error: %s", res)
	}
	return res
}

// mntNoHostFile fails the test if any of the host paths exists (a mount
// point the runtime must create inside the rootfs, not on the host).
func mntNoHostFile(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists on the host", p)
		}
	}
}

func mntTmpfs(dst string, opts ...string) specs.Mount {
	return specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs", Options: opts}
}

// mntAllowMknod gives the container CAP_MKNOD and lets the device cgroup
// allow /dev/null's numbers (1:3), so a node made with mknod can be opened
// where the mount allows devices.
func mntAllowMknod(b *bundle) {
	c := b.Spec.Process.Capabilities
	c.Bounding = append(c.Bounding, "CAP_MKNOD")
	c.Effective = append(c.Effective, "CAP_MKNOD")
	c.Permitted = append(c.Permitted, "CAP_MKNOD")
	maj, min := int64(1), int64(3)
	b.Spec.Linux.Resources.Devices = append(b.Spec.Linux.Resources.Devices,
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &maj, Minor: &min, Access: "rwm"})
}

// mntWriteFile writes a host file, failing the test on error.
func mntWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mntHostTree mounts a tmpfs at <tmp>/top holding "topfile", with a tmpfs
// submount at top/sub holding "subfile", both in the test process's mount
// namespace (rshared when shared), and unmounts them in cleanup. Call it
// before the bundle is made: cleanups run last first, so the container is
// deleted before its source is unmounted.
func mntHostTree(t *testing.T, shared bool) (top, sub string) {
	t.Helper()
	top = filepath.Join(t.TempDir(), "top")
	sub = filepath.Join(top, "sub")
	if err := os.Mkdir(top, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", top, "tmpfs", 0, "mode=755"); err != nil {
		t.Fatalf("mount host tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(top, unix.MNT_DETACH) })
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "mode=777"); err != nil {
		t.Fatalf("mount host submount: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(sub, unix.MNT_DETACH) })
	if shared {
		if err := unix.Mount("", top, "", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
			t.Fatalf("make host tree shared: %v", err)
		}
	}
	mntWriteFile(t, filepath.Join(top, "topfile"), "top")
	mntWriteFile(t, filepath.Join(sub, "subfile"), "sub")
	return top, sub
}

// Effects, as shell snippets run in the container, on the directory DIR.
const (
	mntTouch = `touch DIR/f 2>&1 && echo wrote`
	mntExec  = `cp /bin/busybox DIR/busybox && DIR/busybox true 2>&1; echo rc=$?`
	mntDev   = `mknod DIR/null c 1 3 && { echo x > DIR/null; } 2>&1 && echo opened`
	mntSym   = `ln -s /etc/passwd DIR/link && head -c5 DIR/link 2>&1; echo; readlink DIR/link`
)

// mntEffect fills dir into one of the effect snippets.
func mntEffect(snippet, dir string) string {
	return strings.ReplaceAll(snippet, "DIR", dir)
}

// mntELOOP matches strerror(ELOOP) of glibc and musl.
func mntELOOP(out string) bool {
	return strings.Contains(out, "Too many levels of symbolic links") || strings.Contains(out, "Symbolic link loop")
}

// mntCheckOpts fails the test for each option of has missing from the
// comma-separated list, and each option of lacks present in it.
func mntCheckOpts(t *testing.T, what, list string, has, lacks []string) {
	t.Helper()
	for _, o := range has {
		if !hasOpt(list, o) {
			t.Errorf("%s %q lack %s", what, list, o)
		}
	}
	for _, o := range lacks {
		if hasOpt(list, o) {
			t.Errorf("%s %q have %s", what, list, o)
		}
	}
}

// TestMountsTmpfsFlags: each mount(8) flag on a fresh tmpfs shows in the
// per-mount or super options, and does what it says where that is cheap to
// see. An option that clears a flag is given after the one setting it, so
// the later one must win as in mount(8).
func TestMountsTmpfsFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name           string
		opts           []string
		mnt, noMnt     []string // per-mount options
		super, noSuper []string
		effect         string
		want, notWant  []string
	}{
		{name: "ro", opts: []string{"ro"}, mnt: []string{"ro"}, effect: mntTouch,
			want: []string{"Read-only file system"}, notWant: []string{"wrote"}},
		{name: "rw", opts: []string{"ro", "rw"}, mnt: []string{"rw"}, noMnt: []string{"ro"}, effect: mntTouch, want: []string{"wrote"}},
		{name: "nosuid", opts: []string{"nosuid"}, mnt: []string{"nosuid"}},
		{name: "suid", opts: []string{"nosuid", "suid"}, noMnt: []string{"nosuid"}},
		{name: "nodev", opts: []string{"nodev"}, mnt: []string{"nodev"}, effect: mntDev,
			want: []string{"Permission denied"}, notWant: []string{"opened"}},
		{name: "dev", opts: []string{"nodev", "dev"}, noMnt: []string{"nodev"}, effect: mntDev, want: []string{"opened"}},
		{name: "noexec", opts: []string{"noexec"}, mnt: []string{"noexec"}, effect: mntExec,
			want: []string{"Permission denied", "rc=126"}},
		{name: "exec", opts: []string{"noexec", "exec"}, noMnt: []string{"noexec"}, effect: mntExec, want: []string{"rc=0"}},
		{name: "sync", opts: []string{"sync"}, super: []string{"sync"}},
		{name: "async", opts: []string{"sync", "async"}, noSuper: []string{"sync"}},
		{name: "dirsync", opts: []string{"dirsync"}, super: []string{"dirsync"}},
		{name: "lazytime", opts: []string{"lazytime"}, super: []string{"lazytime"}},
		{name: "noatime", opts: []string{"noatime"}, mnt: []string{"noatime"}, noMnt: []string{"relatime"}},
		{name: "relatime", opts: []string{"relatime"}, mnt: []string{"relatime"}, noMnt: []string{"noatime"}},
		{name: "strictatime", opts: []string{"strictatime"}, noMnt: []string{"relatime", "noatime"}},
		{name: "nodiratime", opts: []string{"nodiratime"}, mnt: []string{"nodiratime"}},
		{name: "diratime", opts: []string{"nodiratime", "diratime"}, noMnt: []string{"nodiratime"}},
		{name: "nosymfollow", opts: []string{"nosymfollow"}, mnt: []string{"nosymfollow"}, effect: mntSym,
			want: []string{"/etc/passwd"}, notWant: []string{"root:"}},
		{name: "symfollow", opts: []string{"nosymfollow", "symfollow"}, noMnt: []string{"nosymfollow"}, effect: mntSym,
			want: []string{"root:"}},
		// Kernel 6.x accepts MS_MANDLOCK on a new superblock, keeps "mand"
		// in its options and ignores it (mandatory locking is gone since
		// 5.15, the kernel logs a deprecation warning): the mount works.
		{name: "mand", opts: []string{"mand"}, super: []string{"mand"}, effect: mntTouch, want: []string{"wrote"}},
		{name: "nomand", opts: []string{"mand", "nomand"}, noSuper: []string{"mand"}, effect: mntTouch, want: []string{"wrote"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out := mntRun(t, func(b *bundle) {
				mntAllowMknod(b)
				b.Spec.Mounts = append(b.Spec.Mounts, mntTmpfs("/data", c.opts...))
			}, mntScript(mntEffect(c.effect, "/data")))
			mounts, effect := mntSplit(t, out)
			m := mntFind(mounts, "/data")
			if m == nil || m.FSType != "tmpfs" {
				t.Fatalf("no tmpfs at /data: %+v", m)
			}
			mntCheckOpts(t, "per-mount options", m.Opts, c.mnt, c.noMnt)
			mntCheckOpts(t, "super options", m.Super, c.super, c.noSuper)
			for _, w := range c.want {
				if !strings.Contains(effect, w) {
					t.Errorf("effect output %q lacks %q", effect, w)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(effect, w) {
					t.Errorf("effect output %q has %q", effect, w)
				}
			}
			if c.name == "nosymfollow" && !mntELOOP(effect) {
				t.Errorf("following a symlink on a nosymfollow mount: %q, want ELOOP", effect)
			}
		})
	}
}

// TestMountsTmpfsData: options that are not flags reach the filesystem.
func TestMountsTmpfsData(t *testing.T) {
	t.Parallel()
	out := mntRun(t, func(b *bundle) {
		b.Spec.Mounts = append(b.Spec.Mounts, mntTmpfs("/data", "nosuid", "size=1m", "mode=700"))
	}, mntScript(`stat -c %a /data`))
	mounts, effect := mntSplit(t, out)
	m := mntFind(mounts, "/data")
	if m == nil {
		t.Fatalf("no mount at /data")
	}
	mntCheckOpts(t, "super options", m.Super, []string{"size=1024k", "mode=700"}, nil)
	mntCheckOpts(t, "per-mount options", m.Opts, []string{"nosuid"}, nil)
	switch {
	case strings.TrimSpace(effect) == "700":
	case isRunc:
		// runc before 1.1.8 chmods the tmpfs root back to the mode of the
		// directory it covers (opencontainers/runc#3911).
		t.Logf("runc: tmpfs root mode %q despite mode=700 (runc#3911)", effect)
	default:
		t.Errorf("tmpfs root mode %q, want 700", effect)
	}
}

// TestMountsBind: bind mounts of host directories and files.
func TestMountsBind(t *testing.T) {
	t.Parallel()
	t.Run("dir", func(t *testing.T) {
		t.Parallel()
		src := t.TempDir()
		mntWriteFile(t, filepath.Join(src, "hello"), "from host")
		out := mntRun(t, func(b *bundle) {
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: src, Options: []string{"bind"}})
		}, `cat /data/hello; echo; echo inside > /data/new`)
		if out != "from host\n" {
			t.Errorf("bind of a host dir shows %q", out)
		}
		if got := readOr(filepath.Join(src, "new")); got != "inside\n" {
			t.Errorf("write through the rw bind: host file holds %q", got)
		}
	})
	t.Run("file-to-new-destination", func(t *testing.T) {
		t.Parallel()
		src := filepath.Join(t.TempDir(), "file")
		mntWriteFile(t, src, "file content")
		var rootfs string
		dst := "/etc/mnt-newfile-" + newID()
		out := mntRun(t, func(b *bundle) {
			rootfs = b.copyRootfs()
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: dst, Type: "bind", Source: src, Options: []string{"bind"}})
		}, `cat `+dst+`; echo; stat -c %F `+dst)
		if out != "file content\nregular file\n" {
			t.Errorf("file bind shows %q", out)
		}
		// The runtime made an empty file as mount point, inside the rootfs.
		if fi, err := os.Lstat(filepath.Join(rootfs, dst)); err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 {
			t.Errorf("mount point in the rootfs copy: %v %v, want an empty regular file", fi, err)
		}
		mntNoHostFile(t, dst)
	})
	for _, opt := range []string{"bind", "rbind"} {
		t.Run(opt+"-submount", func(t *testing.T) {
			t.Parallel()
			top, _ := mntHostTree(t, false)
			out := mntRun(t, func(b *bundle) {
				b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: top, Options: []string{opt}})
			}, mntScript(`cat /data/topfile; echo; cat /data/sub/subfile 2>/dev/null || echo absent`))
			mounts, effect := mntSplit(t, out)
			sub := mntFind(mounts, "/data/sub")
			if opt == "bind" && (sub != nil || effect != "top\nabsent\n") {
				t.Errorf("bind (not rbind) brought the submount along: %+v, %q", sub, effect)
			}
			if opt == "rbind" && (sub == nil || sub.FSType != "tmpfs" || effect != "top\nsub") {
				t.Errorf("rbind lost the submount: %+v, %q", sub, effect)
			}
		})
	}
	t.Run("ro-keeps-host-rw", func(t *testing.T) {
		t.Parallel()
		// The source is a mount of its own: a remount without MS_BIND
		// would make its superblock, and so the host's view, read-only.
		top, _ := mntHostTree(t, false)
		hostRW := func(when string) {
			if err := os.WriteFile(filepath.Join(top, "host-"+when), nil, 0o644); err != nil {
				t.Errorf("%s: host write to the bind source: %v", when, err)
			}
			m := mntFind(mntParse(readOr("/proc/self/mountinfo")), top)
			if m == nil || hasOpt(m.Opts, "ro") || hasOpt(m.Super, "ro") {
				t.Errorf("%s: host mount of the bind source: %+v", when, m)
			}
		}
		out := mntRun(t, func(b *bundle) {
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: top, Options: []string{"bind", "ro"}})
		}, mntScript(mntEffect(mntTouch, "/data")), func(*bundle) { hostRW("created") })
		hostRW("after")
		mounts, effect := mntSplit(t, out)
		if m := mntFind(mounts, "/data"); m == nil || !hasOpt(m.Opts, "ro") {
			t.Errorf("ro bind inside: %+v", m)
		}
		if !strings.Contains(effect, "Read-only file system") || strings.Contains(effect, "wrote") {
			t.Errorf("write to the ro bind: %q", effect)
		}
	})
}

// TestMountsRecursiveAttrs: the mount_setattr(AT_RECURSIVE) options reach
// the submount of an rbind; plain "ro" changes the top mount only.
func TestMountsRecursiveAttrs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		opt, flag     string
		recursive     bool
		effect, want  string
		notWantEffect string
	}{
		{opt: "rro", flag: "ro", recursive: true, effect: mntTouch, want: "Read-only file system", notWantEffect: "wrote"},
		{opt: "rnosuid", flag: "nosuid", recursive: true},
		{opt: "rnodev", flag: "nodev", recursive: true},
		{opt: "rnoexec", flag: "noexec", recursive: true, effect: mntExec, want: "rc=126"},
		{opt: "rnosymfollow", flag: "nosymfollow", recursive: true, effect: mntSym, want: "/etc/passwd", notWantEffect: "root:"},
		{opt: "rnoatime", flag: "noatime", recursive: true},
		{opt: "ro", flag: "ro", recursive: false, effect: mntTouch, want: "wrote"},
	}
	for _, c := range cases {
		t.Run(c.opt, func(t *testing.T) {
			t.Parallel()
			top, sub := mntHostTree(t, false)
			out := mntRun(t, func(b *bundle) {
				b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: top, Options: []string{"rbind", c.opt}})
			}, mntScript(mntEffect(c.effect, "/data/sub")))
			mounts, effect := mntSplit(t, out)
			mt, ms := mntFind(mounts, "/data"), mntFind(mounts, "/data/sub")
			if mt == nil || ms == nil {
				t.Fatalf("missing /data or /data/sub in\n%s", out)
			}
			mntCheckOpts(t, "/data options", mt.Opts, []string{c.flag}, nil)
			if c.recursive {
				mntCheckOpts(t, "/data/sub options", ms.Opts, []string{c.flag}, nil)
			} else {
				mntCheckOpts(t, "/data/sub options", ms.Opts, nil, []string{c.flag})
				if _, err := os.Stat(filepath.Join(sub, "f")); err != nil {
					t.Errorf("write to the submount under a non-recursive ro did not reach the host: %v", err)
				}
			}
			if c.want != "" && !strings.Contains(effect, c.want) {
				t.Errorf("effect on the submount %q lacks %q", effect, c.want)
			}
			if c.notWantEffect != "" && strings.Contains(effect, c.notWantEffect) {
				t.Errorf("effect on the submount %q has %q", effect, c.notWantEffect)
			}
		})
	}
}

// mntPeerGroup returns N of the "shared:N" optional field, or "".
func mntPeerGroup(m *mntInfo) string {
	for _, o := range m.Optional {
		if g, ok := strings.CutPrefix(o, "shared:"); ok {
			return g
		}
	}
	return ""
}

// mntPropOK checks a mount's propagation against want (private, shared,
// slave, unbindable); master is the host peer group a slave must follow.
func mntPropOK(m *mntInfo, want, master string) bool {
	opt := strings.Join(m.Optional, " ")
	switch want {
	case "private":
		return len(m.Optional) == 0
	case "shared":
		return mntPeerGroup(m) != ""
	case "slave":
		return mntPeerGroup(m) == "" && strings.Contains(" "+opt+" ", " master:"+master+" ")
	case "unbindable":
		return opt == "unbindable"
	}
	return false
}

// TestMountsPropagation: the propagation options of a bind mount of a
// shared host tree. The recursive forms change the submount too; the plain
// forms leave it as an rbind without options gets it (the control /ctl).
// A slave follows the host's own peer group.
func TestMountsPropagation(t *testing.T) {
	t.Parallel()
	for _, opt := range []string{"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"} {
		t.Run(opt, func(t *testing.T) {
			t.Parallel()
			top, sub := mntHostTree(t, true)
			host := mntParse(readOr("/proc/self/mountinfo"))
			topGroup, subGroup := mntPeerGroup(mntFind(host, top)), mntPeerGroup(mntFind(host, sub))
			if topGroup == "" || subGroup == "" {
				t.Fatalf("host tree is not shared: %+v %+v", mntFind(host, top), mntFind(host, sub))
			}
			out := mntRun(t, func(b *bundle) {
				b.copyRootfs()
				b.Spec.Mounts = append(b.Spec.Mounts,
					specs.Mount{Destination: "/ctl", Type: "bind", Source: top, Options: []string{"rbind"}},
					specs.Mount{Destination: "/data", Type: "bind", Source: top, Options: []string{"rbind", opt}})
			}, mntScript("true"))
			mounts, _ := mntSplit(t, out)
			mt, ms, ctlSub := mntFind(mounts, "/data"), mntFind(mounts, "/data/sub"), mntFind(mounts, "/ctl/sub")
			if mt == nil || ms == nil || ctlSub == nil {
				t.Fatalf("missing /data, /data/sub or /ctl/sub in\n%s", out)
			}
			// want is the kind without recursion; it differs from opt
			// for the recursive forms.
			want := strings.TrimPrefix(opt, "r")
			if want != opt {
				if !mntPropOK(ms, want, subGroup) {
					t.Errorf("%s: /data/sub has %q, want %s (host peer group %s)", opt, ms.Optional, want, subGroup)
				}
			} else if strings.Join(ms.Optional, " ") != strings.Join(ctlSub.Optional, " ") {
				t.Errorf("%s (not recursive) changed /data/sub to %q; an rbind without it has %q", opt, ms.Optional, ctlSub.Optional)
			}
			if !mntPropOK(mt, want, topGroup) {
				t.Errorf("%s: /data has %q, want %s (host peer group %s)", opt, mt.Optional, want, topGroup)
			}
		})
	}
}

// TestMountsTmpcopyup: a tmpfs with tmpcopyup over /etc starts with the
// image's files, is writable, and keeps the writes off the image.
func TestMountsTmpcopyup(t *testing.T) {
	t.Parallel()
	var rootfs string
	out := mntRun(t, func(b *bundle) {
		rootfs = b.copyRootfs()
		b.Spec.Mounts = append(b.Spec.Mounts, mntTmpfs("/etc", "tmpcopyup", "mode=755"))
	}, mntScript(`head -1 /etc/passwd; stat -c %a /etc/passwd; echo extra >> /etc/passwd && touch /etc/newfile && echo wrote; tail -1 /etc/passwd`))
	mounts, effect := mntSplit(t, out)
	if m := mntFind(mounts, "/etc"); m == nil || m.FSType != "tmpfs" {
		t.Errorf("no tmpfs at /etc: %+v", m)
	}
	if effect != "root:x:0:0:root:/root:/bin/sh\n644\nwrote\nextra\n" {
		t.Errorf("tmpcopyup /etc: %q", effect)
	}
	if got := readOr(filepath.Join(rootfs, "etc/passwd")); strings.Contains(got, "extra") {
		t.Errorf("write to the tmpfs reached the image: %q", got)
	}
	mntNoHostFile(t, filepath.Join(rootfs, "etc/newfile"))
}

// TestMountsUnknownOption: an option that is neither a flag nor known data
// fails create, naming the option. For a bind mount the spec would pass it
// as data, which the kernel ignores for MS_BIND; ocirun refuses it instead
// of dropping it silently (the spec's "SHOULD pass as data" allows that).
func TestMountsUnknownOption(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"bind", "tmpfs"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := mntTmpfs("/data", "nosuid", "bogusopt")
			if name == "bind" && isRunc {
				t.Skip("runc passes the option to mount(2) as data, as the spec suggests; the kernel ignores data for MS_BIND")
			}
			if name == "bind" {
				m = specs.Mount{Destination: "/data", Type: "bind", Source: t.TempDir(), Options: []string{"rbind", "bogusopt"}}
			}
			res := mntCreateFails(t, func(b *bundle) { b.Spec.Mounts = append(b.Spec.Mounts, m) })
			if !strings.Contains(res.Stderr, "bogusopt") {
				t.Errorf("error does not name the option: %s", res)
			}
		})
	}
}

// TestMountsBindDataOptionIgnored: a key=value option on a bind belongs to
// the source filesystem, which a bind cannot change; configs carry such
// options (the runtime-tools "mounts" program puts mode=755,size=1k on
// binds), so the bind is made, with the option ignored and a warning.
func TestMountsBindDataOptionIgnored(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("seen"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mntRun(t, func(b *bundle) {
		b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: src,
			Options: []string{"rbind", "mode=755", "size=1k", "ro"}})
	}, mntScript("cat /data/f"))
	if !strings.Contains(out, "seen") {
		t.Errorf("bind with data options not made: %q", out)
	}
}

// TestMountsOrder: a mount on a path inside an earlier one goes on top of
// it, in config order; its mount point is made inside the first tmpfs.
func TestMountsOrder(t *testing.T) {
	t.Parallel()
	var rootfs string
	out := mntRun(t, func(b *bundle) {
		rootfs = b.copyRootfs()
		b.Spec.Mounts = append(b.Spec.Mounts, mntTmpfs("/mnt", "size=1m"), mntTmpfs("/mnt/inner", "size=2m"))
	}, mntScript("true"))
	mounts, _ := mntSplit(t, out)
	outer, inner := -1, -1
	for i, m := range mounts {
		switch {
		case m.Point == "/mnt" && hasOpt(m.Super, "size=1024k"):
			outer = i
		case m.Point == "/mnt/inner" && hasOpt(m.Super, "size=2048k"):
			inner = i
		}
	}
	if outer < 0 || inner < 0 || outer > inner || mounts[inner].Parent != mounts[outer].ID {
		t.Errorf("want the 1m tmpfs at /mnt, then the 2m tmpfs at /mnt/inner on it, got\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "mnt")); err != nil {
		t.Errorf("/mnt not created in the rootfs: %v", err)
	}
	mntNoHostFile(t, filepath.Join(rootfs, "mnt/inner"), "/mnt/inner")
}

// TestMountsSpecialFS: proc, sysfs, mqueue and devpts mounted again at
// new places, and the cgroup mount read-only or, when asked, read-write.
func TestMountsSpecialFS(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		m      specs.Mount
		effect string
		check  func(t *testing.T, m *mntInfo, all []mntInfo, effect string)
	}{
		{"proc", specs.Mount{Destination: "/proc2", Type: "proc", Source: "proc"}, `readlink /proc2/1/exe; ls /proc2 | grep -c '^[0-9]'`,
			func(t *testing.T, m *mntInfo, _ []mntInfo, effect string) {
				// pid 1 is this sh; a host-sized process table means no pid ns.
				if f := strings.Fields(effect); len(f) != 2 || f[0] != "/bin/busybox" || len(f[1]) > 1 {
					t.Errorf("/proc2 shows %q", effect)
				}
			}},
		{"sysfs-ro", specs.Mount{Destination: "/sys2", Type: "sysfs", Source: "sysfs", Options: []string{"ro"}}, `ls /sys2/kernel >/dev/null && echo listed; mkdir /sys2/x 2>&1`,
			func(t *testing.T, m *mntInfo, _ []mntInfo, effect string) {
				mntCheckOpts(t, "/sys2 options", m.Opts, []string{"ro"}, nil)
				if !strings.Contains(effect, "listed") || !strings.Contains(effect, "Read-only file system") {
					t.Errorf("/sys2: %q", effect)
				}
			}},
		{"mqueue", specs.Mount{Destination: "/mq2", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}}, `true`,
			func(t *testing.T, m *mntInfo, _ []mntInfo, _ string) {
				mntCheckOpts(t, "/mq2 options", m.Opts, []string{"nosuid", "noexec", "nodev"}, nil)
			}},
		{"devpts", specs.Mount{Destination: "/pts2", Type: "devpts", Source: "devpts", Options: []string{"newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}, `stat -c %a /pts2/ptmx`,
			func(t *testing.T, m *mntInfo, all []mntInfo, effect string) {
				mntCheckOpts(t, "/pts2 super options", m.Super, []string{"ptmxmode=666", "mode=620", "gid=5"}, nil)
				if pts := mntFind(all, "/dev/pts"); pts == nil || pts.Dev == m.Dev {
					t.Errorf("/pts2 is not a new devpts instance (same device as /dev/pts: %+v)", pts)
				}
				if strings.TrimSpace(effect) != "666" {
					t.Errorf("/pts2/ptmx mode %q", effect)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var rootfs string
			out := mntRun(t, func(b *bundle) {
				rootfs = b.copyRootfs()
				b.Spec.Mounts = append(b.Spec.Mounts, c.m)
			}, mntScript(c.effect))
			mounts, effect := mntSplit(t, out)
			m := mntFind(mounts, c.m.Destination)
			if m == nil || m.FSType != c.m.Type {
				t.Fatalf("no %s at %s: %+v", c.m.Type, c.m.Destination, m)
			}
			c.check(t, m, mounts, effect)
			if fi, err := os.Stat(filepath.Join(rootfs, c.m.Destination)); err != nil || !fi.IsDir() {
				t.Errorf("mount point not made in the rootfs: %v", err)
			}
			mntNoHostFile(t, c.m.Destination)
		})
	}
	for _, ro := range []bool{true, false} {
		name := map[bool]string{true: "cgroup-ro", false: "cgroup-rw"}[ro]
		t.Run(name, func(t *testing.T) { t.Parallel(); mntCheckCgroup(t, ro) })
	}
}

// mntCgroupSet is a cgroup v1 mount's hierarchy: its super options without rw/ro.
func mntCgroupSet(super string) string {
	var keep []string
	for _, o := range strings.Split(super, ",") {
		if o != "rw" && o != "ro" {
			keep = append(keep, o)
		}
	}
	return strings.Join(keep, ",")
}

// mntCheckCgroup: on a v1 (hybrid) host every v1 hierarchy of the host is
// mounted at /sys/fs/cgroup/<name> in the container, read-only unless the
// cgroup mount's options leave out "ro".
func mntCheckCgroup(t *testing.T, ro bool) {
	hier := map[string]string{}
	for _, m := range mntParse(readOr("/proc/self/mountinfo")) {
		if m.FSType == "cgroup" && filepath.Dir(m.Point) == "/sys/fs/cgroup" {
			hier[m.Point] = mntCgroupSet(m.Super)
		}
	}
	if len(hier) == 0 {
		t.Skip("host has no cgroup v1 hierarchies")
	}
	// The write is only tried where it must fail: in a rw mount it would
	// make a cgroup the runtime does not know about.
	effect := `mkdir /sys/fs/cgroup/pids/mnt-probe 2>&1 && rmdir /sys/fs/cgroup/pids/mnt-probe`
	if !ro {
		effect = "true"
	}
	out := mntRun(t, func(b *bundle) {
		for i, m := range b.Spec.Mounts {
			if m.Type == "cgroup" && !ro {
				b.Spec.Mounts[i].Options = []string{"nosuid", "noexec", "nodev", "relatime"}
			}
		}
	}, mntScript(effect))
	mounts, effect := mntSplit(t, out)
	for point, set := range hier {
		m := mntFind(mounts, point)
		if m == nil || m.FSType != "cgroup" || mntCgroupSet(m.Super) != set {
			t.Errorf("want the %s hierarchy at %s, got %+v", set, point, m)
			continue
		}
		if hasOpt(m.Opts, "ro") != ro {
			t.Errorf("%s options %q, want ro=%v", point, m.Opts, ro)
		}
	}
	if ro && !strings.Contains(effect, "Read-only file system") {
		t.Errorf("mkdir in a read-only cgroup mount: %q", effect)
	}
}

// TestMountsOverlay: an overlay of host dirs shows lower and upper files,
// and a write inside lands in the upper dir on the host.
func TestMountsOverlay(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dirs := map[string]string{}
	for _, d := range []string{"lower", "upper", "work"} {
		dirs[d] = filepath.Join(base, d)
		if err := os.Mkdir(dirs[d], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mntWriteFile(t, filepath.Join(dirs["lower"], "lowerfile"), "lower")
	mntWriteFile(t, filepath.Join(dirs["upper"], "upperfile"), "upper")
	out := mntRun(t, func(b *bundle) {
		b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/data", Type: "overlay", Source: "overlay", Options: []string{
			"lowerdir=" + dirs["lower"], "upperdir=" + dirs["upper"], "workdir=" + dirs["work"]}})
	}, mntScript(`cat /data/lowerfile /data/upperfile; echo; echo new > /data/newfile && echo wrote`))
	mounts, effect := mntSplit(t, out)
	if m := mntFind(mounts, "/data"); m == nil || m.FSType != "overlay" {
		t.Errorf("no overlay at /data: %+v", m)
	}
	if effect != "lowerupper\nwrote\n" {
		t.Errorf("overlay: %q", effect)
	}
	if got := readOr(filepath.Join(dirs["upper"], "newfile")); got != "new\n" {
		t.Errorf("upperdir/newfile on the host holds %q", got)
	}
	mntNoHostFile(t, filepath.Join(dirs["lower"], "newfile"))
}
