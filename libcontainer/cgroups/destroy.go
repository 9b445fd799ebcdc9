package cgroups

// Removing what a driver created: shared by fs and fs2, which differ only
// in what "the container's own directory" is and how it is removed.

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// RemoveCreated removes the directories a driver made: created (recorded
// parents first) children first, then planned — what a create killed
// before it could record them may have made — deepest first. A leaf (the
// container's own directory, per isLeaf) is removed by removeLeaf, which
// waits for its processes. Any other directory is a parent we made, which
// another container may have nested under since: EBUSY or ENOTEMPTY leave
// it in place, not ours to wait for — unless it holds a directory of ours
// that could not be removed, which keeps it recorded too. RemoveCreated
// never removes a directory it was not given. It returns the directories
// that stay recorded, parents first.
func RemoveCreated(created, planned []string, isLeaf func(string) bool, removeLeaf func(string) error) ([]string, error) {
	all := slices.Clone(created)
	slices.Reverse(all)
	var extra []string
	for _, d := range planned {
		if !slices.Contains(all, d) {
			extra = append(extra, d)
		}
	}
	slices.SortStableFunc(extra, func(a, b string) int {
		return strings.Count(b, "/") - strings.Count(a, "/")
	})
	all = append(all, extra...)
	var kept []string
	var errs []error
	for _, dir := range all {
		if !isLeaf(dir) {
			if slices.ContainsFunc(kept, func(k string) bool { return strings.HasPrefix(k, dir+"/") }) {
				kept = append(kept, dir) // holds what we could not remove
				continue
			}
			if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.ENOTEMPTY) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", dir, err))
				kept = append(kept, dir)
			}
			continue
		}
		if err := removeLeaf(dir); err != nil {
			errs = append(errs, err)
			kept = append(kept, dir)
		}
	}
	slices.Reverse(kept)
	return kept, errors.Join(errs...)
}

// RemoveCgroup removes the cgroup directory dir, waiting until deadline for
// its processes to exit while the kernel says it is busy. It never kills.
func RemoveCgroup(dir string, deadline time.Time) error {
	start := time.Now()
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
			pids, _ := ReadPids(dir)
			return fmt.Errorf("remove cgroup %s: processes still inside after %v (pids %v): %w", dir, time.Since(start).Round(time.Millisecond), pids, err)
		}
		pids, rerr := ReadPids(dir)
		if rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return fmt.Errorf("remove cgroup %s: %w", dir, rerr)
		}
		if len(pids) > 0 {
			if err := WaitExit(pids, deadline); err != nil && time.Now().Before(deadline) {
				return fmt.Errorf("remove cgroup %s: %w", dir, err)
			}
			continue // at the deadline: the next round reports the pids
		}
		// Busy with no process listed: exiting tasks the kernel has not
		// released yet (there is no event for that on v1), or a child
		// cgroup made meanwhile. Retry with a growing pause, bounded by the
		// deadline.
		time.Sleep(min(backoff, time.Until(deadline)))
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

// WaitExit waits until every process in pids has exited or deadline passes.
func WaitExit(pids []int, deadline time.Time) error {
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
	for pending := len(fds); pending > 0; {
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
