package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// fdPath is the /proc/self/fd path of f: mount(2) follows it to exactly the
// inode f was resolved to, so a mount never goes through a string path
// inside the rootfs. The caller holds the OS thread locked, and the fd
// table is per process anyway.
func fdPath(f *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
}

// mkdirAllInRoot creates the directory unsafePath inside root and returns a
// handle to it. pathrs-lite refuses to create through a dangling symlink,
// so (as runc does) symlinks are first resolved lexically within the root;
// MkdirAllHandle then walks the result again safely, so a race that swaps
// a component cannot lead outside the root.
func mkdirAllInRoot(root *os.File, unsafePath string) (*os.File, error) {
	joined, err := securejoin.SecureJoin(root.Name(), unsafePath)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(root.Name(), joined)
	if err != nil {
		return nil, err
	}
	return pathrs.MkdirAllHandle(root, rel, 0o755)
}

// lockedFlags are the per-mount flags a user namespace may not clear on a
// bind remount when they came from a more privileged mount.
const lockedFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
	unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_RDONLY

// mountEntry performs one mount of the config inside root. src, when not
// nil, is the bind source already opened as a detached mount.
func mountEntry(root *os.File, m specs.Mount, s *specs.Spec, src *os.File) error {
	opts, err := ParseMountOptions(m.Options)
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
	}
	if len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 {
		return fmt.Errorf("mount %s on %s: id-mapped mounts are not supported", m.Source, m.Destination)
	}
	if m.Type == "bind" {
		opts.Flags |= unix.MS_BIND
	}
	dest := path.Clean("/" + m.Destination)
	switch {
	case opts.IsBind():
		err = mountBind(root, dest, m.Source, src, opts)
	case m.Type == "cgroup":
		err = mountCgroupV1(root, dest, opts, hasNamespace(s, specs.CgroupNamespace))
	default:
		err = mountFs(root, dest, m.Type, m.Source, opts)
	}
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
	}
	return nil
}

// mountFs mounts a fresh filesystem (proc, sysfs, tmpfs, overlay, ...) on a
// directory inside root.
func mountFs(root *os.File, dest, fstype, source string, opts MountOptions) error {
	target, err := mkdirAllInRoot(root, dest)
	if err != nil {
		return fmt.Errorf("create mount point: %w", err)
	}
	defer target.Close()
	if err := unix.Mount(source, fdPath(target), fstype, opts.Flags, opts.Data); err != nil {
		return err
	}
	return afterMount(root, dest, opts)
}

// mountBind bind-mounts the host path source (or the detached mount src)
// onto dest; a file source gets a file target. Flags other than bind/rec
// need a second, remount step.
func mountBind(root *os.File, dest, source string, src *os.File, opts MountOptions) error {
	var st os.FileInfo
	var err error
	if src != nil {
		st, err = src.Stat()
	} else {
		st, err = os.Stat(source)
	}
	if err != nil {
		return fmt.Errorf("stat bind source: %w", err)
	}
	var target *os.File
	if st.IsDir() {
		target, err = mkdirAllInRoot(root, dest)
	} else {
		target, err = createFileInRoot(root, dest, 0o644)
	}
	if err != nil {
		return fmt.Errorf("create mount point: %w", err)
	}
	defer target.Close()
	if src != nil {
		err = unix.MoveMount(int(src.Fd()), "", int(target.Fd()), "",
			unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	} else {
		err = unix.Mount(source, fdPath(target), "", opts.Flags&(unix.MS_BIND|unix.MS_REC), "")
	}
	if err != nil {
		return err
	}
	if opts.Flags&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT) != 0 {
		mounted, err := pathrs.OpenatInRoot(root, dest)
		if err != nil {
			return fmt.Errorf("reopen mount point: %w", err)
		}
		err = remountBind(mounted, opts.Flags&^unix.MS_REC, opts.ClearFlags)
		mounted.Close()
		if err != nil {
			return err
		}
	}
	return afterMount(root, dest, opts)
}

// remountBind applies flags to the bind mount at f. If the kernel refuses
// because a user namespace may not clear flags inherited from the source
// mount, retry keeping those (unless the options cleared them explicitly,
// in which case the EPERM stands).
func remountBind(f *os.File, flags, clear uintptr) error {
	target := fdPath(f)
	flags |= unix.MS_BIND | unix.MS_REMOUNT
	err := unix.Mount("", target, "", flags, "")
	if !errors.Is(err, unix.EPERM) {
		return wrapRemount(err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("statfs mount point: %w", err)
	}
	keep := uintptr(st.Flags) & lockedFlags &^ clear
	if flags&(unix.MS_NOATIME|unix.MS_RELATIME|unix.MS_STRICTATIME) != 0 {
		keep &^= unix.MS_NOATIME | unix.MS_RELATIME
	}
	if keep&^flags == 0 {
		return wrapRemount(err)
	}
	return wrapRemount(unix.Mount("", target, "", flags|keep, ""))
}

func wrapRemount(err error) error {
	if err != nil {
		return fmt.Errorf("remount bind: %w", err)
	}
	return nil
}

// afterMount applies propagation and recursive attributes to the mount now
// at dest (re-resolved, so the handle is the new mount's root).
func afterMount(root *os.File, dest string, opts MountOptions) error {
	if len(opts.Propagation) == 0 && opts.RecAttr == nil {
		return nil
	}
	mounted, err := pathrs.OpenatInRoot(root, dest)
	if err != nil {
		return fmt.Errorf("reopen mount point: %w", err)
	}
	defer mounted.Close()
	for _, p := range opts.Propagation {
		if err := unix.Mount("", fdPath(mounted), "", p, ""); err != nil {
			return fmt.Errorf("set propagation: %w", err)
		}
	}
	if opts.RecAttr != nil {
		err := unix.MountSetattr(int(mounted.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, opts.RecAttr)
		if err != nil {
			return fmt.Errorf("set recursive mount attributes: %w", err)
		}
	}
	return nil
}

// createFileInRoot returns an O_PATH handle to the file at unsafePath
// inside root, creating it (and its parent directories) if missing. An
// existing path is resolved inside root; a new file is created relative to
// the resolved parent without following a link.
func createFileInRoot(root *os.File, unsafePath string, mode uint32) (*os.File, error) {
	f, err := pathrs.OpenatInRoot(root, unsafePath)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return f, err
	}
	parent, err := mkdirAllInRoot(root, path.Dir(unsafePath))
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	fd, err := unix.Openat(int(parent.Fd()), path.Base(unsafePath), unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, mode)
	switch {
	case err == nil:
		unix.Close(fd)
	case !errors.Is(err, unix.EEXIST): // EEXIST: lost a race, resolve what is there
		return nil, fmt.Errorf("create %s: %w", unsafePath, err)
	}
	return pathrs.OpenatInRoot(root, unsafePath)
}
