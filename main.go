// Command ocirun is an OCI container runtime, a drop-in for runc.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/ocirun/ocirun/libcontainer"
	_ "github.com/ocirun/ocirun/nsenter" // the C constructor that `ocirun init` starts in
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
)

// Set at build time with -ldflags "-X main.version=... -X main.gitCommit=...".
var (
	version   = "0.1.0-dev"
	gitCommit = "unknown"
)

// exitError carries a process exit code out of a command without printing
// anything (a foreground `run` exits with its container's code).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() {
	app := &cli.App{
		Name:  "ocirun",
		Usage: "OCI container runtime",
		// containerd's client parses a first line starting with "runc version";
		// people read the second. Keep commit: and spec: as runc prints them.
		Version: fmt.Sprintf("%s\ncommit: %s\nspec: %s", version, gitCommit, specs.Version),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: defaultRoot(), Usage: "directory for the containers' state"},
			&cli.StringFlag{Name: "log", Usage: "log file (default stderr)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.BoolFlag{Name: "debug", Usage: "log debug messages"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "use the systemd cgroup driver: linux.cgroupsPath is slice:prefix:name"},
			&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "rootless mode: true, false or auto (only false/auto as root are supported yet)"},
			&cli.StringFlag{Name: "criu", Hidden: true, Usage: "accepted for runc compatibility; ignored"},
		},
		Commands: []*cli.Command{
			createCommand, startCommand, stateCommand, killCommand, deleteCommand,
			runCommand, listCommand, specCommand, initCommand,
			pauseCommand, resumeCommand, psCommand, eventsCommand,
			updateCommand,
		},
		Before:                 setup,
		HideHelpCommand:        true,
		UseShortOptionHandling: true,
		ExitErrHandler:         func(*cli.Context, error) {},
	}
	cli.VersionPrinter = func(c *cli.Context) {
		fmt.Printf("ocirun version %s\n", c.App.Version)
	}
	err := app.Run(os.Args)
	var code exitError
	switch {
	case err == nil:
	case errors.As(err, &code):
		os.Exit(int(code))
	default:
		fatal(err)
	}
}

func defaultRoot() string {
	if os.Geteuid() == 0 {
		return "/run/ocirun"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "ocirun")
	}
	return "/run/ocirun"
}

// logFile is where log records go: --log, or nil for stderr.
var (
	logFile   io.Writer
	logFormat = "text"
)

func setup(ctx *cli.Context) error {
	if ctx.Args().First() == "init" {
		return nil // init logs to its parent through the log pipe
	}
	logFormat = ctx.String("log-format")
	if logFormat != "text" && logFormat != "json" {
		return fmt.Errorf("invalid --log-format %q: must be text or json", logFormat)
	}
	var w io.Writer = os.Stderr
	if p := ctx.String("log"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("open log file: %w", err)
		}
		logFile, w = f, f
	}
	level := slog.LevelWarn
	if ctx.Bool("debug") {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.LevelKey {
				return slog.String(slog.LevelKey, libcontainer.LevelName(a.Value.Any().(slog.Level)))
			}
			return a
		},
	}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if logFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	slog.SetDefault(slog.New(h))
	if r := ctx.String("rootless"); r == "true" || (r == "auto" && os.Geteuid() != 0) {
		return errors.New("--rootless: rootless containers are not supported yet")
	}
	return nil
}

// fatal reports the final error once and exits 1: as a record in the log
// (containerd and CRI-O read the last "error" record of --log), and as one
// plain line on stderr for people, unless the log is stderr already.
func fatal(err error) {
	msg := strings.TrimSpace(err.Error())
	switch {
	case logFile != nil:
		slog.Error(msg)
		fmt.Fprintln(os.Stderr, msg)
	case logFormat == "json":
		slog.Error(msg)
	default:
		fmt.Fprintln(os.Stderr, msg)
	}
	os.Exit(1)
}

// checkArgs enforces the number of positional arguments of a command.
func checkArgs(ctx *cli.Context, min, max int) error {
	if n := ctx.NArg(); n < min || n > max {
		return fmt.Errorf("%s: expected %s, got %d argument(s); see 'ocirun %s --help'",
			ctx.Command.Name, ctx.Command.ArgsUsage, n, ctx.Command.Name)
	}
	return nil
}

// containerID returns the first argument, the container id.
func containerID(ctx *cli.Context) string { return ctx.Args().First() }
