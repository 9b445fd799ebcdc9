package main

import (
	"errors"

	"github.com/ocirun/ocirun/libcontainer"
	"github.com/urfave/cli/v2"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container; in the foreground, wait for it and delete it",
	ArgsUsage: "<container-id>",
	Flags: append([]cli.Flag{
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container has started"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "accepted for runc compatibility (the init is our direct child)"},
		&cli.BoolFlag{Name: "keep", Usage: "keep the container after it exits (not supported yet)"},
	}, createFlags...),
	Action: func(ctx *cli.Context) error {
		if ctx.Bool("keep") {
			return errors.New("run --keep: keeping a container after it exits is not supported yet")
		}
		detach := ctx.Bool("detach")
		opts, err := createOpts(ctx, detach)
		if err != nil {
			return err
		}
		code, err := libcontainer.Run(ctx.String("root"), containerID(ctx), opts, detach, func(pid int) error {
			return writePidFile(ctx.String("pid-file"), pid)
		})
		if err != nil {
			return err
		}
		if code != 0 {
			return exitError(code)
		}
		return nil
	},
}
