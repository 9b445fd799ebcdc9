package nsenter_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testinit is the path of the built internal/testinit program.
var testinit string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nsenter-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testinit = filepath.Join(dir, "testinit")
	build := exec.Command("go", "build", "-o", testinit, "./internal/testinit")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	code := 1
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build testinit:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// report mirrors what internal/testinit says about the process it runs in.
type report struct {
	Pid, Ppid    int
	Uid, Gid     int
	Groups       []int
	Dumpable     int
	MonotonicSec int64
	Cgroup       string
	NS           map[string]string
	InitPipeEnv  string
	Config       json.RawMessage
}

var nsNames = map[uint32]string{
	unix.CLONE_NEWUSER: "user", unix.CLONE_NEWCGROUP: "cgroup", unix.CLONE_NEWIPC: "ipc",
	unix.CLONE_NEWUTS: "uts", unix.CLONE_NEWNET: "net", unix.CLONE_NEWPID: "pid",
	unix.CLONE_NEWNS: "mnt", unix.CLONE_NEWTIME: "time",
}

// record builds a bootstrap record as libcontainer/bootstrap_linux.go does.
type record struct{ buf []byte }

func (r *record) attr(typ uint16, val []byte) *record {
	r.buf = binary.LittleEndian.AppendUint16(r.buf, typ)
	r.buf = binary.LittleEndian.AppendUint16(r.buf, 0)
	r.buf = binary.LittleEndian.AppendUint32(r.buf, uint32(len(val)))
	r.buf = append(r.buf, val...)
	return r
}

func (r *record) bytes() []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(r.buf))), r.buf...)
}

// join is an nsPath attribute; path may hold one %d, the namespace holder's pid.
type join struct {
	typ  uint32
	path string
}

type bootstrap struct {
	cloneFlags     uint32
	joins          []join
	timensOffsets  string
	oomScoreAdj    string
	uidMap, gidMap string // answer to 'U'
}

func (b bootstrap) encode(holder int) []byte {
	var r record
	r.attr(1, binary.LittleEndian.AppendUint32(nil, b.cloneFlags))
	for _, j := range b.joins {
		v := binary.LittleEndian.AppendUint32(nil, j.typ)
		r.attr(2, append(v, j.resolve(holder)...))
	}
	if b.timensOffsets != "" {
		r.attr(3, []byte(b.timensOffsets))
	}
	if b.oomScoreAdj != "" {
		r.attr(4, []byte(b.oomScoreAdj))
	}
	return r.bytes()
}

func (j join) resolve(holder int) string {
	if strings.Contains(j.path, "%d") {
		return fmt.Sprintf(j.path, holder)
	}
	return j.path
}

// initProc is one run of testinit as `ocirun init`, driven by the test as
// the parent.
type initProc struct {
	cmd  *exec.Cmd
	sock *os.File // our end of the init pipe
	out  *os.File // the program's stdout and stderr
	log  *os.File // read end of the log pipe
	pid  int      // the container init, once 'P' arrived
}

func startInit(t *testing.T, rec []byte, loglevel string) *initProc {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Our end is non-blocking so that reads can time out; the child's is not.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		t.Fatal(err)
	}
	p := &initProc{sock: os.NewFile(uintptr(fds[0]), "initpipe-parent")}
	child := os.NewFile(uintptr(fds[1]), "initpipe-child")
	defer child.Close()
	logR, logW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer logW.Close()
	t.Cleanup(func() { logR.Close() })
	p.log = logR
	if p.out, err = os.CreateTemp(t.TempDir(), "out"); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(testinit)
	p.cmd.Env = append(os.Environ(), "_OCIRUN_INITPIPE=3", "_OCIRUN_LOGPIPE=4", "_OCIRUN_LOGLEVEL="+loglevel)
	p.cmd.ExtraFiles = []*os.File{child, logW}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.reap(t) })
	if err := p.sock.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.sock.Write(rec); err != nil {
		t.Fatalf("write bootstrap record: %v", err)
	}
	return p
}

