package seccomp

import (
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// agentTimeout bounds the connection to a seccomp agent, so that a stuck
// agent fails create instead of hanging it.
const agentTimeout = 30 * time.Second

// SendListener hands a notify listener to the seccomp agent listening at
// path, as the runtime-spec describes: one SOCK_STREAM connection carrying
// the container process state as JSON, the fd attached (SCM_RIGHTS) to the
// first sendmsg(2) and named "seccompFd" in state.Fds; then the connection
// is closed. The caller keeps (and closes) its copy of the fd.
func SendListener(path string, state *specs.ContainerProcessState, listener int) error {
	state.Fds = []string{specs.SeccompFdName}
	data, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("encode container process state: %w", err)
	}
	conn, err := net.DialTimeout("unix", path, agentTimeout)
	if err != nil {
		return fmt.Errorf("connect to seccomp agent: %w", err)
	}
	defer conn.Close()
	uc := conn.(*net.UnixConn)
	if err := uc.SetWriteDeadline(time.Now().Add(agentTimeout)); err != nil {
		return fmt.Errorf("send to seccomp agent %s: %w", path, err)
	}
	n, _, err := uc.WriteMsgUnix(data, unix.UnixRights(listener), nil)
	if err == nil && n < len(data) {
		// A stream socket may take less at once; only the first part
		// carries the fd, as the spec asks.
		_, err = uc.Write(data[n:])
	}
	if err != nil {
		return fmt.Errorf("send to seccomp agent %s: %w", path, err)
	}
	return nil
}
