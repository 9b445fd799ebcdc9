package specutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"github.com/ocirun/ocirun/libcontainer/rootfs"
	"github.com/ocirun/ocirun/libcontainer/seccomp"
)

// Validate checks s (loaded from bundle) and returns the first problem found
// as a *FieldError, checking fields in a fixed order.
func Validate(s *specs.Spec, bundle string) error {
	checks := []func(*specs.Spec, string) error{
		checkVersion,
		checkPresent,
		checkRoot,
		checkProcess,
		checkIdentity,
		checkNames,
		checkMounts,
		checkHooks,
		checkNamespaces,
		checkIDMappings,
		checkTimeOffsets,
		checkDevices,
		checkCgroupsPath,
		checkResources,
		checkProcAttrs,
		checkSeccomp,
	}
	for _, check := range checks {
		if err := check(s, bundle); err != nil {
			return err
		}
	}
	return nil
}

func problem(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

func checkVersion(s *specs.Spec, _ string) error {
	if s.Version == "" {
		return problem("ociVersion", "must not be empty")
	}
	major, rest, _ := strings.Cut(s.Version, ".")
	if major != "1" || rest == "" {
		return problem("ociVersion", "unsupported version %q: want 1.x", s.Version)
	}
	return nil
}

func checkPresent(s *specs.Spec, _ string) error {
	switch {
	case s.Root == nil:
		return problem("root", "must be present")
	case s.Linux == nil:
		return problem("linux", "must be present")
	}
	return nil
}

func checkRoot(s *specs.Spec, bundle string) error {
	if s.Root.Path == "" {
		return problem("root.path", "must not be empty")
	}
	rootfs := AbsRootfs(s, bundle)
	fi, err := os.Stat(rootfs)
	if err != nil {
		return &FieldError{Field: "root.path", Problem: fmt.Sprintf("stat %s: %v", rootfs, unwrapPath(err)), Err: err}
	}
	if !fi.IsDir() {
		return problem("root.path", "%s is not a directory", rootfs)
	}
	return nil
}

// unwrapPath drops the *os.PathError wrapper whose path the caller already prints.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// AbsRootfs returns root.path made absolute against the bundle directory.
func AbsRootfs(s *specs.Spec, bundle string) string {
	p := s.Root.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(bundle, p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return filepath.Clean(p)
}

// checkProcess checks process, which is optional until start (config.md:
// "REQUIRED when start is called"): without it the container is created and
// start refuses.
func checkProcess(s *specs.Spec, _ string) error {
	p := s.Process
	if p == nil {
		return nil
	}
	if !filepath.IsAbs(p.Cwd) {
		return problem("process.cwd", "%q is not an absolute path", p.Cwd)
	}
	if len(p.Args) == 0 && p.CommandLine == "" {
		return problem("process.args", "must not be empty")
	}
	seen := map[string]bool{}
	for i, rl := range p.Rlimits {
		field := fmt.Sprintf("process.rlimits[%d]", i)
		if _, err := RlimitResource(rl.Type); err != nil {
			return &FieldError{Field: field + ".type", Problem: err.Error(), Err: err}
		}
		if seen[rl.Type] {
			return problem(field+".type", "duplicated rlimit %s", rl.Type)
		}
		seen[rl.Type] = true
		if rl.Soft > rl.Hard {
			return problem(field, "soft limit %d is greater than hard limit %d", rl.Soft, rl.Hard)
		}
	}
	return nil
}

func checkNames(s *specs.Spec, _ string) error {
	if hasNamespace(s, specs.UTSNamespace) {
		return nil
	}
	if s.Hostname != "" {
		return problem("hostname", "unable to set hostname without a private UTS namespace")
	}
	if s.Domainname != "" {
		return problem("domainname", "unable to set domainname without a private UTS namespace")
	}
	return nil
}

func checkMounts(s *specs.Spec, _ string) error {
	for i, m := range s.Mounts {
		field := fmt.Sprintf("mounts[%d]", i)
		if m.Destination == "" {
			return problem(field+".destination", "must not be empty")
		}
		opts, err := rootfs.ParseMountOptions(m.Options)
		if err == nil {
			err = opts.Check(m.Type)
		}
		if err != nil {
			return problem(field+".options", "%v", err)
		}
		if err := checkIDMappedMount(s, m, opts.IDMap, field); err != nil {
			return err
		}
	}
	return nil
}

// noIDMapTypes are filesystems the kernel cannot id-map (or that are made
// in the container's namespaces, where the runtime cannot prepare them).
var noIDMapTypes = map[string]bool{
	"proc": true, "sysfs": true, "mqueue": true, "devpts": true, "cgroup": true, "cgroup2": true,
}

// checkIDMappedMount checks an idmap/ridmap mount: mappings come in pairs,
// and without its own mappings a mount takes the container's user
// namespace mappings, so it needs a new user namespace.
func checkIDMappedMount(s *specs.Spec, m specs.Mount, idmap bool, field string) error {
	hasOwn := len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0
	switch {
	case len(m.UIDMappings) > 0 && len(m.GIDMappings) == 0:
		return problem(field+".gidMappings", "must be given with uidMappings")
	case len(m.GIDMappings) > 0 && len(m.UIDMappings) == 0:
		return problem(field+".uidMappings", "must be given with gidMappings")
	case !idmap && !hasOwn:
		return nil
	case noIDMapTypes[m.Type]:
		return problem(field+".options", "idmap is not supported for %s mounts", m.Type)
	}
	for name, maps := range map[string][]specs.LinuxIDMapping{"uidMappings": m.UIDMappings, "gidMappings": m.GIDMappings} {
		for j, mp := range maps {
			if mp.Size == 0 {
				return problem(fmt.Sprintf("%s.%s[%d].size", field, name, j), "must not be 0")
			}
		}
	}
	if hasOwn {
		return nil
	}
	if userns, ok := namespace(s, specs.UserNamespace); !ok || userns.Path != "" {
		return problem(field+".options", "idmap without uidMappings/gidMappings needs a new user namespace with mappings")
	}
	return nil
}

func checkHooks(s *specs.Spec, _ string) error {
	if s.Hooks == nil {
		return nil
	}
	lists := []struct {
		name  string
		hooks []specs.Hook
	}{
		{"prestart", s.Hooks.Prestart},
		{"createRuntime", s.Hooks.CreateRuntime},
		{"createContainer", s.Hooks.CreateContainer},
		{"startContainer", s.Hooks.StartContainer},
		{"poststart", s.Hooks.Poststart},
		{"poststop", s.Hooks.Poststop},
	}
	for _, l := range lists {
		for i, h := range l.hooks {
			field := fmt.Sprintf("hooks.%s[%d]", l.name, i)
			if !filepath.IsAbs(h.Path) {
				return problem(field+".path", "%q is not an absolute path", h.Path)
			}
			if h.Timeout != nil && *h.Timeout <= 0 {
				return problem(field+".timeout", "must be greater than zero, not %d", *h.Timeout)
			}
		}
	}
	return nil
}

var knownNamespaces = map[specs.LinuxNamespaceType]bool{
	specs.PIDNamespace:     true,
	specs.NetworkNamespace: true,
	specs.MountNamespace:   true,
	specs.IPCNamespace:     true,
	specs.UTSNamespace:     true,
	specs.UserNamespace:    true,
	specs.CgroupNamespace:  true,
	specs.TimeNamespace:    true,
}

func checkNamespaces(s *specs.Spec, _ string) error {
	seen := map[specs.LinuxNamespaceType]bool{}
	for i, ns := range s.Linux.Namespaces {
		field := fmt.Sprintf("linux.namespaces[%d]", i)
		if !knownNamespaces[ns.Type] {
			return problem(field+".type", "unknown namespace type %q", ns.Type)
		}
		if seen[ns.Type] {
			return problem(field+".type", "duplicated namespace %q", ns.Type)
		}
		seen[ns.Type] = true
		if ns.Path != "" && !filepath.IsAbs(ns.Path) {
			return problem(field+".path", "%q is not an absolute path", ns.Path)
		}
	}
	return nil
}

func checkIDMappings(s *specs.Spec, _ string) error {
	l := s.Linux
	userns, ok := namespace(s, specs.UserNamespace)
	switch {
	case !ok && len(l.UIDMappings) > 0:
		return problem("linux.uidMappings", "requires a user namespace")
	case !ok && len(l.GIDMappings) > 0:
		return problem("linux.gidMappings", "requires a user namespace")
	case ok && userns.Path == "" && len(l.UIDMappings) == 0:
		return problem("linux.uidMappings", "a new user namespace needs uid mappings")
	case ok && userns.Path == "" && len(l.GIDMappings) == 0:
		return problem("linux.gidMappings", "a new user namespace needs gid mappings")
	}
	return nil
}

func checkTimeOffsets(s *specs.Spec, _ string) error {
	if len(s.Linux.TimeOffsets) > 0 && !hasNamespace(s, specs.TimeNamespace) {
		return problem("linux.timeOffsets", "requires a time namespace")
	}
	return nil
}

func checkDevices(s *specs.Spec, _ string) error {
	for i, d := range s.Linux.Devices {
		field := fmt.Sprintf("linux.devices[%d]", i)
		switch d.Type {
		case "c", "b", "u", "p":
		default:
			return problem(field+".type", "unknown device type %q: want one of c, b, u, p", d.Type)
		}
		if d.Path == "" {
			return problem(field+".path", "must not be empty")
		}
	}
	return nil
}

func checkCgroupsPath(s *specs.Spec, _ string) error {
	if _, err := cgroups.CleanPath(s.Linux.CgroupsPath); err != nil {
		return &FieldError{Field: "linux.cgroupsPath", Problem: err.Error(), Err: err}
	}
	return nil
}

// checkSeccomp checks linux.seccomp with its package's pure validation.
func checkSeccomp(s *specs.Spec, _ string) error {
	var fe *seccomp.FieldError
	if err := seccomp.Validate(s.Linux.Seccomp); errors.As(err, &fe) {
		return problem("linux.seccomp."+fe.Field, "%s", fe.Problem)
	} else if err != nil {
		return &FieldError{Field: "linux.seccomp", Problem: err.Error(), Err: err}
	}
	return nil
}

func namespace(s *specs.Spec, typ specs.LinuxNamespaceType) (specs.LinuxNamespace, bool) {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == typ {
			return ns, true
		}
	}
	return specs.LinuxNamespace{}, false
}

func hasNamespace(s *specs.Spec, typ specs.LinuxNamespaceType) bool {
	_, ok := namespace(s, typ)
	return ok
}
