package libcontainer

// `events`: the container's stats every interval, and each OOM as the
// kernel reports it. OOMs come from the v1 memory cgroup's notification
// API, not from polling a counter:
//
//	open memory.oom_control (fd O), make an eventfd (fd E), write "E O"
//	to cgroup.event_control; the kernel then adds to E's counter each
//	time the cgroup is under OOM, and once more when the cgroup is
//	removed (then cgroup.event_control is gone too).
//
// The loop polls the init's pidfd, the eventfd and the next stats tick; it
// ends when the init exits or the cgroup is removed.

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"golang.org/x/sys/unix"
)

// Event is one line of `events`, as runc's types.Event encodes it:
// {"type":"stats","id":...,"data":{...}} or {"type":"oom","id":...}.
type Event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// Stats reads the container's cgroup usage.
func (c *Container) Stats() (*cgroups.Stats, error) {
	if c.state.cgroup() == nil {
		return nil, errors.New("read stats: container has no cgroup")
	}
	return c.state.cgroup().Stats()
}

// Events emits the container's events: with once, one stats event; else a
// stats event every interval and an oom event for each OOM, until the
// container stops. A stopped container is an error, in runc's words.
func (c *Container) Events(interval time.Duration, once bool, emit func(*Event) error) error {
	if c.Status() == Stopped {
		return fmt.Errorf("container with id %s is not running", c.id)
	}
	if once {
		s, err := c.Stats()
		if err != nil {
			return err
		}
		return emit(&Event{Type: "stats", ID: c.id, Data: s})
	}
	pidfd, err := c.openInit()
	if err != nil {
		return err
	}
	defer unix.Close(pidfd)
	if c.state.cgroup() == nil {
		return errors.New("watch events: container has no cgroup")
	}
	oom, err := c.state.cgroup().OOM()
	if err != nil {
		return err
	}
	defer oom.Close()
	next := time.Now().Add(interval)
	for {
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}, {Fd: int32(oom.Fd()), Events: unix.POLLIN}}
		wait := time.Until(next)
		if _, err := unix.Poll(fds, int((wait+time.Millisecond-1)/time.Millisecond)); err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("wait for events: %w", err)
		}
		// The kernel notifies an OOM before it kills: report it first
		// even when the init died of it in the same instant.
		if fds[1].Revents != 0 || fds[0].Revents != 0 {
			n, gone := oom.Read()
			if n > 0 {
				if err := emit(&Event{Type: "oom", ID: c.id}); err != nil {
					return err
				}
			}
			if gone || fds[0].Revents != 0 {
				return nil
			}
		}
		if now := time.Now(); !now.Before(next) {
			if s, err := c.Stats(); err != nil {
				slog.Warn("read stats", "err", err) // runc too carries on
			} else if err := emit(&Event{Type: "stats", ID: c.id, Data: s}); err != nil {
				return err
			}
			next = next.Add(interval)
			if next.Before(now) {
				next = now.Add(interval)
			}
		}
	}
}
