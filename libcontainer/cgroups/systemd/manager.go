// Package systemd is the cgroup driver of --systemd-cgroup: it asks systemd
// over D-Bus for a transient unit per container (a scope, or a slice when
// the name says so) with Delegate=yes, tells systemd the limits it manages
// (properties.go), and leaves the rest to the cgroupfs driver of the host
// (fs on cgroup v1 and hybrid hosts, fs2 on cgroup v2), pointed at the
// unit's cgroup: it writes and reads back every control file, freezes,
// counts and watches for OOM kills there.
//
// The init joins its cgroup by itself before it exists as a process
// (Manager.Placement: CLONE_INTO_CGROUP, v1 tasks files), so the unit must
// exist first. systemd refuses a scope without processes and stops one as
// soon as it becomes empty, so Create starts a holder: ocirun's own binary,
// which the C constructor (nsenter/nsexec.c, _OCIRUN_USERNS_HOLDER) turns,
// before the Go runtime starts, into a process that only waits for EOF on
// its stdin. The scope is started with PIDs=[holder]; once the init is in
// the cgroup (InitJoined, right after the bootstrap reports its pid) the
// pipe is closed, the holder exits and is reaped, and the scope lives on
// with the container. ocirun itself never enters the scope, so the limits
// Set writes before the init starts never apply to it. If ocirun dies first,
// the kernel closes the pipe, the holder exits, the empty scope is stopped
// by systemd. crun avoids the holder by forking the container process first
// and passing its pid; ocirun's init cannot, as it is born inside.
//
// The cost: until the init has joined, the holder counts in the cgroup, so
// a pids.max of 1 leaves no room for the init's clone.
package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"github.com/ocirun/ocirun/libcontainer/cgroups/fs"
	"github.com/ocirun/ocirun/libcontainer/cgroups/fs2"
	"github.com/opencontainers/runtime-spec/specs-go"
)

var _ cgroups.Manager = (*Manager)(nil)

// ErrNotRunning: the host was not booted with systemd.
var ErrNotRunning = errors.New("systemd is not running on this host (no /run/systemd/system)")

// jobTimeout bounds every exchange with systemd, waiting for a job included.
const jobTimeout = 30 * time.Second

