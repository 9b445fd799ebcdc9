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
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
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
	if c.state.Cgroup == nil {
		return nil, errors.New("read stats: container has no cgroup")
	}
	return c.state.Cgroup.Stats()
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
	oom, err := openOOMNotify(c.state.Cgroup)
	if err != nil {
		return err
	}
	defer oom.Close()
	next := time.Now().Add(interval)
	for {
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}, {Fd: int32(oom.efd), Events: unix.POLLIN}}
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
			n, gone := oom.read()
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

// oomNotify is one registration with the memory cgroup's notification API.
type oomNotify struct {
	dir      string // the memory cgroup; "" without one (efd never fires)
	efd      int
	oomCtlFd int
}

func openOOMNotify(m *cgroups.Manager) (*oomNotify, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("create eventfd: %w", err)
	}
	n := &oomNotify{efd: efd, oomCtlFd: -1}
	if m == nil || m.Paths["memory"] == "" {
		return n, nil // nothing to watch: only stats and the init's exit
	}
	n.dir = m.Paths["memory"]
	n.oomCtlFd, err = unix.Open(filepath.Join(n.dir, "memory.oom_control"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		msg := strconv.Itoa(efd) + " " + strconv.Itoa(n.oomCtlFd)
		err = os.WriteFile(filepath.Join(n.dir, "cgroup.event_control"), []byte(msg), 0)
	}
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("register for oom notifications: %w", err)
	}
	return n, nil
}

// read drains the eventfd: n is how many notifications came, gone tells
// that the memory cgroup was removed (which notifies too).
func (n *oomNotify) read() (count uint64, gone bool) {
	var buf [8]byte
	if k, err := unix.Read(n.efd, buf[:]); err != nil || k != 8 {
		return 0, false
	}
	count = binary.NativeEndian.Uint64(buf[:])
	if _, err := os.Lstat(filepath.Join(n.dir, "cgroup.event_control")); errors.Is(err, os.ErrNotExist) {
		return max(count, 1) - 1, true
	}
	return count, false
}

func (n *oomNotify) Close() {
	unix.Close(n.efd)
	if n.oomCtlFd >= 0 {
		unix.Close(n.oomCtlFd)
	}
}
