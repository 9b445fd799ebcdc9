package fs

// This file: blkio, hugetlb, network, rdma and unified resources (see
// resources_v1.go for the conventions). Controllers that this host may not
// have are errors naming the field, never silently skipped: a limit the
// config asks for and the runtime cannot apply must not look applied.

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ocirun/ocirun/libcontainer/cgroups"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func (m *Manager) setBlkio(r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	first := firstSet([]struct {
		name string
		set  bool
	}{
		{"weight", cgroups.Val(b.Weight) != 0}, {"leafWeight", cgroups.Val(b.LeafWeight) != 0},
		{"weightDevice", len(b.WeightDevice) > 0},
		{"throttleReadBpsDevice", len(b.ThrottleReadBpsDevice) > 0},
		{"throttleWriteBpsDevice", len(b.ThrottleWriteBpsDevice) > 0},
		{"throttleReadIOPSDevice", len(b.ThrottleReadIOPSDevice) > 0},
		{"throttleWriteIOPSDevice", len(b.ThrottleWriteIOPSDevice) > 0},
	})
	if first == "" {
		return nil
	}
	dir, err := m.dir("blkio", "blockIO."+first)
	if err != nil {
		return err
	}
	// CFQ's blkio.weight went with CFQ (Linux 5.0); BFQ has its own files,
	// present only when BFQ is built in.
	weightFile := pickFile(dir, "blkio.weight", "blkio.bfq.weight")
	weightDeviceFile := pickFile(dir, "blkio.weight_device", "blkio.bfq.weight_device")
	if w := cgroups.Val(b.Weight); w != 0 {
		if weightFile == "" {
			return cgroups.FieldErrf("blockIO.weight", "%s has neither blkio.weight nor blkio.bfq.weight: the kernel has no proportional-weight I/O policy (CFQ or BFQ)", dir)
		}
		s := strconv.FormatUint(uint64(w), 10)
		// blkio.bfq.weight may read "default N".
		err := cgroups.WriteChecked("blockIO.weight", dir, weightFile, s, func(got string) (string, bool) {
			f := strings.Fields(got)
			return s, len(f) > 0 && f[len(f)-1] == s
		})
		if err != nil {
			return err
		}
	}
	if lw := cgroups.Val(b.LeafWeight); lw != 0 {
		if !cgroups.Exists(dir, "blkio.leaf_weight") {
			return cgroups.FieldErrf("blockIO.leafWeight", "%s has no blkio.leaf_weight: leaf weights were CFQ's, which Linux 5.0 removed", dir)
		}
		if err := cgroups.WriteChecked("blockIO.leafWeight", dir, "blkio.leaf_weight", strconv.FormatUint(uint64(lw), 10), nil); err != nil {
			return err
		}
	}
	for i, wd := range b.WeightDevice {
		field := fmt.Sprintf("blockIO.weightDevice[%d]", i)
		dev := fmt.Sprintf("%d:%d", wd.Major, wd.Minor)
		if wd.Weight != nil {
			if weightDeviceFile == "" {
				return cgroups.FieldErrf(field+".weight", "%s has neither blkio.weight_device nor blkio.bfq.weight_device: the kernel has no proportional-weight I/O policy (CFQ or BFQ)", dir)
			}
			if err := setDeviceLine(field+".weight", dir, weightDeviceFile, dev, uint64(*wd.Weight)); err != nil {
				return err
			}
		}
		if wd.LeafWeight != nil {
			if !cgroups.Exists(dir, "blkio.leaf_weight_device") {
				return cgroups.FieldErrf(field+".leafWeight", "%s has no blkio.leaf_weight_device: leaf weights were CFQ's, which Linux 5.0 removed", dir)
			}
			if err := setDeviceLine(field+".leafWeight", dir, "blkio.leaf_weight_device", dev, uint64(*wd.LeafWeight)); err != nil {
				return err
			}
		}
	}
	for _, t := range []struct {
		name, file string
		devs       []specs.LinuxThrottleDevice
	}{
		{"ReadBps", "blkio.throttle.read_bps_device", b.ThrottleReadBpsDevice},
		{"WriteBps", "blkio.throttle.write_bps_device", b.ThrottleWriteBpsDevice},
		{"ReadIOPS", "blkio.throttle.read_iops_device", b.ThrottleReadIOPSDevice},
		{"WriteIOPS", "blkio.throttle.write_iops_device", b.ThrottleWriteIOPSDevice},
	} {
		for i, td := range t.devs {
			field := fmt.Sprintf("blockIO.throttle%sDevice[%d]", t.name, i)
			if err := setDeviceLine(field, dir, t.file, fmt.Sprintf("%d:%d", td.Major, td.Minor), td.Rate); err != nil {
				return err
			}
		}
	}
	return nil
}

