package cgroups

// Making a container's cgroup directories: shared by fs (one per hierarchy)
// and fs2, so that both record exactly what they made.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// MissingDirs returns dir and those of its ancestors below root that do
// not exist now, parents first: what MakeDirs is about to make.
func MissingDirs(root, dir string) []string {
	var missing []string
	for d := dir; d != root && len(d) > len(root) && d != "."; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	slices.Reverse(missing)
	return missing
}

// MakeDirs creates dir and its missing ancestors below root and returns the
// directories it made, parents first — also on failure, so that the caller
// can record them for removal. One that appears meanwhile is not ours; a
// parent that another container's delete removes between our look and our
// mkdir (ENOENT) makes us look again.
func MakeDirs(root, dir string) ([]string, error) {
	var made []string
	for try := 0; ; try++ {
		var err error
		for _, d := range MissingDirs(root, dir) {
			if err = os.Mkdir(d, 0o755); err != nil {
				if errors.Is(err, os.ErrExist) {
					err = nil
					continue // made by someone else meanwhile: not ours to remove
				}
				err = fmt.Errorf("create cgroup %s: %w", dir, err)
				break
			}
			made = append(made, d)
		}
		if err == nil || !errors.Is(err, os.ErrNotExist) || try == 4 {
			return made, err
		}
	}
}
