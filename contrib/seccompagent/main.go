// Command seccompagent is a small seccomp notify agent: the other end of
// linux.seccomp.listenerPath, for the tests and as an example.
//
//	seccompagent [-log FILE] [-errno N] SOCKET
//
// It listens on the unix socket SOCKET. Each connection brings one container
// process state (runtime-spec config-linux.md, "The Container Process State")
// with the notify listener attached (SCM_RIGHTS, named "seccompFd"). The agent
// then answers that container's notifications: mkdir and mkdirat "succeed"
// without creating anything (or fail with errno N, given -errno N), every
// other notified syscall continues in the kernel as if not filtered. It logs
// one line per container and per mkdir to FILE (default stderr).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"syscall"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

func main() {
	logPath := flag.String("log", "", "append log lines to this file (default stderr)")
	errno := flag.Int("errno", 0, "errno mkdir fails with (0: it succeeds, creating nothing)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: seccompagent [-log FILE] [-errno N] SOCKET")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	logger := log.New(os.Stderr, "", 0)
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		logger.SetOutput(f)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: flag.Arg(0), Net: "unix"})
	if err != nil {
		log.Fatal(err)
	}
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			st, fd, err := receive(conn)
			if err != nil {
				logger.Printf("receive: %v", err)
				return
			}
			logger.Printf("container id=%s status=%s pid=%d statepid=%d fds=%v metadata=%q",
				st.State.ID, st.State.Status, st.Pid, st.State.Pid, st.Fds, st.Metadata)
			serve(libseccomp.ScmpFd(fd), st, *errno, logger)
			unix.Close(fd)
		}()
	}
}

// receive reads the container process state up to end of file (the runtime
// closes the connection after it) and returns the listener that came with it.
func receive(conn *net.UnixConn) (*specs.ContainerProcessState, int, error) {
	defer conn.Close()
	var data []byte
	var fds []int
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*4))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		data = append(data, buf[:n]...)
		if oobn > 0 {
			msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
			if perr != nil {
				return nil, -1, perr
			}
			for _, m := range msgs {
				if rights, err := unix.ParseUnixRights(&m); err == nil {
					fds = append(fds, rights...)
				}
			}
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			break
		}
		if err != nil {
			return nil, -1, err
		}
	}
	var st specs.ContainerProcessState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, -1, fmt.Errorf("decode state %q: %w", data, err)
	}
	listener := -1
	for i, name := range st.Fds {
		if name == specs.SeccompFdName && i < len(fds) {
			listener = fds[i]
		}
	}
	for _, fd := range fds {
		if fd != listener {
			unix.Close(fd)
		}
	}
	if listener < 0 {
		return nil, -1, fmt.Errorf("no %s among fds %v (%d received)", specs.SeccompFdName, st.Fds, len(fds))
	}
	return &st, listener, nil
}

// serve answers notifications until no process uses the filter any more.
func serve(fd libseccomp.ScmpFd, st *specs.ContainerProcessState, errno int, logger *log.Logger) {
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			logger.Printf("poll: %v", err)
			return
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			return // POLLHUP: the container is gone
		}
		req, err := libseccomp.NotifReceive(fd)
		if errors.Is(err, syscall.ENOENT) {
			continue // the caller died meanwhile
		}
		if err != nil {
			logger.Printf("receive notification: %v", err)
			return
		}
		resp := &libseccomp.ScmpNotifResp{ID: req.ID, Flags: libseccomp.NotifRespFlagContinue}
		name, _ := req.Data.Syscall.GetNameByArch(req.Data.Arch)
		switch name {
		case "mkdir", "mkdirat":
			arg := req.Data.Args[0]
			if name == "mkdirat" {
				arg = req.Data.Args[1]
			}
			path := readString(req.Pid, arg)
			// The path is only trusted if the caller is still the one that
			// asked (its pid may have been reused).
			if libseccomp.NotifIDValid(fd, req.ID) != nil {
				continue
			}
			resp = &libseccomp.ScmpNotifResp{ID: req.ID, Error: int32(errno)}
			logger.Printf("syscall=%s path=%q pid=%d container=%s metadata=%q answer=%s",
				name, path, req.Pid, st.State.ID, st.Metadata, answer(errno))
		}
		if err := libseccomp.NotifRespond(fd, resp); err != nil && !errors.Is(err, syscall.ENOENT) {
			logger.Printf("respond: %v", err)
		}
	}
}

func answer(errno int) string {
	if errno == 0 {
		return "success"
	}
	return "errno " + strconv.Itoa(errno)
}

// readString reads a NUL-terminated string at addr in process pid.
func readString(pid uint32, addr uint64) string {
	f, err := os.Open("/proc/" + strconv.Itoa(int(pid)) + "/mem")
	if err != nil {
		return "?"
	}
	defer f.Close()
	buf := make([]byte, unix.PathMax)
	n, _ := f.ReadAt(buf, int64(addr))
	if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
		n = i
	}
	return string(buf[:n])
}
