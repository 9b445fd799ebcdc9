package rootfs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// childEnv switches the test binary into the helper child (see TestMain).
const childEnv = "OCIRUN_ROOTFS_TEST_CHILD"

func TestMain(m *testing.M) {
	if p := os.Getenv(childEnv); p != "" {
		os.Exit(childMain(p))
	}
	os.Exit(m.Run())
}

// childArgs is what the parent test hands to the helper child.
type childArgs struct {
	Spec    *specs.Spec
	Rootfs  string
	NoPivot bool
	UserNS  bool
	// Hosts is the content of the file bound onto /etc/hosts.
	Hosts string
	// EvilSub is where the mount with destination /evil/sub must appear
	// inside the container (/evil links to this absolute path + "/..").
	EvilSub string
	// ExistingSub is the same for /evil2/sub, /evil2 linking to an existing
	// host directory that must stay empty.
	ExistingSub string
	// HostHasKcore: the kernel has /proc/kcore (CONFIG_PROC_KCORE).
	HostHasKcore bool
}

const (
	usernsHostID = 100000
	usernsSize   = 65536
)

func TestPrepareInNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates mount, pid and user namespaces and mounts filesystems")
	}
	base := t.TempDir()
	// Make the bundle's directory a shared mount on the host: a mount made
	// in the container that is not cut off by rslave/private would then
	// show up in the host's mountinfo.
	if err := unix.Mount(base, base, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(base, unix.MNT_DETACH); err != nil {
			t.Error(err)
		}
	})
	if err := unix.Mount("", base, "", unix.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		noPivot bool
		userNS  bool
		flags   uintptr
	}{
		{name: "pivot_root", flags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC},
		{name: "no-pivot", noPivot: true, flags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC},
		{
			// sysfs needs a network namespace and mqueue an ipc namespace
			// owned by the user namespace; the cgroup namespace makes the
			// cgroup mount use real cgroup filesystems.
			name: "userns", userNS: true,
			flags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS |
				syscall.CLONE_NEWIPC | syscall.CLONE_NEWNET | syscall.CLONE_NEWCGROUP,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, tc.name)
			args := buildBundle(t, dir, tc.userNS)
			args.NoPivot = tc.noPivot
			args.Spec.Linux.Namespaces = namespacesFor(tc.flags)
			runChild(t, dir, args, tc.flags)

			// Nothing may be left mounted on the host under the bundle.
			for _, mp := range hostMountpoints(t) {
				if strings.HasPrefix(mp, base+"/") {
					t.Errorf("host mountinfo has %s: a mount leaked out of the container", mp)
				}
			}
			// /evil -> <outside> (absolute): the directory must be created
			// inside the rootfs, never on the host.
			outside := strings.TrimSuffix(args.EvilSub, "/sub")
			if _, err := os.Lstat(outside); !os.IsNotExist(err) {
				t.Errorf("host path %s exists (err %v): mount destination escaped the rootfs", outside, err)
			}
			existing := strings.TrimSuffix(args.ExistingSub, "/sub")
			if ents, err := os.ReadDir(existing); err != nil || len(ents) != 0 {
				t.Errorf("host directory %s has %d entries (err %v): mount destination escaped the rootfs", existing, len(ents), err)
			}
			for _, p := range []string{args.EvilSub, existing + "/sub"} {
				if st, err := os.Stat(filepath.Join(args.Rootfs, p)); err != nil || !st.IsDir() {
					t.Errorf("rootfs%s is not a directory (err %v): symlinked destination not resolved in the rootfs", p, err)
				}
			}
		})
	}
}

// runChild re-executes the test binary as the container init and checks
// the report it prints.
func runChild(t *testing.T, dir string, args *childArgs, flags uintptr) {
	t.Helper()
	argsFile := filepath.Join(dir, "child.json")
	data, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(argsFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// /proc/self/exe rather than os.Args[0]: in the user namespace the
	// child cannot search the root-only go-build directory, but the magic
	// link does not walk it.
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+argsFile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	if args.UserNS {
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: usernsHostID, Size: usernsSize}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: usernsHostID, Size: usernsSize}}
		// Become the namespace's root (host uid usernsHostID), as the C
		// bootstrap of `ocirun init` does.
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
	}
	// Errors, not fatal: the host-side checks must run after a failed child.
	if err := cmd.Run(); err != nil {
		t.Errorf("child: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
		return
	}
	var report []checkResult
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Errorf("parse child report: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		return
	}
	got := map[string]bool{}
	for _, r := range report {
		got[r.Name] = true
		if r.Err != "" {
			t.Errorf("inside the container, %s: %s", r.Name, r.Err)
		}
	}
	for _, c := range containerChecks(args) {
		if !got[c.name] {
			t.Errorf("child did not report check %q", c.name)
		}
	}
}

