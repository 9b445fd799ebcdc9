package libcontainer

// linux.seccomp in `ocirun init` and its "seccomp" sync message (sync.go).
//
// Where init loads the filter: as late as possible, so that ocirun's own
// setup is never filtered, yet before "ready", so that a filter that cannot
// be loaded fails create (fail closed), and always before the user process.
// Loading needs no_new_privs or CAP_SYS_ADMIN, hence two places, as in runc:
//
//   - process.noNewPrivileges true: after setupProcess (user, capabilities,
//     no_new_privs, umask, cwd) and closeExtraFds, right before "ready".
//     The filter then sees only: sendmsg (the listener hand-off, "ready",
//     or an error), close (the listener, the sync socket, the exec fifo's
//     O_PATH fd), openat (reopening the exec fifo, which blocks until
//     start), write (an error to the fifo), whatever the startContainer
//     hooks need (clone, execve, wait4, pipes), and execve of the process,
//     then exit_group on failure.
//   - false: before setupProcess, while init still has CAP_SYS_ADMIN (as
//     root of the container, even in a user namespace; later the
//     capabilities are dropped). The filter then also sees setupProcess:
//     prlimit64, prctl, capget, capset, setgroups, setresgid, setresuid,
//     umask, chdir, and closeExtraFds: openat, getdents64, fcntl, close.
//
// Either way the Go runtime of init may use futex, rt_sigprocmask,
// rt_sigaction, rt_sigreturn, sigaltstack, mmap, munmap, madvise, nanosleep,
// sched_yield, getpid, gettid and tgkill. Any profile that runs a shell
// allows all of these; one that blocks them fails create with init's error.
// The filter is on init's thread only (the one that execs), unless
// SECCOMP_FILTER_FLAG_TSYNC puts it on the Go runtime's other threads too.

import (
	"errors"
	"fmt"

	"github.com/ocirun/ocirun/libcontainer/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// seccompStage names the two places in runInit that call initSeccomp; the
// filter is loaded at exactly one of them.
type seccompStage int

const (
	seccompBeforeSetup seccompStage = iota // no_new_privs off: before the capabilities go
	seccompLast                            // no_new_privs on: right before "ready"
)

// initSeccomp loads linux.seccomp if this is its stage, and sends a notify
// listener to the parent.
func initSeccomp(syncFd int, s *specs.Spec, stage seccompStage) error {
	c := s.Linux.Seccomp
	if s.Process == nil || seccomp.Disabled(c) || (stage == seccompLast) != s.Process.NoNewPrivileges {
		return nil
	}
	listener, err := seccomp.Init(c)
	if err != nil || listener < 0 {
		return err
	}
	err = writeSync(syncFd, syncSeccomp, "", listener)
	unix.Close(listener)
	return err
}

// sendSeccompListener hands the listener init sent to the agent at
// linux.seccomp.listenerPath with the container process state, then closes
// the runtime's copy: from then on only the agent holds it.
func (c *Container) sendSeccompListener(s *specs.Spec, fds []int) error {
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	if len(fds) != 1 {
		return fmt.Errorf("sync: seccomp message with %d fds", len(fds))
	}
	if s.Linux.Seccomp == nil {
		return errors.New("sync: seccomp message without linux.seccomp")
	}
	st := &specs.ContainerProcessState{
		Version:  specs.Version,
		Pid:      c.state.Pid,
		Metadata: s.Linux.Seccomp.ListenerMetadata,
		State:    *c.hookState(s, Creating),
	}
	return seccomp.SendListener(s.Linux.Seccomp.ListenerPath, st, fds[0])
}
