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
	// BindSources holds, by index in Spec.Mounts, bind sources the runtime
	// opened as detached mounts (open_tree OPEN_TREE_CLONE) because the
	// container's user namespace may not be able to reach them by path.
	BindSources map[int]*os.File
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
		if err := mountEntry(root, m, c.Spec, c.BindSources[i]); err != nil {
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
	if mountNS {
		// As runc: apply the root propagation again, now to the new "/".
		if err := unix.Mount("", "/", "", rootPropagation(c.Spec), ""); err != nil {
			return fmt.Errorf("set propagation of new root: %w", err)
		}
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

// rootPropagation is linux.rootfsPropagation as mount flags, rslave by
// default so nothing mounted in the container propagates to the host.
func rootPropagation(s *specs.Spec) uintptr {
	if s.Linux != nil {
		if p, ok := propagationFlags[s.Linux.RootfsPropagation]; ok {
			return p
		}
	}
	return unix.MS_SLAVE | unix.MS_REC
}

// prepareRoot sets the propagation of "/", makes the rootfs's parent mount
// private (pivot_root refuses shared parents) and binds the rootfs onto
// itself so it is a mount point.
func prepareRoot(c *Config) error {
	if s := c.Spec.Linux; s != nil && s.RootfsPropagation != "" {
		if _, ok := propagationFlags[s.RootfsPropagation]; !ok {
			return fmt.Errorf("set root propagation: unknown rootfsPropagation %q", s.RootfsPropagation)
		}
	}
	if err := unix.Mount("", "/", "", rootPropagation(c.Spec), ""); err != nil {
		return fmt.Errorf("set propagation of /: %w", err)
	}
	if err := parentMountPrivate(c.Rootfs); err != nil {
		return err
	}
	if err := unix.Mount(c.Rootfs, c.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs %s onto itself: %w", c.Rootfs, err)
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
