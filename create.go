package main

import (
	"github.com/ocirun/ocirun/libcontainer"
	"github.com/urfave/cli/v2"
)

var createFlags = []cli.Flag{
	&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "path to the bundle (default: current directory)"},
	&cli.StringFlag{Name: "pid-file", Usage: "write the container init's pid to this file"},
	&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master of a terminal container"},
	&cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket that receives a pidfd of the init (not supported yet)"},
	&cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot_root (for a rootfs on ramfs)"},
	&cli.BoolFlag{Name: "no-new-keyring", Usage: "do not create a new session keyring"},
	&cli.IntFlag{Name: "preserve-fds", Usage: "pass N extra fds (3..3+N-1) to the container"},
}

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container",
	ArgsUsage: "<container-id>",
	Flags:     createFlags,
	Action: func(ctx *cli.Context) error {
		opts, err := createOpts(ctx, true)
		if err != nil {
			return err
		}
		c, err := libcontainer.Create(ctx.String("root"), containerID(ctx), opts)
		if err != nil {
			return err
		}
		defer c.Close()
		return writePidFile(ctx.String("pid-file"), c.Pid())
	},
}
