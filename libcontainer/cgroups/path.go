package cgroups

import (
	"fmt"
	"path"
	"strings"
)

// CleanPath checks a spec cgroupsPath and returns it cleaned. A path whose
// ".." elements climb above its starting point (the hierarchy root for an
// absolute path, the caller's own cgroup for a relative one) is rejected.
// The empty path is returned unchanged.
func CleanPath(p string) (string, error) {
	depth := 0
	for _, elem := range strings.Split(p, "/") {
		switch elem {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return "", fmt.Errorf("cgroup path %q escapes its parent with \"..\"", p)
			}
		default:
			depth++
		}
	}
	if p == "" {
		return "", nil
	}
	return path.Clean(p), nil
}
