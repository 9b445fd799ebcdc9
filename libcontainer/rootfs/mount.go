package rootfs

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

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
// nil, is the mount already prepared by the runtime as a detached mount: a
// bind source (open_tree) or an id-mapped filesystem.
func mountEntry(root *os.File, m specs.Mount, s *specs.Spec, src *os.File) error {
	opts, err := ParseMountOptions(m.Options)
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
	}
	if m.Type == "bind" {
		opts.Flags |= unix.MS_BIND
	}
	dest := path.Clean("/" + m.Destination)
	switch {
	case (opts.IDMap || len(m.UIDMappings) > 0) && src == nil:
		err = errors.New("id-mapped mount was not prepared by the runtime")
	case opts.IsBind():
		err = opts.Check(m.Type)
		if err == nil {
			warnBindData(m, opts)
			err = mountBind(root, dest, m.Source, src, opts)
		}
	case m.Type == "cgroup":
		err = mountCgroupV1(root, dest, opts, hasNamespace(s, specs.CgroupNamespace))
	default:
		err = mountFs(root, dest, m, opts, src)
	}
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
	}
	return nil
}

// Check refuses options a mount of type fstype cannot honour: the kernel
// ignores data options on a bind, so one would be silently dropped, and
// tmpcopyup means something only for tmpfs.
func (o MountOptions) Check(fstype string) error {
	bind := o.IsBind() || fstype == "bind"
	if bind {
		// key=value options are the source filesystem's, which a bind
		// cannot change (configs carry e.g. "mode=755" on binds: they are
		// ignored with a warning, see warnBindData); a bare word that is
		// no flag is most likely a misspelt flag.
		for _, d := range o.DataOpts {
			if !strings.Contains(d, "=") {
				return fmt.Errorf("mount option %q is not valid for a bind mount", d)
			}
		}
	}
	if o.TmpCopyUp && (bind || fstype != "tmpfs") {
		return errors.New("mount option \"tmpcopyup\" is only valid for tmpfs")
	}
	return nil
}

// warnBindData says which filesystem options of a bind mount have no effect.
func warnBindData(m specs.Mount, opts MountOptions) {
	for _, d := range opts.DataOpts {
		slog.Warn(fmt.Sprintf("mount %s on %s: option %q has no effect on a bind mount: ignored", m.Source, m.Destination, d))
	}
}

// fsMagic is the statfs type a mount must show after mounting, for the
// filesystems whose content the kernel trusts (CVE-2019-16884).
var fsMagic = map[string]int64{
	"proc":  unix.PROC_SUPER_MAGIC,
	"sysfs": unix.SYSFS_MAGIC,
}

// mountFs mounts a fresh filesystem (proc, sysfs, tmpfs, overlay, ...) on a
// directory inside root, made with the new mount API (see fsmount.go), or
// attaches src when the runtime prepared it.
func mountFs(root *os.File, dest string, m specs.Mount, opts MountOptions, src *os.File) error {
	if opts.Flags&unix.MS_REMOUNT != 0 {
		return remountFs(root, dest, opts)
	}
	if err := opts.Check(m.Type); err != nil {
		return err
	}
	var target *os.File
	var err error
	_, trusted := fsMagic[m.Type]
	if trusted || dest == "/dev" {
		target, err = openDirNoSymlinks(root, dest)
	} else {
		target, err = mkdirAllInRoot(root, dest)
	}
	if err != nil {
		return fmt.Errorf("create mount point: %w", err)
	}
	defer target.Close()
	if err := checkProcDest(root, target, m.Type, false); err != nil {
		return err
	}
	mnt := src
	if mnt == nil {
		if mnt, err = NewMount(m.Type, m.Source, opts); err != nil {
			return err
		}
		defer mnt.Close()
	}
	if opts.TmpCopyUp {
		if err := copyTree(int(target.Fd()), int(mnt.Fd())); err != nil {
			return fmt.Errorf("tmpcopyup: %w", err)
		}
	}
	if err := attachMount(mnt, target); err != nil {
		return err
	}
	if magic, ok := fsMagic[m.Type]; ok {
		if err := checkMountedFs(root, dest, m.Type, magic); err != nil {
			return err
		}
	}
	return afterMount(root, dest, opts)
}

// remountFs changes the flags of the mount already at dest (remount).
func remountFs(root *os.File, dest string, opts MountOptions) error {
	target, err := pathrs.OpenatInRoot(root, dest)
	if err != nil {
		return fmt.Errorf("open mount point: %w", err)
	}
	defer target.Close()
	if err := unix.Mount("", fdPath(target), "", opts.Flags, opts.Data); err != nil {
		return fmt.Errorf("remount: %w", err)
	}
	return afterMount(root, dest, opts)
}

