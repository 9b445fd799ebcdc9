// Command democonfig edits, in place, a bundle's config.json as `ocirun spec` writes it, for the
// demo and the benchmark: no terminal, a hostname (with a UTS namespace), a cgroupsPath, and the
// process arguments. Without arguments the process prints what the container sees of itself.
//
//	go run ./scripts/democonfig -config BUNDLE/config.json -hostname ocirun-demo \
//		-cgroups-path demo-1 [-- ARG...]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// demoScript is the demo container's shell script: its pid, names, ids, cgroups, namespaces
// and mounts, one short line each.
const demoScript = `echo "pid:       $$"
echo "hostname:  $(hostname)"
echo "id:        $(id)"
echo "cwd:       $(pwd)"
echo "cgroups:"; sed 's/^/  /' /proc/self/cgroup
echo "namespaces:"; for ns in /proc/self/ns/*; do echo "  ${ns##*/} -> $(readlink "$ns")"; done
echo "mounts (target fstype options):"
awk '{ for (i = 7; $i != "-"; i++) {}; print "  " $5, $(i+1), $6 }' /proc/self/mountinfo`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "democonfig:", err)
		os.Exit(1)
	}
}

func run(argv []string) error {
	flags := flag.NewFlagSet("democonfig", flag.ContinueOnError)
	path := flags.String("config", "config.json", "config.json to edit in place")
	hostname := flags.String("hostname", "ocirun-demo", "container hostname")
	cgroupsPath := flags.String("cgroups-path", "", "linux.cgroupsPath (relative: under the caller's cgroup)")
	if err := flags.Parse(argv); err != nil {
		return err
	}
	args := flags.Args()
	if len(args) == 0 {
		args = []string{"/bin/sh", "-c", demoScript}
	}

	spec, err := load(*path)
	if err != nil {
		return err
	}
	if err := edit(spec, *hostname, *cgroupsPath, args); err != nil {
		return err
	}
	if err := save(*path, spec); err != nil {
		return err
	}
	fmt.Printf("democonfig: %s: terminal=false hostname=%s cgroupsPath=%q args=%q\n",
		*path, spec.Hostname, spec.Linux.CgroupsPath, summary(args))
	return nil
}

// edit applies the demo settings to spec.
func edit(spec *specs.Spec, hostname, cgroupsPath string, args []string) error {
	if spec.Process == nil || spec.Linux == nil {
		return errors.New("edit config: no process or linux section")
	}
	spec.Process.Terminal = false
	spec.Process.Args = args
	spec.Hostname = hostname
	spec.Linux.CgroupsPath = cgroupsPath
	hasUTS := slices.ContainsFunc(spec.Linux.Namespaces, func(ns specs.LinuxNamespace) bool {
		return ns.Type == specs.UTSNamespace
	})
	if hostname != "" && !hasUTS {
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UTSNamespace})
	}
	return nil
}

func load(path string) (*specs.Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return &spec, nil
}

func save(path string, spec *specs.Spec) error {
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// summary shortens the demo script to its first line for the report.
func summary(args []string) []string {
	if len(args) == 3 && args[2] == demoScript {
		return []string{args[0], args[1], "<demo script: pid, hostname, id, cgroups, namespaces, mounts>"}
	}
	return args
}
