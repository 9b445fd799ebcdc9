package rootfs

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"
)

// checkResult is one check the child ran inside the container.
type checkResult struct {
	Name string
	Err  string
}

type namedCheck struct {
	name string
	fn   func() error
}

// childState is what the child learns while setting up, for the checks.
type childState struct {
	beforePivotErr error
	consoleRdev    uint64
}

var child childState

// childMain is the container init: it builds the rootfs with Prepare,
// BindConsole and Finalize, then runs the checks and prints a JSON report.
func childMain(argsFile string) int {
	runtime.LockOSThread()
	data, err := os.ReadFile(argsFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var args childArgs
	if err := json.Unmarshal(data, &args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := setupChild(&args); err != nil {
		fmt.Fprintln(os.Stderr, "set up container:", err)
		return 1
	}
	var report []checkResult
	for _, c := range containerChecks(&args) {
		r := checkResult{Name: c.name}
		if err := c.fn(); err != nil {
			r.Err = err.Error()
		}
		report = append(report, r)
	}
	if err := json.NewEncoder(os.Stdout).Encode(report); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func setupChild(args *childArgs) error {
	c := &Config{Spec: args.Spec, Rootfs: args.Rootfs, NoPivot: args.NoPivot}
	c.BeforePivot = func() error {
		// Hooks run with the devices in place and the root not yet moved.
		// The rootfs path is a host path, the same as the config mounts see.
		child.beforePivotErr = checkCharDev(args.Rootfs+"/dev/null", 1, 3)
		return nil
	}
	if err := Prepare(c); err != nil {
		return err
	}
	// As `ocirun init` does: the pty comes from the container's own
	// devpts (/dev/ptmx -> pts/ptmx), opened after the pivot.
	pty, slavePath, err := console.NewPty()
	if err != nil {
		return fmt.Errorf("open pty: %w", err)
	}
	defer pty.Close()
	slave, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("open pty slave: %w", err)
	}
	defer slave.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(slave.Fd()), &st); err != nil {
		return err
	}
	child.consoleRdev = st.Rdev
	if err := BindConsole(slave); err != nil {
		return err
	}
	return Finalize(args.Spec)
}

// containerChecks are run by the child inside the container; the parent
// uses the names to make sure every one was reported.
func containerChecks(args *childArgs) []namedCheck {
	return []namedCheck{
		{"cwd is /", func() error {
			wd, err := os.Getwd()
			if err == nil && wd != "/" {
				err = fmt.Errorf("cwd is %s", wd)
			}
			return err
		}},
		{"BeforePivot saw /dev/null in the rootfs", func() error { return child.beforePivotErr }},
		{"mountinfo", func() error { return checkMountinfo(args) }},
		{"/dev/null is 1:3 mode 0666", func() error { return checkDev("/dev/null", unix.S_IFCHR, 1, 3, 0o666, nil) }},
		{"/dev/tty is 5:0", func() error { return checkCharDev("/dev/tty", 5, 0) }},
		{"/dev/net/tun from linux.devices", func() error {
			if args.UserNS { // bind of the host node: its owner is not mapped
				return checkDev("/dev/net/tun", unix.S_IFCHR, 10, 200, 0o600, nil)
			}
			return checkDev("/dev/net/tun", unix.S_IFCHR, 10, 200, 0o640, []uint32{1, 2})
		}},
		{"/dev/myfifo is a fifo 0600", func() error { return checkDev("/dev/myfifo", unix.S_IFIFO, 0, 0, 0o600, nil) }},
		{"/dev symlinks", func() error {
			for name, want := range map[string]string{
				"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0", "/dev/stdout": "/proc/self/fd/1",
				"/dev/stderr": "/proc/self/fd/2", "/dev/ptmx": "pts/ptmx",
			} {
				if got, err := os.Readlink(name); err != nil || got != want {
					return fmt.Errorf("readlink %s = %q, %v; want %q", name, got, err, want)
				}
			}
			return nil
		}},
		{"/dev/console is the pty slave", func() error {
			var st unix.Stat_t
			if err := unix.Stat("/dev/console", &st); err != nil {
				return err
			}
			if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != child.consoleRdev {
				return fmt.Errorf("/dev/console mode %#o rdev %#x, want the pty %#x", st.Mode, st.Rdev, child.consoleRdev)
			}
			return nil
		}},
		{"read-only places refuse writes with EROFS", func() error {
			for _, p := range []string{"/newfile", "/mnt/ro/new", "/rec/new", "/data/new", "/secret/new", "/sys/fs/cgroup/new"} {
				if err := os.WriteFile(p, nil, 0o644); !errors.Is(err, unix.EROFS) {
					return fmt.Errorf("write %s: %v, want EROFS", p, err)
				}
			}
			return nil
		}},
		{"writable tmpfs mounts accept writes", func() error {
			for _, p := range []string{"/tmpfs/new", "/dev/shm/new", args.EvilSub + "/new"} {
				if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
					return err
				}
			}
			return nil
		}},
		{"/tmpfs is 1m mode 0755", func() error {
			var st unix.Stat_t
			if err := unix.Stat("/tmpfs", &st); err != nil {
				return err
			}
			var fs unix.Statfs_t
			if err := unix.Statfs("/tmpfs", &fs); err != nil {
				return err
			}
			if st.Mode&0o7777 != 0o755 || fs.Blocks*uint64(fs.Bsize) != 1<<20 {
				return fmt.Errorf("mode %#o size %d, want 0755 and 1MiB", st.Mode&0o7777, fs.Blocks*uint64(fs.Bsize))
			}
			return nil
		}},
		{"bound files have the host content", func() error {
			for p, want := range map[string]string{"/etc/hosts": args.Hosts, "/mnt/ro/file": "host file"} {
				if got, err := os.ReadFile(p); err != nil || string(got) != want {
					return fmt.Errorf("read %s = %q, %v; want %q", p, got, err, want)
				}
			}
			return nil
		}},
		{"/proc/timer_list is masked by /dev/null", func() error { return checkMaskedFile("/proc/timer_list") }},
		{"/proc/kcore is masked, or absent as on the host", func() error {
			if args.HostHasKcore {
				return checkMaskedFile("/proc/kcore")
			}
			if _, err := os.Lstat("/proc/kcore"); !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("host has no /proc/kcore but the container has: %v", err)
			}
			return nil
		}},
		{"/secret is masked by an empty tmpfs", func() error {
			ents, err := os.ReadDir("/secret")
			if err == nil && len(ents) != 0 {
				err = fmt.Errorf("/secret has %d entries", len(ents))
			}
			return err
		}},
		{"cgroup hierarchies are mounted", func() error {
			for _, p := range []string{"/sys/fs/cgroup/memory/cgroup.procs", "/sys/fs/cgroup/unified/cgroup.procs"} {
				if _, err := os.Stat(p); err != nil {
					return err
				}
			}
			return nil
		}},
		{"busybox runs in the new root", func() error {
			out, err := exec.Command("/bin/busybox", "cat", "/etc/hosts").Output()
			if err == nil && string(out) != args.Hosts {
				err = fmt.Errorf("output %q", out)
			}
			return err
		}},
	}
}

