package libcontainer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/ocirun/ocirun/libcontainer/rootfs"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// openMountSources prepares, in the runtime's own namespaces, the mounts
// that init cannot make by itself, as detached mounts that init attaches
// with move_mount (rootfs.Config.MountSources), keyed by index in
// s.Mounts:
//   - the bind sources of a container that gets a new user namespace: its
//     root may be unable to reach them by path (a 0700 host directory);
//   - every id-mapped mount (idmap, ridmap, or mount uid/gid mappings):
//     mount_setattr(MOUNT_ATTR_IDMAP) needs CAP_SYS_ADMIN over the source
//     filesystem, and works only on a mount not attached yet. Binds are
//     cloned with open_tree, other filesystems made with fsopen/fsmount.
//
// The options were validated by specutil.
func openMountSources(s *specs.Spec, bundle string) (_ map[int]*os.File, retErr error) {
	userns := hasUserNamespace(s)
	files := map[int]*os.File{}
	holders := usernsCache{}
	defer holders.close()
	defer func() {
		if retErr != nil {
			for _, f := range files {
				f.Close()
			}
		}
	}()
	for i := range s.Mounts {
		m := &s.Mounts[i]
		opts, err := rootfs.ParseMountOptions(m.Options)
		if err != nil {
			return nil, fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
		}
		idmap := opts.IDMap || len(m.UIDMappings) > 0
		bind := isBind(m)
		if !idmap && !(bind && userns) {
			continue
		}
		var f *os.File
		if bind {
			f, err = openBindSource(m, bundle)
		} else {
			f, err = rootfs.NewMount(m.Type, m.Source, opts)
		}
		if err != nil {
			return nil, fmt.Errorf("prepare mount %s on %s: %w", m.Source, m.Destination, err)
		}
		files[i] = f
		if idmap {
			uids, gids := m.UIDMappings, m.GIDMappings
			if len(uids) == 0 {
				uids, gids = s.Linux.UIDMappings, s.Linux.GIDMappings
			}
			ns, err := holders.get(uids, gids)
			if err == nil {
				err = setIDMap(f, ns, opts.RecursiveIDMap)
			}
			if err != nil {
				return nil, fmt.Errorf("id-map mount %s on %s: %w", m.Source, m.Destination, err)
			}
		}
	}
	return files, nil
}

func hasUserNamespace(s *specs.Spec) bool {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			return true
		}
	}
	return false
}

// openBindSource clones the bind source of m (the whole tree for rbind).
func openBindSource(m *specs.Mount, bundle string) (*os.File, error) {
	src := m.Source
	if !filepath.IsAbs(src) {
		src = filepath.Join(bundle, src)
	}
	flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC
	if slices.Contains(m.Options, "rbind") {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, uint(flags))
	if err != nil {
		return nil, fmt.Errorf("open bind source %s: %w", src, err)
	}
	return os.NewFile(uintptr(fd), src), nil
}

// setIDMap id-maps the detached mount f with the user namespace ns (its
// whole tree when recursive).
func setIDMap(f, ns *os.File, recursive bool) error {
	flags := uint(unix.AT_EMPTY_PATH)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns.Fd())}
	if err := unix.MountSetattr(int(f.Fd()), "", flags, attr); err != nil {
		return fmt.Errorf("mount_setattr MOUNT_ATTR_IDMAP: %w", err)
	}
	return nil
}

// usernsCache holds one user namespace fd per distinct mapping.
type usernsCache map[string]*os.File

func (c usernsCache) get(uids, gids []specs.LinuxIDMapping) (*os.File, error) {
	key := fmt.Sprint(uids, gids)
	if f, ok := c[key]; ok {
		return f, nil
	}
	f, err := newUserns(uids, gids)
	if err != nil {
		return nil, err
	}
	c[key] = f
	return f, nil
}

func (c usernsCache) close() {
	for _, f := range c {
		f.Close()
	}
}

// newUserns returns an fd of a new user namespace with the given maps. A
// user namespace lives only as long as something holds it, so a short-lived
// process is started in it (our own binary, which the C constructor turns
// into a holder that waits for EOF on stdin; the Go runtime writes its maps
// before exec), and its namespace file is opened.
func newUserns(uids, gids []specs.LinuxIDMapping) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create pipe: %w", err)
	}
	defer w.Close()
	cmd := &exec.Cmd{
		Path:  "/proc/self/exe",
		Args:  []string{"ocirun-userns-holder"},
		Env:   []string{"_OCIRUN_USERNS_HOLDER=1"},
		Stdin: r,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER,
			UidMappings: sysMaps(uids),
			GidMappings: sysMaps(gids),
			Pdeathsig:   syscall.SIGKILL,
		},
	}
	err = cmd.Start()
	r.Close()
	if err != nil {
		return nil, fmt.Errorf("start user namespace holder: %w", err)
	}
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid))
	w.Close()
	if werr := cmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("user namespace holder: %w", werr)
	}
	if err != nil {
		if ns != nil {
			ns.Close()
		}
		return nil, fmt.Errorf("open mapped user namespace: %w", err)
	}
	return ns, nil
}

func sysMaps(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, e := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID), Size: int(e.Size)}
	}
	return out
}