// IsRunning tells whether the host was booted with systemd, as
// sd_booted(3) does.
func IsRunning() bool {
	fi, err := os.Lstat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// Manager is one container's transient unit. It is saved with the container
// state as JSON: the unit, its slice, whether we started it, and the state
// of the cgroupfs driver that writes the unit's cgroup files.
type Manager struct {
	Unit  string `json:"unit"`
	Slice string `json:"slice"`
	// ID is the container's: the unit's Description names it, which is how
	// Destroy recognises a unit a killed Create may have started.
	ID string `json:"id"`
	// Planned: Create is about to start the unit (see Plan). Started: it
	// did. Destroy stops only a unit it started, or a planned one whose
	// Description is ours, never another's unit of the same name.
	Planned bool `json:"planned,omitempty"`
	Started bool `json:"started,omitempty"`
	// Exactly one of FS (cgroup v1, hybrid) and FS2 (cgroup v2) is set.
	FS  *fs.Manager  `json:"fs,omitempty"`
	FS2 *fs2.Manager `json:"fs2,omitempty"`

	conn    *dbus.Conn
	version int
	holder  *exec.Cmd
	holdW   *os.File
}

// New returns the driver for a container's cgroupsPath (slice:prefix:name,
// see ParsePath) on this host. It fails with ErrNotRunning without systemd.
func New(cgroupsPath, id string) (*Manager, error) {
	if !IsRunning() {
		return nil, ErrNotRunning
	}
	u, err := ParsePath(cgroupsPath, id)
	if err != nil {
		return nil, err
	}
	m := &Manager{Unit: u.Name, Slice: u.Slice, ID: id}
	if cgroups.HostMode() == cgroups.Unified {
		m.FS2, err = fs2.New(u.Path, id)
	} else {
		m.FS, err = fs.New(u.Path, id)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// fsDriver is the cgroupfs driver at the unit's cgroup.
func (m *Manager) fsDriver() cgroups.Manager {
	if m.FS2 != nil {
		return m.FS2
	}
	return m.FS
}

func (m *Manager) unified() bool { return m.FS2 != nil }

func (m *Manager) description() string { return "ocirun container " + m.ID }

// Plan records that Create is about to start the unit.
func (m *Manager) Plan() { m.Planned = true }

// Create starts the transient unit, waits for systemd to report the job
// done, checks that its cgroup is where the cgroupfs driver will look, and
// has that driver make what systemd did not (v1 hierarchies systemd does
// not manage, such as cpuset or freezer).
func (m *Manager) Create() error {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	conn, err := m.connect()
	if err != nil {
		return err
	}
	u := Unit{Name: m.Unit, Slice: m.Slice}
	props := []dbus.Property{
		dbus.PropDescription(m.description()),
		prop("DefaultDependencies", false),
		prop("MemoryAccounting", true),
		prop("CPUAccounting", true),
		prop("TasksAccounting", true),
	}
	if m.unified() {
		props = append(props, prop("IOAccounting", true))
	} else {
		props = append(props, prop("BlockIOAccounting", true))
	}
	if u.IsSlice() {
		// Delegate= on a slice needs systemd 252; without it the slice
		// is still ours to write in, systemd just does not promise so.
		if m.version >= 252 {
			props = append(props, prop("Delegate", true))
		}
	} else {
		if err := m.startHolder(); err != nil {
			return err
		}
		props = append(props, dbus.PropSlice(m.Slice), prop("Delegate", true),
			dbus.PropPids(uint32(m.holder.Process.Pid)))
	}
	ch := make(chan string, 1)
	if _, err := conn.StartTransientUnitContext(ctx, m.Unit, "replace", props, ch); err != nil {
		m.releaseHolder()
		if isDBusError(err, "org.freedesktop.systemd1.UnitExists") {
			m.Planned = false // someone else's: Destroy leaves it alone
			return fmt.Errorf("start unit %s: it exists already", m.Unit)
		}
		return fmt.Errorf("start unit %s: %w", m.Unit, err)
	}
	if err := waitJob(ctx, ch); err != nil {
		m.releaseHolder()
		return fmt.Errorf("start unit %s: %w", m.Unit, err)
	}
	m.Started, m.Planned = true, false
	if err := m.checkCgroup(ctx, conn); err != nil {
		return err
	}
	d := m.fsDriver()
	d.Plan()
	return d.Create()
}

// checkCgroup compares the unit's ControlGroup with the path the cgroupfs
// driver was given (it differs when systemd runs in a cgroup namespace).
func (m *Manager) checkCgroup(ctx context.Context, conn *dbus.Conn) error {
	typ := "Scope"
	if strings.HasSuffix(m.Unit, ".slice") {
		typ = "Slice"
	}
	p, err := conn.GetUnitTypePropertyContext(ctx, m.Unit, typ, "ControlGroup")
	if err != nil {
		return fmt.Errorf("read cgroup of unit %s: %w", m.Unit, err)
	}
	got, _ := p.Value.Value().(string)
	want, err := m.cgroupPath()
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("unit %s is in cgroup %q, not %q as expected", m.Unit, got, want)
	}
	return nil
}

// cgroupPath is the unit's cgroup from the hierarchy root, derived again
// from the unit and slice names.
func (m *Manager) cgroupPath() (string, error) {
	if strings.HasSuffix(m.Unit, ".slice") {
		return ExpandSlice(m.Unit)
	}
	parent, err := ExpandSlice(m.Slice)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(parent, "/") + "/" + m.Unit, nil
}

// InitJoined is called once the container's init is in the cgroup: the
// holder that kept the scope alive until then exits.
func (m *Manager) InitJoined() { m.releaseHolder() }

// startHolder starts the process the scope is created with (see the
// package comment).
func (m *Manager) startHolder() error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create pipe: %w", err)
	}
	cmd := &exec.Cmd{
		Path:  "/proc/self/exe",
		Args:  []string{"ocirun-scope-holder"},
		Env:   []string{"_OCIRUN_USERNS_HOLDER=1"},
		Stdin: r,
	}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return fmt.Errorf("start scope holder: %w", err)
	}
	m.holder, m.holdW = cmd, w
	return nil
}

// releaseHolder lets the holder exit and reaps it.
func (m *Manager) releaseHolder() {
	if m.holder == nil {
		return
	}
	m.holdW.Close()
	_ = m.holder.Wait() // it only ever exits 0 or is killed with its unit
	m.holder, m.holdW = nil, nil
}

// Placement is the cgroupfs driver's: the unit's cgroup.
func (m *Manager) Placement() (tasks []string, unified string) {
	return m.fsDriver().Placement()
}

// Set tells systemd the limits it manages, then has the cgroupfs driver
// write (and read back) every field, devices included.
func (m *Manager) Set(r *specs.LinuxResources) error {
	if err := m.setProperties(r); err != nil {
		return err
	}
	return m.fsDriver().Set(r)
}

