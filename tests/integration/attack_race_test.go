package integration

// Mount destinations redirected out of the rootfs, or onto the container's
// own /proc, by links in the image or in a volume: statically and while a
// host goroutine swaps a volume's directory for a link (the CVE-2021-30465
// family, CVE-2024-45310, CVE-2019-19921, CVE-2023-27561, CVE-2025-52881).
// The helpers (atkSetup, atkCreate, ...) are in attack_test.go.

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// atkMaxSwaps bounds the swapping loop; it normally stops much earlier,
// when every create has returned.
const atkMaxSwaps = 20_000_000

// TestAttackVolumeSwapRace: a host volume V is bound at /vol in each of many
// containers, and the config mounts a tmpfs at /vol/sub/inner. While they
// are created, the host swaps V/sub between a real directory and a symlink
// to the canary directory with renameat2(RENAME_EXCHANGE) in a tight loop
// (what a second container sharing the volume would do: CVE-2021-30465,
// CVE-2024-45310). Whatever each create returns, nothing may be created in
// or mounted on the canary, and each tmpfs that was mounted is inside the
// root: in the volume, or at the link's target resolved in the root.
func TestAttackVolumeSwapRace(t *testing.T) {
	t.Parallel()
	e := atkSetup(t)
	vol := t.TempDir()
	sub, swap := filepath.Join(vol, "sub"), filepath.Join(vol, "swap")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(e.canary, swap); err != nil {
		t.Fatal(err)
	}
	const n = 30
	var rootfs string
	bundles := make([]*bundle, n)
	for i := range bundles {
		bundles[i] = e.r.newBundle(func(b *bundle) {
			if i == 0 {
				rootfs = atkImage(b)
				if err := os.Mkdir(filepath.Join(rootfs, "vol"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			b.Spec.Root.Path = rootfs // one image for all: it is only read, and mkdir'd in
			addBind(b.Spec, vol, "/vol")
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{
				Destination: "/vol/sub/inner", Type: "tmpfs", Source: "tmpfs",
			})
		})
	}

	var stop atomic.Bool
	type swapped struct {
		n   int
		err error
	}
	done := make(chan swapped, 1)
	go func() {
		var s swapped
		for ; s.n < atkMaxSwaps && !stop.Load(); s.n++ {
			s.err = unix.Renameat2(unix.AT_FDCWD, sub, unix.AT_FDCWD, swap, unix.RENAME_EXCHANGE)
			if s.err != nil {
				break
			}
		}
		done <- s
	}()
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i, b := range bundles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = runToFilesNoFatal(e.r, b.Dir, "create", "--bundle", b.Dir, b.ID)
		}()
	}
	wg.Wait()
	stop.Store(true)
	s := <-done
	if s.err != nil {
		t.Fatalf("swap %d: %v", s.n, s.err)
	}
	// mountinfo names a mount point by its current path: put the real
	// directory back at V/sub so that a tmpfs in the volume shows there.
	if fi, err := os.Lstat(sub); err != nil {
		t.Fatal(err)
	} else if !fi.IsDir() {
		if err := unix.Renameat2(unix.AT_FDCWD, sub, unix.AT_FDCWD, swap, unix.RENAME_EXCHANGE); err != nil {
			t.Fatal(err)
		}
	}

	tally := map[string]int{}
	for i, b := range bundles {
		if codes[i] != 0 {
			tally["refused: "+atkLastLine(readOr(filepath.Join(b.Dir, "out")))]++
			continue
		}
		pid := b.state().Pid
		mounts := atkMountinfo(readOr(fmt.Sprintf("/proc/%d/mountinfo", pid)))
		if got := atkMountsOf(t, mounts, e.canary); len(got) != 0 {
			t.Errorf("container %s shows the host canary mounted: %+v", b.ID, got)
		}
		var at []string
		for _, m := range mounts {
			if m.FSType == "tmpfs" && filepath.Base(m.Point) == "inner" {
				at = append(at, m.Point)
			}
		}
		key := fmt.Sprintf("created, tmpfs at %q", at)
		tally[key]++
		if len(at) != 1 || (at[0] != "/vol/sub/inner" && at[0] != e.canary+"/inner") {
			t.Errorf("container %s: tmpfs for /vol/sub/inner mounted at %q, want /vol/sub/inner or %s/inner (inside the root)",
				b.ID, at, e.canary)
		}
	}
	var lines []string
	for k, v := range tally {
		lines = append(lines, fmt.Sprintf("%3d× %s", v, k))
	}
	sort.Strings(lines)
	t.Logf("%d swaps during %d creates:", s.n, n)
	for _, l := range lines {
		t.Log(l)
	}
	e.checkHost("after the race")
}

