package main

import (
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
		&cli.BoolFlag{Name: "keep", Usage: "accepted for runc compatibility; not supported yet"},
	}, createFlags...),
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		opts, err := createOpts(ctx)
		if err != nil {
			return err
		}
		detach := ctx.Bool("detach")
		if detach && opts.Spec.Process.Terminal && opts.ConsoleSocket == "" {
			return errTTYDetach
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
