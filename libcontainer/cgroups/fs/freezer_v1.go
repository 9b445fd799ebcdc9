package fs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

// The v1 freezer: freezer.state reads THAWED, FREEZING or FROZEN. Writing
// FROZEN starts freezing the tasks; the state reads FREEZING until every
// task has stopped, which a task in an uninterruptible sleep (vfork, a
// stuck NFS read) can delay. freezer.self_freezing is 1 when this cgroup
// itself was asked to freeze, 0 when it is only frozen through an ancestor.

const (
	freezerState   = "freezer.state"
	freezerSelf    = "freezer.self_freezing"
	stateThawed    = "THAWED"
	stateFrozen    = "FROZEN"
	stateFreezing  = "FREEZING"
	freezerKey     = "freezer"
	refreezeEveryN = 50 // FREEZING reads between two thaw-and-refreeze rounds
)

// freezeTimeout bounds how long Freeze waits for FROZEN; tests shorten it.
var freezeTimeout = 5 * time.Second

// readFreezer reads freezer.state; tests replace it to play a slow kernel.
var readFreezer = func(dir string) (string, error) { return cgroups.ReadTrimmed(filepath.Join(dir, freezerState)) }

func (m *Manager) freezerDir() (string, error) {
	if m == nil {
		return "", cgroups.ErrNoFreezer
	}
	dir, ok := m.Paths[freezerKey]
	if !ok {
		return "", cgroups.ErrNoFreezer
	}
	return dir, nil
}

// Freeze freezes every task of the cgroup and returns once freezer.state
// reads FROZEN. While it reads FREEZING it writes FROZEN again (a task
// forked meanwhile is caught by the next write), thawing and refreezing
// now and then as runc does to shake loose tasks stuck on the way. After
// freezeTimeout it thaws the cgroup and fails: a half-frozen container is
// worse than a running one.
func (m *Manager) Freeze() error {
	dir, err := m.freezerDir()
	if err != nil {
		return fmt.Errorf("freeze cgroup: %w", err)
	}
	deadline := time.Now().Add(freezeTimeout)
	backoff := 100 * time.Microsecond
	for i := 1; ; i++ {
		if i%refreezeEveryN == 0 {
			if err := cgroups.WriteFile(dir, freezerState, stateThawed); err != nil {
				return fmt.Errorf("freeze cgroup: %w", err)
			}
		}
		if err := cgroups.WriteFile(dir, freezerState, stateFrozen); err != nil {
			return fmt.Errorf("freeze cgroup: %w", err)
		}
		st, err := readFreezer(dir)
		if err != nil {
			return fmt.Errorf("freeze cgroup: %w", err)
		}
		switch st {
		case stateFrozen:
			return nil
		case stateFreezing:
		default:
			return fmt.Errorf("freeze cgroup %s: %s reads %q after writing %s", dir, freezerState, st, stateFrozen)
		}
		if time.Now().After(deadline) {
			err := fmt.Errorf("freeze cgroup %s: still %s after %v", dir, stateFreezing, freezeTimeout)
			if terr := cgroups.WriteFile(dir, freezerState, stateThawed); terr != nil {
				err = errors.Join(err, fmt.Errorf("thaw cgroup again: %w", terr))
			}
			return err
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 10*time.Millisecond)
	}
}

// Thaw lets the cgroup's tasks run again.
func (m *Manager) Thaw() error {
	dir, err := m.freezerDir()
	if err != nil {
		return fmt.Errorf("thaw cgroup: %w", err)
	}
	if err := cgroups.WriteFile(dir, freezerState, stateThawed); err != nil {
		return fmt.Errorf("thaw cgroup: %w", err)
	}
	return nil
}

// Frozen tells whether the cgroup itself was frozen (FROZEN, or FREEZING on
// the way there), as opposed to thawed or frozen only through an ancestor,
// which runc does not call paused either. Without a freezer cgroup, or
// once it is gone, nothing is frozen.
func (m *Manager) Frozen() bool {
	dir, err := m.freezerDir()
	if err != nil {
		return false
	}
	st, err := readFreezer(dir)
	if err != nil || st == stateThawed {
		return false
	}
	self, err := cgroups.ReadTrimmed(filepath.Join(dir, freezerSelf))
	if errors.Is(err, os.ErrNotExist) {
		return true // a tree standing in for cgroupfs has no self_freezing
	}
	return err == nil && self == "1"
}