// pickFile returns the first of files that dir has, or "".
func pickFile(dir string, files ...string) string {
	for _, f := range files {
		if cgroups.Exists(dir, f) {
			return f
		}
	}
	return ""
}

// setDeviceLine writes "MAJ:MIN V" to a per-device file, whose lines read
// "MAJ:MIN V"; 0 removes the device's line.
func setDeviceLine(field, dir, file, dev string, v uint64) error {
	s := strconv.FormatUint(v, 10)
	return cgroups.WriteChecked(field, dir, file, dev+" "+s, func(got string) (string, bool) {
		found := ""
		for _, l := range cgroups.Lines(got) {
			if f := strings.Fields(l); len(f) == 2 && f[0] == dev {
				found = f[1]
			}
		}
		if v == 0 {
			return "no line for " + dev, found == ""
		}
		return "a line " + dev + " " + s, found == s
	})
}

func (m *Manager) setHugetlb(r *specs.LinuxResources) error {
	for i, h := range r.HugepageLimits {
		field := fmt.Sprintf("hugepageLimits[%d]", i)
		hp, err := cgroups.ParsePageSize(h.Pagesize)
		if err != nil {
			return cgroups.FieldErr(field+".pageSize", err)
		}
		dir, limitFile, rsvdFile, v2, err := m.hugetlbFiles(field, h.Pagesize)
		if err != nil {
			return err
		}
		check := hugetlbCheck(h.Limit, hp, v2)
		s := strconv.FormatUint(h.Limit, 10)
		if err := cgroups.WriteChecked(field+".limit", dir, limitFile, s, check); err != nil {
			return err
		}
		// Reservation accounting, where the kernel has it, is what the
		// spec asks for first.
		if cgroups.Exists(dir, rsvdFile) {
			if err := cgroups.WriteChecked(field+".limit", dir, rsvdFile, s, check); err != nil {
				return err
			}
		}
	}
	return nil
}

// hugetlbFiles finds where the limit for page size ps goes: the v1 hugetlb
// hierarchy, or else the cgroup2 one (a hybrid host may have hugetlb only
// there), as hugetlb.<ps>.max.
func (m *Manager) hugetlbFiles(field, ps string) (dir, limit, rsvd string, v2 bool, err error) {
	if dir, ok := m.Paths["hugetlb"]; ok {
		limit = "hugetlb." + ps + ".limit_in_bytes"
		if !cgroups.Exists(dir, limit) {
			return "", "", "", false, cgroups.FieldErrf(field+".pageSize", "page size %s is not supported by the kernel (no %s in %s)", ps, limit, dir)
		}
		return dir, limit, "hugetlb." + ps + ".rsvd.limit_in_bytes", false, nil
	}
	dir, ok := m.Paths[cgroups.UnifiedKey]
	if !ok {
		return "", "", "", false, cgroups.FieldErrf(field, "the hugetlb cgroup controller is not mounted on this host")
	}
	limit = "hugetlb." + ps + ".max"
	if cgroups.Exists(dir, limit) {
		return dir, limit, "hugetlb." + ps + ".rsvd.max", true, nil
	}
	if any, _ := filepath.Glob(filepath.Join(dir, "hugetlb.*.max")); len(any) > 0 {
		return "", "", "", false, cgroups.FieldErrf(field+".pageSize", "page size %s is not supported by the kernel (no %s in %s)", ps, limit, dir)
	}
	return "", "", "", false, cgroups.FieldErrf(field, "hugetlb is not a v1 controller here, and it is not enabled for the container's cgroup2 directory %s (its parent's cgroup.subtree_control lacks +hugetlb)", dir)
}

