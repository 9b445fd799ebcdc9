package seccomp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// childEnv makes the test binary load a filter and report (see loadChild):
// a filter cannot be taken off a process, so it is loaded in a child.
const childEnv = "OCIRUN_SECCOMP_TEST_CHILD"

func TestMain(m *testing.M) {
	if p := os.Getenv(childEnv); p != "" {
		os.Exit(loadChild(p))
	}
	os.Exit(m.Run())
}

// loadChild loads the profile in the JSON file at path, then tries mkdir of
// <path>.dir and personality(2) with two arguments, and prints the errno of
// each ("0" for success).
func loadChild(path string) int {
	runtime.LockOSThread()
	data, err := os.ReadFile(path)
	var c specs.LinuxSeccomp
	if err == nil {
		err = json.Unmarshal(data, &c)
	}
	if err == nil {
		err = unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	}
	if err == nil {
		_, err = Init(&c)
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	errno := func(err error) string {
		var e unix.Errno
		if errors.As(err, &e) {
			return fmt.Sprint(int(e))
		}
		return "0"
	}
	_, _, query := unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
	_, _, set := unix.RawSyscall(unix.SYS_PERSONALITY, 0, 0, 0)
	fmt.Printf("mkdir=%s personality(query)=%s personality(0)=%s\n",
		errno(unix.Mkdir(path+".dir", 0o755)), errno(query), errno(set))
	return 0
}

// runLoaded runs loadChild with c and returns its output line.
func runLoaded(t *testing.T, c *specs.LinuxSeccomp) string {
	t.Helper()
	out, err := runChild(t, c)
	if err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	return out
}

// runChild runs loadChild with c and returns its output and exit error.
func runChild(t *testing.T, c *specs.LinuxSeccomp) (string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "profile.json")
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func syscallName(n int) (string, error) { return libseccomp.ScmpSyscall(n).GetName() }

// TestLoad loads filters for real and reads their effect on syscalls.
func TestLoad(t *testing.T) {
	t.Parallel()
	personality := func(op specs.LinuxSeccompOperator, v uint64) []specs.LinuxSyscall {
		return []specs.LinuxSyscall{{Names: []string{"personality"}, Action: specs.ActErrno, ErrnoRet: uintPtr(uint(unix.EDOM)),
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: v, Op: op}}}}
	}
	cases := []struct {
		name string
		c    specs.LinuxSeccomp
		want string
	}{
		{"allow all", specs.LinuxSeccomp{DefaultAction: specs.ActAllow},
			"mkdir=0 personality(query)=0 personality(0)=0"},
		{"errno with errnoRet, unknown names skipped, every flag", specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC", specs.LinuxSeccompFlagLog,
				specs.LinuxSeccompFlagSpecAllow, specs.LinuxSeccompFlagWaitKillableRecv},
			Syscalls: []specs.LinuxSyscall{{Names: []string{"no_such_syscall", "mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: uintPtr(uint(unix.ENOSPC))}},
		}, "mkdir=28 personality(query)=0 personality(0)=0"},
		{"errno defaults to EPERM", specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno}},
		}, "mkdir=1 personality(query)=0 personality(0)=0"},
		{"defaultErrnoRet", specs.LinuxSeccomp{
			DefaultAction: specs.ActErrno, DefaultErrnoRet: uintPtr(uint(unix.EXDEV)),
			Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat", "personality"}, Action: specs.ActErrno, ErrnoRet: uintPtr(uint(unix.EXDEV))},
				{Names: allBut(t, "mkdir", "mkdirat", "personality"), Action: specs.ActAllow}},
		}, "mkdir=18 personality(query)=18 personality(0)=18"},
		{"EQ on arg0", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: personality(specs.OpEqualTo, 0xffffffff)},
			"mkdir=0 personality(query)=33 personality(0)=0"},
		{"NE on arg0", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: personality(specs.OpNotEqual, 0xffffffff)},
			"mkdir=0 personality(query)=0 personality(0)=33"},
		{"GT on arg0", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: personality(specs.OpGreaterThan, 0)},
			"mkdir=0 personality(query)=33 personality(0)=0"},
		{"LE on arg0", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: personality(specs.OpLessEqual, 0)},
			"mkdir=0 personality(query)=0 personality(0)=33"},
		{"MASKED_EQ on arg0", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{
			Names: []string{"personality"}, Action: specs.ActErrno, ErrnoRet: uintPtr(uint(unix.EDOM)),
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xff00, ValueTwo: 0xff00, Op: specs.OpMaskedEqual}}}}},
			"mkdir=0 personality(query)=33 personality(0)=0"},
		{"rule repeating the default is skipped", specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActAllow}}},
			"mkdir=0 personality(query)=0 personality(0)=0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := Validate(&tc.c); err != nil {
				t.Fatalf("invalid test profile: %v", err)
			}
			if got := runLoaded(t, &tc.c); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// allBut lists the native syscalls libseccomp knows (numbers 0-511), but
// the names given.
func allBut(t *testing.T, but ...string) []string {
	t.Helper()
	skip := map[string]bool{}
	for _, n := range but {
		skip[n] = true
	}
	var names []string
	for n := 0; n < 512; n++ {
		name, err := syscallName(n)
		if err == nil && !skip[name] {
			names = append(names, name)
		}
	}
	if len(names) < 100 {
		t.Fatalf("only %d syscall names known", len(names))
	}
	return names
}

