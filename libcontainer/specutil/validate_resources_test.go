package specutil

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestValidateResources(t *testing.T) {
	bundle := newBundle(t)
	i64 := func(n int64) *int64 { return &n }
	u64 := func(n uint64) *uint64 { return &n }
	res := func(f func(r *specs.LinuxResources)) func(*specs.Spec) {
		return func(s *specs.Spec) {
			if s.Linux.Resources == nil {
				s.Linux.Resources = &specs.LinuxResources{}
			}
			f(s.Linux.Resources)
		}
	}
	cases := []struct {
		name   string
		mutate func(*specs.Spec)
		field  string // "" means the config must pass
		text   string
	}{
		{"no resources", func(s *specs.Spec) { s.Linux.Resources = nil }, "", ""},
		{"everything valid", res(func(r *specs.LinuxResources) {
			r.Devices = append(r.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(-1), Access: "rw"}, specs.LinuxDeviceCgroup{Allow: true})
			r.Memory = &specs.LinuxMemory{Limit: i64(1 << 20), Swap: i64(2 << 20), Swappiness: u64(100), Kernel: i64(-1)}
			r.CPU = &specs.LinuxCPU{Quota: i64(-1), Burst: u64(5), Cpus: "0-3,7", Mems: "", Idle: i64(1)}
			r.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB"}, {Pagesize: "1GB"}}
			r.Unified = map[string]string{"memory.max": "max"}
		}), "", ""},
		{"swappiness -1 means unset", res(func(r *specs.LinuxResources) {
			r.Memory = &specs.LinuxMemory{Swappiness: u64(math.MaxUint64)}
		}), "", ""},
		{"device type", res(func(r *specs.LinuxResources) {
			r.Devices = append(r.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: "u"})
		}), "linux.resources.devices[1].type", `"u"`},
		{"device access", res(func(r *specs.LinuxResources) {
			r.Devices = append(r.Devices, specs.LinuxDeviceCgroup{Allow: true, Access: "rx"})
		}), "linux.resources.devices[1].access", `"rx"`},
		{"device major", res(func(r *specs.LinuxResources) {
			r.Devices = append(r.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(-2)})
		}), "linux.resources.devices[1].major", "-2"},
		{"swappiness", res(func(r *specs.LinuxResources) { r.Memory = &specs.LinuxMemory{Swappiness: u64(101)} }),
			"linux.resources.memory.swappiness", "0-100"},
		{"limit below -1", res(func(r *specs.LinuxResources) { r.Memory = &specs.LinuxMemory{Reservation: i64(-3)} }),
			"linux.resources.memory.reservation", "-3"},
		{"swap below limit", res(func(r *specs.LinuxResources) {
			r.Memory = &specs.LinuxMemory{Limit: i64(2 << 20), Swap: i64(1 << 20)}
		}), "linux.resources.memory.swap", "below"},
		{"swap with unlimited memory", res(func(r *specs.LinuxResources) {
			r.Memory = &specs.LinuxMemory{Limit: i64(-1), Swap: i64(1 << 20)}
		}), "linux.resources.memory.swap", "needs a memory limit"},
		{"quota", res(func(r *specs.LinuxResources) { r.CPU = &specs.LinuxCPU{Quota: i64(-2)} }), "linux.resources.cpu.quota", "-2"},
		{"burst above quota", res(func(r *specs.LinuxResources) { r.CPU = &specs.LinuxCPU{Quota: i64(1000), Burst: u64(1001)} }),
			"linux.resources.cpu.burst", "above"},
		{"rt runtime above period", res(func(r *specs.LinuxResources) {
			r.CPU = &specs.LinuxCPU{RealtimePeriod: u64(1000), RealtimeRuntime: i64(1001)}
		}), "linux.resources.cpu.realtimeRuntime", "above"},
		{"idle", res(func(r *specs.LinuxResources) { r.CPU = &specs.LinuxCPU{Idle: i64(-1)} }), "linux.resources.cpu.idle", "-1"},
		{"mems", res(func(r *specs.LinuxResources) { r.CPU = &specs.LinuxCPU{Mems: "0-"} }), "linux.resources.cpu.mems", "0-"},
		{"page size", res(func(r *specs.LinuxResources) {
			r.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB"}, {Pagesize: "2mb"}}
		}), "linux.resources.hugepageLimits[1].pageSize", "2mb"},
		{"page size twice", res(func(r *specs.LinuxResources) {
			r.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB"}, {Pagesize: "2MB"}}
		}), "linux.resources.hugepageLimits[1].pageSize", "twice"},
		{"weight device", res(func(r *specs.LinuxResources) {
			r.BlockIO = &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{}}}
		}), "linux.resources.blockIO.weightDevice[0]", "weight"},
		{"priority name", res(func(r *specs.LinuxResources) {
			r.Network = &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "a b"}}}
		}), "linux.resources.network.priorities[0].name", "interface"},
		{"rdma", res(func(r *specs.LinuxResources) { r.Rdma = map[string]specs.LinuxRdma{"mlx4_0": {}} }),
			"linux.resources.rdma.mlx4_0", "hcaHandles"},
		{"unified", res(func(r *specs.LinuxResources) { r.Unified = map[string]string{"..": "x"} }),
			"linux.resources.unified", `".."`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Example()
			c.mutate(s)
			err := Validate(s, bundle)
			if c.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Problem, c.text) {
				t.Fatalf("Validate = %v, want a problem with %s mentioning %q", err, c.field, c.text)
			}
		})
	}
}
