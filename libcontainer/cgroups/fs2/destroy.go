package fs2

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"golang.org/x/sys/unix"
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
	all := slices.Clone(m.Created)
	slices.Reverse(all)
	var planned []string
	for _, d := range m.Planned {
		if !slices.Contains(all, d) {
			planned = append(planned, d)
		}
	}
	slices.SortStableFunc(planned, func(a, b string) int {
		return strings.Count(b, "/") - strings.Count(a, "/")
	})
	all = append(all, planned...)
	var kept []string
	var errs []error
	for _, dir := range all {
		if dir != m.Dir {
			if slices.ContainsFunc(kept, func(k string) bool { return strings.HasPrefix(k, dir+"/") }) {
				kept = append(kept, dir) // holds what we could not remove
				continue
			}
			// A parent we made: another container may have nested under
			// it since. Then it is in use and stays.
			if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.ENOTEMPTY) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", dir, err))
				kept = append(kept, dir)
			}
			continue
		}
		if err := removeTree(dir, deadline); err != nil {
			errs = append(errs, err)
			kept = append(kept, dir)
		}
	}
	slices.Reverse(kept)
	m.Created, m.Planned = kept, nil
	return errors.Join(errs...)
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
		if err := removeCgroup(d, deadline); err != nil {
			return err
		}
	}
	return nil
}

// removeCgroup removes the cgroup directory dir, waiting until deadline for
// its processes to exit while the kernel says it is busy.
func removeCgroup(dir string, deadline time.Time) error {
	backoff := time.Millisecond
	for {
		err := unix.Rmdir(dir)
		switch {
		case err == nil || errors.Is(err, unix.ENOENT):
			return nil
		case !errors.Is(err, unix.EBUSY):
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("remove cgroup %s: processes still inside after %v: %w", dir, destroyTimeout, err)
		}
		pids, rerr := cgroups.ReadPids(dir)
		if rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return fmt.Errorf("remove cgroup %s: %w", dir, rerr)
		}
		if len(pids) > 0 {
			if err := waitExit(pids, deadline); err != nil {
				if !time.Now().Before(deadline) {
					return fmt.Errorf("remove cgroup %s: processes still inside after %v (pids %v)", dir, destroyTimeout, pids)
				}
				return fmt.Errorf("remove cgroup %s: %w", dir, err)
			}
			continue
		}
		// Busy with no process listed: exiting tasks the kernel has not
		// released yet, or a child cgroup made meanwhile. Retry with a
		// growing pause, bounded by the deadline.
		time.Sleep(min(backoff, time.Until(deadline)))
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

// waitExit waits until every process in pids has exited or deadline passes.
func waitExit(pids []int, deadline time.Time) error {
	var fds []unix.PollFd
	var open []int
	defer func() {
		for _, fd := range open {
			unix.Close(fd)
		}
	}()
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if errors.Is(err, unix.ESRCH) {
			continue // already gone
		}
		if err != nil {
			return fmt.Errorf("open pidfd of %d: %w", pid, err)
		}
		open = append(open, fd)
		fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	}
	pending := len(fds)
	for pending > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("wait for %d processes to exit: timed out", pending)
		}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("poll pidfds: %w", err)
		}
		if n == 0 {
			continue
		}
		pending = 0
		for i := range fds {
			if fds[i].Revents != 0 {
				fds[i].Fd = -1 // exited: poll skips negative fds
			}
			if fds[i].Fd >= 0 {
				pending++
			}
		}
	}
	return nil
}