func TestCompileFlags(t *testing.T) {
	notify := specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActNotify}
	cases := []struct {
		name  string
		flags []specs.LinuxSeccompFlag
		calls []specs.LinuxSyscall
		want  uint
	}{
		{"none", nil, nil, 0},
		{"log and spec allow", []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow}, nil,
			unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW},
		{"notify asks for a listener", nil, []specs.LinuxSyscall{notify}, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER},
		{"tsync with a listener needs TSYNC_ESRCH", []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC"}, []specs.LinuxSyscall{notify},
			unix.SECCOMP_FILTER_FLAG_TSYNC | unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH},
		{"wait killable recv with a listener", []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}, []specs.LinuxSyscall{notify},
			unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | unix.SECCOMP_FILTER_FLAG_NEW_LISTENER},
		{"wait killable recv without one is dropped", []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: tc.flags, Syscalls: tc.calls, ListenerPath: "/x"})
			if err != nil {
				t.Fatal(err)
			}
			if f.Flags != tc.want {
				t.Errorf("flags %#x, want %#x", f.Flags, tc.want)
			}
		})
	}
}

// TestCompileSkips: an unknown syscall name and a rule repeating the default
// action leave the program as it is without them.
func TestCompileSkips(t *testing.T) {
	base := specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"read", "write"}, Action: specs.ActAllow},
	}}
	want, err := Compile(&base)
	if err != nil {
		t.Fatal(err)
	}
	more := base
	more.Syscalls = append([]specs.LinuxSyscall{
		{Names: []string{"no_such_syscall"}, Action: specs.ActKillProcess},
		{Names: []string{"mkdir"}, Action: specs.ActErrno, ErrnoRet: uintPtr(uint(unix.EPERM))},
	}, base.Syscalls...)
	got, err := Compile(&more)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("program changed: %d instructions, want %d", len(got.Program), len(want.Program))
	}
}

func TestCompileErrors(t *testing.T) {
	_, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64, "SCMP_ARCH_PDP11"}})
	if err == nil || !strings.Contains(err.Error(), "SCMP_ARCH_PDP11") {
		t.Errorf("unknown arch: %v", err)
	}
}

// TestFlagSupported: this kernel (6.x) knows every flag of the spec; an
// unknown bit is reported as such.
func TestFlagSupported(t *testing.T) {
	for name, bit := range flagBits {
		if err := flagSupported(bit); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, bit := range []uint{unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH} {
		if err := flagSupported(bit); err != nil {
			t.Errorf("flag %#x: %v", bit, err)
		}
	}
	if err := flagSupported(1 << 30); !errors.Is(err, errFlagUnsupported) {
		t.Errorf("bit 30: %v, want %v", err, errFlagUnsupported)
	}
}

// TestLoadFailsClosed: a profile the kernel refuses (more instructions than
// it takes) is an error naming the limit, and nothing is loaded.
func TestLoadFailsClosed(t *testing.T) {
	t.Parallel()
	c := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	for i := uint64(0); i < 3000; i++ {
		c.Syscalls = append(c.Syscalls, specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: i<<32 | i, Op: specs.OpEqualTo}}})
	}
	out, err := runChild(t, c)
	if err == nil || !strings.Contains(out, "the kernel takes 4096") {
		t.Errorf("got %v: %s", err, out)
	}
}

// TestSendListener: the agent gets the state JSON with the fd attached and
// named, and the connection ends after it.
func TestSendListener(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	type got struct {
		data []byte
		fds  []int
		err  error
	}
	ch := make(chan got, 1)
	go func() {
		var g got
		conn, err := ln.AcceptUnix()
		if err != nil {
			ch <- got{err: err}
			return
		}
		defer conn.Close()
		buf, oob := make([]byte, 4096), make([]byte, 128)
		for {
			n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			g.data = append(g.data, buf[:n]...)
			if oobn > 0 {
				msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
				for _, m := range msgs {
					fds, _ := unix.ParseUnixRights(&m)
					g.fds = append(g.fds, fds...)
				}
			}
			if err != nil || n == 0 {
				break
			}
		}
		ch <- g
	}()
	st := &specs.ContainerProcessState{Version: specs.Version, Pid: 42, Metadata: "m",
		State: specs.State{ID: "c1", Status: specs.StateCreating, Pid: 42}}
	if err := SendListener(sock, st, int(w.Fd())); err != nil {
		t.Fatal(err)
	}
	g := <-ch
	if g.err != nil {
		t.Fatal(g.err)
	}
	var dec specs.ContainerProcessState
	if err := json.Unmarshal(g.data, &dec); err != nil {
		t.Fatalf("decode %q: %v", g.data, err)
	}
	if !reflect.DeepEqual(dec.Fds, []string{"seccompFd"}) || dec.Pid != 42 || dec.Metadata != "m" || dec.State.ID != "c1" {
		t.Errorf("state %+v", dec)
	}
	if len(g.fds) != 1 {
		t.Fatalf("got %d fds", len(g.fds))
	}
	// The fd is the pipe's write end: what goes in comes out of r.
	f := os.NewFile(uintptr(g.fds[0]), "passed")
	defer f.Close()
	if _, err := f.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := r.Read(b); err != nil || b[0] != 'x' {
		t.Errorf("passed fd is not the pipe: %v %q", err, b)
	}
	if err := SendListener(filepath.Join(t.TempDir(), "none.sock"), st, int(w.Fd())); err == nil ||
		!strings.Contains(err.Error(), "connect to seccomp agent") {
		t.Errorf("no agent: %v", err)
	}
}
