package libcontainer

// On-disk state of one container: <root>/<id>/
//
//	state.json   small, versioned, written tmp+rename (this file's State)
//	config.json  the spec the container was created from (annotations, hooks)
//	exec.fifo    present while the container is "created": init blocks opening it
//
// The directory itself is the lock: every command that changes the container
// holds flock(LOCK_EX) on an fd of the directory. Status is never stored: it is
// derived from the init pid and its start time, the freezer (paused) and
// the fifo.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"github.com/ocirun/ocirun/libcontainer/cgroups/manager"
	"golang.org/x/sys/unix"
)

const (
	stateFile  = "state.json"
	configFile = "config.json"
	fifoFile   = "exec.fifo"

	stateVersion = 1
)

// Status is a container's runtime-spec status.
type Status string

const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Paused   Status = "paused"
	Stopped  Status = "stopped"
)

// State is what we persist about a container. Everything else is either in
// the config copy or derived from the kernel.
type State struct {
	Version   int             `json:"version"`
	ID        string          `json:"id"`
	Bundle    string          `json:"bundle"`
	Rootfs    string          `json:"rootfs"`
	Pid       int             `json:"pid,omitempty"`
	StartTime uint64          `json:"startTime,omitempty"` // /proc/<pid>/stat field 22
	Ready     bool            `json:"ready,omitempty"`     // init reached the exec fifo
	Created   time.Time       `json:"created"`
	Owner     string          `json:"owner"`
	Cgroup    *manager.Handle `json:"cgroup,omitempty"`
}

// cgroup is the container's cgroup driver, nil if it has none.
func (s *State) cgroup() cgroups.Manager { return s.Cgroup.Manager() }

func readState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode %s: %w", filepath.Join(dir, stateFile), err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("%s: unsupported state version %d", filepath.Join(dir, stateFile), s.Version)
	}
	return &s, nil
}

// writeFileAtomic writes data to dir/name through a temporary file and a rename,
// so that readers see either the old or the new content.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, "."+name+"-")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func (s *State) write(dir string) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, stateFile, b)
}

// lockDir takes an exclusive flock on the state directory. It fails with
// ErrNotExist when the directory was removed while we waited for the lock.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, fmt.Errorf("open state dir: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock state dir: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Nlink == 0 {
		f.Close()
		return nil, ErrNotExist
	}
	return f, nil
}

// lockHeld tells whether someone holds the state directory's lock.
func lockHeld(dir string) bool {
	f, err := os.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	return false
}

// procStartTime returns field 22 (starttime) of /proc/<pid>/stat, and whether
// the process is a zombie.
func procStartTime(pid int) (uint64, bool, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false, err
	}
	// comm may contain spaces and parentheses: parse after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); starttime is field 22 -> f[19].
	if len(f) < 20 {
		return 0, false, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	return st, f[0] == "Z" || f[0] == "X", err
}

// initAlive tells whether the container's init is the process that still runs
// under the recorded pid (not exited, not a zombie, not a reused pid).
func (s *State) initAlive() bool {
	if s.Pid <= 0 {
		return false
	}
	st, dead, err := procStartTime(s.Pid)
	return err == nil && !dead && st == s.StartTime
}

// status derives the container's status from the kernel and the state dir.
func (s *State) status(dir string) Status {
	if !s.Ready {
		if lockHeld(dir) && (s.Pid == 0 || s.initAlive()) {
			return Creating
		}
		return Stopped
	}
	if !s.initAlive() {
		return Stopped
	}
	if s.cgroup() != nil && s.cgroup().Frozen() { // runc: paused even if created
		return Paused
	}
	if _, err := os.Lstat(filepath.Join(dir, fifoFile)); err == nil {
		return Created
	}
	return Running
}