func checkMaskedFile(p string) error {
	if err := checkCharDev(p, 1, 3); err != nil {
		return err
	}
	data, err := os.ReadFile(p)
	if err == nil && len(data) != 0 {
		err = fmt.Errorf("read %d bytes from %s", len(data), p)
	}
	return err
}

func checkCharDev(p string, major, minor uint32) error {
	return checkDev(p, unix.S_IFCHR, major, minor, 0, nil)
}

// checkDev checks type, device number, permission bits (unless perm is 0)
// and owner (if owner is uid, gid).
func checkDev(p string, typ, major, minor, perm uint32, owner []uint32) error {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != typ || unix.Major(st.Rdev) != major || unix.Minor(st.Rdev) != minor {
		return fmt.Errorf("%s: mode %#o rdev %d:%d, want type %#o %d:%d", p, st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev), typ, major, minor)
	}
	if perm != 0 && st.Mode&0o7777 != perm {
		return fmt.Errorf("%s: permissions %#o, want %#o", p, st.Mode&0o7777, perm)
	}
	if owner != nil && (st.Uid != owner[0] || st.Gid != owner[1]) {
		return fmt.Errorf("%s: owner %d:%d, want %d:%d", p, st.Uid, st.Gid, owner[0], owner[1])
	}
	return nil
}