// Update is Set for a live container, leaving the device rules alone.
func (m *Manager) Update(r *specs.LinuxResources) error {
	if err := m.setProperties(r); err != nil {
		return err
	}
	return m.fsDriver().Update(r)
}

func (m *Manager) setProperties(r *specs.LinuxResources) error {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	conn, err := m.connect()
	if err != nil {
		return err
	}
	props := resourceProperties(r, m.unified(), m.version)
	if len(props) == 0 {
		return nil
	}
	if err := conn.SetUnitPropertiesContext(ctx, m.Unit, true, props...); err != nil {
		return fmt.Errorf("set properties of unit %s: %w", m.Unit, err)
	}
	return nil
}

func (m *Manager) Freeze() error                     { return m.fsDriver().Freeze() }
func (m *Manager) Thaw() error                       { return m.fsDriver().Thaw() }
func (m *Manager) Frozen() bool                      { return m.fsDriver().Frozen() }
func (m *Manager) Pids() ([]int, error)              { return m.fsDriver().Pids() }
func (m *Manager) AllPids() ([]int, error)           { return m.fsDriver().AllPids() }
func (m *Manager) Stats() (*cgroups.Stats, error)    { return m.fsDriver().Stats() }
func (m *Manager) OOM() (cgroups.OOMNotifier, error) { return m.fsDriver().OOM() }

// Destroy stops the unit if we started it (systemd removes its cgroup),
// waiting for the job, then has the cgroupfs driver remove what it made.
// A unit that is gone already is fine.
func (m *Manager) Destroy() error {
	m.releaseHolder()
	var errs []error
	if m.Started || m.Planned {
		if err := m.stop(); err != nil {
			errs = append(errs, err)
		} else {
			m.Started, m.Planned = false, false
		}
	}
	if err := m.fsDriver().Destroy(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (m *Manager) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	conn, err := m.connect()
	if err != nil {
		return err
	}
	if !m.Started {
		// Planned only: a killed Create may or may not have started it.
		p, err := conn.GetUnitPropertyContext(ctx, m.Unit, "Description")
		if err != nil {
			return nil // no such unit loaded: nothing to stop
		}
		if d, _ := p.Value.Value().(string); d != m.description() {
			return nil // not ours
		}
	}
	ch := make(chan string, 1)
	if _, err := conn.StopUnitContext(ctx, m.Unit, "replace", ch); err != nil {
		if isDBusError(err, "org.freedesktop.systemd1.NoSuchUnit") {
			return nil
		}
		return fmt.Errorf("stop unit %s: %w", m.Unit, err)
	}
	if err := waitJob(ctx, ch); err != nil {
		return fmt.Errorf("stop unit %s: %w", m.Unit, err)
	}
	// A unit that failed stays loaded (and its name taken) until reset.
	_ = conn.ResetFailedUnitContext(ctx, m.Unit)
	return nil
}

// connect opens the D-Bus connection to systemd once (the system bus, or
// systemd's private socket when there is no bus daemon) and reads its
// version.
func (m *Manager) connect() (*dbus.Conn, error) {
	if m.conn != nil {
		return m.conn, nil
	}
	if !IsRunning() {
		return nil, ErrNotRunning
	}
	// Not a context with a deadline: godbus closes the connection when
	// its context ends, and it serves every later call of this Manager.
	conn, err := dbus.NewWithContext(context.Background())
	if err != nil {
		return nil, fmt.Errorf("connect to systemd: %w", err)
	}
	v, err := conn.GetManagerProperty("Version")
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("read systemd version: %w", err)
	}
	m.conn, m.version = conn, parseVersion(v)
	return conn, nil
}

// parseVersion reads the leading number of systemd's Version property
// (`"252.22-1~deb12u1"`, `"v255"`); 0 when there is none.
func parseVersion(v string) int {
	v = strings.TrimLeft(v, "\"v")
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(v[:end])
	return n
}

// waitJob waits for the result of a systemd job: "done" is success.
func waitJob(ctx context.Context, ch <-chan string) error {
	select {
	case res := <-ch:
		if res != "done" {
			return fmt.Errorf("job %s", res)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for job: %w", ctx.Err())
	}
}

// isDBusError tells whether err is the D-Bus error name (godbus returns
// method errors as values, others as pointers).
func isDBusError(err error, name string) bool {
	var derr godbus.Error
	if errors.As(err, &derr) {
		return derr.Name == name
	}
	var perr *godbus.Error
	return errors.As(err, &perr) && perr.Name == name
}
