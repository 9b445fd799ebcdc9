package libcontainer

// The parent side of `create`: the state directory, the cgroup, `ocirun init`
// and the two protocols with it (bootstrap_linux.go, sync.go).

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"github.com/ocirun/ocirun/libcontainer/cgroups/manager"
	"github.com/ocirun/ocirun/libcontainer/specutil"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Environment variables that hand `ocirun init` its file descriptors.
const (
	envInitPipe = "_OCIRUN_INITPIPE"
	envSyncPipe = "_OCIRUN_SYNCPIPE"
	envLogPipe  = "_OCIRUN_LOGPIPE"
	envLogLevel = "_OCIRUN_LOGLEVEL"
	envFifoFd   = "_OCIRUN_FIFOFD"
)

// CreateOpts are the options of `create` (and `run`).
type CreateOpts struct {
	Bundle        string      // absolute path of the bundle
	Spec          *specs.Spec // validated by specutil.Validate
	ConsoleSocket string      // where to send the pty master of a terminal container
	KeepConsole   bool        // keep the pty master instead (`run` in the foreground)
	NoPivot       bool
	NoNewKeyring  bool
	PreserveFds   int // pass the caller's fds 3..3+N-1 on to the container
	Debug         bool
	SystemdCgroup bool // --systemd-cgroup: the systemd cgroup driver
}

// initConfig is what the parent sends to `ocirun init` after the bootstrap.
type initConfig struct {
	ID           string      `json:"id"`
	Bundle       string      `json:"bundle"`
	Rootfs       string      `json:"rootfs"`
	Spec         *specs.Spec `json:"spec"`
	NoPivot      bool        `json:"noPivot,omitempty"`
	NoNewKeyring bool        `json:"noNewKeyring,omitempty"`
	PreserveFds  int         `json:"preserveFds,omitempty"`
	// BindFds maps an index in Spec.Mounts to the fd of the detached mount
	// the parent prepared for it (see openMountSources).
	BindFds map[int]int `json:"bindFds,omitempty"`
}

// Create creates a container and leaves its init blocked on the exec fifo.
// The returned container holds its lock: call Close when done with it.
func Create(root, id string, o *CreateOpts) (_ *Container, retErr error) {
	if err := specutil.ValidateID(id); err != nil {
		return nil, err
	}
	s := o.Spec
	cg, err := manager.New(s.Linux.CgroupsPath, id, o.SystemdCgroup)
	if err != nil {
		return nil, fmt.Errorf("config.json: linux.cgroupsPath: %w", err)
	}
	st := &State{
		Version: stateVersion,
		ID:      id,
		Bundle:  o.Bundle,
		Rootfs:  specutil.AbsRootfs(s, o.Bundle),
		Created: time.Now().UTC(),
		Cgroup:  cg,
	}
	c, err := newStateDir(root, id, st, s)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			if err := c.destroy(); err != nil {
				retErr = fmt.Errorf("%w (and cleaning up failed: %v)", retErr, err)
			}
			c.Close()
		}
	}()
	if err := c.startInit(o); err != nil {
		return nil, err
	}
	return c, nil
}

// newStateDir makes <root>/<id> appear atomically, already locked and holding
// state.json and config.json, so that a concurrent create of the same id
// either wins or touches nothing, and a killed create leaves a directory that
// `delete --force` understands.
func newStateDir(root, id string, st *State, s *specs.Spec) (*Container, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create state root: %w", err)
	}
	dst := filepath.Join(root, id)
	if _, err := os.Lstat(dst); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrExist, id)
	}
	tmp, err := os.MkdirTemp(root, ".tmp-"+id+"-")
	if err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	lock, err := lockDir(tmp)
	if err == nil {
		var cfg []byte
		if cfg, err = json.Marshal(s); err == nil {
			if err = os.WriteFile(filepath.Join(tmp, configFile), cfg, 0o600); err == nil {
				if err = st.write(tmp); err == nil {
					err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
				}
			}
		}
	}
	if err != nil {
		os.RemoveAll(tmp)
		if lock != nil {
			lock.Close()
		}
		if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
			return nil, fmt.Errorf("%w: %s", ErrExist, id)
		}
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	return &Container{id: id, dir: dst, state: st, lock: lock}, nil
}

