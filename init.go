package main

import (
	"os"
	"runtime"

	"github.com/ocirun/ocirun/libcontainer"
	"github.com/urfave/cli/v2"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		// Capabilities and the final exec are per thread: keep init on one.
		runtime.LockOSThread()
	}
}

var initCommand = &cli.Command{
	Name:   "init",
	Usage:  "internal: the container's init, started by create",
	Hidden: true,
	Action: func(ctx *cli.Context) error {
		// Init reports its failure to the parent, which reports it to the user.
		libcontainer.Init()
		os.Exit(1)
		return nil
	},
}
