package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Config is what Prepare needs to build the root filesystem.
type Config struct {
	Spec *specs.Spec
	// Rootfs is the absolute host path of root.path (already validated to
	// be a directory).
	Rootfs string
	// NoPivot uses MS_MOVE + chroot instead of pivot_root (--no-pivot).
	NoPivot bool
	// BeforePivot runs after all mounts and devices are in place and before
	// pivot_root (prestart/createRuntime/createContainer hooks); may be nil.
	BeforePivot func() error
	// MountSources holds, by index in Spec.Mounts, bind sources the runtime
	// opened as detached mounts (open_tree OPEN_TREE_CLONE) because the
	// container's user namespace may not be able to reach them by path.
	MountSources map[int]*os.File
}

// Prepare builds the container's root filesystem and makes it the process's
// root: mount propagation, the rootfs bind, the config's mounts in order,
// device nodes, BeforePivot, then pivot_root (or chroot) and chdir("/").
func Prepare(c *Config) error {
	mountNS := hasNamespace(c.Spec, specs.MountNamespace)
	if mountNS {
		if err := prepareRoot(c); err != nil {
			return err
		}
	}
	root, err := os.OpenFile(c.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer root.Close()

	for i, m := range c.Spec.Mounts {
		if err := mountEntry(root, m, c.Spec, c.MountSources[i]); err != nil {
			return err
		}
	}
	if err := createDevices(root, c.Spec); err != nil {
		return err
	}
	if c.BeforePivot != nil {
		if err := c.BeforePivot(); err != nil {
			return err
		}
	}
	switch {
	case !mountNS:
		// pivot_root in the host's mount namespace would move the host's root.
		err = chrootInto(c.Rootfs)
	case c.NoPivot:
		err = moveRoot(c.Rootfs)
	default:
		err = pivotRoot(c.Rootfs)
	}
	if err != nil {
		return err
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir to new root: %w", err)
	}
	return nil
}

func hasNamespace(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	if s.Linux == nil {
		return false
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

// rootPropagation is linux.rootfsPropagation as mount flags (rslave when
// empty).
func rootPropagation(s *specs.Spec) uintptr {
	if s.Linux != nil {
		if p, ok := propagationFlags[s.Linux.RootfsPropagation]; ok {
			return p
		}
	}
	return unix.MS_SLAVE | unix.MS_REC
}

// isSharedRoot reports whether rootfsPropagation asks for a shared root.
func isSharedRoot(s *specs.Spec) bool {
	return rootPropagation(s)&unix.MS_SHARED != 0
}

// prepareRoot cuts propagation from the container's mount namespace to the
// host, makes the rootfs's parent mount private (pivot_root refuses shared
// parents) and binds the rootfs onto itself so it is a mount point.
//
// Nothing the runtime mounts inside the rootfs may reach the host, whatever
// rootfsPropagation says: by default and for slave/private/unbindable every
// mount becomes a slave (private for private/rprivate) before anything is
// mounted. For shared/rshared the host's peer groups are kept, so that bind
// volumes of shared host mounts stay peers of the host (a mount made in such
// a volume inside the container shows on the host: what the user asked for),
// but the rootfs bind itself is made private, so the runtime's own mounts
// (/proc, /dev, /sys, ...) and the container's mounts elsewhere stay inside.
// An explicit rootfsPropagation is applied to the new "/" last of all, in
// Finalize, after masked and readonly paths (their binds fail under an
// unbindable "/"); the default needs nothing more.
func prepareRoot(c *Config) error {
	if s := c.Spec.Linux; s != nil && s.RootfsPropagation != "" {
		if _, ok := propagationFlags[s.RootfsPropagation]; !ok {
			return fmt.Errorf("set root propagation: unknown rootfsPropagation %q", s.RootfsPropagation)
		}
	}
	shared := isSharedRoot(c.Spec)
	if !shared {
		flags := uintptr(unix.MS_SLAVE | unix.MS_REC)
		if rootPropagation(c.Spec)&unix.MS_PRIVATE != 0 {
			flags = unix.MS_PRIVATE | unix.MS_REC
		}
		if err := unix.Mount("", "/", "", flags, ""); err != nil {
			return fmt.Errorf("set propagation of /: %w", err)
		}
	}
	if shared {
		// pivot_root refuses a new root whose parent mount is shared. In
		// the other modes nothing is shared any more, and the rootfs
		// mount stays a slave of the host's (master:N), as in runc.
		if err := parentMountPrivate(c.Rootfs); err != nil {
			return err
		}
	}
	if err := unix.Mount(c.Rootfs, c.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs %s onto itself: %w", c.Rootfs, err)
	}
	if shared {
		// A bind of a shared mount joins its peer group: leave it.
		if err := unix.Mount("", c.Rootfs, "", unix.MS_PRIVATE, ""); err != nil {
			return fmt.Errorf("make rootfs mount private: %w", err)
		}
	}
	return nil
}

// parentMountPrivate makes the mount that contains path private. EINVAL
// means path is not a mount point, so walk up until one is found.
func parentMountPrivate(path string) error {
	for {
		err := unix.Mount("", path, "", unix.MS_PRIVATE, "")
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINVAL) || path == "/" {
			return fmt.Errorf("make parent mount of rootfs private at %s: %w", path, err)
		}
		path = filepath.Dir(path)
	}
}

// pivotRoot uses the pivot_root(".", ".") trick: the old root ends up on top
// of the new one and is detached from there, with no temporary directory.
func pivotRoot(rootfs string) error {
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open old root: %w", err)
	}
	defer unix.Close(oldRoot)
	newRoot, err := unix.Open(rootfs, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open new root: %w", err)
	}
	defer unix.Close(newRoot)
	if err := unix.Fchdir(newRoot); err != nil {
		return fmt.Errorf("chdir to new root: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root into %s: %w", rootfs, err)
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return fmt.Errorf("chdir to old root: %w", err)
	}
	// Make the old root rslave so that unmounting it does not propagate
	// to the host.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root rslave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	return nil
}

// moveRoot moves the rootfs mount onto "/" and chroots into it (--no-pivot).
func moveRoot(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir to rootfs: %w", err)
	}
	if err := unix.Mount(rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move rootfs %s to /: %w", rootfs, err)
	}
	return chrootInto(".")
}

func chrootInto(dir string) error {
	if err := unix.Chroot(dir); err != nil {
		return fmt.Errorf("chroot into %s: %w", dir, err)
	}
	return nil
}
