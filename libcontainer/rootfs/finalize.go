package rootfs

import (
	"errors"
	"fmt"
	"os"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// openRoot opens the current root (after pivot_root) as the anchor for
// resolving paths: symlinks in the container still cannot escape it, and
// no path component is followed as a magic link.
func openRoot() (*os.File, error) {
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open root: %w", err)
	}
	return root, nil
}

// BindConsole bind-mounts the pty slave onto /dev/console. It runs after
// the pivot; the target is created in /dev without following a link, and an
// existing /dev/console that is a symlink or directory is refused.
func BindConsole(slave *os.File) error {
	root, err := openRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	dev, err := openDirNoSymlinks(root, "/dev")
	if err != nil {
		return fmt.Errorf("bind console: %w", err)
	}
	defer dev.Close()
	fd, err := unix.Openat(int(dev.Fd()), "console", unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o600)
	switch {
	case err == nil:
		unix.Close(fd)
	case !errors.Is(err, unix.EEXIST):
		return fmt.Errorf("create /dev/console: %w", err)
	}
	fd, err = unix.Openat(int(dev.Fd()), "console", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/console: %w", err)
	}
	target := os.NewFile(uintptr(fd), "/dev/console")
	defer target.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat /dev/console: %w", err)
	}
	if t := st.Mode & unix.S_IFMT; t == unix.S_IFLNK || t == unix.S_IFDIR {
		return fmt.Errorf("bind console: /dev/console is not a file (mode %#o)", st.Mode)
	}
	if err := unix.Mount(fdPath(slave), fdPath(target), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mount %s on /dev/console: %w", slave.Name(), err)
	}
	return nil
}

// Finalize runs after the pivot and the console: it makes the root
// read-only if asked, masks linux.maskedPaths and makes linux.readonlyPaths
// read-only. Missing paths are skipped; every other error is returned.
func Finalize(s *specs.Spec) error {
	if s.Root != nil && s.Root.Readonly {
		if err := remountRootReadonly(); err != nil {
			return err
		}
	}
	if s.Linux == nil {
		return nil
	}
	root, err := openRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	if len(s.Linux.MaskedPaths) > 0 {
		if err := maskPaths(root, s.Linux.MaskedPaths); err != nil {
			return err
		}
	}
	for _, p := range s.Linux.ReadonlyPaths {
		if err := readonlyPath(root, p); err != nil {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
	}
	// Last: an unbindable "/" would refuse the binds above.
	if s.Linux.RootfsPropagation != "" && hasNamespace(s, specs.MountNamespace) {
		if err := unix.Mount("", "/", "", rootPropagation(s), ""); err != nil {
			return fmt.Errorf("set propagation of the container's root: %w", err)
		}
	}
	return nil
}

// remountRootReadonly remounts "/" read-only keeping its other flags.
func remountRootReadonly() error {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil {
		return fmt.Errorf("statfs /: %w", err)
	}
	flags := uintptr(st.Flags)&lockedFlags | unix.MS_RDONLY | unix.MS_BIND | unix.MS_REMOUNT
	if err := unix.Mount("", "/", "", flags, ""); err != nil {
		return fmt.Errorf("remount / read-only: %w", err)
	}
	return nil
}

// maskPaths hides files behind /dev/null and directories behind an empty
// read-only tmpfs. /dev/null is checked to be the real 1:3 device first.
func maskPaths(root *os.File, paths []string) error {
	null, err := openDevNull(root)
	if err != nil {
		return err
	}
	defer null.Close()
	for _, p := range paths {
		if err := maskPath(root, null, p); err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	return nil
}

func openDevNull(root *os.File) (*os.File, error) {
	dev, err := openDirNoSymlinks(root, "/dev")
	if err != nil {
		return nil, err
	}
	defer dev.Close()
	fd, err := unix.Openat(int(dev.Fd()), "null", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/null: %w", err)
	}
	null := os.NewFile(uintptr(fd), "/dev/null")
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		null.Close()
		return nil, fmt.Errorf("stat /dev/null: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		null.Close()
		return nil, fmt.Errorf("check /dev/null: not the character device 1:3 (mode %#o, rdev %#x)", st.Mode, st.Rdev)
	}
	return null, nil
}

func maskPath(root, null *os.File, p string) error {
	target, err := pathrs.OpenatInRoot(root, p)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer target.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(target.Fd()), &st); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.Mount("tmpfs", fdPath(target), "tmpfs", unix.MS_RDONLY, "")
	}
	return unix.Mount(fdPath(null), fdPath(target), "", unix.MS_BIND, "")
}

// readonlyPath binds p onto itself and remounts the bind read-only.
func readonlyPath(root *os.File, p string) error {
	target, err := pathrs.OpenatInRoot(root, p)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	err = unix.Mount(fdPath(target), fdPath(target), "", unix.MS_BIND|unix.MS_REC, "")
	target.Close()
	if err != nil {
		return fmt.Errorf("bind onto itself: %w", err)
	}
	mounted, err := pathrs.OpenatInRoot(root, p)
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	defer mounted.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(mounted.Fd()), &st); err != nil {
		return fmt.Errorf("statfs: %w", err)
	}
	return remountBind(mounted, uintptr(st.Flags)&lockedFlags|unix.MS_RDONLY, 0)
}
