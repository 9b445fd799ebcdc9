package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// This file: the device nodes and /dev of a container (defaults, their
// modes, linux.devices of every type, overrides, nested and out-of-/dev
// paths, user namespaces, an image's own /dev) and /dev/console, together
// with masking and read-only paths applied after them. Helpers are prefixed
// "dev"; the teardown checks are propagation_test.go's "prop" helpers.

// devDropMount removes the config's mount on dest (the /dev tmpfs, to use
// the image's own /dev).
func devDropMount(s *specs.Spec, dest string) {
	var out []specs.Mount
	for _, m := range s.Mounts {
		if m.Destination != dest {
			out = append(out, m)
		}
	}
	s.Mounts = out
}

// devMode is a *os.FileMode holding raw unix permission bits, as a config's
// fileMode integer decodes (0o1640 is sticky + 0640, not Go's ModeSticky).
func devMode(m uint32) *os.FileMode {
	fm := os.FileMode(m)
	return &fm
}

func devID(n uint32) *uint32 { return &n }

// devConsoleRun creates and starts a container with a terminal (mut adjusts
// the bundle), receives the pty master on a console socket, and returns all
// the script printed (without carriage returns) once it printed
// "dev-done". It then waits for the container to stop, deletes it and
// checks the host for mounts left under its bundle or rootfs.
func devConsoleRun(t *testing.T, mut func(b *bundle), script string) string {
	t.Helper()
	r := newRT(t)
	sock, awaitMaster := consoleSocket(t)

	b := r.newBundle(func(b *bundle) {
		b.Spec.Process.Terminal = true
		b.script(script + "\necho dev-done")
		if mut != nil {
			mut(b)
		}
	})
	b.mustCreate("--console-socket", sock)
	master := awaitMaster()
	r.must("start", b.ID)
	// The whole line: "dev-done" and its newline can come in two reads.
	text := readConsoleUntil(t, master, "dev-done\r\n")
	if !strings.Contains(text, "dev-done\n") {
		t.Fatalf("console output ended before dev-done: %q", text)
	}
	b.waitStatus("stopped")
	r.must("delete", b.ID)
	propAssertTeardown(t, b)
	return text
}

// devWant fails the test for each line of want missing from out.
func devWant(t *testing.T, out string, want ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		have[l] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("container output lacks %q:\n%s", w, out)
		}
	}
}

// TestDevicesDefaultSet extends TestDefaultDevices (numbers, links): the
// default nodes are mode 0666 and owned by root; /dev/pts is a new devpts
// instance holding only its ptmx (5:2, mode 0666 from ptmxmode); /dev/shm
// is a writable tmpfs; /dev/fd lists the process's fds; there is no
// /dev/console without a terminal.
func TestDevicesDefaultSet(t *testing.T) {
	t.Parallel()
	out := propRun(t, nil, `for d in null zero full random urandom tty; do stat -c '%n %F %a %u:%g' /dev/$d; done
stat -c '%n %F %t:%T %a' /dev/pts/ptmx
echo "pts: $(ls /dev/pts | tr '\n' ' ')"
awk '$5 == "/dev/shm" || $5 == "/dev/pts" { print "mount", $5, $(NF-2) }' /proc/self/mountinfo
echo shm > /dev/shm/f && cat /dev/shm/f
[ -e /dev/fd/0 ] && [ -e /dev/stdout ] && echo fd-ok
[ -e /dev/console ] || echo no-console
head -c 8 /dev/full > /dev/null && echo full-read
echo x > /dev/full 2>/dev/null || echo full-enospc`)
	devWant(t, out,
		"/dev/null character special file 666 0:0",
		"/dev/zero character special file 666 0:0",
		"/dev/full character special file 666 0:0",
		"/dev/random character special file 666 0:0",
		"/dev/urandom character special file 666 0:0",
		"/dev/tty character special file 666 0:0",
		"/dev/pts/ptmx character special file 5:2 666",
		"pts: ptmx ",
		"mount /dev/pts devpts",
		"mount /dev/shm tmpfs",
		"shm", "fd-ok", "no-console", "full-read", "full-enospc",
	)
}

