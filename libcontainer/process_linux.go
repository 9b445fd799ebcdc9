package libcontainer

// What `ocirun init` applies to itself before it drops privileges, for the
// user process to inherit through execve: linux.personality,
// process.scheduler, process.ioPriority and linux.memoryPolicy. All four are
// per thread; init runs on its locked main thread, the one that execs, so
// the exec'd process gets them (and its children, by fork).
//
// process.execCPUAffinity is not applied here: the spec makes it apply to
// processes started by `exec`, never to the container's init (runc does the
// same); specutil checks its CPU lists.

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/ocirun/ocirun/libcontainer/specutil"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const ioprioWhoProcess = 1

// applyProcAttrs runs in init with full privileges (a real-time policy or
// class needs CAP_SYS_NICE), after the root filesystem is final and before
// seccomp, the user switch and the capabilities. The scheduler comes last:
// a SCHED_DEADLINE thread cannot fork or clone unless
// SCHED_FLAG_RESET_ON_FORK is set, so without it a startContainer hook
// cannot start, and init relies on its Go runtime not starting a thread
// from this one before execve (GOMAXPROCS=1, no other goroutines), as
// runc's init does.
func applyProcAttrs(s *specs.Spec) error {
	if p := s.Linux.Personality; p != nil {
		v, err := specutil.Personality(p)
		if err != nil {
			return err
		}
		if _, _, errno := unix.RawSyscall(unix.SYS_PERSONALITY, uintptr(v), 0, 0); errno != 0 {
			return fmt.Errorf("set personality %s: %w", p.Domain, errno)
		}
	}
	if mp := s.Linux.MemoryPolicy; mp != nil {
		if err := setMemPolicy(mp); err != nil {
			return err
		}
	}
	if s.Process == nil {
		return nil // the rest is the process's
	}
	if io := s.Process.IOPriority; io != nil {
		prio, err := specutil.IOPrio(io)
		if err != nil {
			return err
		}
		if _, _, errno := unix.RawSyscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(prio)); errno != 0 {
			return fmt.Errorf("set I/O priority %s %d: %w", io.Class, io.Priority, errno)
		}
	}
	if sc := s.Process.Scheduler; sc != nil {
		attr, err := specutil.SchedAttr(sc)
		if err != nil {
			return err
		}
		if err := unix.SchedSetAttr(0, attr, 0); err != nil {
			return schedError(sc, err)
		}
	}
	return nil
}

// schedError explains the usual reason a privileged sched_setattr fails.
func schedError(sc *specs.Scheduler, err error) error {
	err = fmt.Errorf("set scheduler policy %s: %w", sc.Policy, err)
	if errors.Is(err, unix.EPERM) && (sc.Policy == specs.SchedFIFO || sc.Policy == specs.SchedRR) {
		// CONFIG_RT_GROUP_SCHED: a cgroup with no cpu.rt_runtime_us
		// refuses real-time tasks, even root's.
		return fmt.Errorf("%w (does the container's cpu cgroup have a cpu.rt_runtime_us budget?)", err)
	}
	return err
}

func setMemPolicy(mp *specs.LinuxMemoryPolicy) error {
	mode, mask, err := specutil.MemPolicy(mp)
	if err != nil {
		return err
	}
	var ptr unsafe.Pointer
	maxnode := 0
	if len(mask) > 0 {
		ptr = unsafe.Pointer(&mask[0])
		// The kernel reads maxnode-1 bits.
		maxnode = len(mask)*64 + 1
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_SET_MEMPOLICY, uintptr(mode), uintptr(ptr), uintptr(maxnode)); errno != 0 {
		return fmt.Errorf("set memory policy %s nodes %q: %w", mp.Mode, mp.Nodes, errno)
	}
	return nil
}