// reap closes the init pipe (the init then exits) and waits for both
// processes. It returns the intermediate's exit code.
func (p *initProc) reap(t *testing.T) int {
	t.Helper()
	if p.cmd == nil {
		return -1
	}
	p.sock.Close()
	if p.pid > 0 {
		var ws unix.WaitStatus
		if _, err := unix.Wait4(p.pid, &ws, 0, nil); err != nil {
			t.Errorf("wait for init %d: %v", p.pid, err)
		} else if ws.ExitStatus() != 0 {
			t.Errorf("init %d: %v, output %q", p.pid, ws, p.output(t))
		}
	}
	err := p.cmd.Wait()
	p.cmd = nil
	p.out.Close()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr):
		return exitErr.ExitCode()
	}
	t.Errorf("wait for the intermediate: %v", err)
	return -1
}

func (p *initProc) output(t *testing.T) string {
	b, err := os.ReadFile(p.out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// handshake plays the parent until 'P' or 'E'. It answers 'U' with the maps
// of b. It returns the error text of an 'E'.
func (p *initProc) handshake(t *testing.T, b bootstrap) string {
	t.Helper()
	for {
		var c [1]byte
		if _, err := io.ReadFull(p.sock, c[:]); err != nil {
			t.Fatalf("read from the C stage: %v (output %q)", err, p.output(t))
		}
		switch c[0] {
		case 'U':
			for _, m := range []struct{ file, val string }{{"gid_map", b.gidMap}, {"uid_map", b.uidMap}} {
				path := fmt.Sprintf("/proc/%d/%s", p.cmd.Process.Pid, m.file)
				if err := os.WriteFile(path, []byte(m.val), 0); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := p.sock.Write([]byte{'u'}); err != nil {
				t.Fatal(err)
			}
		case 'P':
			var pid int32
			if err := binary.Read(p.sock, binary.LittleEndian, &pid); err != nil {
				t.Fatal(err)
			}
			p.pid = int(pid)
			return ""
		case 'E':
			msg, err := readMsg(p.sock)
			if err != nil {
				t.Fatal(err)
			}
			return string(msg)
		default:
			t.Fatalf("unexpected message %q from the C stage", c[0])
		}
	}
}

func readMsg(r io.Reader) ([]byte, error) {
	var n uint32
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	_, err := io.ReadFull(r, buf)
	return buf, err
}

// exchange sends the init config and reads the init's report.
func (p *initProc) exchange(t *testing.T, config string) *report {
	t.Helper()
	msg := append(binary.LittleEndian.AppendUint32(nil, uint32(len(config))), config...)
	if _, err := p.sock.Write(msg); err != nil {
		t.Fatalf("write init config: %v", err)
	}
	out, err := readMsg(p.sock)
	if err != nil {
		t.Fatalf("read report: %v (output %q)", err, p.output(t))
	}
	var r report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// holdNamespaces starts a process in new namespaces (flags) to join by path;
// a new user namespace maps 0 to 200000.
func holdNamespaces(t *testing.T, flags uintptr) int {
	t.Helper()
	cmd := exec.Command(testinit, "hold")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	if flags&unix.CLONE_NEWUSER != 0 {
		m := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 200000, Size: 65536}}
		cmd.SysProcAttr.UidMappings, cmd.SysProcAttr.GidMappings = m, m
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("namespace holder: %v", err)
		}
	})
	return cmd.Process.Pid
}

func namespacesOf(t *testing.T, pid string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, name := range nsNames {
		l, err := os.Readlink(fmt.Sprintf("/proc/%s/ns/%s", pid, name))
		if err != nil {
			t.Fatal(err)
		}
		m[name] = l
	}
	return m
}

func procField(t *testing.T, pid int, file, prefix string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			return strings.Join(strings.Fields(rest), " ")
		}
	}
	t.Fatalf("no %q in /proc/%d/%s: %q", prefix, pid, file, b)
	return ""
}

func parentOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ppid ...; comm may hold spaces.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		t.Fatal(err)
	}
	return ppid
}

func monotonic(t *testing.T) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Sec
}

func requireRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates namespaces and writes id maps")
	}
}

const idMap = "0 100000 65536\n"

func TestBootstrap(t *testing.T) {
	requireRoot(t)
	self := namespacesOf(t, "self")
	tests := []struct {
		name   string
		hold   uintptr // namespaces of the holder process whose ns the joins use
		b      bootstrap
		hostID string // uid and gid of the init as seen from the host
		check  func(t *testing.T, init int, r *report)
	}{
		{
			name: "no namespaces",
			b:    bootstrap{},
			// The init is a plain fork: all checks are the generic ones.
			hostID: "0",
		},
		{
			name: "create all but time, with oom score",
			b: bootstrap{
				cloneFlags: unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWNS |
					unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP,
				oomScoreAdj: "123",
				uidMap:      idMap, gidMap: idMap,
			},
			hostID: "100000",
			check: func(t *testing.T, init int, r *report) {
				if got := procField(t, init, "oom_score_adj", ""); got != "123" {
					t.Errorf("oom_score_adj = %q, want 123", got)
				}
				for line := range strings.Lines(r.Cgroup) {
					if !strings.HasSuffix(line, ":/\n") {
						t.Errorf("cgroup line %q inside a new cgroup namespace, want root", line)
					}
				}
			},
		},
		{
			name: "create time and pid with offsets",
			b: bootstrap{
				cloneFlags:    unix.CLONE_NEWTIME | unix.CLONE_NEWPID,
				timensOffsets: "monotonic 3600 0\nboottime 7200 0\n",
			},
			hostID: "0",
			check: func(t *testing.T, init int, r *report) {
				if got := procField(t, init, "timens_offsets", "monotonic"); got != "3600 0" {
					t.Errorf("timens_offsets monotonic = %q, want 3600 0", got)
				}
				if got := procField(t, init, "timens_offsets", "boottime"); got != "7200 0" {
					t.Errorf("timens_offsets boottime = %q, want 7200 0", got)
				}
				if host := monotonic(t); r.MonotonicSec < host+3600-60 {
					t.Errorf("monotonic clock inside = %ds, host %ds: offset not applied", r.MonotonicSec, host)
				}
			},
		},
		{
			name: "join user and net, create uts and pid",
			hold: unix.CLONE_NEWUSER | unix.CLONE_NEWNET,
			b: bootstrap{
				cloneFlags: unix.CLONE_NEWUTS | unix.CLONE_NEWPID,
				joins: []join{
					{unix.CLONE_NEWUSER, "/proc/%d/ns/user"},
					{unix.CLONE_NEWNET, "/proc/%d/ns/net"},
				},
			},
			// The holder's user namespace denies setgroups: the C stage
			// must not fail on the EPERM of dropping groups.
			hostID: "200000",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			holder := 0
			if tc.hold != 0 {
				holder = holdNamespaces(t, tc.hold)
			}
			p := startInit(t, tc.b.encode(holder), "info")
			if msg := p.handshake(t, tc.b); msg != "" {
				t.Fatalf("C stage failed: %s", msg)
			}
			const config = `{"hello":"init"}`
			r := p.exchange(t, config)

			if got := parentOf(t, p.pid); got != os.Getpid() {
				t.Errorf("init's parent = %d, want the test process %d (CLONE_PARENT)", got, os.Getpid())
			}
			wantPid := p.pid
			if tc.b.cloneFlags&unix.CLONE_NEWPID != 0 {
				wantPid = 1
			}
			if r.Pid != wantPid {
				t.Errorf("init's getpid() = %d, want %d", r.Pid, wantPid)
			}
			if string(r.Config) != config || r.InitPipeEnv != "3" {
				t.Errorf("init read config %q with _OCIRUN_INITPIPE=%q, want %q and 3", r.Config, r.InitPipeEnv, config)
			}
			if r.Dumpable != 0 {
				t.Errorf("init is dumpable (%d)", r.Dumpable)
			}
			if r.Uid != 0 || r.Gid != 0 {
				t.Errorf("init's uid/gid = %d/%d, want 0/0", r.Uid, r.Gid)
			}
			for _, f := range []string{"Uid:", "Gid:"} {
				want := strings.Repeat(tc.hostID+" ", 3) + tc.hostID
				if got := procField(t, p.pid, "status", f); got != want {
					t.Errorf("host sees %s %q, want %q", f, got, want)
				}
			}
			joined := map[string]string{}
			for _, j := range tc.b.joins {
				joined[nsNames[j.typ]] = namespacesOf(t, strconv.Itoa(holder))[nsNames[j.typ]]
			}
			for flag, name := range nsNames {
				got := r.NS[name]
				switch {
				case joined[name] != "":
					if got != joined[name] {
						t.Errorf("%s namespace = %s, want the joined %s", name, got, joined[name])
					}
				case tc.b.cloneFlags&flag != 0:
					if got == self[name] {
						t.Errorf("%s namespace = %s, the test's own, want a new one", name, got)
					}
				case got != self[name]:
					t.Errorf("%s namespace = %s, want the test's own %s", name, got, self[name])
				}
			}
			if tc.check != nil {
				tc.check(t, p.pid, r)
			}
			if code := p.reap(t); code != 0 {
				t.Errorf("intermediate exit code = %d, want 0", code)
			}
			if out := p.output(t); out != "" {
				t.Errorf("wrote to stdout/stderr: %q", out)
			}
		})
	}
}

