package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/ocirun/ocirun/libcontainer"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
)

// updateFlags are runc 1.1's, with its value syntax: sizes take suffixes
// (512M), -1 is unlimited, and a flag that is absent or 0 changes nothing.
var updateFlags = []cli.Flag{
	&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "file with the linux.resources JSON to apply, or '-' for stdin (the other resource flags are then not allowed)"},
	&cli.IntFlag{Name: "blkio-weight", Usage: "per-cgroup block I/O weight, 10 to 1000"},
	&cli.StringFlag{Name: "cpu-period", Usage: "CPU CFS period in microseconds"},
	&cli.StringFlag{Name: "cpu-quota", Usage: "CPU CFS quota in microseconds per period"},
	&cli.StringFlag{Name: "cpu-burst", Usage: "CPU CFS burst in microseconds"},
	&cli.StringFlag{Name: "cpu-rt-period", Usage: "CPU realtime period in microseconds"},
	&cli.StringFlag{Name: "cpu-rt-runtime", Usage: "CPU realtime runtime in microseconds"},
	&cli.StringFlag{Name: "cpu-share", Usage: "CPU shares (relative weight)"},
	&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs to run on, such as 0-3,7"},
	&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes to use, such as 0-1"},
	&cli.StringFlag{Name: "kernel-memory", Usage: "kernel memory limit (deprecated; ignored by Linux 6)"},
	&cli.StringFlag{Name: "kernel-memory-tcp", Usage: "kernel TCP buffer memory limit (deprecated)"},
	&cli.StringFlag{Name: "memory", Usage: "memory limit in bytes, with an optional unit (512M, 2G); -1 for unlimited"},
	&cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit, same syntax as --memory"},
	&cli.StringFlag{Name: "memory-swap", Usage: "memory+swap limit, same syntax as --memory"},
	&cli.IntFlag{Name: "pids-limit", Usage: "maximum number of processes (-1 for unlimited)"},
	&cli.StringFlag{Name: "l3-cache-schema", Usage: "Intel RDT L3 cache schema (not supported yet)"},
	&cli.StringFlag{Name: "mem-bw-schema", Usage: "Intel RDT memory bandwidth schema (not supported yet)"},
}

var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "change the resource limits of a container",
	ArgsUsage: "<container-id>",
	Flags:     updateFlags,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		c, err := libcontainer.LoadLocked(ctx.String("root"), containerID(ctx))
		if err != nil {
			return err
		}
		defer c.Close()
		r, err := updateResources(ctx)
		if err != nil {
			return err
		}
		for _, f := range []string{"l3-cache-schema", "mem-bw-schema"} {
			if ctx.String(f) != "" {
				return fmt.Errorf("--%s: Intel RDT is not supported by ocirun yet", f)
			}
		}
		return c.Update(r)
	},
}

// updateResources reads --resources, or else builds the resources from the
// other flags.
func updateResources(ctx *cli.Context) (*specs.LinuxResources, error) {
	r := &specs.LinuxResources{Memory: &specs.LinuxMemory{}, CPU: &specs.LinuxCPU{}}
	if in := ctx.String("resources"); in != "" {
		for _, f := range updateFlags[1:] {
			if n := f.Names()[0]; ctx.IsSet(n) && !strings.HasSuffix(n, "-schema") {
				return nil, fmt.Errorf("--resources and --%s: use one or the other", n)
			}
		}
		return readResources(in)
	}
	if v := ctx.Int("blkio-weight"); v != 0 {
		if v < 0 || v > 0xffff {
			return nil, fmt.Errorf("invalid value for blkio-weight: %d", v)
		}
		w := uint16(v)
		r.BlockIO = &specs.LinuxBlockIO{Weight: &w}
	}
	r.CPU.Cpus, r.CPU.Mems = ctx.String("cpuset-cpus"), ctx.String("cpuset-mems")
	for _, f := range []struct {
		name string
		dst  **uint64
	}{{"cpu-period", &r.CPU.Period}, {"cpu-rt-period", &r.CPU.RealtimePeriod}, {"cpu-share", &r.CPU.Shares}, {"cpu-burst", &r.CPU.Burst}} {
		if s := ctx.String(f.name); s != "" {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("invalid value for %s: %w", f.name, err)
			}
			*f.dst = &v
		}
	}
	for _, f := range []struct {
		name string
		dst  **int64
	}{{"cpu-quota", &r.CPU.Quota}, {"cpu-rt-runtime", &r.CPU.RealtimeRuntime}} {
		if s := ctx.String(f.name); s != "" {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("invalid value for %s: %w", f.name, err)
			}
			*f.dst = &v
		}
	}
	for _, f := range []struct {
		name string
		dst  **int64
	}{
		{"memory", &r.Memory.Limit}, {"memory-swap", &r.Memory.Swap}, {"memory-reservation", &r.Memory.Reservation},
		{"kernel-memory", &r.Memory.Kernel}, {"kernel-memory-tcp", &r.Memory.KernelTCP},
	} {
		if s := ctx.String(f.name); s != "" {
			v, err := parseBytes(s)
			if err != nil {
				return nil, fmt.Errorf("invalid value for %s: %w", f.name, err)
			}
			*f.dst = &v
		}
	}
	if v := int64(ctx.Int("pids-limit")); v != 0 {
		r.Pids = &specs.LinuxPids{Limit: &v}
	}
	return r, nil
}

// readResources decodes a linux.resources JSON object from file, or from
// stdin for "-".
func readResources(file string) (*specs.LinuxResources, error) {
	var in io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("read resources: %w", err)
		}
		defer f.Close()
		in = f
	}
	var r specs.LinuxResources
	dec := json.NewDecoder(in)
	if err := dec.Decode(&r); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("no JSON object")
		}
		return nil, fmt.Errorf("decode resources from %s: %w", file, err)
	}
	return &r, nil
}

// sizeRE is docker/go-units' RAMInBytes syntax, which runc uses: a
// number, an optional space, an optional binary unit letter, and optional
// "i" and "b" (512M, 1.5g, 2 GiB, 100kb).
var sizeRE = regexp.MustCompile(`^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$`)

// parseBytes parses a size as runc's update does: -1 is unlimited, other
// values are RAMInBytes sizes with 1024-based units.
func parseBytes(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	m := sizeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("invalid size: '%s'", s)
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size: '%s'", s)
	}
	shift := 0
	if m[2] != "" {
		shift = strings.Index("kmgtp", strings.ToLower(m[2])) + 1
	}
	n *= float64(uint64(1) << (10 * shift))
	if n >= 1<<63 {
		return 0, fmt.Errorf("invalid size: '%s' is too large", s)
	}
	return int64(n), nil
}
