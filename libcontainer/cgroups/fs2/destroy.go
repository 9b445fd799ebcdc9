package fs2

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

// destroyTimeout bounds how long Destroy waits for processes to leave;
// tests shorten it.
var destroyTimeout = 5 * time.Second

// Destroy removes the directories in Created, deepest first, then those a
// killed Create may have made before recording them (Planned). The
// container's own directory goes with the cgroups the container made
// inside it (a cgroup namespace lets it). A directory that is already gone
// is fine, and so is a parent that now holds another container's cgroup
// (EBUSY). While a cgroup still holds processes, Destroy waits for them to
// exit — it never kills them — for at most destroyTimeout in all. It never
// removes a directory outside what it created. Directories it could not
// remove stay in Created.
func (m *Manager) Destroy() error {
	deadline := time.Now().Add(destroyTimeout)
	kept, err := cgroups.RemoveCreated(m.Created, m.Planned,
		func(dir string) bool { return dir == m.Dir },
		func(dir string) error { return removeTree(dir, deadline) })
	m.Created, m.Planned = kept, nil
	return err
}

// removeTree removes dir and the cgroups nested in it, deepest first.
func removeTree(dir string, deadline time.Time) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	for _, d := range slices.Backward(dirs) {
		if err := cgroups.RemoveCgroup(d, deadline); err != nil {
			return err
		}
	}
	return nil
}
