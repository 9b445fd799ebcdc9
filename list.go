package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/ocirun/ocirun/libcontainer"
	"github.com/urfave/cli/v2"
)

var listCommand = &cli.Command{
	Name:  "list",
	Usage: "list the containers",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the ids"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 0, 0); err != nil {
			return err
		}
		cs, err := libcontainer.List(ctx.String("root"))
		if err != nil {
			return err
		}
		states := make([]*libcontainer.OCIState, 0, len(cs))
		for _, c := range cs {
			if st, err := c.OCIState(); err == nil {
				states = append(states, st)
			}
		}
		if ctx.Bool("quiet") {
			for _, st := range states {
				fmt.Println(st.ID)
			}
			return nil
		}
		switch ctx.String("format") {
		case "json":
			// runc prints null for no containers; print [] which every
			// JSON client also accepts as empty.
			return json.NewEncoder(os.Stdout).Encode(states)
		case "table":
			w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, st := range states {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", st.ID, st.Pid, st.Status, st.Bundle,
					st.Created.Format(time.RFC3339Nano), st.Owner)
			}
			return w.Flush()
		default:
			return fmt.Errorf("invalid --format %q: must be table or json", ctx.String("format"))
		}
	},
}
