package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Init compiles c and loads it into the calling thread (and, with
// SECCOMP_FILTER_FLAG_TSYNC, every thread of the process). It returns the
// notify listener, or -1 when the profile has no SCMP_ACT_NOTIFY rule. A
// Disabled profile loads nothing.
//
// The caller must have no_new_privs set or CAP_SYS_ADMIN in its user
// namespace, and must be locked to its OS thread: the filter follows the
// thread (and whatever it execs), not the goroutine.
func Init(c *specs.LinuxSeccomp) (int, error) {
	if Disabled(c) {
		return -1, nil
	}
	f, err := Compile(c)
	if err != nil {
		return -1, err
	}
	return f.Load()
}

// Load installs f with seccomp(2). Every flag is first checked against the
// kernel, so a missing one is named instead of an EINVAL for the lot.
func (f *Filter) Load() (int, error) {
	for name, bit := range flagBits {
		if f.Flags&bit != 0 {
			if err := flagSupported(bit); err != nil {
				return -1, fmt.Errorf("load seccomp filter: flag %s: %w", name, err)
			}
		}
	}
	if f.Notifies() {
		if err := flagSupported(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER); err != nil {
			return -1, fmt.Errorf("load seccomp filter: SCMP_ACT_NOTIFY (SECCOMP_FILTER_FLAG_NEW_LISTENER): %w", err)
		}
	}
	if f.Flags&unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH != 0 {
		if err := flagSupported(unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH); err != nil {
			return -1, fmt.Errorf("load seccomp filter: SECCOMP_FILTER_FLAG_TSYNC with SCMP_ACT_NOTIFY (SECCOMP_FILTER_FLAG_TSYNC_ESRCH): %w", err)
		}
	}
	fd, err := setModeFilter(f.Flags, f.Program)
	switch {
	case errors.Is(err, unix.EACCES):
		return -1, fmt.Errorf("load seccomp filter: %w (neither no_new_privs nor CAP_SYS_ADMIN)", err)
	case errors.Is(err, unix.EINVAL) && len(f.Program) > maxInsns:
		return -1, fmt.Errorf("load seccomp filter: %w: the program has %d instructions, the kernel takes %d", err, len(f.Program), maxInsns)
	}
	if err != nil {
		return -1, fmt.Errorf("load seccomp filter: %w", err)
	}
	if !f.Notifies() {
		return -1, nil
	}
	return fd, nil
}

// maxInsns is the kernel's BPF_MAXINSNS.
const maxInsns = 4096

// errFlagUnsupported is returned for a SECCOMP_FILTER_FLAG_* bit the running
// kernel does not know.
var errFlagUnsupported = errors.New("not supported by this kernel")

// flagSupported asks the kernel about one flag: seccomp(2) checks the flags
// before it reads the program, so a NULL program gives EFAULT for a known
// flag and EINVAL for an unknown one, and installs nothing either way.
func flagSupported(bit uint) error {
	flags := bit
	switch bit {
	case unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH:
		// Refused alone whatever the kernel: they qualify NEW_LISTENER.
		flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), 0)
	switch errno {
	case unix.EFAULT:
		return nil
	case unix.EINVAL:
		return errFlagUnsupported
	case 0:
		return errors.New("seccomp(2) accepted a NULL program")
	}
	return errno
}

// setModeFilter is seccomp(SECCOMP_SET_MODE_FILTER, flags, prog); it returns
// the listener fd when flags ask for one.
func setModeFilter(flags uint, prog []unix.SockFilter) (int, error) {
	if len(prog) == 0 || len(prog) > 0xffff {
		return -1, fmt.Errorf("program of %d instructions", len(prog))
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}