// TestDevicesConfigured: linux.devices of types c, b, u and p get exactly
// their type, numbers, fileMode, uid and gid; without fileMode a node is
// 0666 root:root; a configured
// /dev/full replaces the default one; a device in a sub-directory is
// created with its parents, and works.
func TestDevicesConfigured(t *testing.T) {
	t.Parallel()
	out := propRun(t, func(b *bundle) {
		b.Spec.Linux.Devices = []specs.LinuxDevice{
			{Path: "/dev/blk", Type: "b", Major: 7, Minor: 200, FileMode: devMode(0o640), UID: devID(1001), GID: devID(1002)},
			{Path: "/dev/unbuf", Type: "u", Major: 1, Minor: 3, FileMode: devMode(0o600), UID: devID(0), GID: devID(5)},
			{Path: "/dev/fifo", Type: "p", FileMode: devMode(0o604), UID: devID(1000), GID: devID(1000)},
			{Path: "/dev/chr", Type: "c", Major: 1, Minor: 8, FileMode: devMode(0o660), GID: devID(5)},
			{Path: "/dev/plain", Type: "c", Major: 1, Minor: 9},
			{Path: "/dev/full", Type: "c", Major: 1, Minor: 5, FileMode: devMode(0o600), UID: devID(1000)},
			{Path: "/dev/sub/dir/null", Type: "c", Major: 1, Minor: 3, FileMode: devMode(0o666)},
		}
	}, `for d in blk unbuf fifo chr plain full sub/dir/null; do stat -c '%n %F %t:%T %a %u %g' /dev/$d; done
stat -c '%n %F %a' /dev/sub /dev/sub/dir
echo x > /dev/sub/dir/null && echo subnull-ok`)
	devWant(t, out,
		"/dev/blk block special file 7:c8 640 1001 1002",
		"/dev/unbuf character special file 1:3 600 0 5",
		"/dev/fifo fifo 0:0 604 1000 1000",
		"/dev/chr character special file 1:8 660 0 5",
		"/dev/plain character special file 1:9 666 0 0",
		"/dev/full character special file 1:5 600 1000 0",
		"/dev/sub/dir/null character special file 1:3 666 0 0",
		"/dev/sub directory 755",
		"/dev/sub/dir directory 755",
		"subnull-ok",
	)
}

// TestDevicesFileModeSpecialBits: a config's fileMode is an integer of unix
// mode bits (what runc's DeviceFromPath and containerd write, and what runc
// passes to mknod), so 0o1660 and 0o2640 carry the sticky and setgid bits,
// which must show on the node (not only Go's os.ModeSticky/ModeSetgid).
func TestDevicesFileModeSpecialBits(t *testing.T) {
	t.Parallel()
	out := propRun(t, func(b *bundle) {
		b.Spec.Linux.Devices = []specs.LinuxDevice{
			{Path: "/dev/sticky", Type: "c", Major: 1, Minor: 8, FileMode: devMode(0o1660), GID: devID(5)},
			{Path: "/dev/setgid", Type: "c", Major: 1, Minor: 9, FileMode: devMode(0o2640), GID: devID(5)},
		}
	}, `stat -c '%n %a %u %g' /dev/sticky /dev/setgid`)
	devWant(t, out, "/dev/sticky 1660 0 5", "/dev/setgid 2640 0 5")
}

// TestDevicesUserNamespace: in a user namespace mknod is not allowed, so
// each default device is a bind mount of the host's node: the container's
// mountinfo has a mount on each, the nodes are the right devices, and
// they work.
func TestDevicesUserNamespace(t *testing.T) {
	t.Parallel()
	out := propRun(t, func(b *bundle) {
		b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		b.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		b.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	}, `for d in null zero full random urandom tty; do
  echo "$d $(stat -c '%F %t:%T' /dev/$d) mounts=$(awk -v p=/dev/$d '$5 == p' /proc/self/mountinfo | wc -l)"
done
echo x > /dev/null && echo null-ok
echo "zero $(head -c 16 /dev/zero | wc -c) $(head -c 16 /dev/zero | tr -d '\000' | wc -c)"
echo "urandom $(head -c 16 /dev/urandom | wc -c)"`)
	devWant(t, out,
		"null character special file 1:3 mounts=1",
		"zero character special file 1:5 mounts=1",
		"full character special file 1:7 mounts=1",
		"random character special file 1:8 mounts=1",
		"urandom character special file 1:9 mounts=1",
		"tty character special file 5:0 mounts=1",
		"null-ok", "zero 16 0", "urandom 16",
	)
}

