// Package fs2 is the cgroupfs driver for cgroup v2 hosts (cgroup2 alone at
// /sys/fs/cgroup): one directory per container, the init cloned into it
// with CLONE_INTO_CGROUP, limits written to the v2 control files (the v1
// fields of linux.resources converted as runc's docs/cgroup-v2.md says),
// devices filtered by an eBPF program (package devicefilter), freezing
// through cgroup.freeze and OOM kills counted from memory.events.
package fs2

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

var _ cgroups.Manager = (*Manager)(nil)

// DefaultRoot is where a unified host mounts cgroup2.
const DefaultRoot = "/sys/fs/cgroup"

// Manager is one container's cgroup2 directory. It is saved with the
// container state as JSON.
type Manager struct {
	// Root is the cgroup2 mount point, Dir the container's directory
	// below it.
	Root string `json:"root"`
	Dir  string `json:"dir"`
	// Created lists the directories this manager made, parents first.
	Created []string `json:"created,omitempty"`
	// Planned lists the directories Create is about to make (see Plan);
	// Create clears it.
	Planned []string `json:"planned,omitempty"`
}

// New returns a Manager for cgroupsPath on this host's cgroup2 mount,
// placed as the calling process sees its own cgroup.
func New(cgroupsPath, id string) (*Manager, error) {
	self, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	defer self.Close()
	return NewAt(DefaultRoot, self, cgroupsPath, id)
}

// NewAt is New for the cgroup2 hierarchy mounted at root, reading the
// caller's cgroup from selfCgroup (the content of /proc/self/cgroup). An
// absolute cgroupsPath starts at root; a relative one (an empty one means
// the relative path id) nests under the parent of the caller's own cgroup,
// or under root when the caller is in the root cgroup.
//
// Why the parent: on cgroup v2 a cgroup holding processes cannot enable
// controllers for its children ("no internal processes": writing to its
// cgroup.subtree_control fails with EBUSY), and ocirun, the caller, is a
// process in its own cgroup. A container nested right under it would get
// no memory, cpu, io or pids controller at all. Its parent (a systemd
// slice, say) holds no processes and can enable them; runc's fs2 driver
// does the same. The root cgroup is exempt from the rule.
func NewAt(root string, selfCgroup io.Reader, cgroupsPath, id string) (*Manager, error) {
	inner, err := cgroups.CleanPath(cgroupsPath)
	if err != nil {
		return nil, err
	}
	if inner == "" {
		if id == "" || strings.Contains(id, "/") || id == "." || id == ".." {
			return nil, fmt.Errorf("derive cgroup path from container id %q: not a single path element", id)
		}
		inner = id
	}
	root = filepath.Clean(root)
	if filepath.IsAbs(inner) {
		return newManager(root, filepath.Join(root, inner))
	}
	entries, err := cgroups.ParseProcCgroup(selfCgroup)
	if err != nil {
		return nil, err
	}
	own := ""
	for _, e := range entries {
		if e.Keys[0] == cgroups.UnifiedKey {
			own = e.Path
		}
	}
	if own == "" {
		return nil, errors.New("find own cgroup: /proc/self/cgroup has no cgroup2 (0::) line")
	}
	// A path outside our cgroup namespace shows as "/../..": clamp it.
	if own, err = cgroups.CleanPath(own); err != nil || !filepath.IsAbs(own) {
		own = "/"
	}
	return newManager(root, filepath.Join(root, filepath.Dir(own), inner))
}

func newManager(root, dir string) (*Manager, error) {
	if dir == root {
		return nil, errors.New("cgroup path is the cgroup2 root itself: a container needs a cgroup of its own")
	}
	return &Manager{Root: root, Dir: dir}, nil
}

// Plan records in Planned the directories that are missing now, i.e. those
// Create is about to make, parents first.
func (m *Manager) Plan() {
	m.Planned = cgroups.MissingDirs(m.Root, m.Dir)
}

// Create makes the missing directories, recording them in Created, and
// enables the controllers the container may need on the way down.
func (m *Manager) Create() error {
	defer func() { m.Planned = nil }()
	made, err := cgroups.MakeDirs(m.Root, m.Dir)
	m.Created = append(m.Created, made...)
	if err != nil {
		return err
	}
	return enableControllers(m.Root, m.Dir)
}

// enableControllers walks from root down to dir's parent and, in each,
// enables in cgroup.subtree_control every controller of its
// cgroup.controllers that is not enabled yet, as runc does (all of them:
// which ones the container will use is not known before Set, and update
// may use others later). It never disables one. A controller the kernel
// refuses to enable (EBUSY: that cgroup has processes; or a threaded
// subtree) is left out silently: the write of a resource that needs it
// then fails and names both the field and the reason (see missingFile).
func enableControllers(root, dir string) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("enable cgroup controllers: %s is not below %s", dir, root)
	}
	elems := strings.Split(rel, string(filepath.Separator))
	cur := root
	for _, e := range elems {
		if err := enableIn(cur); err != nil {
			return err
		}
		cur = filepath.Join(cur, e)
	}
	return nil
}

// enableIn enables in dir's subtree_control the controllers it has but
// does not pass on yet; it writes nothing when there are none, so that an
// ancestor we may not change (another owner's) is only read.
func enableIn(dir string) error {
	avail, err := cgroups.ReadTrimmed(filepath.Join(dir, "cgroup.controllers"))
	if errors.Is(err, os.ErrNotExist) {
		return nil // not a cgroup2 directory (a test's tree): nothing to enable
	}
	if err != nil {
		return fmt.Errorf("enable cgroup controllers: %w", err)
	}
	on, err := cgroups.ReadTrimmed(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return fmt.Errorf("enable cgroup controllers: %w", err)
	}
	enabled := strings.Fields(on)
	var want []string
	for _, c := range strings.Fields(avail) {
		if !slices.Contains(enabled, c) {
			want = append(want, "+"+c)
		}
	}
	if len(want) == 0 {
		return nil
	}
	if cgroups.WriteCtl(dir, "cgroup.subtree_control", strings.Join(want, " ")) == nil {
		return nil
	}
	// All at once failed: one by one, so that one refusal (say cpuset in
	// a partition, or rdma) does not cost the others.
	for _, w := range want {
		_ = cgroups.WriteCtl(dir, "cgroup.subtree_control", w)
	}
	return nil
}

// Placement: the init is cloned straight into Dir (CLONE_INTO_CGROUP, see
// nsenter/nsexec.c); there are no v1 tasks files.
func (m *Manager) Placement() (tasks []string, unified string) {
	return nil, m.Dir
}

// Pids lists the processes of the container's cgroup.
func (m *Manager) Pids() ([]int, error) {
	pids, err := cgroups.ReadPids(m.Dir)
	if err != nil {
		return nil, fmt.Errorf("list cgroup pids: %w", err)
	}
	return pids, nil
}

// AllPids lists the processes of the container's cgroup and of the cgroups
// nested in it (a container may make its own), as runc's ps does.
func (m *Manager) AllPids() ([]int, error) {
	var pids []int
	err := filepath.WalkDir(m.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != m.Dir && errors.Is(err, os.ErrNotExist) {
				return nil // removed while we walked
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		more, err := cgroups.ReadPids(p)
		if errors.Is(err, os.ErrNotExist) && p != m.Dir {
			return nil
		}
		pids = append(pids, more...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list cgroup pids: %w", err)
	}
	return pids, nil
}
