package systemd

import (
	"math"

	"github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// infinity is systemd's "no limit" for the uint64 properties (UINT64_MAX,
// USEC_INFINITY, CGROUP_LIMIT_MAX).
const infinity = uint64(math.MaxUint64)

// defaultPeriod is the kernel's CFS period, assumed when only a quota is
// given.
const defaultPeriod = 100000

func prop(name string, v any) dbus.Property {
	return dbus.Property{Name: name, Value: godbus.MakeVariant(v)}
}

// resourceProperties maps the fields of r that systemd manages to unit
// properties, so that systemd writes the same values we do and does not
// reset them when it re-applies the unit (daemon-reload, another unit's
// change). unified picks the cgroup v2 names; version is systemd's, for
// properties only newer versions know. What systemd cannot express
// (devices, hugetlb, swappiness, rdma, ...) is written by the cgroupfs
// driver alone; devices in particular are left to it, because a
// DevicePolicy would make systemd install its own device filter.
func resourceProperties(r *specs.LinuxResources, unified bool, version int) []dbus.Property {
	if r == nil {
		return nil
	}
	var ps []dbus.Property
	if m := r.Memory; m != nil {
		limit := cgroups.Val(m.Limit)
		if limit != 0 {
			name := "MemoryLimit"
			if unified {
				name = "MemoryMax"
			}
			ps = append(ps, prop(name, bytes(limit)))
		}
		if unified {
			if res := cgroups.Val(m.Reservation); res != 0 {
				ps = append(ps, prop("MemoryLow", bytes(res)))
			}
			// The spec's swap is memory+swap; v2's swap is swap alone.
			switch swap := cgroups.Val(m.Swap); {
			case swap == -1:
				ps = append(ps, prop("MemorySwapMax", infinity))
			case swap > 0 && limit > 0 && swap >= limit:
				ps = append(ps, prop("MemorySwapMax", uint64(swap-limit)))
			}
		}
	}
	if c := r.CPU; c != nil {
		if shares := cgroups.Val(c.Shares); shares != 0 {
			if unified {
				ps = append(ps, prop("CPUWeight", sharesToWeight(shares)))
			} else {
				ps = append(ps, prop("CPUShares", shares))
			}
		}
		ps = append(ps, quotaProperties(cgroups.Val(c.Quota), cgroups.Val(c.Period), version)...)
		if unified && version >= 244 {
			if c.Cpus != "" {
				if bits, err := listToBits(c.Cpus); err == nil {
					ps = append(ps, prop("AllowedCPUs", bits))
				}
			}
			if c.Mems != "" {
				if bits, err := listToBits(c.Mems); err == nil {
					ps = append(ps, prop("AllowedMemoryNodes", bits))
				}
			}
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		switch l := *p.Limit; {
		case l > 0:
			ps = append(ps, prop("TasksMax", uint64(l)))
		case l == -1 || l == 0: // 0 and -1 both mean "no limit" in the spec
			ps = append(ps, prop("TasksMax", infinity))
		}
	}
	if b := r.BlockIO; b != nil && cgroups.Val(b.Weight) != 0 {
		w := uint64(*b.Weight)
		if unified {
			ps = append(ps, prop("IOWeight", 1+(w-10)*9999/990))
		} else {
			ps = append(ps, prop("BlockIOWeight", w))
		}
	}
	return ps
}

// bytes is a memory limit as systemd takes it: -1 is infinity.
func bytes(v int64) uint64 {
	if v < 0 {
		return infinity
	}
	return uint64(v)
}

// sharesToWeight converts v1 cpu.shares [2, 262144] to v2 cpu.weight
// [1, 10000], as runc and crun do (and as the kernel's cpu.weight docs
// suggest), so that both drivers agree on the value.
func sharesToWeight(shares uint64) uint64 {
	shares = min(max(shares, 2), 262144)
	return 1 + ((shares-2)*9999)/262142
}

// quotaProperties: systemd keeps a CPU quota as a percentage of one CPU
// (CPUQuotaPerSecUSec, rounded to 10 ms per second), so a quota that is
// not a whole percent is rounded up: the cgroupfs driver then writes the
// exact value, which stays within what systemd allows. A negative quota is
// "no limit". The period needs systemd 242.
func quotaProperties(quota int64, period uint64, version int) []dbus.Property {
	var ps []dbus.Property
	if period != 0 && version >= 242 {
		ps = append(ps, prop("CPUQuotaPeriodUSec", period))
	}
	if quota == 0 && period == 0 {
		return ps
	}
	perSec := infinity
	if quota > 0 {
		if period == 0 {
			period = defaultPeriod
		}
		perSec = uint64(quota) * 1000000 / period
		if perSec%10000 != 0 {
			perSec = (perSec/10000 + 1) * 10000
		}
	}
	return append(ps, prop("CPUQuotaPerSecUSec", perSec))
}

// listToBits turns a cpu or node list ("0-3,7") into the bitmask systemd
// takes for AllowedCPUs/AllowedMemoryNodes: byte i holds numbers 8i..8i+7,
// lowest bit first.
func listToBits(list string) ([]byte, error) {
	nums, err := cgroups.ParseList(list)
	if err != nil {
		return nil, err
	}
	if len(nums) == 0 {
		return []byte{0}, nil
	}
	bits := make([]byte, nums[len(nums)-1]/8+1)
	for _, n := range nums {
		bits[n/8] |= 1 << (n % 8)
	}
	return bits, nil
}
