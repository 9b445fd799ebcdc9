package libcontainer

// The Go side of `ocirun init`. The C constructor (nsenter/) has already put
// this process in the container's namespaces and made it the container's pid
// 1 (when there is a pid namespace). From here: read the init config, build
// the root filesystem, talk to the parent over the sync socket (sync.go),
// set up the process, block on the exec fifo, exec.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"github.com/ocirun/ocirun/libcontainer/capabilities"
	"github.com/ocirun/ocirun/libcontainer/rootfs"
	"github.com/ocirun/ocirun/libcontainer/specutil"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Init is the entry point of `ocirun init`. The caller has locked the main
// goroutine to the main thread. It returns only on failure, after reporting
// the error to the parent.
func Init() error {
	syncFd, err := envFd(envSyncPipe)
	if err != nil {
		return err
	}
	if lfd, err := envFd(envLogPipe); err == nil {
		setupInitLogging(os.NewFile(uintptr(lfd), "log-pipe"), os.Getenv(envLogLevel))
	}
	cfg, err := readInitConfig()
	if err == nil {
		err = runInit(cfg, syncFd)
	}
	// Only reached on failure: hand the error to the parent as data.
	writeSync(syncFd, syncError, err.Error())
	return err
}

func envFd(name string) (int, error) {
	fd, err := strconv.Atoi(os.Getenv(name))
	if err != nil {
		return -1, fmt.Errorf("%s: not an fd number: %w", name, err)
	}
	return fd, nil
}

func readInitConfig() (*initConfig, error) {
	fd, err := envFd(envInitPipe)
	if err != nil {
		return nil, err
	}
	pipe := os.NewFile(uintptr(fd), "init-pipe")
	defer pipe.Close()
	var n [4]byte
	if _, err := io.ReadFull(pipe, n[:]); err != nil {
		return nil, fmt.Errorf("read init config: %w", err)
	}
	b := make([]byte, binary.LittleEndian.Uint32(n[:]))
	if _, err := io.ReadFull(pipe, b); err != nil {
		return nil, fmt.Errorf("read init config: %w", err)
	}
	var cfg initConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("decode init config: %w", err)
	}
	return &cfg, nil
}

func bindSources(fds map[int]int) map[int]*os.File {
	files := make(map[int]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), "bind-source-"+strconv.Itoa(i))
	}
	return files
}

func isBind(m *specs.Mount) bool {
	if m.Type == "bind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

func runInit(cfg *initConfig, syncFd int) error {
	s := cfg.Spec
	p := s.Process
	// Hooks run from here are in the container's namespaces: the spec has
	// them see the init's pid as the container sees it.
	state := &specs.State{
		Version: specs.Version, ID: cfg.ID, Status: specs.StateCreated,
		Pid: os.Getpid(), Bundle: cfg.Bundle, Annotations: s.Annotations,
	}
	// First of all, so that no hook we run and nothing we exec inherits an
	// fd the caller leaked into ocirun, and before a seccomp profile could
	// refuse close_range.
	if err := closeExtraFds(3 + cfg.PreserveFds); err != nil {
		return err
	}
	if !cfg.NoNewKeyring {
		if _, err := unix.KeyctlJoinSessionKeyring("_ses." + cfg.ID); err != nil && !errors.Is(err, unix.ENOSYS) {
			return fmt.Errorf("join session keyring: %w", err)
		}
	}
	// A relative bind source is relative to the bundle, as in runc.
	for i := range s.Mounts {
		if m := &s.Mounts[i]; m.Source != "" && !filepath.IsAbs(m.Source) && isBind(m) {
			m.Source = filepath.Join(cfg.Bundle, m.Source)
		}
	}
	labelMounts(s) // lsm_linux.go
	err := rootfs.Prepare(&rootfs.Config{
		Spec:         s,
		Rootfs:       cfg.Rootfs,
		NoPivot:      cfg.NoPivot,
		MountSources: bindSources(cfg.BindFds),
		BeforePivot: func() error {
			if len(hookList(s.Hooks, hookPrestart))+len(hookList(s.Hooks, hookCreateRuntime)) > 0 {
				if err := writeSync(syncFd, syncHooks, ""); err != nil {
					return err
				}
				if err := expectSync(syncFd, syncHooksDone); err != nil {
					return err
				}
			}
			return runHooks(s.Hooks, hookCreateContainer, state)
		},
	})
	if err != nil {
		return err
	}
	if p != nil && p.Terminal {
		if err := setupConsole(syncFd, p.ConsoleSize); err != nil {
			return err
		}
	}
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
	}
	if s.Domainname != "" {
		if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
			return fmt.Errorf("set domainname: %w", err)
		}
	}
	if err := writeSysctls(s.Linux.Sysctl); err != nil {
		return err
	}
	if err := rootfs.Finalize(s); err != nil {
		return err
	}
	// Inherited by the user process through execve: process_linux.go, lsm_linux.go.
	if err := applyProcAttrs(s); err != nil {
		return err
	}
	if p == nil {
		// No process (config.md: required only when start is called):
		// the container exists, start refuses, kill and delete end it.
		if err := writeSync(syncFd, syncReady, ""); err != nil {
			return err
		}
		unix.Close(syncFd)
		for {
			unix.Pause()
		}
	}
	if err := applyExecLabels(p); err != nil {
		return err
	}
	path, err := lookPath(p)
	if err != nil {
		return err
	}
	// The cwd must resolve inside the root; checked as root and before any
	// seccomp profile (which may refuse getcwd), entered again as the user.
	if err := chdirInside(p.Cwd); err != nil {
		return err
	}
	// linux.seccomp is loaded at one of two places: see seccomp_linux.go.
	if err := initSeccomp(syncFd, s, seccompBeforeSetup); err != nil {
		return err
	}
	if err := setupProcess(p); err != nil {
		return err
	}
	if err := initSeccomp(syncFd, s, seccompLast); err != nil {
		return err
	}
	if err := writeSync(syncFd, syncReady, ""); err != nil {
		return err
	}
	unix.Close(syncFd)
	return waitAndExec(path, p, s, state)
}

