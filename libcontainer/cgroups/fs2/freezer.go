package fs2

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

// The cgroup2 freezer (Linux 5.2): writing 1 to cgroup.freeze asks every
// task of the cgroup and of its descendants to stop; cgroup.events shows
// "frozen 1" once they all have. A task in an uninterruptible sleep (vfork,
// a stuck NFS read) delays that; a task that forks meanwhile is caught by
// the kernel itself, so unlike v1 there is nothing to write again.

// freezeTimeout bounds how long Freeze waits for "frozen 1"; tests shorten it.
var freezeTimeout = 5 * time.Second

// Freeze freezes every task of the cgroup and returns once cgroup.events
// shows it frozen. After freezeTimeout it thaws the cgroup and fails: a
// half-frozen container is worse than a running one.
func (m *Manager) Freeze() error {
	if !cgroups.Exists(m.Dir, "cgroup.freeze") {
		return fmt.Errorf("freeze cgroup: %w", noFreezer(m.Dir))
	}
	if err := cgroups.WriteCtl(m.Dir, "cgroup.freeze", "1"); err != nil {
		return fmt.Errorf("freeze cgroup: %w", err)
	}
	deadline := time.Now().Add(freezeTimeout)
	backoff := 100 * time.Microsecond
	for {
		frozen, err := eventValue(m.Dir, "frozen")
		if err != nil {
			return fmt.Errorf("freeze cgroup: %w", err)
		}
		if frozen == "1" {
			return nil
		}
		if time.Now().After(deadline) {
			err := fmt.Errorf("freeze cgroup %s: tasks still running after %v", m.Dir, freezeTimeout)
			if terr := cgroups.WriteCtl(m.Dir, "cgroup.freeze", "0"); terr != nil {
				err = errors.Join(err, fmt.Errorf("thaw cgroup again: %w", terr))
			}
			return err
		}
		time.Sleep(min(backoff, time.Until(deadline)+time.Millisecond))
		backoff = min(2*backoff, 10*time.Millisecond)
	}
}

// Thaw lets the cgroup's tasks run again (those frozen through an ancestor
// stay frozen).
func (m *Manager) Thaw() error {
	if !cgroups.Exists(m.Dir, "cgroup.freeze") {
		return fmt.Errorf("thaw cgroup: %w", noFreezer(m.Dir))
	}
	if err := cgroups.WriteCtl(m.Dir, "cgroup.freeze", "0"); err != nil {
		return fmt.Errorf("thaw cgroup: %w", err)
	}
	return nil
}

// Frozen tells whether the cgroup itself was asked to freeze (cgroup.freeze
// reads 1), frozen already or on the way; a cgroup frozen only through an
// ancestor is not, as runc does not call that paused either. Once the
// cgroup is gone, nothing is frozen.
func (m *Manager) Frozen() bool {
	v, err := cgroups.ReadTrimmed(filepath.Join(m.Dir, "cgroup.freeze"))
	return err == nil && v == "1"
}

// noFreezer is ErrNoFreezer for a kernel without cgroup.freeze, and the
// plain error when the cgroup itself is gone.
func noFreezer(dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s has no cgroup.freeze (Linux 5.2 or later has it)", cgroups.ErrNoFreezer, dir)
}

// eventValue reads key from dir's cgroup.events ("populated 1\nfrozen 0").
func eventValue(dir, key string) (string, error) {
	text, err := cgroups.ReadTrimmed(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return "", err
	}
	for _, l := range cgroups.Lines(text) {
		if k, v, ok := strings.Cut(l, " "); ok && k == key {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s/cgroup.events has no %q line", dir, key)
}
