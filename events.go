package main

import (
	"encoding/json"
	"errors"
	"os"
	"time"

	"github.com/ocirun/ocirun/libcontainer"
	"github.com/urfave/cli/v2"
)

var eventsCommand = &cli.Command{
	Name:      "events",
	Usage:     "display container events: OOM notifications, cpu, memory and IO usage statistics",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "set the stats collection interval"},
		&cli.BoolFlag{Name: "stats", Usage: "display the container's stats then exit"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		interval := ctx.Duration("interval")
		if interval <= 0 {
			return errors.New("duration interval must be greater than 0")
		}
		c, err := libcontainer.Load(ctx.String("root"), containerID(ctx))
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		return c.Events(interval, ctx.Bool("stats"), func(e *libcontainer.Event) error { return enc.Encode(e) })
	},
}
