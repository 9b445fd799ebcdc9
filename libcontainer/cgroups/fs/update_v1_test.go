package fs

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestUpdateWritesOnlyGivenFields: the fields set are written; the others,
// and the device allowlist (whose files here would fail any write), are
// left alone.
func TestUpdateWritesOnlyGivenFields(t *testing.T) {
	m := fakeControllers(t, map[string]map[string]string{
		"memory":  memoryFiles(),
		"cpu":     {"cpu.shares": "512", "cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "100000"},
		"pids":    {"pids.max": "20"},
		"devices": {},
	})
	r := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}},
		CPU:     &specs.LinuxCPU{Quota: p64(30000)},
		Memory:  &specs.LinuxMemory{Limit: p64(128 << 20)},
	}
	if err := m.Update(r); err != nil {
		t.Fatalf("Update: %v", err)
	}
	want := map[string]string{
		"cpu/cpu.shares": "512", "cpu/cpu.cfs_quota_us": "30000", "cpu/cpu.cfs_period_us": "100000",
		"pids/pids.max": "20", "memory/" + memLimitFile: "134217728", "memory/" + memswFile: unlimited,
	}
	for path, w := range want {
		ctrl, file, _ := strings.Cut(path, "/")
		if got := read(t, filepath.Join(m.Paths[ctrl], file)); got != w {
			t.Errorf("%s = %q, want %q", path, got, w)
		}
	}
}

// TestUpdateExplainsBusy: a memory limit the kernel refused with EBUSY
// says how much the container uses; other errors pass unchanged.
func TestUpdateExplainsBusy(t *testing.T) {
	m := fakeControllers(t, map[string]map[string]string{"memory": {"memory.usage_in_bytes": "99999"}})
	busy := cgroups.FieldErr("memory.limit", unix.EBUSY)
	err := m.explainBusy(busy)
	var re *cgroups.ResourceError
	if !errors.As(err, &re) || re.Field != "memory.limit" || !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), "uses 99999 bytes") {
		t.Errorf("explainBusy = %v", err)
	}
	other := cgroups.FieldErr("cpu.shares", unix.EBUSY)
	if got := m.explainBusy(other); got != other {
		t.Errorf("explainBusy changed %v into %v", other, got)
	}
}
