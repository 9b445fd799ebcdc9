package libcontainer

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func upI64(n int64) *int64   { return &n }
func upU64(n uint64) *uint64 { return &n }
func upU16(n uint16) *uint16 { return &n }

func upJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUpdateDelta: zeros mean "unchanged" and drop out, as do swappiness
// -1 and the devices; what remains is the change.
func TestUpdateDelta(t *testing.T) {
	cases := []struct {
		name string
		in   *specs.LinuxResources
		want string
	}{
		{"nil", nil, `{}`},
		{"docker's zeros", &specs.LinuxResources{
			Memory:  &specs.LinuxMemory{Limit: upI64(0), Reservation: upI64(0), Swap: upI64(0), Kernel: upI64(0), KernelTCP: upI64(0)},
			CPU:     &specs.LinuxCPU{Shares: upU64(0), Quota: upI64(0), Period: upU64(0), RealtimeRuntime: upI64(0), RealtimePeriod: upU64(0)},
			BlockIO: &specs.LinuxBlockIO{Weight: upU16(0)},
			Pids:    &specs.LinuxPids{Limit: upI64(0)},
		}, `{}`},
		{"quota only", &specs.LinuxResources{
			CPU: &specs.LinuxCPU{Shares: upU64(0), Quota: upI64(40000)},
		}, `{"cpu":{"quota":40000}}`},
		{"devices and swappiness -1 dropped", &specs.LinuxResources{
			Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}},
			Memory:  &specs.LinuxMemory{Swappiness: upU64(math.MaxUint64), Limit: upI64(-1)},
		}, `{"memory":{"limit":-1}}`},
		{"meaningful zeros kept", &specs.LinuxResources{
			Memory: &specs.LinuxMemory{Swappiness: upU64(0)},
			CPU:    &specs.LinuxCPU{Burst: upU64(0), Idle: upI64(0)},
			Pids:   &specs.LinuxPids{Limit: upI64(-1)},
		}, `{"memory":{"swappiness":0},"cpu":{"burst":0,"idle":0},"pids":{"limit":-1}}`},
		{"blkio devices kept without weight", &specs.LinuxResources{
			BlockIO: &specs.LinuxBlockIO{Weight: upU16(0), ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{Rate: 5}}},
		}, `{"blockIO":{"throttleReadBpsDevice":[{"major":0,"minor":0,"rate":5}]}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := upJSON(t, updateDelta(c.in)); got != c.want {
				t.Errorf("delta = %s, want %s", got, c.want)
			}
		})
	}
}

// TestMergeResources: the delta's fields replace the stored ones, the
// others stay, per-device entries merge by device, and old is not changed.
func TestMergeResources(t *testing.T) {
	dev := func(maj int64) specs.LinuxBlockIODevice { return specs.LinuxBlockIODevice{Major: maj} }
	old := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
		Memory:  &specs.LinuxMemory{Limit: upI64(64 << 20), Swap: upI64(128 << 20)},
		CPU:     &specs.LinuxCPU{Shares: upU64(512), Quota: upI64(10000), Cpus: "0-1"},
		Pids:    &specs.LinuxPids{Limit: upI64(20)},
		BlockIO: &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8), Rate: 1}, {LinuxBlockIODevice: dev(9), Rate: 2}}},
		Unified: map[string]string{"a": "1"},
	}
	before := upJSON(t, old)
	d := updateDelta(&specs.LinuxResources{
		CPU:     &specs.LinuxCPU{Shares: upU64(0), Period: upU64(50000), Cpus: "1"},
		Pids:    &specs.LinuxPids{Limit: upI64(5)},
		BlockIO: &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(9), Rate: 3}, {LinuxBlockIODevice: dev(7), Rate: 4}}},
		Unified: map[string]string{"b": "2"},
	})
	got := upJSON(t, mergeResources(old, d))
	want := `{"devices":[{"allow":false,"access":"rwm"}],"memory":{"limit":67108864,"swap":134217728},` +
		`"cpu":{"shares":512,"quota":10000,"period":50000,"cpus":"1"},"pids":{"limit":5},` +
		`"blockIO":{"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1},{"major":9,"minor":0,"rate":3},{"major":7,"minor":0,"rate":4}]},` +
		`"unified":{"a":"1","b":"2"}}`
	if got != want {
		t.Errorf("merged\n%s\nwant\n%s", got, want)
	}
	if after := upJSON(t, old); after != before {
		t.Errorf("old changed:\n%s\nwas\n%s", after, before)
	}
}

// TestMergeUnlimitedMemory: -1 without a swap value makes the stored swap
// unlimited too, as the cgroup writer makes memsw; with no stored swap
// there is nothing to change.
func TestMergeUnlimitedMemory(t *testing.T) {
	old := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: upI64(64 << 20), Swap: upI64(128 << 20)}}
	got := mergeResources(old, updateDelta(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: upI64(-1)}}))
	if *got.Memory.Limit != -1 || *got.Memory.Swap != -1 {
		t.Errorf("limit %d swap %d, want -1 -1", *got.Memory.Limit, *got.Memory.Swap)
	}
	got = mergeResources(nil, updateDelta(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: upI64(-1)}}))
	if got.Memory.Swap != nil {
		t.Errorf("swap %d, want unset", *got.Memory.Swap)
	}
}
