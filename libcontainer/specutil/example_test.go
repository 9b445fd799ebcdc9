package specutil

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// runcSpec runs `runc spec [args]` in a temp bundle and returns its config
// decoded as generic JSON.
func runcSpec(t *testing.T, args ...string) map[string]any {
	t.Helper()
	runc, err := exec.LookPath("runc")
	if err != nil {
		if runc, err = exec.LookPath("/usr/sbin/runc"); err != nil {
			t.Skip("runc is not installed: nothing to compare the example config with")
		}
	}
	dir := t.TempDir()
	cmd := exec.Command(runc, append([]string{"spec", "--bundle", dir}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v: %s", cmd, err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func generic(t *testing.T, s *specs.Spec) map[string]any {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// normalize removes from both configs the fields that differ on purpose
// (hostname, ociVersion) and the ones that differ between runc releases, so
// the rest must match field by field:
//   - capabilities.ambient: runc before 1.2 filled it, later releases do not
//     (neither do we);
//   - the cgroup namespace: runc adds it only on cgroup v2 hosts, we always do;
//   - /sys/devices/virtual/tpm in maskedPaths: added in later runc releases.
func normalize(t *testing.T, ours, runc map[string]any) {
	for _, m := range []map[string]any{ours, runc} {
		delete(m, "hostname")
		delete(m, "ociVersion")
	}
	if caps, ok := dig(runc, "process", "capabilities").(map[string]any); ok {
		if _, had := caps["ambient"]; had {
			t.Log("runc fills capabilities.ambient (runc < 1.2); ignoring it")
			delete(caps, "ambient")
		}
	}
	cgroupNS := map[string]any{"type": "cgroup"}
	if rl, ok := dig(runc, "linux").(map[string]any); ok && !slices.ContainsFunc(rl["namespaces"].([]any), func(v any) bool { return reflect.DeepEqual(v, cgroupNS) }) {
		t.Log("runc emits no cgroup namespace on this host; ignoring ours")
		ol := dig(ours, "linux").(map[string]any)
		ol["namespaces"] = slices.DeleteFunc(ol["namespaces"].([]any), func(v any) bool { return reflect.DeepEqual(v, cgroupNS) })
	}
	const tpm = "/sys/devices/virtual/tpm"
	if rl, ok := dig(runc, "linux").(map[string]any); ok && !slices.Contains(rl["maskedPaths"].([]any), any(tpm)) {
		t.Log("runc does not mask " + tpm + " (older release); ignoring ours")
		ol := dig(ours, "linux").(map[string]any)
		ol["maskedPaths"] = slices.DeleteFunc(ol["maskedPaths"].([]any), func(v any) bool { return v == tpm })
	}
}

func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func compareWithRunc(t *testing.T, ours *specs.Spec, args ...string) {
	runc := runcSpec(t, args...)
	o := generic(t, ours)
	normalize(t, o, runc)
	if !reflect.DeepEqual(o, runc) {
		a, _ := json.MarshalIndent(o, "", " ")
		b, _ := json.MarshalIndent(runc, "", " ")
		t.Fatalf("config differs from runc's\nours:\n%s\nrunc:\n%s", a, b)
	}
}

func TestExampleMatchesRunc(t *testing.T) {
	compareWithRunc(t, Example())
}

func TestToRootlessMatchesRunc(t *testing.T) {
	s := Example()
	ToRootless(s)
	compareWithRunc(t, s, "--rootless")
}

func TestExampleFields(t *testing.T) {
	s := Example()
	if s.Version != specs.Version || s.Hostname != "ocirun" {
		t.Fatalf("version %q hostname %q", s.Version, s.Hostname)
	}
	if !slices.Contains(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace}) {
		t.Fatal("example has no cgroup namespace")
	}
	// Each call returns an independent value.
	s.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	if c := Example().Process.Capabilities; c.Bounding[0] != "CAP_AUDIT_WRITE" || c.Effective[0] != "CAP_AUDIT_WRITE" {
		t.Fatal("Example shares slices between calls or between capability sets")
	}
}

func TestToRootless(t *testing.T) {
	s := Example()
	ToRootless(s)
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			t.Fatal("rootless config keeps the network namespace")
		}
	}
	if s.Linux.Namespaces[len(s.Linux.Namespaces)-1].Type != specs.UserNamespace {
		t.Fatalf("namespaces %v: want user last", s.Linux.Namespaces)
	}
	want := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(os.Geteuid()), Size: 1}}
	if !reflect.DeepEqual(s.Linux.UIDMappings, want) {
		t.Fatalf("uidMappings %v, want %v", s.Linux.UIDMappings, want)
	}
	if s.Linux.Resources != nil {
		t.Fatal("rootless config keeps resources")
	}
	for _, m := range s.Mounts {
		for _, o := range m.Options {
			if len(o) > 4 && (o[:4] == "gid=" || o[:4] == "uid=") {
				t.Fatalf("mount %s keeps option %s", m.Destination, o)
			}
		}
		if m.Destination == "/sys" && (m.Type != "none" || m.Source != "/sys" || m.Options[0] != "rbind") {
			t.Fatalf("/sys mount %+v, want an rbind of /sys", m)
		}
	}
	// Converting twice changes nothing more.
	again := Example()
	ToRootless(again)
	ToRootless(again)
	if !reflect.DeepEqual(again, s) {
		t.Fatal("ToRootless is not idempotent")
	}
}
