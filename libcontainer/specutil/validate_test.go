package specutil

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// newBundle returns a bundle directory holding an empty rootfs/ directory.
func newBundle(t *testing.T) string {
	t.Helper()
	bundle := t.TempDir()
	if err := os.Mkdir(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	return bundle
}

func intPtr(i int) *int { return &i }

func TestValidate(t *testing.T) {
	bundle := newBundle(t)
	if err := os.WriteFile(filepath.Join(bundle, "afile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		mutate func(*specs.Spec)
		field  string // "" means the config must pass
		text   string // a word the problem must contain
	}{
		{"example passes", func(*specs.Spec) {}, "", ""},
		{"version 1.0.0 passes", func(s *specs.Spec) { s.Version = "1.0.0" }, "", ""},
		{"version 1.9.7-dev passes", func(s *specs.Spec) { s.Version = "1.9.7-dev" }, "", ""},
		{"rootless example passes", ToRootless, "", ""},
		{"user ns joined by path needs no mappings", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user", Path: "/proc/1/ns/user"})
		}, "", ""},
		{"relative cgroupsPath with harmless dotdot passes", func(s *specs.Spec) { s.Linux.CgroupsPath = "a/../b" }, "", ""},
		{"absolute rootfs passes", func(s *specs.Spec) { s.Root.Path = filepath.Join(bundle, "rootfs") }, "", ""},
		{"no process passes (required only when start is called)", func(s *specs.Spec) { s.Process = nil }, "", ""},

		{"empty version", func(s *specs.Spec) { s.Version = "" }, "ociVersion", "empty"},
		{"version 2", func(s *specs.Spec) { s.Version = "2.0.0" }, "ociVersion", "2.0.0"},
		{"version 10", func(s *specs.Spec) { s.Version = "10.1" }, "ociVersion", "10.1"},
		{"root missing", func(s *specs.Spec) { s.Root = nil }, "root", "present"},
		{"linux missing", func(s *specs.Spec) { s.Linux = nil }, "linux", "present"},
		{"root path empty", func(s *specs.Spec) { s.Root.Path = "" }, "root.path", "empty"},
		{"root path missing", func(s *specs.Spec) { s.Root.Path = "nothere" }, "root.path", "no such file"},
		{"root path a file", func(s *specs.Spec) { s.Root.Path = "afile" }, "root.path", "not a directory"},
		{"cwd relative", func(s *specs.Spec) { s.Process.Cwd = "tmp" }, "process.cwd", "absolute"},
		{"cwd empty", func(s *specs.Spec) { s.Process.Cwd = "" }, "process.cwd", "absolute"},
		{"args empty", func(s *specs.Spec) { s.Process.Args = nil }, "process.args", "must not be empty"},
		{"rlimit unknown", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_FOO"})
		}, "process.rlimits[1].type", "RLIMIT_FOO"},
		{"rlimit duplicated", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_NOFILE"})
		}, "process.rlimits[1].type", "duplicated"},
		{"rlimit soft above hard", func(s *specs.Spec) { s.Process.Rlimits[0].Soft = 2048 }, "process.rlimits[0]", "greater"},
		{"hostname without uts", func(s *specs.Spec) { dropNS(s, "uts") }, "hostname", "private UTS namespace"},
		{"domainname without uts", func(s *specs.Spec) { dropNS(s, "uts"); s.Hostname = ""; s.Domainname = "x" }, "domainname", "UTS"},
		{"mount destination empty", func(s *specs.Spec) { s.Mounts[3].Destination = "" }, "mounts[3].destination", "empty"},
		{"hook path relative", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true"}, {Path: "bin/true"}}}
		}, "hooks.poststop[1].path", "absolute"},
		{"hook timeout zero", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true", Timeout: intPtr(0)}}}
		}, "hooks.createRuntime[0].timeout", "greater than zero"},
		{"hook timeout negative", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/true", Timeout: intPtr(-3)}}}
		}, "hooks.prestart[0].timeout", "-3"},
		{"namespace unknown", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		}, "linux.namespaces[6].type", "bogus"},
		{"namespace duplicated", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "pid"})
		}, "linux.namespaces[6].type", "duplicated"},
		{"namespace path relative", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "proc/1/ns/net" }, "linux.namespaces[1].path", "absolute"},
		{"uid mappings without userns", func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{Size: 1}}
		}, "linux.uidMappings", "user namespace"},
		{"gid mappings without userns", func(s *specs.Spec) {
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{Size: 1}}
		}, "linux.gidMappings", "user namespace"},
		{"new userns without uid mappings", func(s *specs.Spec) { ToRootless(s); s.Linux.UIDMappings = nil }, "linux.uidMappings", "mappings"},
		{"new userns without gid mappings", func(s *specs.Spec) { ToRootless(s); s.Linux.GIDMappings = nil }, "linux.gidMappings", "mappings"},
		{"time offsets without time ns", func(s *specs.Spec) {
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}}
		}, "linux.timeOffsets", "time namespace"},
		{"device type unknown", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c"}, {Path: "/dev/x", Type: "x"}}
		}, "linux.devices[1].type", `"x"`},
		{"device path empty", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Type: "b"}}
		}, "linux.devices[0].path", "empty"},
		{"cgroupsPath escapes relative", func(s *specs.Spec) { s.Linux.CgroupsPath = "a/../../b" }, "linux.cgroupsPath", "escapes"},
		{"cgroupsPath escapes absolute", func(s *specs.Spec) { s.Linux.CgroupsPath = "/../etc" }, "linux.cgroupsPath", "escapes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Example()
			tc.mutate(s)
			err := Validate(s, bundle)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want no error", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate passed, want an error on %s", tc.field)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Validate: %v, want field %q", err, tc.field)
			}
			prefix := "config.json: " + tc.field + ": "
			if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tc.text) || strings.Contains(msg, "\n") {
				t.Fatalf("Validate: %q, want one line starting %q containing %q", msg, prefix, tc.text)
			}
		})
	}
}

func dropNS(s *specs.Spec, typ specs.LinuxNamespaceType) {
	var kept []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != typ {
			kept = append(kept, ns)
		}
	}
	s.Linux.Namespaces = kept
}

func TestValidateOrder(t *testing.T) {
	// Two problems at once: the earlier field in the fixed order wins, every time.
	s := Example()
	s.Process.Args = nil
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
	for range 5 {
		err := Validate(s, newBundle(t))
		if err == nil || !strings.HasPrefix(err.Error(), "config.json: process.args:") {
			t.Fatalf("Validate: %v, want the process.args problem first", err)
		}
	}
}

func TestAbsRootfs(t *testing.T) {
	cases := []struct{ name, bundle, root, want string }{
		{"relative", "/b", "rootfs", "/b/rootfs"},
		{"relative with dots", "/b/x", "../r", "/b/r"},
		{"absolute", "/b", "/srv/root/", "/srv/root"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &specs.Spec{Root: &specs.Root{Path: tc.root}}
			if got := AbsRootfs(s, tc.bundle); got != tc.want {
				t.Fatalf("AbsRootfs = %q, want %q", got, tc.want)
			}
		})
	}
	// A relative bundle is resolved against the working directory.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	s := &specs.Spec{Root: &specs.Root{Path: "rootfs"}}
	if got, want := AbsRootfs(s, "b"), filepath.Join(wd, "b", "rootfs"); got != want {
		t.Fatalf("AbsRootfs relative bundle = %q, want %q", got, want)
	}
}
