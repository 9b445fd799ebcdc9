package main

import (
	"github.com/ocirun/ocirun/libcontainer"
	"github.com/ocirun/ocirun/libcontainer/specutil"
	"github.com/urfave/cli/v2"
)

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default TERM) to a container's init",
	ArgsUsage: "<container-id> [signal]",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every process of the container"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 2); err != nil {
			return err
		}
		name := ctx.Args().Get(1)
		if name == "" {
			name = "TERM"
		}
		sig, err := specutil.ParseSignal(name)
		if err != nil {
			return err
		}
		c, err := libcontainer.Load(ctx.String("root"), containerID(ctx))
		if err != nil {
			return err
		}
		return c.Signal(sig, ctx.Bool("all"))
	},
}
