package systemd

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	godbus "github.com/godbus/dbus/v5"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func u16(v uint16) *uint16 { return &v }

func TestResourceProperties(t *testing.T) {
	type kv = map[string]any
	for _, tc := range []struct {
		name    string
		r       *specs.LinuxResources
		unified bool
		version int
		want    kv
	}{
		{name: "nil resources", r: nil, want: kv{}},
		{name: "empty resources", r: &specs.LinuxResources{}, want: kv{}},
		{name: "memory v2", unified: true, r: &specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(96 << 20)}},
			want: kv{"MemoryMax": uint64(64 << 20), "MemoryLow": uint64(32 << 20), "MemorySwapMax": uint64(32 << 20)}},
		{name: "memory v2 unlimited", unified: true, r: &specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: i64(-1), Swap: i64(-1)}},
			want: kv{"MemoryMax": infinity, "MemorySwapMax": infinity}},
		{name: "memory v1 has no low or swap", r: &specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(96 << 20)}},
			want: kv{"MemoryLimit": uint64(64 << 20)}},
		{name: "swap smaller than limit is left to cgroupfs", unified: true, r: &specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: i64(64 << 20), Swap: i64(32 << 20)}},
			want: kv{"MemoryMax": uint64(64 << 20)}},
		{name: "shares v1", r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(512)}},
			want: kv{"CPUShares": uint64(512)}},
		{name: "shares v2 become weight", unified: true, r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1024)}},
			want: kv{"CPUWeight": uint64(39)}},
		{name: "shares v2 extremes", unified: true, r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(262144)}},
			want: kv{"CPUWeight": uint64(10000)}},
		{name: "quota and period, new systemd", version: 250, r: &specs.LinuxResources{CPU: &specs.LinuxCPU{
			Quota: i64(50000), Period: u64(100000)}},
			want: kv{"CPUQuotaPeriodUSec": uint64(100000), "CPUQuotaPerSecUSec": uint64(500000)}},
		{name: "quota rounded up to a whole percent", version: 250, r: &specs.LinuxResources{CPU: &specs.LinuxCPU{
			Quota: i64(12345), Period: u64(100000)}},
			want: kv{"CPUQuotaPeriodUSec": uint64(100000), "CPUQuotaPerSecUSec": uint64(130000)}},
		{name: "quota without period assumes 100ms", version: 250, r: &specs.LinuxResources{CPU: &specs.LinuxCPU{
			Quota: i64(200000)}},
			want: kv{"CPUQuotaPerSecUSec": uint64(2000000)}},
		{name: "unlimited quota", version: 250, r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(-1)}},
			want: kv{"CPUQuotaPerSecUSec": infinity}},
		{name: "period needs systemd 242", version: 241, r: &specs.LinuxResources{CPU: &specs.LinuxCPU{
			Quota: i64(50000), Period: u64(50000)}},
			want: kv{"CPUQuotaPerSecUSec": uint64(1000000)}},
		{name: "cpuset v2 as bitmasks", unified: true, version: 250, r: &specs.LinuxResources{CPU: &specs.LinuxCPU{
			Cpus: "0-2,9", Mems: "0"}},
			want: kv{"AllowedCPUs": []byte{0x07, 0x02}, "AllowedMemoryNodes": []byte{0x01}}},
		{name: "cpuset needs systemd 244", unified: true, version: 243, r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}},
			want: kv{}},
		{name: "cpuset not on v1", version: 250, r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}},
			want: kv{}},
		{name: "pids", r: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(100)}},
			want: kv{"TasksMax": uint64(100)}},
		{name: "pids unlimited", r: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}},
			want: kv{"TasksMax": infinity}},
		{name: "io weight v2", unified: true, r: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(500)}},
			want: kv{"IOWeight": uint64(4950)}},
		{name: "blkio weight v1", r: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(500)}},
			want: kv{"BlockIOWeight": uint64(500)}},
		{name: "devices and hugetlb are not systemd's", unified: true, version: 255, r: &specs.LinuxResources{
			Devices:        []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1 << 21}}},
			want: kv{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := kv{}
			for _, p := range resourceProperties(tc.r, tc.unified, tc.version) {
				if _, dup := got[p.Name]; dup {
					t.Errorf("property %s given twice", p.Name)
				}
				got[p.Name] = p.Value.Value()
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestIsDBusError(t *testing.T) {
	name := "org.freedesktop.systemd1.NoSuchUnit"
	for _, err := range []error{
		godbus.Error{Name: name},
		godbus.NewError(name, nil),
		fmt.Errorf("stop: %w", godbus.Error{Name: name}),
	} {
		if !isDBusError(err, name) {
			t.Errorf("isDBusError(%#v) = false", err)
		}
	}
	if isDBusError(errors.New(name), name) || isDBusError(godbus.Error{Name: "other"}, name) {
		t.Error("isDBusError matched a different error")
	}
}
