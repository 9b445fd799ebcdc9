package fs

import (
	"slices"
	"time"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

// destroyTimeout bounds how long Destroy waits for processes to leave.
const destroyTimeout = 5 * time.Second

// Destroy removes the directories in Created, deepest first. A directory
// that is already gone is fine, and so is a parent directory that now holds
// another container's cgroup. While a directory still holds processes,
// Destroy waits for them to exit (it does not kill them), for at most about
// five seconds in all. It never removes a directory it did not create.
// Directories it could not remove stay in Created.
func (m *Manager) Destroy() error {
	deadline := time.Now().Add(destroyTimeout)
	leaves := m.dirs()
	kept, err := cgroups.RemoveCreated(m.Created, m.Planned,
		func(dir string) bool { return slices.Contains(leaves, dir) },
		func(dir string) error { return cgroups.RemoveCgroup(dir, deadline) })
	m.Created, m.Planned = kept, nil
	return err
}