// TestAttackMountDestination: mount destinations that lead out of the
// rootfs when followed on the host (CVE-2021-30465's targets without the
// race): an absolute and a relative symlink, ".." in the destination, a
// chain of links, and a destination whose parent is a link. The bind must
// land inside the rootfs, at the link's target resolved in the root.
func TestAttackMountDestination(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// image makes the hostile image; dest is the mount destination; at
		// is where the bind lands inside the root (given the canary).
		image func(t *testing.T, e *atkEnv, rootfs string)
		dest  func(e *atkEnv) string
		at    func(e *atkEnv) string
	}{
		{
			name:  "abs_symlink",
			image: func(t *testing.T, e *atkEnv, rootfs string) { atkLink(t, rootfs, "/data", e.canary) },
			dest:  func(*atkEnv) string { return "/data" },
			at:    func(e *atkEnv) string { return e.canary },
		},
		{
			name:  "rel_symlink",
			image: func(t *testing.T, e *atkEnv, rootfs string) { atkLink(t, rootfs, "/data", atkRel(e.canary)) },
			dest:  func(*atkEnv) string { return "/data" },
			at:    func(e *atkEnv) string { return e.canary },
		},
		{
			name:  "dotdot",
			image: func(*testing.T, *atkEnv, string) {},
			dest:  func(e *atkEnv) string { return "/tmp" + strings.Repeat("/..", 24) + e.canary },
			at:    func(e *atkEnv) string { return e.canary },
		},
		{
			name: "chain",
			image: func(t *testing.T, e *atkEnv, rootfs string) {
				atkLink(t, rootfs, "/data", "/l1")
				atkLink(t, rootfs, "/l1", "tmp/l2")
				atkLink(t, rootfs, "/tmp/l2", "../l3")
				atkLink(t, rootfs, "/l3", atkRel(e.canary))
			},
			dest: func(*atkEnv) string { return "/data" },
			at:   func(e *atkEnv) string { return e.canary },
		},
		{
			name:  "parent_symlink",
			image: func(t *testing.T, e *atkEnv, rootfs string) { atkLink(t, rootfs, "/data", e.canary) },
			dest:  func(*atkEnv) string { return "/data/sub" },
			at:    func(e *atkEnv) string { return e.canary + "/sub" },
		},
		{
			name:  "parent_symlink_existing_file",
			image: func(t *testing.T, e *atkEnv, rootfs string) { atkLink(t, rootfs, "/data", e.canary) },
			dest:  func(*atkEnv) string { return "/data/canary-file" },
			at:    func(e *atkEnv) string { return e.canaryFile },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := atkSetup(t)
			src := atkDir(t, "volume")
			var rootfs string
			b := e.r.newBundle(func(b *bundle) {
				rootfs = atkImage(b)
				tc.image(t, e, rootfs)
				addBind(b.Spec, src, tc.dest(e))
			})
			c := atkCreate(e, b)
			e.wantCreated(c)
			e.assertCanaryMounts(c, 0)
			if !c.alive {
				return
			}
			at := tc.at(e)
			var landed []string
			for _, m := range atkMountsOf(t, c.mounts, src) {
				landed = append(landed, m.Point)
			}
			if len(landed) != 1 || landed[0] != at {
				t.Errorf("the volume is mounted at %q in the container, want [%s] (the link resolved in the root)", landed, at)
			}
			if fi, err := os.Lstat(filepath.Join(rootfs, at)); err != nil || !fi.IsDir() {
				t.Errorf("mount point %s not made inside the rootfs copy: %v", at, err)
			}
			if got := readOr(fmt.Sprintf("/proc/%d/root%s/marker", c.pid, at)); got != "volume" {
				t.Errorf("the container's %s/marker reads %q, want the volume's", at, got)
			}
		})
	}
}

