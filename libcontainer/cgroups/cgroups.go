// Package cgroups is what the rest of ocirun knows of a container's cgroup:
// the Manager interface, which three drivers implement — fs (cgroup v1,
// and in hybrid mode the cgroup2 hierarchy beside it), fs2 (cgroup v2) and
// systemd (transient units, either version) — the stats they report, and
// the helpers they share for writing control files and reading them back.
// The manager package picks the driver; state.json keeps its JSON.
package cgroups

import (
	"errors"
	"sync"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Manager is one container's cgroup. Create makes it before the init
// exists (the init places itself in it, see Placement), Set applies
// linux.resources once, Destroy removes exactly what Create made.
type Manager interface {
	// Plan records the directories Create is about to make, so that the
	// caller can save them first: a create killed during Create then
	// leaves nothing Destroy cannot find.
	Plan()
	// Create makes the cgroup directories that are missing.
	Create() error
	// Placement tells the init how to enter the cgroup by itself: v1
	// tasks files to write "0" to, and the cgroup2 directory to clone
	// into with CLONE_INTO_CGROUP ("" when there is none).
	Placement() (tasks []string, unified string)
	// Set applies linux.resources at create, before any process joined
	// (a nil r still sets up the device rules). Every value is read back.
	Set(r *specs.LinuxResources) error
	// Update changes the fields of r that are set on a live container,
	// leaving the device rules alone.
	Update(r *specs.LinuxResources) error
	// Freeze returns once every task is frozen, or thaws and fails after
	// a timeout; Thaw undoes it; Frozen tells whether the cgroup was
	// asked to freeze (ErrNoFreezer: it cannot be).
	Freeze() error
	Thaw() error
	Frozen() bool
	// Pids lists the processes of the container's own cgroup, AllPids
	// those of its sub-cgroups too.
	Pids() ([]int, error)
	AllPids() ([]int, error)
	// Stats reads the usage counters.
	Stats() (*Stats, error)
	// OOM registers for OOM notifications.
	OOM() (OOMNotifier, error)
	// Destroy removes the directories (or unit) Create made, waiting a
	// little for processes to leave, never killing them.
	Destroy() error
}

// OOMNotifier reports OOM kills of one container as they happen.
type OOMNotifier interface {
	// Fd becomes readable (poll POLLIN) when there is news.
	Fd() int
	// Read consumes the news: how many OOM events came, and whether the
	// cgroup is gone (no more can come).
	Read() (count uint64, gone bool)
	Close() error
}

// ErrNoFreezer means the container's cgroup cannot be frozen: no v1
// freezer hierarchy is mounted.
var ErrNoFreezer = errors.New("no freezer cgroup")

// Mode is how the host mounts cgroups.
type Mode int

const (
	// Legacy: only v1 hierarchies under /sys/fs/cgroup.
	Legacy Mode = iota
	// Hybrid: v1 hierarchies, and cgroup2 (usually without controllers)
	// at /sys/fs/cgroup/unified.
	Hybrid
	// Unified: cgroup2 alone at /sys/fs/cgroup.
	Unified
)

func (m Mode) String() string {
	return [...]string{"legacy", "hybrid", "unified"}[m]
}

var detected = sync.OnceValue(func() Mode { return DetectMode("/sys/fs/cgroup") })

// HostMode is DetectMode of /sys/fs/cgroup, run once per process.
func HostMode() Mode { return detected() }

// DetectMode tells the mode from the filesystem types at root and at
// root/unified, as runc does.
func DetectMode(root string) Mode {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return Unified
	}
	if err := unix.Statfs(root+"/unified", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return Hybrid
	}
	return Legacy
}