// hugetlbCheck is how the kernel shows a hugetlb limit v: in pages rounded
// down to whole huge pages of hp bytes; cgroup2 shows its maximum as "max".
func hugetlbCheck(v, hp uint64, v2 bool) cgroups.Checker {
	ps := uint64(os.Getpagesize())
	counterMax := uint64(math.MaxInt64) / ps
	per := max(hp/ps, 1)
	nr := min(v/ps, counterMax) / per * per
	want := strconv.FormatUint(nr*ps, 10)
	if v2 && nr == counterMax/per*per {
		want = "max"
	}
	return cgroups.Same(want)
}

func (m *Manager) setNetwork(r *specs.LinuxResources) error {
	n := r.Network
	if n == nil {
		return nil
	}
	if n.ClassID != nil {
		dir, err := m.dir("net_cls", "network.classID")
		if err != nil {
			return err
		}
		if err := cgroups.WriteChecked("network.classID", dir, "net_cls.classid", strconv.FormatUint(uint64(*n.ClassID), 10), nil); err != nil {
			return err
		}
	}
	for i, p := range n.Priorities {
		field := fmt.Sprintf("network.priorities[%d]", i)
		dir, err := m.dir("net_prio", field)
		if err != nil {
			return err
		}
		if err := setDeviceLine(field, dir, "net_prio.ifpriomap", p.Name, uint64(p.Priority)); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) setRdma(r *specs.LinuxResources) error {
	for _, name := range slices.Sorted(maps.Keys(r.Rdma)) {
		field := "rdma." + name
		dir, ok := m.Paths["rdma"]
		if !ok {
			// The cgroup2 rdma.max has the same format.
			if u, ok := m.Paths[cgroups.UnifiedKey]; ok && cgroups.Exists(u, "rdma.max") {
				dir = u
			} else {
				return cgroups.FieldErrf(field, "the rdma cgroup controller is not available on this host")
			}
		}
		l := r.Rdma[name]
		want := []string{name}
		if l.HcaHandles != nil {
			want = append(want, "hca_handle="+strconv.FormatUint(uint64(*l.HcaHandles), 10))
		}
		if l.HcaObjects != nil {
			want = append(want, "hca_object="+strconv.FormatUint(uint64(*l.HcaObjects), 10))
		}
		line := strings.Join(want, " ")
		err := cgroups.WriteChecked(field, dir, "rdma.max", line, func(got string) (string, bool) {
			for _, l := range cgroups.Lines(got) {
				f := strings.Fields(l)
				if len(f) > 0 && f[0] == name {
					for _, w := range want[1:] {
						if !slices.Contains(f[1:], w) {
							return line, false
						}
					}
					return line, true
				}
			}
			return line, false
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// setUnified writes each cgroup2 file of linux.resources.unified to the
// container's cgroup2 directory. The file must exist there: a controller
// that is not enabled for that directory (on a hybrid host, every v1
// controller) is an error, as the spec asks. Values are opaque to the
// runtime (keyed, multi-line, rounded by the kernel), so the kernel's
// verdict on the write is the check; nothing is read back.
func (m *Manager) setUnified(r *specs.LinuxResources) error {
	keys := slices.Sorted(maps.Keys(r.Unified))
	if len(keys) == 0 {
		return nil
	}
	dir, ok := m.Paths[cgroups.UnifiedKey]
	if !ok {
		return cgroups.FieldErrf("unified."+keys[0], "there is no cgroup2 hierarchy on this host")
	}
	for _, k := range keys {
		field := "unified." + k
		if k == "" || k == "." || k == ".." || strings.Contains(k, "/") {
			return cgroups.FieldErrf(field, "%q is not a file name", k)
		}
		if !cgroups.Exists(dir, k) {
			ctrl, _, _ := strings.Cut(k, ".")
			return cgroups.FieldErrf(field, "no such file in the container's cgroup2 directory %s (is the %q controller enabled there? its cgroup.controllers: %q)",
				dir, ctrl, readOr(filepath.Join(dir, "cgroup.controllers")))
		}
		if err := cgroups.WriteCtl(dir, k, r.Unified[k]); err != nil {
			return cgroups.FieldErr(field, err)
		}
	}
	return nil
}

func readOr(p string) string {
	s, _ := cgroups.ReadTrimmed(p)
	return s
}
