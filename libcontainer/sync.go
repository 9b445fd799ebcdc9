package libcontainer

// The sync protocol between the parent (`ocirun create`) and the Go side of
// `ocirun init`, after the bootstrap (see bootstrap_linux.go). It runs over a
// SOCK_SEQPACKET socketpair (init's end number in _OCIRUN_SYNCPIPE): one JSON
// object per packet, file descriptors attached with SCM_RIGHTS.
//
//	direction    type        fds     meaning
//	-----------  ----------  ------  ---------------------------------------------------
//	init->parent "hooks"     -       mounts and devices are in place, pivot_root has not
//	                                 happened: run prestart and createRuntime hooks
//	parent->init "hooksDone" -       they succeeded (on failure the parent kills init)
//	init->parent "console"   master  the pty master of a terminal container
//	parent->init "consoleDone" -     it was handed to --console-socket (or kept by `run`)
//	init->parent "seccomp"   notify  the seccomp filter with SCMP_ACT_NOTIFY rules is loaded:
//	                                 hand its notify listener to linux.seccomp.listenerPath.
//	                                 No reply: init goes on at once (a syscall it notifies
//	                                 meanwhile waits for the agent); create fails if the
//	                                 hand-off does
//	init->parent "ready"     -       all set up; init now blocks opening exec.fifo
//	init->parent "error"     -       message: why init failed; init exits 1
//
// End of file before "ready" means init died: the parent reports the last
// error it saw, or that init exited.

import (
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

const (
	syncHooks       = "hooks"
	syncHooksDone   = "hooksDone"
	syncConsole     = "console"
	syncConsoleDone = "consoleDone"
	syncSeccomp     = "seccomp"
	syncReady       = "ready"
	syncError       = "error"
)

type syncMsg struct {
	Type    string `json:"type"`
	Message string `json:"message,omitempty"`
}

var errSyncEOF = errors.New("peer closed the sync socket")

func writeSync(fd int, typ, message string, fds ...int) error {
	b, err := json.Marshal(syncMsg{Type: typ, Message: message})
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if err := unix.Sendmsg(fd, b, oob, nil, 0); err != nil {
		return fmt.Errorf("send %s message: %w", typ, err)
	}
	return nil
}

// readSync reads one message and the fds that came with it.
func readSync(fd int) (syncMsg, []int, error) {
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return syncMsg{}, nil, fmt.Errorf("read sync message: %w", err)
		}
		if n == 0 {
			return syncMsg{}, nil, errSyncEOF
		}
		var fds []int
		if oobn > 0 {
			cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err != nil {
				return syncMsg{}, nil, fmt.Errorf("parse sync message: %w", err)
			}
			for _, c := range cmsgs {
				rights, err := unix.ParseUnixRights(&c)
				if err == nil {
					fds = append(fds, rights...)
				}
			}
		}
		var m syncMsg
		if err := json.Unmarshal(buf[:n], &m); err != nil {
			for _, f := range fds {
				unix.Close(f)
			}
			return syncMsg{}, nil, fmt.Errorf("decode sync message: %w", err)
		}
		return m, fds, nil
	}
}

// expectSync reads one message and fails unless it has the wanted type.
func expectSync(fd int, want string) error {
	m, fds, err := readSync(fd)
	for _, f := range fds {
		unix.Close(f)
	}
	if err != nil {
		return err
	}
	if m.Type != want {
		return fmt.Errorf("sync: got %q, want %q", m.Type, want)
	}
	return nil
}
