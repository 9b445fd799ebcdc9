package libcontainer

// Pause and resume through the v1 freezer, and what a frozen cgroup means
// for the other commands: a frozen task does not run, not even to die, so
// a SIGKILL sent to it waits for the thaw. Hence kill (SIGKILL) thaws a
// paused container after signalling it, as runc does, and delete --force
// kills every task while frozen and then thaws. kill --all freezes the
// container while it signals (no task can fork a new one that the list
// would miss) and then restores the freezer state it found, except that
// SIGKILL always thaws.

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"golang.org/x/sys/unix"
)

// ErrNotPaused is resume's error for a container that is not paused; runc's
// words, matched by clients like the other sentinels (errors.go).
var ErrNotPaused = errors.New("container not paused")

// Pause freezes every process of a running (or created) container. The
// caller holds the container's lock.
func (c *Container) Pause() error {
	switch c.Status() {
	case Running, Created:
	default:
		return ErrNotRunning
	}
	if c.state.cgroup() == nil {
		return fmt.Errorf("pause container: %w", cgroups.ErrNoFreezer)
	}
	return c.state.cgroup().Freeze()
}

// Resume thaws a paused container. The caller holds the container's lock.
func (c *Container) Resume() error {
	if c.Status() != Paused {
		return ErrNotPaused
	}
	return c.state.cgroup().Thaw()
}

// Processes lists the host pids of every process in the container's
// cgroup, nested cgroups included.
func (c *Container) Processes() ([]int, error) {
	if c.state.cgroup() == nil {
		return nil, errors.New("list container processes: container has no cgroup")
	}
	pids, err := c.state.cgroup().AllPids()
	if err != nil {
		return nil, fmt.Errorf("list container processes: %w", err)
	}
	return pids, nil
}

// signalAllFrozen is kill --all: signalAll with the cgroup frozen around
// it. A container without a freezer is signalled as it is.
func (c *Container) signalAllFrozen(sig unix.Signal) error {
	m := c.state.cgroup()
	if m == nil {
		return c.signalAll(sig)
	}
	wasFrozen := m.Frozen()
	froze := false
	if !wasFrozen {
		if err := m.Freeze(); err == nil {
			froze = true
		} else if !errors.Is(err, cgroups.ErrNoFreezer) {
			slog.Warn("signal without freezing first", "err", err)
		}
	}
	err := c.signalAll(sig)
	if froze || (wasFrozen && sig == unix.SIGKILL) {
		if terr := m.Thaw(); terr != nil {
			err = errors.Join(err, terr)
		}
	}
	return err
}

// thawForKill lets a SIGKILL just sent to a paused container's init take
// effect: runc thaws for SIGKILL only, other signals wait for resume.
func (c *Container) thawForKill(sig unix.Signal) error {
	if sig != unix.SIGKILL || c.state.cgroup() == nil || !c.state.cgroup().Frozen() {
		return nil
	}
	return c.state.cgroup().Thaw()
}

// killFrozen is destroy's first step for a paused container: it sends
// SIGKILL to every process while they are frozen, then thaws them so that
// they die, and destroy's wait for init can end.
func (c *Container) killFrozen() {
	if c.state.cgroup() == nil || !c.state.cgroup().Frozen() {
		return
	}
	if err := c.signalAll(unix.SIGKILL); err != nil {
		slog.Warn("kill paused container", "err", err)
	}
	if err := c.state.cgroup().Thaw(); err != nil {
		slog.Warn("thaw paused container", "err", err)
	}
}
