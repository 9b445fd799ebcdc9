package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ocirun/ocirun/libcontainer"
	"github.com/ocirun/ocirun/libcontainer/cgroups/systemd"
	"github.com/ocirun/ocirun/libcontainer/specutil"
	"github.com/urfave/cli/v2"
)

var errTTYDetach = errors.New("cannot allocate tty if ocirun will detach without setting console socket")

// createOpts checks the arguments, loads and validates the bundle's config
// and gathers the flags shared by create and run. A terminal container that
// will be detached needs a console socket to hand its pty to.
func createOpts(ctx *cli.Context, detach bool) (*libcontainer.CreateOpts, error) {
	if err := checkArgs(ctx, 1, 1); err != nil {
		return nil, err
	}
	bundle, err := filepath.Abs(ctx.String("bundle"))
	if err != nil {
		return nil, fmt.Errorf("resolve bundle path: %w", err)
	}
	s, err := specutil.Load(bundle)
	if err != nil {
		return nil, err
	}
	if err := specutil.Validate(s, bundle); err != nil {
		return nil, err
	}
	if ctx.String("pidfd-socket") != "" {
		return nil, errors.New("--pidfd-socket is not supported yet")
	}
	if n := ctx.Int("preserve-fds"); n < 0 {
		return nil, fmt.Errorf("--preserve-fds: must not be negative, got %d", n)
	}
	if detach && s.Process != nil && s.Process.Terminal && ctx.String("console-socket") == "" {
		return nil, errTTYDetach
	}
	if ctx.Bool("systemd-cgroup") && !systemd.IsRunning() {
		return nil, fmt.Errorf("--systemd-cgroup: %w", systemd.ErrNotRunning)
	}
	return &libcontainer.CreateOpts{
		Bundle:        bundle,
		Spec:          s,
		ConsoleSocket: ctx.String("console-socket"),
		NoPivot:       ctx.Bool("no-pivot"),
		NoNewKeyring:  ctx.Bool("no-new-keyring"),
		PreserveFds:   ctx.Int("preserve-fds"),
		Debug:         ctx.Bool("debug"),
		SystemdCgroup: ctx.Bool("systemd-cgroup"),
	}, nil
}

// writePidFile writes pid to path through a temporary file and a rename, so a
// reader never sees a partial pid.
func writePidFile(path string, pid int) error {
	if path == "" {
		return nil
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

// onLocked is the action of a command that takes one container id and
// calls op on the container with its lock held.
func onLocked(op func(*libcontainer.Container) error) cli.ActionFunc {
	return func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		c, err := libcontainer.LoadLocked(ctx.String("root"), containerID(ctx))
		if err != nil {
			return err
		}
		defer c.Close()
		return op(c)
	}
}