// startInit runs `ocirun init` and drives it to the point where it waits on
// the exec fifo.
func (c *Container) startInit(o *CreateOpts) error {
	s := o.Spec
	fifoPath := filepath.Join(c.dir, fifoFile)
	if err := unix.Mkfifo(fifoPath, 0o622); err != nil {
		return fmt.Errorf("create exec fifo: %w", err)
	}
	// Writable by any container user, whatever our umask made of it.
	if err := os.Chmod(fifoPath, 0o622); err != nil {
		return fmt.Errorf("create exec fifo: %w", err)
	}
	fifo, err := os.OpenFile(fifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer fifo.Close()
	// The directories exist before init starts; init places itself in them.
	// What Create is about to make is saved first, so that a create killed
	// during Create leaves nothing delete cannot find.
	c.state.cgroup().Plan()
	if err := c.state.write(c.dir); err != nil {
		return err
	}
	err = c.state.cgroup().Create()
	if werr := c.state.write(c.dir); err == nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("create cgroup: %w", err)
	}
	if err := c.state.cgroup().Set(s.Linux.Resources); err != nil {
		return fmt.Errorf("apply cgroup resources: %w", err)
	}
	exe, err := protectedExe()
	if err != nil {
		return err
	}
	defer exe.Close()
	initP, initC, err := socketpair(unix.SOCK_STREAM, "init")
	if err != nil {
		return err
	}
	defer initP.Close()
	syncP, syncC, err := socketpair(unix.SOCK_SEQPACKET, "sync")
	if err != nil {
		initC.Close()
		return err
	}
	defer syncP.Close()
	logR, logW, err := os.Pipe()
	if err != nil {
		initC.Close()
		syncC.Close()
		return fmt.Errorf("create log pipe: %w", err)
	}
	defer logR.Close()

	binds, err := openMountSources(s, c.state.Bundle)
	if err != nil {
		initC.Close()
		syncC.Close()
		logW.Close()
		return err
	}
	defer func() {
		for _, f := range binds {
			f.Close()
		}
	}()
	n := o.PreserveFds
	extra := make([]*os.File, 0, n+4+len(binds))
	for i := 0; i < n; i++ {
		extra = append(extra, os.NewFile(uintptr(3+i), "preserved-fd-"+strconv.Itoa(3+i)))
	}
	extra = append(extra, initC, syncC, logW, fifo)
	bindFds := make(map[int]int, len(binds))
	for i, f := range binds {
		bindFds[i] = 3 + len(extra)
		extra = append(extra, f)
	}
	level := "info"
	if o.Debug {
		level = "debug"
	}
	cmd := &exec.Cmd{
		// Through the parent's fd table: the child's own fd numbers get
		// rearranged for ExtraFiles before execve.
		Path:   fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), exe.Fd()),
		Args:   []string{"ocirun", "init"},
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Env: []string{
			envInitPipe + "=" + strconv.Itoa(3+n),
			envSyncPipe + "=" + strconv.Itoa(4+n),
			envLogPipe + "=" + strconv.Itoa(5+n),
			envFifoFd + "=" + strconv.Itoa(6+n),
			envLogLevel + "=" + level,
			"GOMAXPROCS=1",
		},
		ExtraFiles: extra,
	}
	err = cmd.Start()
	initC.Close()
	syncC.Close()
	logW.Close()
	if err != nil {
		return fmt.Errorf("start init: %w", err)
	}
	go forwardLogs(logR)
	reaped := false
	defer func() {
		if !reaped {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	pid, err := bootstrap(initP, cmd.Process.Pid, s, c.state.cgroup())
	c.state.Cgroup.InitJoined() // the init is in its cgroup (or never will be)
	reaped = true
	if werr := cmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("init bootstrap: %w", werr)
	}
	if err != nil {
		return err
	}
	c.state.Pid = pid
	if c.state.StartTime, _, err = procStartTime(pid); err != nil {
		return fmt.Errorf("read init start time: %w", err)
	}
	if err := c.state.write(c.dir); err != nil {
		return err
	}
	// Init waits for its config: its network namespace exists (netdev_linux.go).
	if err := moveNetDevices(pid, s.Linux.NetDevices); err != nil {
		return err
	}
	cfg, err := json.Marshal(&initConfig{
		ID: c.id, Bundle: c.state.Bundle, Rootfs: c.state.Rootfs, Spec: s,
		NoPivot: o.NoPivot, NoNewKeyring: o.NoNewKeyring, PreserveFds: n, BindFds: bindFds,
	})
	if err != nil {
		return err
	}
	if _, err := initP.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(cfg)))); err != nil {
		return fmt.Errorf("send init config: %w", err)
	}
	if _, err := initP.Write(cfg); err != nil {
		return fmt.Errorf("send init config: %w", err)
	}
	if err := c.syncWithInit(int(syncP.Fd()), s, o); err != nil {
		if late := lateBootstrapError(initP); late != nil {
			return late
		}
		return err
	}
	c.state.Ready = true
	return c.state.write(c.dir)
}