// checkMountedFs re-resolves dest without following symlinks and checks that
// the filesystem there is the one just mounted.
func checkMountedFs(root *os.File, dest, fstype string, magic int64) error {
	f, err := openDirNoSymlinks(root, dest)
	if err != nil {
		return fmt.Errorf("reopen mount point: %w", err)
	}
	defer f.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("statfs mount point: %w", err)
	}
	if st.Type != magic {
		return fmt.Errorf("%s is not %s after mounting (statfs type %#x)", dest, fstype, st.Type)
	}
	return nil
}

// procFileBinds are the files under /proc a bind mount may cover: what
// lxcfs provides (as runc allows).
var procFileBinds = map[string]bool{
	"/proc/cpuinfo": true, "/proc/diskstats": true, "/proc/meminfo": true, "/proc/stat": true,
	"/proc/swaps": true, "/proc/uptime": true, "/proc/loadavg": true, "/proc/slabinfo": true,
	"/proc/net/dev": true, "/proc/pressure/cpu": true, "/proc/pressure/io": true,
	"/proc/pressure/memory": true,
}

// checkProcDest refuses to mount anything but procfs at or under the
// container's /proc, judged by where the destination really resolved to
// (target), not by the configured string: a link in the image or a volume
// could otherwise put a fake /proc where the runtime and the container
// trust the kernel's (CVE-2019-19921). The lxcfs file binds are allowed.
func checkProcDest(root, target *os.File, fstype string, fileBind bool) error {
	rootPath, err := os.Readlink(fdPath(root))
	if err != nil {
		return fmt.Errorf("resolve rootfs: %w", err)
	}
	targetPath, err := os.Readlink(fdPath(target))
	if err != nil {
		return fmt.Errorf("resolve mount point: %w", err)
	}
	rel, ok := strings.CutPrefix(targetPath, strings.TrimSuffix(rootPath, "/"))
	if !ok || (rel != "/proc" && !strings.HasPrefix(rel, "/proc/")) {
		return nil
	}
	switch {
	case fstype == "proc" && rel == "/proc":
		return nil
	case fileBind && procFileBinds[rel]:
		return nil
	}
	return fmt.Errorf("mount point resolves to %s in the rootfs: only procfs may be mounted on /proc (and lxcfs-style file binds under it)", rel)
}

// openDirNoSymlinks opens the directory unsafePath inside root, creating it
// if missing, and refuses a path with a symlink in any component: proc and
// sysfs are mounted, and /dev populated, only on real directories of the
// image (CVE-2019-16884, CVE-2019-19921, /dev as a symlink).
func openDirNoSymlinks(root *os.File, unsafePath string) (*os.File, error) {
	clean := path.Clean("/" + unsafePath)
	rel := strings.TrimPrefix(clean, "/")
	if rel == "" {
		rel = "."
	}
	how := &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	for try := 0; ; try++ {
		fd, err := unix.Openat2(int(root.Fd()), rel, how)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), clean), nil
		case errors.Is(err, unix.ENOENT) && try == 0:
			d, err := mkdirAllInRoot(root, clean)
			if err != nil {
				return nil, err
			}
			d.Close()
		case errors.Is(err, unix.EAGAIN) && try < 16:
			// a rename raced with the lookup: look again
		case errors.Is(err, unix.ELOOP):
			return nil, fmt.Errorf("%s is a symlink or lies under one in the rootfs: refused", clean)
		case errors.Is(err, unix.ENOTDIR):
			return nil, fmt.Errorf("%s is not a directory in the rootfs", clean)
		default:
			return nil, fmt.Errorf("open %s: %w", clean, err)
		}
	}
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
	if err := checkProcDest(root, target, "bind", !st.IsDir()); err != nil {
		return err
	}
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
// existing path is resolved inside root. A missing one, or a dangling
// symlink, is first resolved lexically within the root (as
// mkdirAllInRoot does), and the file is created there relative to its
// resolved parent without following a link.
func createFileInRoot(root *os.File, unsafePath string, mode uint32) (*os.File, error) {
	f, err := pathrs.OpenatInRoot(root, unsafePath)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return f, err
	}
	joined, err := securejoin.SecureJoin(root.Name(), unsafePath)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(root.Name(), joined)
	if err != nil {
		return nil, err
	}
	rel = "/" + rel
	parent, err := mkdirAllInRoot(root, path.Dir(rel))
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	fd, err := unix.Openat(int(parent.Fd()), path.Base(rel), unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, mode)
	switch {
	case err == nil:
		unix.Close(fd)
	case !errors.Is(err, unix.EEXIST): // EEXIST: lost a race, resolve what is there
		return nil, fmt.Errorf("create %s: %w", unsafePath, err)
	}
	return pathrs.OpenatInRoot(root, rel)
}
