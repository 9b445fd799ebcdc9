package libcontainer

// Protection of the host's ocirun binary from the container (CVE-2019-5736).
//
// `ocirun init` joins the container, so a process in the container can reach
// the binary through /proc/<init pid>/exe and, if it were writable, overwrite
// the host's ocirun. We therefore never exec /proc/self/exe itself but a view
// of it that cannot be written to:
//
//  1. a private, detached, read-only overlayfs whose lower layers are the
//     binary's directory and an empty detached tmpfs (overlayfs wants two lower
//     layers when it has no upper one, and refuses the same directory twice).
//     An overlay without an upper layer cannot be remounted read-write, it is in
//     no mount namespace the container can see, and it costs a few
//     microseconds — nothing is copied;
//  2. where the kernel lacks the new mount API or overlayfs: a copy in a sealed
//     memfd (F_SEAL_WRITE and friends), which is what runc did historically.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// protectedExe returns an O_PATH (or memfd) handle on this binary that the
// container cannot write through.
func protectedExe() (*os.File, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/exe: %w", err)
	}
	if f, err := overlayExe(exe); err == nil {
		return f, nil
	}
	return memfdExe()
}

func overlayExe(exe string) (*os.File, error) {
	tmpfs, err := detachedMount("tmpfs", unix.MOUNT_ATTR_RDONLY, [2]string{"mode", "0500"})
	if err != nil {
		return nil, err
	}
	defer unix.Close(tmpfs)
	ovl, err := detachedMount("overlay", unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID,
		[2]string{"lowerdir+", filepath.Dir(exe)},
		[2]string{"lowerdir+", fmt.Sprintf("/proc/self/fd/%d", tmpfs)},
		[2]string{"xino", "off"},
		[2]string{"index", "off"},
		[2]string{"redirect_dir", "off"},
		[2]string{"metacopy", "off"})
	if err != nil {
		return nil, err
	}
	defer unix.Close(ovl)
	fd, err := unix.Openat(ovl, filepath.Base(exe), unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s in overlay: %w", exe, err)
	}
	return os.NewFile(uintptr(fd), exe), nil
}

// detachedMount creates a mount that is attached nowhere and returns its fd.
func detachedMount(fstype string, attrs int, opts ...[2]string) (int, error) {
	fsfd, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen %s: %w", fstype, err)
	}
	defer unix.Close(fsfd)
	for _, o := range opts {
		if err := unix.FsconfigSetString(fsfd, o[0], o[1]); err != nil {
			return -1, fmt.Errorf("configure %s %s=%s: %w", fstype, o[0], o[1], err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("create %s: %w", fstype, err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return -1, fmt.Errorf("fsmount %s: %w", fstype, err)
	}
	return mfd, nil
}

func memfdExe() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("open /proc/self/exe: %w", err)
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("ocirun", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "ocirun-memfd")
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return nil, fmt.Errorf("copy ocirun into memfd: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal memfd: %w", err)
	}
	return f, nil
}
