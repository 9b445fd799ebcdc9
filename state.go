package main

import (
	"encoding/json"
	"os"

	"github.com/ocirun/ocirun/libcontainer"
	"github.com/urfave/cli/v2"
)

var stateCommand = &cli.Command{
	Name:      "state",
	Usage:     "print a container's state as JSON",
	ArgsUsage: "<container-id>",
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		c, err := libcontainer.Load(ctx.String("root"), containerID(ctx))
		if err != nil {
			return err
		}
		st, err := c.OCIState()
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	},
}
