// Command testinit is what nsenter's test runs as `ocirun init`: it imports
// the nsenter constructor and then does what the Go side of an init does
// first — read the init config (u32 N + JSON) from the init pipe — and
// answers with a report of the process it ended up in, as u32 N + JSON on
// the same pipe. It then waits for EOF on the pipe so that the test can look
// at it from the host, and exits.
//
// Without _OCIRUN_INITPIPE it prints the report to stdout; with the argument
// "hold" it only waits for EOF on stdin (a namespace holder for the test).
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	_ "github.com/ocirun/ocirun/nsenter"
)

// Report is what the process sees of itself.
type Report struct {
	Pid, Ppid    int
	Uid, Gid     int
	Groups       []int
	Dumpable     int
	MonotonicSec int64
	Cgroup       string
	NS           map[string]string
	InitPipeEnv  string
	Config       json.RawMessage `json:",omitempty"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testinit:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) > 1 && os.Args[1] == "hold" {
		_, err := io.Copy(io.Discard, os.Stdin)
		return err
	}
	env, ok := os.LookupEnv("_OCIRUN_INITPIPE")
	if !ok {
		r, err := report(nil)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	fd, err := strconv.Atoi(env)
	if err != nil {
		return fmt.Errorf("parse _OCIRUN_INITPIPE: %w", err)
	}
	pipe := os.NewFile(uintptr(fd), "initpipe")
	config, err := readMsg(pipe)
	if err != nil {
		return fmt.Errorf("read init config: %w", err)
	}
	r, err := report(config)
	if err != nil {
		return err
	}
	out, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := pipe.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(out)))); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if _, err := pipe.Write(out); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	_, err = io.Copy(io.Discard, pipe)
	return err
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

func report(config []byte) (*Report, error) {
	groups, err := unix.Getgroups()
	if err != nil {
		return nil, fmt.Errorf("getgroups: %w", err)
	}
	dumpable, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("get dumpable: %w", err)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return nil, fmt.Errorf("get monotonic clock: %w", err)
	}
	cgroup, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	r := &Report{
		Pid: os.Getpid(), Ppid: os.Getppid(), Uid: os.Getuid(), Gid: os.Getgid(),
		Groups: groups, Dumpable: dumpable, MonotonicSec: ts.Sec, Cgroup: string(cgroup),
		NS: map[string]string{}, InitPipeEnv: os.Getenv("_OCIRUN_INITPIPE"), Config: config,
	}
	for _, ns := range []string{"pid", "uts", "mnt", "user", "net", "ipc", "cgroup", "time"} {
		if r.NS[ns], err = os.Readlink("/proc/self/ns/" + ns); err != nil {
			return nil, err
		}
	}
	return r, nil
}
