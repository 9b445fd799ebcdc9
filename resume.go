package main

import (
	"github.com/ocirun/ocirun/libcontainer"
	"github.com/urfave/cli/v2"
)

var resumeCommand = &cli.Command{
	Name:      "resume",
	Usage:     "resume (thaw) all processes of a paused container",
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
		return c.Resume()
	},
}
