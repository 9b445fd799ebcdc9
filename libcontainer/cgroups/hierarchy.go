package cgroups

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
)

// UnifiedKey names the cgroup2 hierarchy (the "0::" line of /proc/self/cgroup)
// in Manager.Paths.
const UnifiedKey = "unified"

// mount is one cgroup filesystem mount from mountinfo.
type Mount struct {
	Root   string   // the hierarchy directory shown at point ("/" unless a bind mount or cgroup namespace)
	Point  string   // where it is mounted
	FSType string   // "cgroup" or "cgroup2"
	Opts   []string // super options: the v1 controllers and name=...
}

// dir returns the directory at which cgroup p (a path from the hierarchy
// root, as /proc/<pid>/cgroup prints it) is seen through this mount.
func (m Mount) Dir(p string) (string, bool) {
	rel, ok := strings.CutPrefix(p, m.Root)
	if !ok || (m.Root != "/" && rel != "" && rel[0] != '/') {
		return "", false
	}
	return path.Join(m.Point, rel), true
}

// procEntry is one line of /proc/<pid>/cgroup.
type ProcEntry struct {
	Keys []string // controllers and name=..., or [UnifiedKey] for the cgroup2 line
	Path string
}

func ParseMountinfo(r io.Reader) ([]Mount, error) {
	var mounts []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// id parent major:minor root point options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			return nil, fmt.Errorf("parse mountinfo line %q: no separator", sc.Text())
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 6 || len(g) < 3 {
			return nil, fmt.Errorf("parse mountinfo line %q: too few fields", sc.Text())
		}
		if g[0] != "cgroup" && g[0] != "cgroup2" {
			continue
		}
		mounts = append(mounts, Mount{
			Root:   unescapeOctal(f[3]),
			Point:  unescapeOctal(f[4]),
			FSType: g[0],
			Opts:   strings.Split(g[2], ","),
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return mounts, nil
}

// unescapeOctal undoes mountinfo's \ooo escapes of space, tab, newline and backslash.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func ParseProcCgroup(r io.Reader) ([]ProcEntry, error) {
	var entries []ProcEntry
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("parse cgroup line %q: want id:controllers:path", line)
		}
		e := ProcEntry{Path: parts[2]}
		if parts[0] == "0" && parts[1] == "" {
			e.Keys = []string{UnifiedKey}
		} else {
			e.Keys = strings.Split(parts[1], ",")
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read cgroup file: %w", err)
	}
	return entries, nil
}

// findMount returns the mount that shows the hierarchy of e with e's cgroup
// visible beneath it.
func FindMount(mounts []Mount, e ProcEntry) (Mount, bool) {
	for _, m := range mounts {
		if e.Keys[0] == UnifiedKey {
			if m.FSType != "cgroup2" {
				continue
			}
		} else if m.FSType != "cgroup" || !containsAll(m.Opts, e.Keys) {
			continue
		}
		if _, ok := m.Dir(e.Path); ok {
			return m, true
		}
	}
	return Mount{}, false
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
