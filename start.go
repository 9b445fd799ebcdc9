package main

import (
	"github.com/ocirun/ocirun/libcontainer"
	"github.com/urfave/cli/v2"
)

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "start a created container: run its process",
	ArgsUsage: "<container-id>",
	Action:    onLocked((*libcontainer.Container).Start),
}
