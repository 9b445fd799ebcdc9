package libcontainer

import (
	"fmt"
	"net"
	"os"

	"github.com/containerd/console"
	"github.com/ocirun/ocirun/libcontainer/rootfs"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setupConsole runs in init after pivot_root: it makes a pty from the
// container's own devpts, hands the master to the parent, binds the slave
// onto /dev/console and makes it the controlling terminal and stdio.
func setupConsole(syncFd int, size *specs.Box) error {
	master, slavePath, err := console.NewPty()
	if err != nil {
		return fmt.Errorf("create pty: %w", err)
	}
	defer master.Close()
	if size != nil {
		ws := console.WinSize{Height: uint16(size.Height), Width: uint16(size.Width)}
		if err := master.Resize(ws); err != nil {
			return fmt.Errorf("set console size: %w", err)
		}
	}
	slave, err := os.OpenFile(slavePath, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open pty slave %s: %w", slavePath, err)
	}
	defer slave.Close()
	if err := rootfs.BindConsole(slave); err != nil {
		return err
	}
	if err := writeSync(syncFd, syncConsole, "", int(master.Fd())); err != nil {
		return err
	}
	if err := expectSync(syncFd, syncConsoleDone); err != nil {
		return err
	}
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	if err := unix.IoctlSetInt(int(slave.Fd()), unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("set controlling terminal: %w", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(int(slave.Fd()), fd, 0); err != nil {
			return fmt.Errorf("dup pty slave to fd %d: %w", fd, err)
		}
	}
	return nil
}

// sendConsole hands the pty master to the console socket with SCM_RIGHTS, as
// runc does (the message data is the file's name).
func sendConsole(socketPath string, master *os.File) error {
	conn, err := net.Dial("unix", socketPath)
	if err != nil {
		return fmt.Errorf("connect to console socket: %w", err)
	}
	defer conn.Close()
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("console socket %s is not a unix socket", socketPath)
	}
	if _, _, err := uc.WriteMsgUnix([]byte(master.Name()), unix.UnixRights(int(master.Fd())), nil); err != nil {
		return fmt.Errorf("send pty master to console socket: %w", err)
	}
	return nil
}
