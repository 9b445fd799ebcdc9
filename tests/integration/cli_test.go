package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	res := r.must("--version")
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(lines) < 3 || !strings.Contains(lines[0], " version ") {
		t.Fatalf("want a version line then commit and spec lines, got %q", res.Stdout)
	}
	if !isRunc && !strings.HasPrefix(lines[0], "ocirun version ") {
		t.Errorf("first line %q, want `ocirun version X`", lines[0])
	}
	if !strings.HasPrefix(lines[1], "commit:") {
		t.Errorf("second line %q, want commit:", lines[1])
	}
	var spec string
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "spec: "); ok {
			spec = v
		}
	}
	if !strings.HasPrefix(spec, "1.") {
		t.Errorf("no `spec: 1.x` line in %q", res.Stdout)
	}
}

// TestSingleDashFlags: Go-style single-dash long flags parse everywhere.
func TestSingleDashFlags(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) { b.script(`echo dash`) })
	res := r.run("-root", r.root, "run", "-bundle", b.Dir, b.ID)
	if res.Code != 0 || res.Stdout != "dash\n" {
		t.Fatalf("run with single-dash flags: %s", res)
	}
	r.must("-root", r.root, "delete", "-force", b.ID)
}

func TestErrorWords(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	for _, args := range [][]string{{"state", "nope"}, {"start", "nope"}, {"kill", "nope"}, {"delete", "nope"}} {
		res := r.run(args...)
		if res.Code == 0 || !strings.Contains(res.Stderr, "container does not exist") {
			t.Errorf("%v on unknown id: want failure with `container does not exist`, got %s", args, res)
		}
	}
	if res := r.run("delete", "--force", "nope"); res.Code != 0 {
		t.Errorf("delete --force of a missing id must succeed: %s", res)
	}

	b := r.newBundle(func(b *bundle) { b.script(`true`) })
	b.mustCreate()
	r.must("start", b.ID)
	b.waitStatus("stopped")
	res := r.run("kill", b.ID, "TERM")
	if res.Code == 0 || !strings.Contains(res.Stderr, "container not running") {
		t.Errorf("kill of a stopped container: want `container not running`, got %s", res)
	}
	if res := r.run("kill", "--all", b.ID, "KILL"); res.Code != 0 {
		t.Errorf("kill --all of a stopped container must succeed: %s", res)
	}
}

// TestKillSignalForms: TERM, SIGTERM, 15 and the default all deliver SIGTERM.
func TestKillSignalForms(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	for _, form := range [][]string{{"TERM"}, {"SIGTERM"}, {"15"}, {}} {
		b := r.newBundle(func(b *bundle) {
			b.script(`trap 'echo got > /out/term; exit 0' TERM; echo ok > /out/ready; while :; do sleep 0.05; done`)
		})
		b.mustCreate()
		r.must("start", b.ID)
		waitFile(t, filepath.Join(b.Out, "ready"))
		r.must(append([]string{"kill", b.ID}, form...)...)
		if got := strings.TrimSpace(waitFile(t, filepath.Join(b.Out, "term"))); got != "got" {
			t.Errorf("kill %v: trap wrote %q", form, got)
		}
		b.waitStatus("stopped")
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) { b.script(`true`) })
	b.mustCreate()

	res := r.must("list")
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("list table: want header and one row, got %q", res.Stdout)
	}
	if h := strings.Fields(lines[0]); strings.Join(h, " ") != "ID PID STATUS BUNDLE CREATED OWNER" {
		t.Errorf("list header %q", lines[0])
	}
	row := strings.Fields(lines[1])
	if len(row) < 4 || row[0] != b.ID || row[2] != "created" || row[3] != b.Dir {
		t.Errorf("list row %q, want id, pid, created, bundle", lines[1])
	}
	// The owner of the state dir: the suite runs as root.
	if row[len(row)-1] != "root" {
		t.Errorf("list row %q, want owner root last", lines[1])
	}

	res = r.must("list", "--format", "json")
	var list []stateJSON
	if err := json.Unmarshal([]byte(res.Stdout), &list); err != nil {
		t.Fatalf("decode list json %q: %v", res.Stdout, err)
	}
	if len(list) != 1 || list[0].ID != b.ID || list[0].Status != "created" || list[0].Pid <= 0 {
		t.Errorf("list json = %+v", list)
	}

	if res := r.must("list", "--quiet"); res.Stdout != b.ID+"\n" {
		t.Errorf("list --quiet = %q, want the id alone", res.Stdout)
	}
}

func TestSpecCommand(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	dir := t.TempDir()
	r.must("spec", "--bundle", dir)
	path := filepath.Join(dir, "config.json")
	first := readFile(t, path)
	var s specs.Spec
	if err := json.Unmarshal([]byte(first), &s); err != nil {
		t.Fatalf("decode spec: %v", err)
	}
	if !strings.HasPrefix(s.Version, "1.") || s.Process == nil || len(s.Process.Args) == 0 ||
		s.Process.Cwd != "/" || s.Root == nil || s.Root.Path != "rootfs" || s.Linux == nil {
		t.Errorf("generated spec lacks basics: %s", first)
	}
	have := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range s.Linux.Namespaces {
		have[ns.Type] = true
	}
	for _, want := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.MountNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace} {
		if !have[want] {
			t.Errorf("generated spec has no %s namespace", want)
		}
	}

	if err := os.WriteFile(path, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := r.run("spec", "--bundle", dir); res.Code == 0 {
		t.Errorf("spec overwrote an existing config.json: %s", res)
	}
	if got := readFile(t, path); got != "mine" {
		t.Errorf("existing config.json changed to %q", got)
	}

	rootless := t.TempDir()
	r.must("spec", "--rootless", "--bundle", rootless)
	var rs specs.Spec
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(rootless, "config.json"))), &rs); err != nil {
		t.Fatalf("decode rootless spec: %v", err)
	}
	if len(rs.Linux.UIDMappings) != 1 || rs.Linux.UIDMappings[0].ContainerID != 0 || rs.Linux.UIDMappings[0].Size != 1 {
		t.Errorf("rootless spec uid mappings = %+v", rs.Linux.UIDMappings)
	}
}

func TestStateFields(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.script(`true`)
		b.Spec.Annotations = map[string]string{"org.ocirun.test": "yes"}
	})
	b.mustCreate()
	res := r.must("state", b.ID)
	var raw map[string]any
	if err := json.Unmarshal([]byte(res.Stdout), &raw); err != nil {
		t.Fatalf("decode state: %v", err)
	}
	for _, k := range []string{"ociVersion", "id", "status", "pid", "bundle", "rootfs", "created", "owner"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("state has no %q: %s", k, res.Stdout)
		}
	}
	st := b.state()
	if st.ID != b.ID || st.Status != "created" || st.Bundle != b.Dir || st.Rootfs != rootfsDir ||
		st.Created.IsZero() || st.Annotations["org.ocirun.test"] != "yes" || !procAlive(st.Pid) {
		t.Errorf("state = %+v", st)
	}
}
