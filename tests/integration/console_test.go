package integration

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// recvConsole accepts one connection on l and returns the file descriptor
// sent over it with SCM_RIGHTS.
func recvConsole(l *net.UnixListener) (*os.File, error) {
	conn, err := l.AcceptUnix()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("no control message with the console")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, errors.New("control message holds no single fd")
	}
	// Non-blocking so that read deadlines work.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fds[0]), "console"), nil
}

// consoleSocket listens on a new --console-socket path; await returns the
// pty master the runtime sends there (failing the test if none arrives in
// cmdLimit) and closes it when the test ends.
func consoleSocket(t *testing.T) (sock string, await func() *os.File) {
	t.Helper()
	sock = filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	type got struct {
		f   *os.File
		err error
	}
	ch := make(chan got, 1)
	go func() { f, err := recvConsole(l); ch <- got{f, err} }()
	return sock, func() *os.File {
		t.Helper()
		var master got
		select {
		case master = <-ch:
		case <-time.After(cmdLimit):
			t.Fatal("create returned but no console arrived on the socket")
		}
		if master.err != nil {
			t.Fatalf("receive console: %v", master.err)
		}
		t.Cleanup(func() { master.f.Close() })
		return master.f
	}
}

// readConsoleUntil reads the pty master until marker shows (or EIO once
// the last slave fd closes, or cmdLimit) and returns the text without
// carriage returns.
func readConsoleUntil(t *testing.T, master *os.File, marker string) string {
	t.Helper()
	if err := master.SetReadDeadline(time.Now().Add(cmdLimit)); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(out.String(), marker) {
		n, err := master.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return strings.ReplaceAll(out.String(), "\r", "")
}

func TestConsoleSocket(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	sock, awaitMaster := consoleSocket(t)

	b := r.newBundle(func(b *bundle) {
		b.Spec.Process.Terminal = true
		b.Spec.Process.ConsoleSize = &specs.Box{Height: 30, Width: 100}
		b.script(`stty size; [ -t 0 ] && [ -t 1 ] && echo tty-ok; echo done-tty`)
	})
	b.mustCreate("--console-socket", sock)
	master := awaitMaster()
	if out := b.containerStdout(); out != "" {
		t.Errorf("with a terminal the process wrote to create's stdout: %q", out)
	}
	r.must("start", b.ID)

	text := readConsoleUntil(t, master, "done-tty")
	if !strings.Contains(text, "30 100\n") || !strings.Contains(text, "tty-ok\n") || !strings.Contains(text, "done-tty\n") {
		t.Errorf("console output %q, want stty size 30 100, tty-ok and done-tty", text)
	}
	b.waitStatus("stopped")
}
