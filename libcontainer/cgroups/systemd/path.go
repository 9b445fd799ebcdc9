package systemd

import (
	"fmt"
	"path"
	"strings"
)

// defaultSlice holds the units of containers whose cgroupsPath names no
// slice, as for runc running as root.
const defaultSlice = "system.slice"

// Unit is where a container's cgroup lives as systemd sees it.
type Unit struct {
	// Name is the transient unit: <prefix>-<name>.scope, or <name> itself
	// when it ends in ".slice".
	Name string
	// Slice is the slice the unit goes in (for a slice unit, the one it
	// wants: its place in the tree follows from its own name).
	Slice string
	// Path is the unit's cgroup, from the root of every hierarchy.
	Path string
}

// IsSlice tells whether the unit is a slice rather than a scope.
func (u Unit) IsSlice() bool { return strings.HasSuffix(u.Name, ".slice") }

// ParsePath reads a cgroupsPath of the form "slice:prefix:name", as runc
// does with --systemd-cgroup: an empty slice means system.slice, an empty
// cgroupsPath means "system.slice:ocirun:<id>", and a name ending in
// ".slice" makes a slice unit of that name (prefix ignored) instead of the
// scope "<prefix>-<name>.scope" ("<name>.scope" when prefix is empty).
func ParsePath(cgroupsPath, id string) (Unit, error) {
	if cgroupsPath == "" {
		cgroupsPath = ":ocirun:" + id
	}
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 {
		return Unit{}, fmt.Errorf("%q is not of the form slice:prefix:name, which --systemd-cgroup needs", cgroupsPath)
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "" {
		slice = defaultSlice
	}
	if name == "" {
		return Unit{}, fmt.Errorf("%q: the name (after the second colon) is empty", cgroupsPath)
	}
	for _, p := range []string{prefix, name} {
		if err := checkUnitChars(p); err != nil {
			return Unit{}, fmt.Errorf("%q: %w", cgroupsPath, err)
		}
	}
	parent, err := ExpandSlice(slice)
	if err != nil {
		return Unit{}, fmt.Errorf("%q: %w", cgroupsPath, err)
	}
	u := Unit{Slice: slice}
	switch {
	case strings.HasSuffix(name, ".slice"):
		// A slice's place in the tree is its name: "a-b.slice" is always
		// a.slice/a-b.slice, whatever slice was asked for.
		u.Name = name
		if u.Path, err = ExpandSlice(name); err != nil {
			return Unit{}, fmt.Errorf("%q: %w", cgroupsPath, err)
		}
		return u, nil
	case prefix == "":
		u.Name = name + ".scope"
	default:
		u.Name = prefix + "-" + name + ".scope"
	}
	u.Path = path.Join(parent, u.Name)
	return u, nil
}

// checkUnitChars accepts what systemd accepts in a unit name: ASCII
// letters, digits and ":-_.\@" (the colons are taken by the path format).
func checkUnitChars(s string) error {
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("-_.\\@", c):
		default:
			return fmt.Errorf("%q: systemd unit names cannot hold %q", s, c)
		}
	}
	return nil
}

// ExpandSlice turns a slice name into its cgroup path as systemd does:
// every dash starts a level, so "a-b-c.slice" is /a.slice/a-b.slice/a-b-c.slice,
// and "-.slice" is the root.
func ExpandSlice(slice string) (string, error) {
	base, ok := strings.CutSuffix(slice, ".slice")
	if !ok || base == "" {
		return "", fmt.Errorf("slice %q: a slice name ends in \".slice\"", slice)
	}
	if strings.Contains(base, "/") {
		return "", fmt.Errorf("slice %q: a slice name has no \"/\" (write a-b.slice for a.slice/a-b.slice)", slice)
	}
	if base == "-" {
		return "/", nil
	}
	if err := checkUnitChars(base); err != nil {
		return "", fmt.Errorf("slice %q: %w", slice, err)
	}
	p, prefix := "", ""
	for _, part := range strings.Split(base, "-") {
		if part == "" {
			return "", fmt.Errorf("slice %q: empty component between dashes", slice)
		}
		p += "/" + prefix + part + ".slice"
		prefix += part + "-"
	}
	return p, nil
}
