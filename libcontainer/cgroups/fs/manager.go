// Package fs is the cgroupfs driver for cgroup v1 hosts: a directory in
// every mounted v1 hierarchy, and in hybrid mode in the cgroup2 hierarchy
// mounted beside them (/sys/fs/cgroup/unified), which the init joins too.
package fs

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

var _ cgroups.Manager = (*Manager)(nil)

// Manager places processes in one container's cgroup in every mounted
// hierarchy. It is saved with the container state as JSON.
type Manager struct {
	// Paths maps a hierarchy name ("memory", "cpu", "name=systemd", and
	// "unified" for the cgroup2 mount in hybrid mode) to the container's
	// cgroup directory in it. Co-mounted controllers share one directory.
	Paths map[string]string `json:"paths"`
	// Created lists the directories this manager made, parents first.
	Created []string `json:"created,omitempty"`
	// Planned lists the directories Create is about to make (see Plan);
	// Create clears it.
	Planned []string `json:"planned,omitempty"`

	// mounts and procDir serve Apply's rollback: they find the cgroups a
	// process came from. They are set by New/NewAt and not saved.
	mounts  map[string]cgroups.Mount
	procDir string
}

// New returns a Manager for cgroupsPath, placed as the calling process sees
// its own cgroups.
func New(cgroupsPath, id string) (*Manager, error) {
	mi, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer mi.Close()
	self, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	defer self.Close()
	return NewAt(mi, self, cgroupsPath, id)
}

// NewAt is New reading the mount table and the caller's cgroups from the
// given readers (the contents of /proc/self/mountinfo and /proc/self/cgroup).
// A relative cgroupsPath nests under the caller's own cgroup in each
// hierarchy, an absolute one starts at the hierarchy root, and an empty one
// means the relative path id.
func NewAt(mountinfo, selfCgroup io.Reader, cgroupsPath, id string) (*Manager, error) {
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
	mounts, err := cgroups.ParseMountinfo(mountinfo)
	if err != nil {
		return nil, err
	}
	entries, err := cgroups.ParseProcCgroup(selfCgroup)
	if err != nil {
		return nil, err
	}
	m := &Manager{Paths: map[string]string{}, mounts: map[string]cgroups.Mount{}, procDir: "/proc"}
	for _, e := range entries {
		mnt, ok := cgroups.FindMount(mounts, e)
		if !ok {
			continue // hierarchy not mounted here
		}
		base := mnt.Point
		if !filepath.IsAbs(inner) {
			base, _ = mnt.Dir(e.Path)
		}
		dir := filepath.Join(base, inner)
		for _, k := range e.Keys {
			if k == "" {
				continue
			}
			m.Paths[k] = dir
			m.mounts[k] = mnt
		}
	}
	if len(m.Paths) == 0 {
		return nil, errors.New("find cgroup hierarchies: none of the caller's cgroups is mounted")
	}
	return m, nil
}

// Apply creates the cgroup directories that are missing, recording them in
// Created, and moves pid into every hierarchy. On failure it moves pid back
// to the cgroups it came from and removes what it created. Apply needs a
// Manager from New or NewAt.
func (m *Manager) Apply(pid int) (err error) {
	if m.mounts == nil {
		return errors.New("apply cgroups: manager was not made by New")
	}
	created := len(m.Created)
	var joined []string
	var origin map[string]string
	defer func() {
		if err != nil {
			err = errors.Join(err, m.rollback(pid, joined, origin, created))
		}
	}()
	if err := m.Create(); err != nil {
		return err
	}
	dirs := m.dirs()
	if origin, err = m.origins(pid); err != nil {
		return err
	}
	for _, dir := range dirs {
		if err := cgroups.WriteFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("move pid %d: %w", pid, err)
		}
		joined = append(joined, dir)
	}
	return nil
}