type mountRow struct{ fstype, opts, super string }

// checkMountinfo checks the container's own mount table: the expected
// mounts with their types and options, and nothing else (the host's mounts
// are gone with the old root).
func checkMountinfo(args *childArgs) error {
	rows, err := ownMountinfo()
	if err != nil {
		return err
	}
	want := map[string]func(r mountRow) bool{
		"/":                func(r mountRow) bool { return hasOpt(r.opts, "ro") },
		"/proc":            fstype("proc"),
		"/dev":             fstype("tmpfs"),
		"/dev/pts":         fstype("devpts"),
		"/dev/shm":         func(r mountRow) bool { return r.fstype == "tmpfs" && hasOpt(r.opts, "noexec") },
		"/dev/mqueue":      fstype("mqueue"),
		"/sys":             func(r mountRow) bool { return r.fstype == "sysfs" && hasOpt(r.opts, "ro") },
		"/sys/fs/cgroup":   func(r mountRow) bool { return r.fstype == "tmpfs" && hasOpt(r.opts, "ro") },
		"/etc/hosts":       func(r mountRow) bool { return !hasOpt(r.opts, "ro") },
		"/mnt/ro":          func(r mountRow) bool { return hasOpt(r.opts, "ro") && hasOpt(r.opts, "nosuid") },
		"/rec":             func(r mountRow) bool { return hasOpt(r.opts, "ro") },
		"/tmpfs":           func(r mountRow) bool { return r.fstype == "tmpfs" && hasOpt(r.super, "size=1024k") },
		args.EvilSub:       fstype("tmpfs"),
		args.ExistingSub:   func(r mountRow) bool { return hasOpt(r.opts, "ro") },
		"/proc/timer_list": func(r mountRow) bool { return r.fstype == "devtmpfs" || r.fstype == "tmpfs" },
		"/secret":          func(r mountRow) bool { return r.fstype == "tmpfs" && hasOpt(r.opts, "ro") },
		"/data":            func(r mountRow) bool { return hasOpt(r.opts, "ro") },
		"/proc/sys":        func(r mountRow) bool { return r.fstype == "proc" && hasOpt(r.opts, "ro") },
		"/dev/console":     fstype("devpts"),
		"/sys/fs/cgroup/memory": func(r mountRow) bool {
			return r.fstype == "cgroup" && hasOpt(r.opts, "ro") && hasOpt(r.super, "memory")
		},
	}
	if args.HostHasKcore {
		want["/proc/kcore"] = want["/proc/timer_list"]
	}
	for mp, ok := range want {
		r, found := rows[mp]
		if !found {
			return fmt.Errorf("no mount at %s", mp)
		}
		if !ok(r) {
			return fmt.Errorf("mount at %s is %+v", mp, r)
		}
	}
	for mp := range rows {
		if _, expected := want[mp]; expected || strings.HasPrefix(mp, "/sys/fs/cgroup/") {
			continue
		}
		if args.UserNS && strings.HasPrefix(mp, "/dev/") { // bind-mounted host device nodes
			continue
		}
		return fmt.Errorf("unexpected mount at %s: %+v", mp, rows[mp])
	}
	return nil
}

func fstype(t string) func(mountRow) bool { return func(r mountRow) bool { return r.fstype == t } }

func hasOpt(list, opt string) bool { return slices.Contains(strings.Split(list, ","), opt) }

// ownMountinfo maps each mount point to its last (topmost) row.
func ownMountinfo() (map[string]mountRow, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows := map[string]mountRow{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		a, b := strings.Fields(pre), strings.Fields(post)
		if !ok || len(a) < 6 || len(b) < 3 {
			return nil, fmt.Errorf("bad mountinfo line %q", sc.Text())
		}
		rows[unescapeMountinfo(a[4])] = mountRow{fstype: b[0], opts: a[5], super: b[2]}
	}
	return rows, sc.Err()
}
