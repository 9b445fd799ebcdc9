package rootfs

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A `cgroup` mount on a v1 (or hybrid) host is done as runc does: a tmpfs at
// the destination, then one directory per host hierarchy. With a cgroup
// namespace each hierarchy is a real cgroup mount (the kernel shows the
// namespace's root); without one, the host directory of this process's own
// cgroup is bind-mounted. Combined hierarchies ("cpu,cpuacct") get a symlink
// per controller. On a pure v2 host see cgroupmount_v2.go.

// hierarchy is one cgroup hierarchy mounted on the host under /sys/fs/cgroup.
type hierarchy struct {
	name       string // directory name, e.g. "cpu,cpuacct", "systemd", "unified"
	mountpoint string
	root       string   // the hierarchy path mounted at mountpoint
	v2         bool     // cgroup2
	subsystems []string // v1: controllers and "name=..." options
}

const cgroupRoot = "/sys/fs/cgroup"

// fsMount is a config mount of a fresh filesystem.
func fsMount(fstype, source string) specs.Mount {
	return specs.Mount{Type: fstype, Source: source}
}

func mountCgroupV1(root *os.File, dest string, opts MountOptions, cgroupNS bool) error {
	hs, unified, err := hostHierarchies()
	if err != nil {
		return err
	}
	if unified {
		return mountCgroupV2(root, dest, opts, cgroupNS) // cgroupmount_v2.go
	}
	tmpfsOpts := MountOptions{Flags: opts.Flags &^ unix.MS_RDONLY, DataOpts: []string{"mode=755"}}
	if err := mountFs(root, dest, fsMount("tmpfs", "cgroup"), tmpfsOpts, nil); err != nil {
		return fmt.Errorf("mount cgroup tmpfs: %w", err)
	}
	own, err := ownCgroups()
	if err != nil {
		return err
	}
	for _, h := range hs {
		sub := path.Join(dest, h.name)
		if cgroupNS {
			err = mountHierarchy(root, sub, h, opts)
		} else {
			err = bindHierarchy(root, sub, h, own, opts)
		}
		if err != nil {
			return fmt.Errorf("mount cgroup hierarchy %s: %w", h.name, err)
		}
	}
	if err := linkCombined(root, dest, hs); err != nil {
		return err
	}
	if opts.Flags&unix.MS_RDONLY == 0 {
		return nil
	}
	top, err := pathrs.OpenatInRoot(root, dest)
	if err != nil {
		return fmt.Errorf("reopen cgroup tmpfs: %w", err)
	}
	defer top.Close()
	return remountBind(top, opts.Flags, opts.ClearFlags)
}

func mountHierarchy(root *os.File, sub string, h hierarchy, opts MountOptions) error {
	if h.v2 {
		return mountFs(root, sub, fsMount("cgroup2", "cgroup2"), MountOptions{Flags: opts.Flags}, nil)
	}
	return mountFs(root, sub, fsMount("cgroup", "cgroup"), MountOptions{Flags: opts.Flags, DataOpts: h.subsystems}, nil)
}

func bindHierarchy(root *os.File, sub string, h hierarchy, own map[string]string, opts MountOptions) error {
	cg, ok := own[h.key()]
	if !ok {
		return fmt.Errorf("find own cgroup in /proc/self/cgroup: no line for %q", h.key())
	}
	rel := cg
	if h.root != "/" {
		r, ok := strings.CutPrefix(cg, h.root)
		if !ok || (r != "" && r[0] != '/') {
			return fmt.Errorf("own cgroup %s is outside the host mount of %s", cg, h.root)
		}
		rel = r
	}
	source := path.Join(h.mountpoint, rel)
	return mountBind(root, sub, source, nil, MountOptions{
		Flags:      opts.Flags | unix.MS_BIND | unix.MS_REC,
		ClearFlags: opts.ClearFlags,
	})
}

// linkCombined adds "cpu" -> "cpu,cpuacct" style links in the cgroup tmpfs.
func linkCombined(root *os.File, dest string, hs []hierarchy) error {
	dir, err := pathrs.OpenatInRoot(root, dest)
	if err != nil {
		return fmt.Errorf("reopen cgroup tmpfs: %w", err)
	}
	defer dir.Close()
	for _, h := range hs {
		if !strings.Contains(h.name, ",") {
			continue
		}
		for _, c := range strings.Split(h.name, ",") {
			if err := unix.Symlinkat(h.name, int(dir.Fd()), c); err != nil {
				return fmt.Errorf("link cgroup %s to %s: %w", c, h.name, err)
			}
		}
	}
	return nil
}

// key is the controller field of this hierarchy's /proc/self/cgroup line.
func (h hierarchy) key() string {
	if h.v2 {
		return ""
	}
	s := slices.Clone(h.subsystems)
	slices.Sort(s)
	return strings.Join(s, ",")
}

// hostHierarchies lists the cgroup hierarchies mounted directly under
// /sys/fs/cgroup; unified is true when /sys/fs/cgroup itself is cgroup2.
func hostHierarchies() (hs []hierarchy, unified bool, err error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, false, fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		root, mp, fstype, super, ok := parseMountinfoLine(sc.Text())
		if !ok || (fstype != "cgroup" && fstype != "cgroup2") {
			continue
		}
		if mp == cgroupRoot && fstype == "cgroup2" {
			return nil, true, nil
		}
		if path.Dir(mp) != cgroupRoot {
			continue
		}
		h := hierarchy{name: path.Base(mp), mountpoint: mp, root: root, v2: fstype == "cgroup2"}
		if !h.v2 {
			h.subsystems = v1Subsystems(super)
		}
		hs = append(hs, h)
	}
	if err := sc.Err(); err != nil {
		return nil, false, fmt.Errorf("read mountinfo: %w", err)
	}
	return hs, false, nil
}

// v1Subsystems keeps the options that name a v1 hierarchy.
func v1Subsystems(super string) []string {
	var subs []string
	for _, o := range strings.Split(super, ",") {
		switch {
		case o == "rw", o == "ro", o == "clone_children", o == "noprefix", o == "xattr",
			o == "cpuset_v2_mode", strings.HasPrefix(o, "release_agent="):
		default:
			subs = append(subs, o)
		}
	}
	return subs
}

// parseMountinfoLine returns a mountinfo line's root, mount point, fs type
// and super options.
func parseMountinfoLine(line string) (root, mountpoint, fstype, super string, ok bool) {
	pre, post, found := strings.Cut(line, " - ")
	if !found {
		return "", "", "", "", false
	}
	a, b := strings.Fields(pre), strings.Fields(post)
	if len(a) < 5 || len(b) < 3 {
		return "", "", "", "", false
	}
	return unescapeMountinfo(a[3]), unescapeMountinfo(a[4]), b[0], b[2], true
}

// unescapeMountinfo undoes the kernel's octal escaping (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// ownCgroups maps the controller field of /proc/self/cgroup to the path.
func ownCgroups() (map[string]string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("read own cgroups: %w", err)
	}
	own := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrls := strings.Split(parts[1], ",")
		slices.Sort(ctrls)
		own[strings.Join(ctrls, ",")] = parts[2]
	}
	return own, nil
}
