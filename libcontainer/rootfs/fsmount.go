package rootfs

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Fresh filesystems are made with the new mount API (fsopen, one fsconfig
// call per option, fsmount) rather than mount(2): the kernel then rejects a
// bad option by name, nothing is mounted anywhere until the finished mount is
// moved onto its target fd, and the detached mount can be prepared (id
// mapping, tmpcopyup) before the container can see it.

// sbFlags are the MS_* flags that belong to the superblock; fsconfig takes
// them by name.
var sbFlags = []struct {
	flag uintptr
	set  string
}{
	{unix.MS_SYNCHRONOUS, "sync"},
	{unix.MS_DIRSYNC, "dirsync"},
	{unix.MS_MANDLOCK, "mand"},
	{unix.MS_LAZYTIME, "lazytime"},
}

// mountAttrs converts the per-mount MS_* flags to fsmount's MOUNT_ATTR_*.
func mountAttrs(flags uintptr) int {
	var a uint64
	for _, m := range []struct {
		ms   uintptr
		attr uint64
	}{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY},
		{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV},
		{unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
		{unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME},
		{unix.MS_NOSYMFOLLOW, unix.MOUNT_ATTR_NOSYMFOLLOW},
	} {
		if flags&m.ms != 0 {
			a |= m.attr
		}
	}
	switch {
	case flags&unix.MS_NOATIME != 0:
		a |= unix.MOUNT_ATTR_NOATIME
	case flags&unix.MS_STRICTATIME != 0:
		a |= unix.MOUNT_ATTR_STRICTATIME
	}
	return int(a)
}

// NewMount creates a detached mount of a new fstype filesystem with the
// given source and options. The caller owns the returned mount fd.
func NewMount(fstype, source string, opts MountOptions) (*os.File, error) {
	fsfd, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open filesystem type %q: %w", fstype, err)
	}
	defer unix.Close(fsfd)
	if source != "" {
		if err := unix.FsconfigSetString(fsfd, "source", source); err != nil {
			return nil, fsError(fsfd, "set source "+source, err)
		}
	}
	for _, f := range sbFlags {
		if opts.Flags&f.flag != 0 {
			if err := unix.FsconfigSetFlag(fsfd, f.set); err != nil {
				return nil, fsError(fsfd, "option "+f.set, err)
			}
		}
	}
	for _, o := range opts.DataOpts {
		k, v, hasValue := strings.Cut(o, "=")
		if hasValue {
			err = unix.FsconfigSetString(fsfd, k, v)
		} else {
			err = unix.FsconfigSetFlag(fsfd, k)
		}
		if err != nil {
			return nil, fsError(fsfd, fmt.Sprintf("option %q", o), err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, fsError(fsfd, "create filesystem", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, mountAttrs(opts.Flags))
	if err != nil {
		return nil, fsError(fsfd, "create mount", err)
	}
	return os.NewFile(uintptr(mfd), fstype), nil
}

// fsError wraps err with what failed and the kernel's own message for the
// filesystem context, if it left one ("e tmpfs: Unknown parameter 'x'").
func fsError(fsfd int, what string, err error) error {
	var msgs []string
	buf := make([]byte, 256)
	for {
		n, rerr := unix.Read(fsfd, buf)
		if rerr != nil || n <= 0 {
			break
		}
		m := strings.TrimSpace(string(buf[:n]))
		if len(m) > 2 && (m[0] == 'e' || m[0] == 'w') && m[1] == ' ' {
			m = m[2:]
		}
		msgs = append(msgs, m)
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%s: %w (%s)", what, err, strings.Join(msgs, "; "))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// attachMount moves the detached mount mnt onto target (an O_PATH fd).
func attachMount(mnt, target *os.File) error {
	err := unix.MoveMount(int(mnt.Fd()), "", int(target.Fd()), "",
		unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("attach mount: %w", err)
	}
	return nil
}
