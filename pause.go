package main

import (
	"github.com/ocirun/ocirun/libcontainer"
	"github.com/urfave/cli/v2"
)

var pauseCommand = &cli.Command{
	Name:      "pause",
	Usage:     "pause (freeze) all processes of a container",
	ArgsUsage: "<container-id>",
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		c, err := libcontainer.LoadLocked(ctx.String("root"), containerID(ctx))
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Pause()
	},
}
