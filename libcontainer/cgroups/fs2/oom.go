package fs2

// OOM notifications on cgroup v2: memory.events counts OOM kills
// ("oom_kill N") and cgroup.events says whether the cgroup still has
// processes ("populated 0|1"); the kernel reports a change of either to
// inotify as IN_MODIFY. The notifier's fd is that inotify instance; Read
// drains it and compares the counter with what it saw last. runc's fs2
// watches the same two files (and reports an OOM on every change of
// memory.events once oom_kill is non-zero, which counts "high" and "max"
// events too; here only new kills count).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"golang.org/x/sys/unix"
)

type oomNotify struct {
	dir   string
	fd    int
	kills uint64 // oom_kill as last read
}

// OOM starts watching the container's memory.events and cgroup.events. A
// cgroup without memory.events (memory controller not enabled) can report
// no OOM, only its end.
func (m *Manager) OOM() (cgroups.OOMNotifier, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("register for oom notifications: %w", err)
	}
	n := &oomNotify{dir: m.Dir, fd: fd}
	for _, f := range []string{"cgroup.events", "memory.events"} {
		_, err := unix.InotifyAddWatch(fd, filepath.Join(m.Dir, f), unix.IN_MODIFY)
		if err != nil && !(f == "memory.events" && errors.Is(err, unix.ENOENT)) {
			unix.Close(fd)
			return nil, fmt.Errorf("register for oom notifications: watch %s: %w", filepath.Join(m.Dir, f), err)
		}
	}
	// Only kills from now on count.
	n.kills, _ = n.oomKills()
	return n, nil
}

func (n *oomNotify) Fd() int { return n.fd }

// oomKills reads oom_kill from memory.events.
func (n *oomNotify) oomKills() (uint64, error) {
	kv, err := cgroups.StatKeyed(n.dir, "memory.events")
	if err != nil || kv == nil {
		return 0, err
	}
	return kv["oom_kill"], nil
}

// Read drains the inotify events and returns how many OOM kills happened
// since the last Read (or since OOM), and whether the cgroup has no more
// processes or is gone: then no more can come.
func (n *oomNotify) Read() (count uint64, gone bool) {
	var buf [4096]byte
	for {
		k, err := unix.Read(n.fd, buf[:])
		if k <= 0 || err != nil {
			break // EAGAIN: drained
		}
	}
	if kills, err := n.oomKills(); err == nil && kills > n.kills {
		count, n.kills = kills-n.kills, kills
	}
	populated, err := eventValue(n.dir, "populated")
	if errors.Is(err, os.ErrNotExist) || populated == "0" {
		gone = true
	}
	return count, gone
}

func (n *oomNotify) Close() error { return unix.Close(n.fd) }
