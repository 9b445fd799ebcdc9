package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Start lets a created container's init exec the user process: it opens the
// exec fifo, which unblocks init; init runs the startContainer hooks and
// execs, which closes its end (O_CLOEXEC). Anything init writes to the fifo
// first is an error message. Then the poststart hooks run. The caller holds
// the container's lock.
func (c *Container) Start() error {
	switch st := c.Status(); st {
	case Created:
	case Stopped:
		return errors.New("cannot start a container that has stopped")
	default:
		return fmt.Errorf("cannot start a container in the %s state", st)
	}
	s, err := c.Spec()
	if err != nil {
		return err
	}
	if s.Process == nil {
		// runtime.md: start "MUST generate an error if process was not set".
		return errors.New("cannot start a container whose config.json has no process")
	}
	pidfd, err := c.openInit()
	if err != nil {
		return err
	}
	defer unix.Close(pidfd)
	fifoPath := filepath.Join(c.dir, fifoFile)
	fifo, err := unix.Open(fifoPath, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	msg, err := awaitExec(fifo, pidfd)
	unix.Close(fifo)
	if rerr := os.Remove(fifoPath); err == nil && rerr != nil {
		err = fmt.Errorf("remove exec fifo: %w", rerr)
	}
	if err != nil {
		return err
	}
	if msg != "" {
		return errors.New(msg)
	}
	// runtime.md, lifecycle step 9: if a poststart hook fails, "the runtime
	// MUST generate an error, stop the container, and continue the
	// lifecycle at step 12" (which is delete's).
	if err := runHooks(s.Hooks, hookPoststart, c.hookState(s, Running)); err != nil {
		unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		return err
	}
	return nil
}

// awaitExec waits until init has closed the fifo (exec'd, or failed after
// writing why) or died without ever opening it.
func awaitExec(fifo, pidfd int) (string, error) {
	var msg strings.Builder
	buf := make([]byte, 4096)
	for {
		fds := []unix.PollFd{{Fd: int32(fifo), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return "", fmt.Errorf("wait for container init: %w", err)
		}
		if fds[0].Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0 {
			n, err := unix.Read(fifo, buf)
			if err == unix.EAGAIN || err == unix.EINTR {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("read exec fifo: %w", err)
			}
			if n == 0 {
				return strings.TrimSpace(msg.String()), nil
			}
			msg.Write(buf[:n])
			continue
		}
		if fds[1].Revents != 0 {
			return "", errors.New("container init exited before start")
		}
	}
}

// openInit returns a pidfd of the container's init, verified to be the
// process the state recorded (not a reused pid).
func (c *Container) openInit() (int, error) {
	if !c.state.initAlive() {
		return -1, ErrNotRunning
	}
	pidfd, err := unix.PidfdOpen(c.state.Pid, 0)
	if err != nil {
		return -1, ErrNotRunning
	}
	// The pid could have been reused between the check and the open.
	if !c.state.initAlive() {
		unix.Close(pidfd)
		return -1, ErrNotRunning
	}
	return pidfd, nil
}

// Signal sends sig to the container's init, or with all to every process of
// its cgroup. Signalling a stopped container is ErrNotRunning, except with
// all, which then has nothing to do.
func (c *Container) Signal(sig unix.Signal, all bool) error {
	if all {
		return c.signalAllFrozen(sig) // pause_linux.go
	}
	if st := c.Status(); st == Stopped {
		return ErrNotRunning
	}
	pidfd, err := c.openInit()
	if err != nil {
		return err
	}
	defer unix.Close(pidfd)
	if err := unix.PidfdSendSignal(pidfd, sig, nil, 0); err != nil {
		if err == unix.ESRCH {
			return ErrNotRunning
		}
		return fmt.Errorf("signal container init: %w", err)
	}
	return c.thawForKill(sig) // pause_linux.go
}

func (c *Container) signalAll(sig unix.Signal) error {
	if c.state.cgroup() == nil {
		return errors.New("list container processes: container has no cgroup")
	}
	pids, err := c.state.cgroup().Pids()
	if err != nil {
		return fmt.Errorf("list container processes: %w", err)
	}
	if c.state.initAlive() {
		pids = append(pids, c.state.Pid)
	}
	for _, pid := range pids {
		if err := unix.Kill(pid, sig); err != nil && err != unix.ESRCH {
			return fmt.Errorf("signal pid %d: %w", pid, err)
		}
	}
	return nil
}

// Delete deletes the container id (see Destroy). With force, an id that does
// not exist is not an error. Either way it sweeps what creates of this id
// that were killed before their state directory appeared left behind.
func Delete(root, id string, force bool) error {
	sweepStaleTmp(root, id)
	c, err := LoadLocked(root, id)
	if errors.Is(err, ErrNotExist) && force {
		return nil
	}
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Destroy(force)
}

// sweepStaleTmp removes <root>/.tmp-<id>-* directories whose lock nobody
// holds: a create killed between making and renaming one (newStateDir)
// created nothing else yet.
func sweepStaleTmp(root, id string) {
	dirs, _ := filepath.Glob(filepath.Join(root, ".tmp-"+id+"-*"))
	for _, d := range dirs {
		f, err := os.OpenFile(d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			os.RemoveAll(d)
		}
		f.Close()
	}
}

// Destroy deletes the container: created and stopped ones always, running
// and paused ones only with force. It kills what is left, removes the cgroup
// and the state directory, then runs the poststop hooks. The caller holds the
// container's lock.
func (c *Container) Destroy(force bool) error {
	if st := c.Status(); (st == Running || st == Paused) && !force {
		return fmt.Errorf("cannot delete container %s that is not stopped: %s", c.id, st)
	}
	s, serr := c.Spec()
	if err := c.destroy(); err != nil {
		return err
	}
	if serr == nil {
		runHooksWarn(s.Hooks, hookPoststop, c.hookState(s, Stopped))
	}
	return nil
}

// destroy kills every process of the container, waits for init to die,
// removes the cgroup and the state directory. It works on any state a
// (possibly killed) create can leave behind.
func (c *Container) destroy() error {
	c.killFrozen() // pause_linux.go: a frozen task cannot die
	if pidfd, err := c.openInit(); err == nil {
		unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		waitPidfd(pidfd)
		unix.Close(pidfd)
	}
	if c.state.cgroup() != nil {
		c.signalAll(unix.SIGKILL)
		if err := c.state.cgroup().Destroy(); err != nil {
			return fmt.Errorf("remove cgroup: %w", err)
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove state dir: %w", err)
	}
	return nil
}

// waitPidfd blocks until the process behind pidfd has exited.
func waitPidfd(pidfd int) {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != unix.EINTR {
			return
		}
	}
}
