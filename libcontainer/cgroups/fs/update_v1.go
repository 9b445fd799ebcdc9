package fs

// This file: changing the resources of a live container (`ocirun update`).
// The per-resource writers of resources_v1.go and resources_extra_v1.go do
// the work, with their read-back checks; they already write only the fields
// that are set (a zero integer is unset). What differs from Set:
//
//   - The device allowlist is not touched. Set rebuilds it from "deny all",
//     which on a running container would cut it off from every device for a
//     moment; runc's update does not change devices either, and containerd
//     resends the container's full list with every update.
//   - The memory limit and the memory+swap limit are written in the order
//     the kernel accepts for the move from the current values
//     (setMemoryAndSwap, shared with Set), and a limit the kernel cannot
//     reclaim down to (EBUSY) says how much the container uses.

import (
	"errors"
	"path/filepath"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Update writes the fields of r that are set to the container's cgroups,
// in the controller order of Set, leaving every other value as it is.
// r.Devices is ignored. The caller has dropped what must stay unchanged
// (zero values) and checked the values (specutil.ValidateResources).
func (m *Manager) Update(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	steps := []func(*specs.LinuxResources) error{
		m.setCpuset, m.setMemory, m.setCPU, m.setPids,
		m.setBlkio, m.setHugetlb, m.setNetwork, m.setRdma, m.setUnified,
	}
	for _, step := range steps {
		if err := step(r); err != nil {
			return m.explainBusy(err)
		}
	}
	return nil
}

// explainBusy adds the current usage to a memory limit the kernel refused
// with EBUSY: it could not reclaim enough to get below it.
func (m *Manager) explainBusy(err error) error {
	var re *cgroups.ResourceError
	if !errors.As(err, &re) || !errors.Is(err, unix.EBUSY) ||
		(re.Field != "memory.limit" && re.Field != "memory.swap") {
		return err
	}
	file := "memory.usage_in_bytes"
	if re.Field == "memory.swap" {
		file = "memory.memsw.usage_in_bytes"
	}
	usage, rerr := cgroups.ReadTrimmed(filepath.Join(m.Paths["memory"], file))
	if rerr != nil {
		return err
	}
	return cgroups.FieldErrf(re.Field, "%w (the container uses %s bytes, which the kernel could not reclaim below the new limit)", re.Err, usage)
}