func TestBootstrapErrors(t *testing.T) {
	requireRoot(t)
	uts := fmt.Sprintf("/proc/%d/ns/uts", os.Getpid())
	tests := []struct {
		name    string
		b       bootstrap
		raw     []byte // sent instead of b's record when set
		wantErr string
	}{
		{
			name:    "nonexistent ns path",
			b:       bootstrap{joins: []join{{unix.CLONE_NEWNET, "/nonexistent/ns/net"}}},
			wantErr: "open net namespace /nonexistent/ns/net: no such file or directory",
		},
		{
			name:    "ns path of another type",
			b:       bootstrap{joins: []join{{unix.CLONE_NEWNET, uts}}},
			wantErr: "join net namespace " + uts + ": invalid argument",
		},
		{
			name: "uid 0 not mapped",
			b: bootstrap{
				cloneFlags: unix.CLONE_NEWUSER,
				uidMap:     "1 100000 1\n", gidMap: "0 100000 1\n",
			},
			wantErr: "become uid 0 (uid 0 is not mapped in the user namespace): invalid argument",
		},
		{
			name:    "bad timens offsets",
			b:       bootstrap{cloneFlags: unix.CLONE_NEWTIME, timensOffsets: "bogus 1 0\n"},
			wantErr: "write /proc/self/timens_offsets: invalid argument",
		},
		{
			name:    "unknown attribute",
			raw:     new(record).attr(9, []byte("x")).bytes(),
			wantErr: "read bootstrap record: unknown attribute type 9",
		},
		{
			name:    "truncated attribute",
			raw:     append(binary.LittleEndian.AppendUint32(nil, 6), 1, 0, 0, 0, 4, 0),
			wantErr: "read bootstrap record: truncated attribute header at offset 0",
		},
		{
			name:    "non-namespace clone flag",
			raw:     new(record).attr(1, binary.LittleEndian.AppendUint32(nil, unix.CLONE_FILES)).bytes(),
			wantErr: "read bootstrap record: cloneFlags 0x400 has non-namespace flags",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.raw
			if rec == nil {
				rec = tc.b.encode(0)
			}
			p := startInit(t, rec, "debug")
			msg := p.handshake(t, tc.b)
			if !strings.EqualFold(msg, tc.wantErr) {
				t.Errorf("error = %q, want %q", msg, tc.wantErr)
			}
			if p.pid != 0 {
				t.Fatalf("got an init pid %d", p.pid)
			}
			if code := p.reap(t); code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			if out := p.output(t); out != "" {
				t.Errorf("wrote to stdout/stderr: %q", out)
			}
		})
	}
}

