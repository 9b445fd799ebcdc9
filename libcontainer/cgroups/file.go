package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// writeFile writes val to a cgroup control file. O_CREATE does nothing on a
// real cgroupfs, where control files always exist, and lets tests run on a
// plain directory tree standing in for one.
func WriteFile(dir, file, val string) error {
	p := filepath.Join(dir, file)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(val); err != nil {
		f.Close()
		return fmt.Errorf("write %q to %s: %w", val, p, err)
	}
	return f.Close()
}

func ReadTrimmed(p string) (string, error) {
	data, err := os.ReadFile(p)
	return strings.TrimSpace(string(data)), err
}

// readPids reads the cgroup.procs file of dir.
func ReadPids(dir string) ([]int, error) {
	text, err := ReadTrimmed(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(text) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("parse %s/cgroup.procs: %w", dir, err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}
