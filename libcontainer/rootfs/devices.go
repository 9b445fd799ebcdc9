package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// defaultDevices are created in every container unless linux.devices lists
// the same path.
var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

// devLinks are the symlinks every /dev gets (name -> target).
var devLinks = [][2]string{
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
}

// createDevices makes the default and configured device nodes and the /dev
// symlinks. Nodes that already exist are kept (as runc does).
func createDevices(root *os.File, s *specs.Spec) error {
	old := unix.Umask(0)
	defer unix.Umask(old)

	// /dev of the image is populated only if it is a real directory.
	dev, err := openDirNoSymlinks(root, "/dev")
	if err != nil {
		return fmt.Errorf("create devices: %w", err)
	}
	defer dev.Close()
	userNS := hasNamespace(s, specs.UserNamespace)
	for _, d := range specDevices(s) {
		if err := createDevice(root, d, userNS); err != nil {
			return fmt.Errorf("create device %s: %w", d.Path, err)
		}
	}
	for _, l := range devLinks {
		if err := unix.Symlinkat(l[1], int(dev.Fd()), l[0]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("link /dev/%s to %s: %w", l[0], l[1], err)
		}
	}
	return linkPtmx(dev)
}

// specDevices is linux.devices plus the defaults it does not override.
func specDevices(s *specs.Spec) []specs.LinuxDevice {
	var devs []specs.LinuxDevice
	if s.Linux != nil {
		devs = append(devs, s.Linux.Devices...)
	}
	for _, d := range defaultDevices {
		if !containsDevice(devs, d.Path) {
			devs = append(devs, d)
		}
	}
	return devs
}

func containsDevice(devs []specs.LinuxDevice, p string) bool {
	for _, d := range devs {
		if path.Clean(d.Path) == p {
			return true
		}
	}
	return false
}

// linkPtmx makes /dev/ptmx a link to pts/ptmx unless it is a device node.
func linkPtmx(dev *os.File) error {
	var st unix.Stat_t
	err := unix.Fstatat(int(dev.Fd()), "ptmx", &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case err == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR:
		return nil
	case err == nil:
		if err := unix.Unlinkat(int(dev.Fd()), "ptmx", 0); err != nil {
			return fmt.Errorf("remove /dev/ptmx: %w", err)
		}
	case !errors.Is(err, unix.ENOENT):
		return fmt.Errorf("stat /dev/ptmx: %w", err)
	}
	if err := unix.Symlinkat("pts/ptmx", int(dev.Fd()), "ptmx"); err != nil {
		return fmt.Errorf("link /dev/ptmx to pts/ptmx: %w", err)
	}
	return nil
}

// deviceMode is the mknod mode (type and permission bits) of d.
func deviceMode(d specs.LinuxDevice) (uint32, error) {
	var mode uint32
	switch d.Type {
	case "c", "u":
		mode = unix.S_IFCHR
	case "b":
		mode = unix.S_IFBLK
	case "p":
		mode = unix.S_IFIFO
	default:
		return 0, fmt.Errorf("unknown device type %q", d.Type)
	}
	// fileMode holds the raw st_mode permission bits (as runc and
	// containerd read it), not Go's os.FileMode flag layout.
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(*d.FileMode) & 0o7777
	}
	return mode | perm, nil
}

// createDevice makes one node with mknod in its resolved parent directory.
// Inside a user namespace (or where mknod is refused) the host's node is
// bind-mounted onto an empty file instead; FIFOs need no privilege.
func createDevice(root *os.File, d specs.LinuxDevice, userNS bool) error {
	mode, err := deviceMode(d)
	if err != nil {
		return err
	}
	parent, err := mkdirAllInRoot(root, path.Dir(path.Clean(d.Path)))
	if err != nil {
		return fmt.Errorf("create parent directory: %w", err)
	}
	defer parent.Close()
	name := path.Base(d.Path)
	rdev := unix.Mkdev(uint32(d.Major), uint32(d.Minor))
	if d.Type == "p" {
		rdev = 0
	}
	if !userNS || d.Type == "p" {
		err := unix.Mknodat(int(parent.Fd()), name, mode, int(rdev))
		switch {
		case errors.Is(err, unix.EEXIST):
			return checkExistingDevice(parent, name, d, mode, rdev)
		case errors.Is(err, unix.EPERM) && d.Type != "p":
			return bindDevice(parent, name, d, mode, rdev)
		case err != nil:
			return fmt.Errorf("mknod: %w", err)
		}
		return chownDevice(parent, name, d)
	}
	return bindDevice(parent, name, d, mode, rdev)
}

// checkExistingDevice accepts a node the image already has only if it is
// the configured device; an empty regular file gets the host's node bound
// onto it. A symlink, a directory or another device is refused, so that
// nothing later uses it in the belief it is the device (CVE-2025-31133).
func checkExistingDevice(parent *os.File, name string, d specs.LinuxDevice, mode uint32, rdev uint64) error {
	var st unix.Stat_t
	if err := unix.Fstatat(int(parent.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat existing node: %w", err)
	}
	switch {
	case st.Mode&unix.S_IFMT == mode&unix.S_IFMT && (d.Type == "p" || st.Rdev == rdev):
		return nil
	case st.Mode&unix.S_IFMT == unix.S_IFREG && d.Type != "p":
		return bindDevice(parent, name, d, mode, rdev)
	}
	return fmt.Errorf("the rootfs already has %s and it is not the device %s %d:%d (mode %#o)",
		d.Path, d.Type, d.Major, d.Minor, st.Mode)
}

func chownDevice(parent *os.File, name string, d specs.LinuxDevice) error {
	if d.UID == nil && d.GID == nil {
		return nil
	}
	uid, gid := -1, -1
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if err := unix.Fchownat(int(parent.Fd()), name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	return nil
}

// bindDevice bind-mounts the host node at d.Path onto an empty file. The
// host node must be the device the config asks for.
func bindDevice(parent *os.File, name string, d specs.LinuxDevice, mode uint32, rdev uint64) error {
	var st unix.Stat_t
	if err := unix.Stat(d.Path, &st); err != nil {
		return fmt.Errorf("stat host device: %w", err)
	}
	if st.Mode&unix.S_IFMT != mode&unix.S_IFMT || st.Rdev != rdev {
		return fmt.Errorf("host device %s is not %s %d:%d", d.Path, d.Type, d.Major, d.Minor)
	}
	fd, err := unix.Openat(int(parent.Fd()), name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	switch {
	case err == nil:
		unix.Close(fd)
	case !errors.Is(err, unix.EEXIST):
		return fmt.Errorf("create bind target: %w", err)
	}
	target, err := unix.Openat(int(parent.Fd()), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open bind target: %w", err)
	}
	t := os.NewFile(uintptr(target), name)
	defer t.Close()
	if err := unix.Fstat(target, &st); err != nil {
		return fmt.Errorf("stat bind target: %w", err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK || st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("bind target %s is not a file", name)
	}
	if err := unix.Mount(d.Path, fdPath(t), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind host device: %w", err)
	}
	return nil
}
