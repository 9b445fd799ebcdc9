package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"
)

// Run creates and starts a container, then, in the foreground, forwards
// signals (and the terminal) to it, waits for it and deletes it. It returns
// the exit code `run` exits with: the container's, or 128+N for a signal.
// With detach it returns once the container is started. created is called
// with the init's pid once the container exists (for --pid-file).
func Run(root, id string, o *CreateOpts, detach bool, created func(pid int) error) (int, error) {
	// Catch signals from the start so none is lost between create and wait.
	// No signal.Stop: `run` exits as soon as Run returns, and Stop, like
	// Notify, hands each of the ~60 signals to the runtime's signal-mask
	// thread and back (about 3 ms on two CPUs).
	sigs := make(chan os.Signal, 128)
	if !detach {
		signal.Notify(sigs)
	}
	o.KeepConsole = !detach && o.Spec.Process != nil && o.Spec.Process.Terminal && o.ConsoleSocket == ""
	c, err := Create(root, id, o)
	if err != nil {
		return -1, err
	}
	err = created(c.Pid())
	if err == nil {
		err = c.Start()
	}
	c.Close()
	if err != nil {
		if l, lerr := LoadLocked(root, id); lerr == nil {
			l.Destroy(true)
			l.Close()
		}
		return -1, err
	}
	if detach {
		return 0, nil
	}
	var copied chan struct{}
	if m := c.Console(); m != nil {
		restore, done := attachConsole(m)
		defer restore()
		copied = done
	}
	code, err := c.waitForward(sigs)
	if copied != nil {
		<-copied // let the last output through
	}
	if l, lerr := LoadLocked(root, id); lerr == nil {
		if derr := l.Destroy(true); err == nil {
			err = derr
		}
		l.Close()
	}
	return code, err
}

// waitForward waits for the init (our child through CLONE_PARENT) and relays
// every signal we get to it.
func (c *Container) waitForward(sigs chan os.Signal) (int, error) {
	pid := c.state.Pid
	type result struct {
		ws  unix.WaitStatus
		err error
	}
	done := make(chan result, 1)
	go func() {
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(pid, &ws, 0, nil)
			if err == unix.EINTR {
				continue
			}
			done <- result{ws, err}
			return
		}
	}()
	for {
		select {
		case r := <-done:
			if r.err != nil {
				return -1, fmt.Errorf("wait for container init: %w", r.err)
			}
			if r.ws.Signaled() {
				return 128 + int(r.ws.Signal()), nil
			}
			return r.ws.ExitStatus(), nil
		case s := <-sigs:
			sig := s.(unix.Signal)
			switch sig {
			case unix.SIGCHLD, unix.SIGURG, unix.SIGPIPE:
				continue
			case unix.SIGWINCH:
				if m := c.console; m != nil {
					resizeFromStdin(m)
				}
				continue
			}
			if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
				return -1, fmt.Errorf("forward %v: %w", sig, err)
			}
		}
	}
}

// attachConsole wires the pty master to our stdio, our terminal in raw mode
// when stdin is one. done closes when the container's output has ended.
func attachConsole(master *os.File) (restore func(), done chan struct{}) {
	restore = func() {}
	if cur, err := console.ConsoleFromFile(os.Stdin); err == nil {
		if err := cur.SetRaw(); err == nil {
			restore = func() { cur.Reset() }
		}
		resizeFromStdin(master)
	}
	go io.Copy(master, os.Stdin)
	done = make(chan struct{})
	go func() {
		io.Copy(os.Stdout, master) // ends with EIO once every slave fd is closed
		close(done)
	}()
	return restore, done
}

func resizeFromStdin(master *os.File) {
	if ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ); err == nil {
		unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws)
	}
}