// bootstrap sends the bootstrap record to the C stage and answers it until it
// reports the container init's pid.
func bootstrap(initP *os.File, intermediate int, s *specs.Spec, cg cgroups.Manager) (int, error) {
	tasks, unified := cg.Placement()
	if _, err := initP.Write(encodeBootstrap(s, tasks, unified)); err != nil {
		return 0, fmt.Errorf("send bootstrap: %w", err)
	}
	var b [4]byte
	for {
		if _, err := io.ReadFull(initP, b[:1]); err != nil {
			return 0, fmt.Errorf("init bootstrap: init exited early: %w", err)
		}
		switch b[0] {
		case 'U':
			if err := writeIDMaps(intermediate, s); err != nil {
				return 0, err
			}
			if _, err := initP.Write([]byte{'u'}); err != nil {
				return 0, fmt.Errorf("init bootstrap: %w", err)
			}
		case 'P':
			if _, err := io.ReadFull(initP, b[:]); err != nil {
				return 0, fmt.Errorf("init bootstrap: read pid: %w", err)
			}
			return int(int32(binary.LittleEndian.Uint32(b[:]))), nil
		case 'E':
			return 0, readBootstrapError(initP)
		default:
			return 0, fmt.Errorf("init bootstrap: unexpected message %q", b[0])
		}
	}
}

// readBootstrapError reads the text of an 'E' message whose type byte has
// been read.
func readBootstrapError(initP io.Reader) error {
	var b [4]byte
	if _, err := io.ReadFull(initP, b[:]); err != nil {
		return fmt.Errorf("init bootstrap: read error: %w", err)
	}
	msg := make([]byte, min(binary.LittleEndian.Uint32(b[:]), 4096))
	if _, err := io.ReadFull(initP, msg); err != nil {
		return fmt.Errorf("init bootstrap: read error: %w", err)
	}
	return errors.New(string(msg))
}

// lateBootstrapError returns an 'E' message the init's C stage sent after
// the intermediate's 'P' (see bootstrap_linux.go), if there is one.
func lateBootstrapError(initP *os.File) error {
	var b [1]byte
	n, _, err := unix.Recvfrom(int(initP.Fd()), b[:], unix.MSG_DONTWAIT)
	if err != nil || n != 1 || b[0] != 'E' {
		return nil
	}
	return readBootstrapError(initP)
}

// syncWithInit serves init's requests until it is ready (see sync.go).
func (c *Container) syncWithInit(fd int, s *specs.Spec, o *CreateOpts) error {
	for {
		m, fds, err := readSync(fd)
		if errors.Is(err, errSyncEOF) {
			return errors.New("container init exited before it was ready")
		}
		if err != nil {
			return err
		}
		switch m.Type {
		case syncHooks:
			// The lifecycle runs these hooks after step 2, when the
			// runtime "has finished the create operation": created.
			st := c.hookState(s, Created)
			if err := runHooks(s.Hooks, hookPrestart, st); err != nil {
				return err
			}
			if err := runHooks(s.Hooks, hookCreateRuntime, st); err != nil {
				return err
			}
			if err := writeSync(fd, syncHooksDone, ""); err != nil {
				return err
			}
		case syncConsole:
			if len(fds) != 1 {
				return fmt.Errorf("sync: console message with %d fds", len(fds))
			}
			master := os.NewFile(uintptr(fds[0]), "/dev/ptmx")
			if o.KeepConsole {
				c.console = master
			} else {
				err := sendConsole(o.ConsoleSocket, master)
				master.Close()
				if err != nil {
					return err
				}
			}
			if err := writeSync(fd, syncConsoleDone, ""); err != nil {
				return err
			}
		case syncSeccomp:
			if err := c.sendSeccompListener(s, fds); err != nil {
				return err
			}
		case syncReady:
			return nil
		case syncError:
			return errors.New(m.Message)
		default:
			return fmt.Errorf("sync: unexpected message %q", m.Type)
		}
	}
}

func socketpair(typ int, name string) (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("create %s socketpair: %w", name, err)
	}
	return os.NewFile(uintptr(fds[0]), name+"-parent"), os.NewFile(uintptr(fds[1]), name+"-child"), nil
}
