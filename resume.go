package main

import (
	"github.com/ocirun/ocirun/libcontainer"
	"github.com/urfave/cli/v2"
)

var resumeCommand = &cli.Command{
	Name:      "resume",
	Usage:     "resume (thaw) all processes of a paused container",
	ArgsUsage: "<container-id>",
	Action:    onLocked((*libcontainer.Container).Resume),
}