// TestAttackProcShadow: a later mount lands on the container's /proc
// through a symlink and shadows procfs, so that the runtime's own later
// writes and mounts through /proc paths (sysctl, LSM labels,
// /proc/self/fd/N) go to an attacker's files (CVE-2019-19921,
// CVE-2023-27561, CVE-2025-52881). Variants: a volume holding "shadow" ->
// "/proc" with a bind at /vol/shadow; an image link "/pp" -> "/" with a bind
// at /pp/proc; an image link "/pshadow" -> "/proc" with a tmpfs at
// /pshadow; an image link "/psys" -> "/proc/sys" with a bind at /psys.
// The attacker's fake proc has sys/net/ipv4/ip_forward -> /hostcanary,
// where the config binds the host canary file, and the config sets that
// sysctl: a runtime writing it through the container's /proc writes the
// host file. A mount on or under /proc that is not procfs is refused, as
// runc does for binds since CVE-2019-19921 (the error names /proc or the
// destination).
func TestAttackProcShadow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, dest string
		mut        func(t *testing.T, b *bundle, rootfs, fake string)
	}{
		{"volume_link", "/vol/shadow", func(t *testing.T, b *bundle, rootfs, fake string) {
			vol := t.TempDir()
			if err := os.Symlink("/proc", filepath.Join(vol, "shadow")); err != nil {
				t.Fatal(err)
			}
			addBind(b.Spec, vol, "/vol")
			addBind(b.Spec, fake, "/vol/shadow")
		}},
		{"image_parent_link", "/pp/proc", func(t *testing.T, b *bundle, rootfs, fake string) {
			atkLink(t, rootfs, "/pp", "/")
			addBind(b.Spec, fake, "/pp/proc")
		}},
		{"image_link_tmpfs", "/pshadow", func(t *testing.T, b *bundle, rootfs, fake string) {
			atkLink(t, rootfs, "/pshadow", "/proc")
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/pshadow", Type: "tmpfs", Source: "tmpfs"})
		}},
		{"image_link_under_proc", "/psys", func(t *testing.T, b *bundle, rootfs, fake string) {
			atkLink(t, rootfs, "/psys", "/proc/sys")
			addBind(b.Spec, filepath.Join(fake, "sys"), "/psys")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := atkSetup(t)
			fake := atkDir(t, "fakeproc")
			if err := os.MkdirAll(filepath.Join(fake, "sys/net/ipv4"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/hostcanary", filepath.Join(fake, "sys/net/ipv4/ip_forward")); err != nil {
				t.Fatal(err)
			}
			// A runtime mounting on /proc/self/fd/N after the pivot mounts
			// on /etc/victim instead.
			if err := os.MkdirAll(filepath.Join(fake, "self/fd"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(fake, "self/status"), []byte(readOr("/proc/self/status")), 0o644); err != nil {
				t.Fatal(err)
			}
			for fd := 0; fd < 256; fd++ {
				if err := os.Symlink("/etc/victim", filepath.Join(fake, "self/fd", fmt.Sprint(fd))); err != nil {
					t.Fatal(err)
				}
			}
			b := e.r.newBundle(func(b *bundle) {
				addBind(b.Spec, e.canaryFile, "/hostcanary")
				b.Spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
				rootfs := atkImage(b)
				if err := os.Mkdir(filepath.Join(rootfs, "etc/victim"), 0o755); err != nil {
					t.Fatal(err)
				}
				tc.mut(t, b, rootfs, fake)
			})
			c := atkCreate(e, b)
			e.assertCanaryMounts(c, 1)
			e.wantRefused(c, "/proc", "/proc/sys", tc.dest)
			if !c.alive {
				return
			}
			for _, p := range []string{"/proc", "/proc/sys"} {
				if m := atkTopmost(c.mounts, p); m != nil && m.FSType != "proc" {
					t.Errorf("%s in the container is shadowed: topmost mount %+v", p, *m)
				}
			}
			for _, m := range atkMountsOf(t, c.mounts, fake) {
				t.Logf("the attacker's directory is mounted at %s in the container", m.Point)
			}
			if m := atkTopmost(c.mounts, "/etc/victim"); m != nil {
				t.Errorf("a runtime mount meant for a /proc/self/fd path landed on /etc/victim: %+v", *m)
			}
			if m := atkTopmost(c.mounts, "/sys/firmware"); m == nil || m.FSType != "tmpfs" {
				t.Errorf("masked /sys/firmware is not masked: %+v", m)
			}
		})
	}
}

// TestAttackProcInVolume: the volume bound at /vol holds "proc", a symlink
// to a host directory, and the config mounts procfs at /vol/proc after the
// volume. procfs is mounted only on a real directory: refused, or at most
// mounted inside the root; the host directory stays untouched.
func TestAttackProcInVolume(t *testing.T) {
	t.Parallel()
	e := atkSetup(t)
	vol := t.TempDir()
	if err := os.Symlink(e.canary, filepath.Join(vol, "proc")); err != nil {
		t.Fatal(err)
	}
	b := e.r.newBundle(func(b *bundle) {
		atkImage(b)
		addBind(b.Spec, vol, "/vol")
		b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/vol/proc", Type: "proc", Source: "proc"})
	})
	c := atkCreate(e, b)
	e.assertCanaryMounts(c, 0)
	if fi, err := os.Lstat(filepath.Join(vol, "proc")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the volume's symlink was replaced: %v %v", fi, err)
	}
	e.wantRefused(c, "/vol/proc")
}