// TestParentGone: EOF while waiting for the id maps ends the C stage quietly.
func TestParentGone(t *testing.T) {
	requireRoot(t)
	p := startInit(t, bootstrap{cloneFlags: unix.CLONE_NEWUSER}.encode(0), "debug")
	var c [1]byte
	if _, err := io.ReadFull(p.sock, c[:]); err != nil || c[0] != 'U' {
		t.Fatalf("read %q, %v; want 'U'", c[:], err)
	}
	rc, err := p.sock.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Control(func(fd uintptr) { err = unix.Shutdown(int(fd), unix.SHUT_WR) }); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatalf("shut down the init pipe: %v", err)
	}
	if rest, err := io.ReadAll(p.sock); err != nil || len(rest) != 0 {
		t.Errorf("after EOF the C stage sent %q, %v; want nothing", rest, err)
	}
	if code := p.reap(t); code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if out := p.output(t); out != "" {
		t.Errorf("wrote to stdout/stderr: %q", out)
	}
}

func TestLog(t *testing.T) {
	requireRoot(t)
	b := bootstrap{
		cloneFlags:    unix.CLONE_NEWUSER | unix.CLONE_NEWTIME,
		timensOffsets: "monotonic 3600 0\n",
		uidMap:        idMap, gidMap: idMap,
	}
	for _, tc := range []struct {
		level     string
		wantLines bool
	}{{"debug", true}, {"info", false}, {"error", false}} {
		t.Run(tc.level, func(t *testing.T) {
			p := startInit(t, b.encode(0), tc.level)
			if msg := p.handshake(t, b); msg != "" {
				t.Fatalf("C stage failed: %s", msg)
			}
			p.exchange(t, "{}")
			if code := p.reap(t); code != 0 {
				t.Errorf("exit code = %d", code)
			}
			var msgs []string
			sc := bufio.NewScanner(p.log) // all writers are gone after reap
			for sc.Scan() {
				var line struct{ Level, Msg string }
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					t.Fatalf("log line %q: %v", sc.Text(), err)
				}
				if line.Level != "debug" || !strings.HasPrefix(line.Msg, "nsexec: ") {
					t.Errorf("log line %q, want a debug line from nsexec", sc.Text())
				}
				msgs = append(msgs, line.Msg)
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			if !tc.wantLines {
				if len(msgs) != 0 {
					t.Errorf("level %s logged %q", tc.level, msgs)
				}
				return
			}
			all := strings.Join(msgs, "\n")
			for _, want := range []string{
				"nsexec: unshared user namespace",
				"nsexec: wrote monotonic 3600 0\n to /proc/self/timens_offsets",
				"nsexec: forked the container init, pid ",
				"nsexec: container init: starting the Go runtime",
			} {
				if !strings.Contains(all, want) {
					t.Errorf("log %q lacks %q", msgs, want)
				}
			}
		})
	}
}

// TestNoInitPipe: without _OCIRUN_INITPIPE the constructor leaves the process
// alone: no fork, no namespaces, still dumpable.
func TestNoInitPipe(t *testing.T) {
	cmd := exec.Command(testinit)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.Bytes())
	}
	var r report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if r.Pid != cmd.Process.Pid || r.Ppid != os.Getpid() {
		t.Errorf("pid/ppid = %d/%d, want %d/%d", r.Pid, r.Ppid, cmd.Process.Pid, os.Getpid())
	}
	if r.Dumpable != 1 {
		t.Errorf("dumpable = %d, want 1", r.Dumpable)
	}
	self := namespacesOf(t, "self")
	for name, ns := range self {
		if r.NS[name] != ns {
			t.Errorf("%s namespace = %s, want %s", name, r.NS[name], ns)
		}
	}
}
