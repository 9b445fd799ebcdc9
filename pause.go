package main

import (
	"github.com/ocirun/ocirun/libcontainer"
	"github.com/urfave/cli/v2"
)

var pauseCommand = &cli.Command{
	Name:      "pause",
	Usage:     "pause (freeze) all processes of a container",
	ArgsUsage: "<container-id>",
	Action:    onLocked((*libcontainer.Container).Pause),
}