// setupProcess applies what the process config asks of the process itself:
// rlimits, no_new_privs, the bounding set, the user switch, the other
// capability sets, the umask and the cwd. The process has been non-dumpable
// since nsexec (CVE-2016-9962) and stays so until its execve, so nothing in
// the container can read its memory, environ or fds meanwhile.
func setupProcess(p *specs.Process) error {
	for _, rl := range p.Rlimits {
		res, err := specutil.RlimitResource(rl.Type)
		if err != nil {
			return err
		}
		// syscall.Setrlimit (not unix.) so the Go runtime does not restore its
		// own RLIMIT_NOFILE at exec.
		if err := syscall.Setrlimit(res, &syscall.Rlimit{Cur: rl.Soft, Max: rl.Hard}); err != nil {
			return rlimitError(res, rl, err)
		}
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	caps, err := capabilities.New(p.Capabilities)
	if err != nil {
		return err
	}
	if err := caps.CheckAvailable(); err != nil {
		return err
	}
	if err := caps.ApplyBounding(); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set keepcaps: %w", err)
	}
	if err := setUser(p.User); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("clear keepcaps: %w", err)
	}
	if err := caps.ApplyCaps(); err != nil {
		return err
	}
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask))
	} else {
		unix.Umask(0o022)
	}
	if err := unix.Chdir(p.Cwd); err != nil {
		return fmt.Errorf("chdir to cwd %q: %w", p.Cwd, err)
	}
	return nil
}

// rlimitError explains a failed setrlimit: raising a hard limit above the
// runtime's own needs CAP_SYS_RESOURCE in the host's user namespace.
func rlimitError(res int, rl specs.POSIXRlimit, err error) error {
	var cur syscall.Rlimit
	if errors.Is(err, unix.EPERM) && syscall.Getrlimit(res, &cur) == nil && rl.Hard > cur.Max {
		return fmt.Errorf("set %s to soft %d, hard %d: %w (the hard limit is above the runtime's own, %d, and raising it needs CAP_SYS_RESOURCE)",
			rl.Type, rl.Soft, rl.Hard, err, cur.Max)
	}
	return fmt.Errorf("set %s to soft %d, hard %d: %w", rl.Type, rl.Soft, rl.Hard, err)
}

// chdirInside changes to cwd and checks that it is inside the container's
// root. A cwd of /proc/self/fd/N (or an image's link to one) would otherwise
// land in whatever directory fd N of this process holds, a host directory if
// an fd leaked in (CVE-2024-21626). Outside the root, getcwd(2) answers
// "(unreachable)/...", which unix.Getwd reports as ENOENT.
func chdirInside(cwd string) error {
	if err := unix.Chdir(cwd); err != nil {
		return fmt.Errorf("chdir to cwd %q: %w", cwd, err)
	}
	if _, err := unix.Getwd(); err != nil {
		return fmt.Errorf("chdir to cwd %q: it is not inside the container's root (getcwd: %w)", cwd, err)
	}
	return nil
}