// Create makes the cgroup directories that are missing, recording them in
// Created. A new cpuset gets its parent's cpus and mems.
func (m *Manager) Create() error {
	defer func() { m.Planned = nil }()
	for _, dir := range m.dirs() {
		before := len(m.Created)
		made, err := cgroups.MakeDirs("/", dir)
		m.Created = append(m.Created, made...)
		if err != nil {
			return err
		}
		if m.Paths["cpuset"] == dir && len(m.Created) > before {
			if err := initCpuset(dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// Plan records in Planned the directories that are missing now, i.e. those
// Create is about to make. Saved before Create runs, it lets delete remove
// what a create killed half-way made before it could record it in Created.
func (m *Manager) Plan() {
	m.Planned = nil
	for _, dir := range m.dirs() {
		for _, d := range cgroups.MissingDirs("/", dir) {
			if !slices.Contains(m.Planned, d) {
				m.Planned = append(m.Planned, d)
			}
		}
	}
}

// Placement tells a process how to enter the cgroup by itself, which is how
// the container init is born in it (see nsenter/nsexec.c): tasks are the v1
// `tasks` files it writes "0" to — a thread moving itself skips the kernel's
// global threadgroup lock, whose RCU grace period costs milliseconds on
// every cgroup.procs write — and unified is the cgroup2 directory to clone
// into with CLONE_INTO_CGROUP ("" when there is no cgroup2 hierarchy).
func (m *Manager) Placement() (tasks []string, unified string) {
	for _, k := range slices.Sorted(maps.Keys(m.Paths)) {
		dir := m.Paths[k]
		if k == cgroups.UnifiedKey {
			unified = dir
			continue
		}
		if t := filepath.Join(dir, "tasks"); !slices.Contains(tasks, t) {
			tasks = append(tasks, t)
		}
	}
	return tasks, unified
}

// dirs returns the distinct cgroup directories in a stable order.
func (m *Manager) dirs() []string {
	var dirs []string
	for _, d := range m.Paths {
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	slices.Sort(dirs)
	return dirs
}

// initCpuset fills cpuset.cpus and cpuset.mems of dir and of every empty
// ancestor, top-down, from the nearest ancestor that has them: the kernel
// refuses tasks in a cpuset without cpus or mems, and a child's values must
// be within its parent's. An ancestor can be empty even if we did not create
// it: another create may have just made it. Filling it with its parent's
// values is what that create does too; a cpuset that has them is not touched.
func initCpuset(dir string) error {
	for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
		var empty []string
		for d := dir; ; d = filepath.Dir(d) {
			cur, err := cgroups.ReadTrimmed(filepath.Join(d, file))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("inherit %s: %w", file, err)
			}
			if cur != "" {
				break
			}
			if d == "/" {
				return fmt.Errorf("inherit %s from %s: every ancestor is empty", file, dir)
			}
			empty = append(empty, d)
		}
		for _, d := range slices.Backward(empty) {
			val, err := cgroups.ReadTrimmed(filepath.Join(filepath.Dir(d), file))
			if err != nil {
				return fmt.Errorf("inherit %s: %w", file, err)
			}
			if err := cgroups.WriteFile(d, file, val); err != nil {
				return err
			}
		}
	}
	return nil
}

// inheritedValue walks up from dir to the first non-empty value of file.
func inheritedValue(dir, file string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		val, err := cgroups.ReadTrimmed(filepath.Join(d, file))
		if err != nil {
			return "", fmt.Errorf("inherit %s: %w", file, err)
		}
		if val != "" {
			return val, nil
		}
		if d == "/" {
			return "", fmt.Errorf("inherit %s from %s: every ancestor is empty", file, dir)
		}
	}
}

// origins maps each of our directories to the directory of the cgroup pid
// is in now, read from /proc/<pid>/cgroup, for rollback.
func (m *Manager) origins(pid int) (map[string]string, error) {
	f, err := os.Open(filepath.Join(m.procDir, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return nil, fmt.Errorf("read cgroups of pid %d: %w", pid, err)
	}
	defer f.Close()
	entries, err := cgroups.ParseProcCgroup(f)
	if err != nil {
		return nil, err
	}
	origin := map[string]string{}
	for _, e := range entries {
		for _, k := range e.Keys {
			mnt, ok := m.mounts[k]
			if !ok {
				continue
			}
			if dir, ok := mnt.Dir(e.Path); ok {
				origin[m.Paths[k]] = dir
			}
		}
	}
	return origin, nil
}

// rollback moves pid from the directories in joined back to its origin
// cgroups, then removes the directories created since Created[created];
// those it cannot remove stay in Created for Destroy.
func (m *Manager) rollback(pid int, joined []string, origin map[string]string, created int) error {
	var errs []error
	for _, dir := range joined {
		back, ok := origin[dir]
		if !ok {
			errs = append(errs, fmt.Errorf("move pid %d out of %s: origin unknown", pid, dir))
			continue
		}
		if err := cgroups.WriteFile(back, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			errs = append(errs, fmt.Errorf("move pid %d back: %w", pid, err))
		}
	}
	var kept []string
	for i := len(m.Created) - 1; i >= created; i-- {
		if err := os.Remove(m.Created[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("undo cgroup creation: %w", err))
			kept = append(kept, m.Created[i])
		}
	}
	slices.Reverse(kept)
	m.Created = append(m.Created[:created], kept...)
	return errors.Join(errs...)
}

// Pids lists the processes in the container's cgroup, read from the first
// hierarchy (by name) whose cgroup.procs can be read.
func (m *Manager) Pids() ([]int, error) {
	keys := slices.Sorted(maps.Keys(m.Paths))
	var errs []error
	for _, k := range keys {
		pids, err := cgroups.ReadPids(m.Paths[k])
		if err == nil {
			return pids, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("list cgroup pids: %w", errors.Join(errs...))
}
