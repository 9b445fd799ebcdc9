package fs

// OOM notifications through the v1 memory controller: an eventfd registered
// in cgroup.event_control against memory.oom_control fires on every OOM in
// the cgroup, and once more when the cgroup is removed.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"golang.org/x/sys/unix"
)

type oomNotify struct {
	dir      string // the memory cgroup; "" without one (efd never fires)
	efd      int
	oomCtlFd int
}

// OOM registers an eventfd for the container's OOM events. Without a memory
// hierarchy the returned notifier never fires.
func (m *Manager) OOM() (cgroups.OOMNotifier, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("create eventfd: %w", err)
	}
	n := &oomNotify{efd: efd, oomCtlFd: -1}
	if m == nil || m.Paths["memory"] == "" {
		return n, nil
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

func (n *oomNotify) Fd() int { return n.efd }

// Read drains the eventfd: count is how many notifications came, gone tells
// that the memory cgroup was removed (which notifies too).
func (n *oomNotify) Read() (count uint64, gone bool) {
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

func (n *oomNotify) Close() error {
	err := unix.Close(n.efd)
	if n.oomCtlFd >= 0 {
		unix.Close(n.oomCtlFd)
	}
	return err
}
