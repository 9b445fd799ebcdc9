package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ocirun/ocirun/libcontainer/specutil"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Container is a handle on one container's state directory.
type Container struct {
	id    string
	dir   string
	state *State
	lock  *os.File // held while this handle changes the container

	// console is the pty master of a terminal container created without a
	// console socket (`run` in the foreground); nil otherwise.
	console *os.File
}

// Load opens an existing container. It does not lock it.
func Load(root, id string) (*Container, error) {
	if err := specutil.ValidateID(id); err != nil {
		return nil, ErrNotExist
	}
	dir := filepath.Join(root, id)
	st, err := readState(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, fmt.Errorf("load container %s: %w", id, err)
	}
	return &Container{id: id, dir: dir, state: st}, nil
}

// LoadLocked opens an existing container and takes its lock; Close releases it.
func LoadLocked(root, id string) (*Container, error) {
	if err := specutil.ValidateID(id); err != nil {
		return nil, ErrNotExist
	}
	dir := filepath.Join(root, id)
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	c, err := Load(root, id)
	if err != nil {
		lock.Close()
		return nil, err
	}
	c.lock = lock
	return c, nil
}

// Close releases the container's lock (and the console it may hold).
func (c *Container) Close() {
	if c.lock != nil {
		c.lock.Close()
		c.lock = nil
	}
}

// ID returns the container's id.
func (c *Container) ID() string { return c.id }

// Pid returns the host pid of the container's init, 0 if it has none.
func (c *Container) Pid() int { return c.state.Pid }

// Console returns the pty master kept for a foreground terminal container.
func (c *Container) Console() *os.File { return c.console }

// Status derives the container's current status.
func (c *Container) Status() Status { return c.state.status(c.dir) }

// Spec reads the config the container was created with.
func (c *Container) Spec() (*specs.Spec, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, configFile))
	if err != nil {
		return nil, fmt.Errorf("read container config: %w", err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode container config: %w", err)
	}
	return &s, nil
}

// OCIState is the state JSON `ocirun state` prints: the runtime-spec state
// plus the fields runc adds (rootfs, created, owner).
type OCIState struct {
	specs.State
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
}

// OCIState reports the container's state. A stopped container has pid 0.
func (c *Container) OCIState() (*OCIState, error) {
	status := c.Status()
	st := &OCIState{
		State: specs.State{
			Version: specs.Version,
			ID:      c.id,
			Status:  specs.ContainerState(status),
			Bundle:  c.state.Bundle,
		},
		Rootfs:  c.state.Rootfs,
		Created: c.state.Created,
		Owner:   c.state.Owner,
	}
	if status != Stopped {
		st.Pid = c.state.Pid
	}
	if s, err := c.Spec(); err == nil {
		st.Annotations = s.Annotations
	}
	return st, nil
}

// hookState is the state passed to hooks on their stdin.
func (c *Container) hookState(s *specs.Spec, status Status) *specs.State {
	return &specs.State{
		Version:     specs.Version,
		ID:          c.id,
		Status:      specs.ContainerState(status),
		Pid:         c.state.Pid,
		Bundle:      c.state.Bundle,
		Annotations: s.Annotations,
	}
}

// List returns the containers under root, sorted by id.
func List(root string) ([]*Container, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var cs []*Container
	for _, e := range entries {
		if !e.IsDir() || e.Name()[0] == '.' {
			continue
		}
		c, err := Load(root, e.Name())
		if err != nil {
			continue // removed meanwhile, or not ours
		}
		c.state.Owner = dirOwner(c.dir)
		cs = append(cs, c)
	}
	return cs, nil
}

// dirOwner names the owner of a state directory, as runc's list shows it.
func dirOwner(dir string) string {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return ""
	}
	uid := strconv.Itoa(int(st.Uid))
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return "#" + uid
}
