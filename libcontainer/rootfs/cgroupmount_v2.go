package rootfs

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"golang.org/x/sys/unix"
)

// A `cgroup` mount on a pure cgroup2 host shows the container its own
// cgroup as /sys/fs/cgroup, never the host's tree:
//
//   - with a cgroup namespace, a fresh cgroup2 mount: the kernel roots it at
//     the namespace's root, which is the container's cgroup (the init
//     unshares the namespace once it is in that cgroup);
//   - without one, a fresh mount would show the whole hierarchy, so the
//     container's own cgroup directory is bind-mounted from the host mount;
//   - the same bind when the fresh mount is refused with EPERM or EBUSY: the
//     kernel allows a cgroup2 mount only to a process privileged over the
//     user namespace owning its cgroup namespace (a joined namespace may
//     belong to another one).
//
// The bind needs the host path of the container's cgroup, which is what
// /proc/self/cgroup says below the host's /sys/fs/cgroup mount; in a joined
// cgroup namespace rooted elsewhere that path cannot be known, and the
// error says so. Options (ro, nosuid, ...) apply to either mount; a bind
// drops cgroup2's own data options (nsdelegate, ...), with a warning.

func mountCgroupV2(root *os.File, dest string, opts MountOptions, cgroupNS bool) error {
	var freshErr error
	if cgroupNS {
		freshErr = mountFs(root, dest, fsMount("cgroup2", "cgroup2"), opts, nil)
		if freshErr == nil || !(errors.Is(freshErr, unix.EPERM) || errors.Is(freshErr, unix.EBUSY)) {
			return freshErr
		}
	}
	src, err := ownCgroup2Dir()
	if err != nil {
		if freshErr != nil {
			return fmt.Errorf("%w; bind the container's cgroup instead: %w", freshErr, err)
		}
		return fmt.Errorf("bind the container's cgroup: %w", err)
	}
	if freshErr != nil {
		slog.Debug(fmt.Sprintf("mount cgroup2 on %s: %v: bind-mounting %s instead", dest, freshErr, src))
	}
	for _, d := range opts.DataOpts {
		slog.Warn(fmt.Sprintf("mount cgroup on %s: option %q has no effect on the bind of the container's cgroup %s: ignored", dest, d, src))
	}
	bind := opts
	bind.Flags |= unix.MS_BIND | unix.MS_REC
	bind.DataOpts, bind.Data = nil, ""
	if err := mountBind(root, dest, src, nil, bind); err != nil {
		return fmt.Errorf("bind the container's cgroup %s: %w", src, err)
	}
	return nil
}

// ownCgroup2Dir is the directory of this process's cgroup2 cgroup under the
// host mount at /sys/fs/cgroup (the topmost mount there).
func ownCgroup2Dir() (string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("read own cgroup: %w", err)
	}
	entries, err := cgroups.ParseProcCgroup(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	var own *cgroups.ProcEntry
	for i, e := range entries {
		if e.Keys[0] == cgroups.UnifiedKey {
			own = &entries[i]
		}
	}
	if own == nil {
		return "", errors.New("/proc/self/cgroup has no cgroup2 (0::) line")
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()
	mounts, err := cgroups.ParseMountinfo(f)
	if err != nil {
		return "", err
	}
	var host *cgroups.Mount
	for i, m := range mounts {
		if m.Point == cgroupRoot && m.FSType == "cgroup2" {
			host = &mounts[i]
		}
	}
	if host == nil {
		return "", fmt.Errorf("no cgroup2 mount at %s", cgroupRoot)
	}
	dir, ok := host.Dir(own.Path)
	if !ok {
		return "", fmt.Errorf("own cgroup %s is not under the mount of %s at %s (a cgroup namespace rooted elsewhere?)", own.Path, host.Root, cgroupRoot)
	}
	return dir, nil
}