func namespacesFor(flags uintptr) []specs.LinuxNamespace {
	all := []struct {
		flag uintptr
		t    specs.LinuxNamespaceType
	}{
		{syscall.CLONE_NEWNS, specs.MountNamespace}, {syscall.CLONE_NEWPID, specs.PIDNamespace},
		{syscall.CLONE_NEWUTS, specs.UTSNamespace}, {syscall.CLONE_NEWIPC, specs.IPCNamespace},
		{syscall.CLONE_NEWNET, specs.NetworkNamespace}, {syscall.CLONE_NEWUSER, specs.UserNamespace},
		{syscall.CLONE_NEWCGROUP, specs.CgroupNamespace},
	}
	var ns []specs.LinuxNamespace
	for _, a := range all {
		if flags&a.flag != 0 {
			ns = append(ns, specs.LinuxNamespace{Type: a.t})
		}
	}
	return ns
}

// buildBundle makes a busybox rootfs plus host files to bind, and the spec.
func buildBundle(t *testing.T, dir string, userNS bool) *childArgs {
	t.Helper()
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "data", "secret"} {
		mustMkdir(t, filepath.Join(rootfs, d))
	}
	copyFile(t, "/bin/busybox", filepath.Join(rootfs, "bin/busybox"), 0o755)
	mustWrite(t, filepath.Join(rootfs, "secret/hidden"), "do not show")
	mustWrite(t, filepath.Join(rootfs, "data/file"), "data")
	outside := filepath.Join(dir, "outside-evil")
	if err := os.Symlink(outside, filepath.Join(rootfs, "evil")); err != nil {
		t.Fatal(err)
	}
	// The same with a host directory that exists: it must stay empty.
	existing := filepath.Join(dir, "outside-existing")
	mustMkdir(t, existing)
	if err := os.Symlink(existing, filepath.Join(rootfs, "evil2")); err != nil {
		t.Fatal(err)
	}
	hosts := filepath.Join(dir, "hosts")
	hostsContent := "127.0.0.1 localhost rootfs-test\n"
	mustWrite(t, hosts, hostsContent)
	hostRO := filepath.Join(dir, "hostro")
	mustMkdir(t, hostRO)
	mustWrite(t, filepath.Join(hostRO, "file"), "host file")
	hostRec := filepath.Join(dir, "hostrec")
	mustMkdir(t, hostRec)

	if userNS {
		// The user namespace's root is an unprivileged host uid: it needs
		// to own the rootfs and to search the directories above it.
		for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		err := filepath.Walk(rootfs, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, usernsHostID, usernsHostID)
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	fm := func(m os.FileMode) *os.FileMode { return &m }
	id := func(i uint32) *uint32 { return &i }
	spec := &specs.Spec{
		Root: &specs.Root{Path: rootfs, Readonly: true},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
			{Destination: "/etc/hosts", Type: "bind", Source: hosts, Options: []string{"rbind", "rprivate"}},
			{Destination: "/mnt/ro", Type: "bind", Source: hostRO, Options: []string{"rbind", "ro", "nosuid"}},
			{Destination: "/rec", Type: "bind", Source: hostRec, Options: []string{"rbind", "rro"}},
			{Destination: "/tmpfs", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m", "mode=755"}},
			{Destination: "/evil/sub", Type: "tmpfs", Source: "tmpfs"},
			{Destination: "/evil2/sub", Type: "bind", Source: hostRO, Options: []string{"rbind", "ro"}},
		},
		Linux: &specs.Linux{
			Devices: []specs.LinuxDevice{
				{Path: "/dev/net/tun", Type: "c", Major: 10, Minor: 200, FileMode: fm(0o640), UID: id(1), GID: id(2)},
				{Path: "/dev/myfifo", Type: "p", FileMode: fm(0o600)},
			},
			MaskedPaths:   []string{"/proc/kcore", "/proc/timer_list", "/secret", "/does/not/exist"},
			ReadonlyPaths: []string{"/proc/sys", "/data", "/missing/too"},
		},
	}
	_, err := os.Stat("/proc/kcore")
	return &childArgs{
		Spec: spec, Rootfs: rootfs, UserNS: userNS, Hosts: hostsContent,
		EvilSub: outside + "/sub", ExistingSub: existing + "/sub",
		HostHasKcore: err == nil,
	}
}

func hostMountpoints(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mps []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if _, mp, _, _, ok := parseMountinfoLine(sc.Text()); ok {
			mps = append(mps, mp)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return mps
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