// TestDevicesOutsideDev: a device whose path is outside /dev is created
// there, with its parents (in the container's own copy of the image).
func TestDevicesOutsideDev(t *testing.T) {
	t.Parallel()
	var rootfs string
	out := propRun(t, func(b *bundle) {
		rootfs = b.copyRootfs()
		b.Spec.Linux.Devices = []specs.LinuxDevice{
			{Path: "/mydev", Type: "c", Major: 1, Minor: 5, FileMode: devMode(0o644), UID: devID(1000), GID: devID(1000)},
			{Path: "/opt/devs/zero", Type: "c", Major: 1, Minor: 5},
		}
	}, `stat -c '%n %F %t:%T %a %u %g' /mydev /opt/devs/zero; echo "read $(head -c 4 /mydev | wc -c)"`)
	devWant(t, out,
		"/mydev character special file 1:5 644 1000 1000",
		"/opt/devs/zero character special file 1:5 666 0 0",
		"read 4",
	)
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(rootfs, "mydev"), &st); err == nil {
		t.Logf("the node is left in the image on the host: mode %#o rdev %d:%d", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
}

// TestDevicesImageDevKept: with no tmpfs on /dev, a node the image's /dev
// already holds with the right type and numbers is kept as it is (same
// inode, its own mode), and the missing defaults are created next to it.
func TestDevicesImageDevKept(t *testing.T) {
	t.Parallel()
	var ino uint64
	out := propRun(t, func(b *bundle) {
		rootfs := b.copyRootfs()
		devDropMount(b.Spec, "/dev")
		p := filepath.Join(rootfs, "dev/null")
		if err := unix.Mknod(p, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatal(err)
		}
		if err := unix.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		ino = st.Ino
	}, `stat -c '%n %F %t:%T %a %i' /dev/null; stat -c '%n %F %t:%T' /dev/zero
echo x > /dev/null && echo null-ok`)
	devWant(t, out,
		"/dev/null character special file 1:3 600 "+strconv.FormatUint(ino, 10),
		"/dev/zero character special file 1:5",
		"null-ok",
	)
}

// TestDevicesImageDevNullRegularFile: with no tmpfs on /dev, the image's
// /dev/null is a regular file. The runtime either gives the container a
// working /dev/null (the 1:3 device: writes vanish instead of landing in
// the image) or refuses with an error naming /dev/null; both are accepted,
// which one is logged. With the default maskedPaths (which bind /dev/null)
// and with none.
func TestDevicesImageDevNullRegularFile(t *testing.T) {
	t.Parallel()
	for _, masks := range []bool{true, false} {
		name := "default_masks"
		if !masks {
			name = "no_masks"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRT(t)
			var file string
			b := r.newBundle(func(b *bundle) {
				file = filepath.Join(b.copyRootfs(), "dev/null")
				devDropMount(b.Spec, "/dev")
				if !masks {
					b.Spec.Linux.MaskedPaths = nil
				}
				if err := os.WriteFile(file, []byte("image file\n"), 0o666); err != nil {
					t.Fatal(err)
				}
				b.script(`stat -c '%F %t:%T' /dev/null; echo written > /dev/null; cat /dev/null; echo end
awk '$5 == "/dev/null" { print "mount", $(NF-2), $4 }' /proc/self/mountinfo`)
			})
			res := b.runFg()
			r.must("delete", "--force", b.ID)
			propAssertTeardown(t, b)
			if got := readFile(t, file); got != "image file\n" {
				t.Errorf("the image's /dev/null now holds %q", got)
			}
			if res.Code != 0 {
				if !strings.Contains(res.Stderr, "/dev/null") {
					t.Errorf("refused without naming /dev/null: %s", res)
				}
				t.Logf("runtime refused: %s", strings.TrimSpace(res.Stderr))
				return
			}
			if !strings.HasPrefix(res.Stdout, "character special file 1:3\nend\n") {
				t.Errorf("container's /dev/null is not the null device: %q", res.Stdout)
			}
			t.Logf("runtime ran the container: %q", res.Stdout)
		})
	}
}

// TestDevicesConsole: with terminal: true, /dev/console is a bind mount of
// the process's pty: a character device of the pts major 136, the same
// device as its stdin, on devpts in the container's mountinfo.
func TestDevicesConsole(t *testing.T) {
	t.Parallel()
	out := devConsoleRun(t, nil, `echo "console $(stat -c '%F %t' /dev/console)"
[ "$(stat -c %t:%T /dev/console)" = "$(stat -L -c %t:%T /proc/self/fd/0)" ] && echo same-as-stdin
awk '$5 == "/dev/console" { print "mount", $(NF-2) }' /proc/self/mountinfo`)
	devWant(t, out, "console character special file 88", "same-as-stdin", "mount devpts")
}

// TestDevicesMaskedConsole: maskedPaths are applied after the console, so a
// masked /dev/console is /dev/null's device, while the process keeps its
// terminal.
func TestDevicesMaskedConsole(t *testing.T) {
	t.Parallel()
	out := devConsoleRun(t, func(b *bundle) {
		b.Spec.Linux.MaskedPaths = append(b.Spec.Linux.MaskedPaths, "/dev/console")
	}, `echo "console $(stat -c '%F %t:%T' /dev/console)"
[ -t 0 ] && [ -t 1 ] && echo tty-ok`)
	devWant(t, out, "console character special file 1:3", "tty-ok")
}

// TestDevicesReadonlyDev: readonlyPaths are applied after the devices and
// the console, so readonlyPaths ["/dev"] does not stop them being made: the
// container starts with a terminal and its devices, and /dev refuses new
// files with EROFS while the nodes still work.
func TestDevicesReadonlyDev(t *testing.T) {
	t.Parallel()
	out := devConsoleRun(t, func(b *bundle) {
		b.Spec.Linux.ReadonlyPaths = append(b.Spec.Linux.ReadonlyPaths, "/dev")
	}, `touch /dev/newfile 2>&1
echo x > /dev/null && echo null-ok
echo "zero $(head -c 4 /dev/zero | wc -c)"
echo "console $(stat -c '%F %t' /dev/console)"
awk '$5 == "/dev" { print "mount", $6 }' /proc/self/mountinfo | tail -1`)
	devWant(t, out,
		"touch: /dev/newfile: Read-only file system",
		"null-ok", "zero 4", "console character special file 88",
	)
	ro := false
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "mount" {
			ro = hasOpt(f[1], "ro")
		}
	}
	if !ro {
		t.Errorf("/dev is not a read-only mount:\n%s", out)
	}
}