// setUser switches to the configured ids exactly as given: numbers, never
// looked up in the image's /etc/passwd or /etc/group. The supplementary
// groups are set explicitly, even when empty, so the caller's never leak in.
// The result is read back: an id the kernel took as "unchanged" ((uid_t)-1)
// must not leave the process root.
func setUser(u specs.User) error {
	if u.UID == math.MaxUint32 || u.GID == math.MaxUint32 {
		return fmt.Errorf("set user %d:%d: (uid_t)-1 is not a valid id", u.UID, u.GID)
	}
	groups := make([]int, len(u.AdditionalGids))
	for i, g := range u.AdditionalGids {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("set additional gids %v: %w%s", u.AdditionalGids, err, unmappedHint(err))
	}
	if err := syscall.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
		return fmt.Errorf("set gid %d: %w%s", u.GID, err, unmappedHint(err))
	}
	if err := syscall.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
		return fmt.Errorf("set uid %d: %w%s", u.UID, err, unmappedHint(err))
	}
	r, e, s := unix.Getresuid()
	rg, eg, sg := unix.Getresgid()
	if want, wantg := int(u.UID), int(u.GID); r != want || e != want || s != want || rg != wantg || eg != wantg || sg != wantg {
		return fmt.Errorf("set user %d:%d: the process has uids %d/%d/%d and gids %d/%d/%d", u.UID, u.GID, r, e, s, rg, eg, sg)
	}
	return nil
}

func unmappedHint(err error) string {
	if errors.Is(err, unix.EINVAL) {
		return " (not mapped in the container's user namespace)"
	}
	return ""
}

// writeSysctls writes linux.sysctl through a procfs handle of our own
// (pathrs-lite: a fresh procfs instance, checked against overmounts), never
// through the container's /proc, which a hostile image or a racing mount
// could redirect to another file (CVE-2025-52881).
func writeSysctls(sysctl map[string]string) error {
	if len(sysctl) == 0 {
		return nil
	}
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return fmt.Errorf("open procfs: %w", err)
	}
	defer proc.Close()
	for k, v := range sysctl {
		if strings.Contains(k, "..") || strings.HasPrefix(k, "/") {
			return fmt.Errorf("config.json: linux.sysctl: invalid key %q", k)
		}
		if err := writeProcFile(proc, "sys/"+strings.ReplaceAll(k, ".", "/"), v); err != nil {
			return fmt.Errorf("set sysctl %s: %w", k, err)
		}
	}
	return nil
}

func writeProcFile(proc *procfs.Handle, subpath, value string) error {
	h, err := proc.OpenRoot(subpath)
	if err != nil {
		return err
	}
	return writeProcHandle(h, []byte(value))
}

// writeProcHandle writes data to the procfs file behind the O_PATH handle
// h (from a procfs.Handle: verified to be procfs, not overmounted), then
// closes h.
func writeProcHandle(h *os.File, data []byte) error {
	defer h.Close()
	f, err := pathrs.Reopen(h, unix.O_WRONLY|unix.O_CLOEXEC)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// lookPath resolves args[0] inside the container with the container's PATH,
// so that a missing executable fails create rather than start.
func lookPath(p *specs.Process) (string, error) {
	name := p.Args[0]
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			name = filepath.Join(p.Cwd, name)
		}
		if err := isExecutable(name); err != nil {
			return "", fmt.Errorf("exec %q: %w", p.Args[0], err)
		}
		return p.Args[0], nil
	}
	pathEnv := ""
	for _, e := range p.Env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		if cand := filepath.Join(dir, name); isExecutable(cand) == nil {
			return cand, nil
		}
	}
	return "", fmt.Errorf("exec %q: %w", name, exec.ErrNotFound)
}

func isExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New("is a directory")
	}
	if fi.Mode()&0o111 == 0 {
		return os.ErrPermission
	}
	return nil
}

// closeExtraFds marks every fd from first on close-on-exec, so the container
// gets exactly 0-2 and the preserved ones, whatever the caller leaked into
// the runtime. close_range(2) does it without listing /proc/self/fd, which by
// now is the container's /proc (or, with no proc mount, the image's files);
// kernels before 5.11 list the fds through a procfs handle of our own.
func closeExtraFds(first int) error {
	err := unix.CloseRange(uint(first), math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("mark fds close-on-exec: %w", err)
	}
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return fmt.Errorf("list fds: open procfs: %w", err)
	}
	defer proc.Close()
	dir, err := proc.OpenSelf("fd")
	if err != nil {
		return fmt.Errorf("list fds: %w", err)
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("list fds: %w", err)
	}
	for _, name := range names {
		if fd, err := strconv.Atoi(name); err == nil && fd >= first && fd != int(dir.Fd()) {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}

// waitAndExec blocks until `start` opens the exec fifo, runs the
// startContainer hooks and execs the user process. An error is written to the
// fifo for `start` to report.
func waitAndExec(path string, p *specs.Process, s *specs.Spec, state *specs.State) error {
	fifoFd, err := envFd(envFifoFd)
	if err != nil {
		return err
	}
	fifo, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fifoFd), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	unix.Close(fifoFd)
	state.Status = specs.StateCreated
	err = runHooks(s.Hooks, hookStartContainer, state)
	if err == nil {
		err = unix.Exec(path, p.Args, p.Env)
		err = fmt.Errorf("exec %q: %w", p.Args[0], err)
	}
	unix.Write(fifo, []byte(err.Error()))
	slog.Debug("init failed after start", "err", err)
	os.Exit(1)
	return nil
}
