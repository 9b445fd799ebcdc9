package fs2

// This file: io, hugetlb, rdma, network and unified (see resources.go for
// the conventions).

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

// ioWeight converts a blkio weight (10-1000, default 500) to io.weight
// (1-10000, default 100) linearly, as runc does. io.bfq.weight takes the
// blkio weight as it is.
func ioWeight(w uint16) uint64 {
	return 1 + (uint64(w)-10)*9999/990
}

func (m *Manager) setIO(r *specs.LinuxResources, live bool) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	if cgroups.Val(b.LeafWeight) != 0 {
		return cgroups.FieldErrf("blockIO.leafWeight", "cgroup v2 has no leaf weights (they were CFQ's, which Linux 5.0 removed)")
	}
	// BFQ's file takes blkio weights as they are; without BFQ, io.weight
	// (the io.cost controller) takes converted ones.
	weightFile, bfq := "io.weight", cgroups.Exists(m.Dir, "io.bfq.weight")
	if bfq {
		weightFile = "io.bfq.weight"
	}
	conv := func(field string, w uint16) (string, error) {
		if w < 10 || w > 1000 {
			return "", cgroups.FieldErrf(field, "%d is out of range 10-1000", w)
		}
		if bfq {
			return strconv.FormatUint(uint64(w), 10), nil
		}
		return strconv.FormatUint(ioWeight(w), 10), nil
	}
	if w := cgroups.Val(b.Weight); w != 0 {
		v, err := conv("blockIO.weight", w)
		if err != nil {
			return err
		}
		if err := m.need("blockIO.weight", weightFile); err != nil {
			return err
		}
		// Both files read "default N", then a line per device.
		err = cgroups.WriteChecked("blockIO.weight", m.Dir, weightFile, v, func(got string) (string, bool) {
			return "default " + v, keyedLine(got, "default") == "default "+v
		})
		if err != nil {
			return err
		}
	}
	for i, wd := range b.WeightDevice {
		field := fmt.Sprintf("blockIO.weightDevice[%d]", i)
		if wd.LeafWeight != nil {
			return cgroups.FieldErrf(field+".leafWeight", "cgroup v2 has no leaf weights (they were CFQ's, which Linux 5.0 removed)")
		}
		if wd.Weight == nil {
			continue
		}
		dev := fmt.Sprintf("%d:%d", wd.Major, wd.Minor)
		v := "default" // 0: back to the cgroup's weight, as v1's 0 removed the line
		if *wd.Weight != 0 {
			var err error
			if v, err = conv(field+".weight", *wd.Weight); err != nil {
				return err
			}
		}
		if err := m.need(field+".weight", weightFile); err != nil {
			return err
		}
		err := cgroups.WriteChecked(field+".weight", m.Dir, weightFile, dev+" "+v, func(got string) (string, bool) {
			line := keyedLine(got, dev)
			if v == "default" {
				return "no line for " + dev, line == ""
			}
			return dev + " " + v, line == dev+" "+v
		})
		if err != nil {
			return err
		}
	}
	for _, t := range []struct {
		name, key string
		devs      []specs.LinuxThrottleDevice
	}{
		{"ReadBps", "rbps", b.ThrottleReadBpsDevice},
		{"WriteBps", "wbps", b.ThrottleWriteBpsDevice},
		{"ReadIOPS", "riops", b.ThrottleReadIOPSDevice},
		{"WriteIOPS", "wiops", b.ThrottleWriteIOPSDevice},
	} {
		for i, td := range t.devs {
			field := fmt.Sprintf("blockIO.throttle%sDevice[%d]", t.name, i)
			if err := m.need(field, "io.max"); err != nil {
				return err
			}
			dev := fmt.Sprintf("%d:%d", td.Major, td.Minor)
			kv := t.key + "=max" // 0 removes the limit, as it did on v1
			if td.Rate != 0 {
				kv = t.key + "=" + strconv.FormatUint(td.Rate, 10)
			}
			err := cgroups.WriteChecked(field, m.Dir, "io.max", dev+" "+kv, func(got string) (string, bool) {
				line := keyedLine(got, dev)
				if line == "" {
					// A device without any limit has no line.
					return "a line " + dev + " with " + kv, td.Rate == 0
				}
				return "a line " + dev + " with " + kv, slices.Contains(strings.Fields(line), kv)
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// keyedLine returns the line of a keyed control file whose first field is
// key, its fields joined by single spaces, or "".
func keyedLine(text, key string) string {
	for _, l := range cgroups.Lines(text) {
		if f := strings.Fields(l); len(f) > 0 && f[0] == key {
			return strings.Join(f, " ")
		}
	}
	return ""
}

func (m *Manager) setHugetlb(r *specs.LinuxResources, live bool) error {
	for i, h := range r.HugepageLimits {
		field := fmt.Sprintf("hugepageLimits[%d]", i)
		hp, err := cgroups.ParsePageSize(h.Pagesize)
		if err != nil {
			return cgroups.FieldErr(field+".pageSize", err)
		}
		name := cgroups.HugePageName(hp)
		file := "hugetlb." + name + ".max"
		if !cgroups.Exists(m.Dir, file) {
			if sizes, _ := filepath.Glob(filepath.Join(m.Dir, "hugetlb.*.max")); len(sizes) > 0 {
				return cgroups.FieldErrf(field+".pageSize", "page size %s is not supported by the kernel (no %s in %s)", h.Pagesize, file, m.Dir)
			}
			return m.need(field, file)
		}
		check := hugetlbCheck(h.Limit, hp)
		s := strconv.FormatUint(h.Limit, 10)
		if err := cgroups.WriteChecked(field+".limit", m.Dir, file, s, check); err != nil {
			return err
		}
		// The reservation limit, where the kernel has one, bounds what
		// mmap reserves: set it to the same, as the v1 driver does.
		if rsvd := "hugetlb." + name + ".rsvd.max"; cgroups.Exists(m.Dir, rsvd) {
			if err := cgroups.WriteChecked(field+".limit", m.Dir, rsvd, s, check); err != nil {
				return err
			}
		}
	}
	return nil
}

// hugetlbCheck is how the kernel shows a hugetlb limit v: rounded down to
// whole huge pages of hp bytes, "max" at the counter's maximum.
func hugetlbCheck(v, hp uint64) cgroups.Checker {
	ps := uint64(os.Getpagesize())
	counterMax := uint64(math.MaxInt64) / ps
	per := max(hp/ps, 1)
	nr := min(v/ps, counterMax) / per * per
	if nr == counterMax/per*per {
		return cgroups.Same("max")
	}
	return cgroups.Same(strconv.FormatUint(nr*ps, 10))
}

func (m *Manager) setRdma(r *specs.LinuxResources, live bool) error {
	for _, name := range slices.Sorted(maps.Keys(r.Rdma)) {
		field := "rdma." + name
		if err := m.need(field, "rdma.max"); err != nil {
			return err
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
		err := cgroups.WriteChecked(field, m.Dir, "rdma.max", line, func(got string) (string, bool) {
			have := strings.Fields(keyedLine(got, name))
			for _, w := range want[1:] {
				if !slices.Contains(have, w) {
					return line, false
				}
			}
			return line, len(have) > 0
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// setNetwork: net_cls and net_prio exist on cgroup v1 only.
func (m *Manager) setNetwork(r *specs.LinuxResources, live bool) error {
	n := r.Network
	if n == nil {
		return nil
	}
	if n.ClassID != nil {
		return cgroups.FieldErrf("network.classID", "cgroup v2 has no net_cls controller (tag the container's traffic with an eBPF program attached to its cgroup instead)")
	}
	if len(n.Priorities) > 0 {
		return cgroups.FieldErrf("network.priorities[0]", "cgroup v2 has no net_prio controller (set priorities with an eBPF program attached to the container's cgroup instead)")
	}
	return nil
}

// setUnified writes each file of linux.resources.unified to the
// container's directory, sorted by name. A key must name a file there
// (no path), whose controller is enabled for the directory, as the spec
// asks ("cgroup." files belong to the core and always are). The values are
// the kernel's own syntax, so the read-back is lenient (unifiedCheck).
func (m *Manager) setUnified(r *specs.LinuxResources, live bool) error {
	for _, k := range slices.Sorted(maps.Keys(r.Unified)) {
		field := "unified." + k
		if k == "" || k == "." || k == ".." || strings.ContainsAny(k, "/\x00") {
			return cgroups.FieldErrf(field, "%q is not a file name", k)
		}
		ctrl, _, ok := strings.Cut(k, ".")
		if !ok {
			return cgroups.FieldErrf(field, "%q is not a cgroup2 file name such as memory.high (CONTROLLER.PARAMETER)", k)
		}
		if ctrl != "cgroup" {
			have := strings.Fields(readOr(filepath.Join(m.Dir, "cgroup.controllers")))
			if !slices.Contains(have, ctrl) {
				return cgroups.FieldErrf(field, "the %s controller is not enabled for %s (its cgroup.controllers: %q)", ctrl, m.Dir, strings.Join(have, " "))
			}
		}
		if !cgroups.Exists(m.Dir, k) {
			return cgroups.FieldErrf(field, "no such file in the container's cgroup %s", m.Dir)
		}
		v := r.Unified[k]
		if err := cgroups.WriteChecked(field, m.Dir, k, v, unifiedCheck(k, v)); err != nil {
			return err
		}
	}
	return nil
}

// unifiedCheck accepts a read-back that shows what was written, in the
// kernel's spelling: for each written line, the file has a line with the
// same first field and every other written field ("rbps=2097152", "+cpu"
// as "cpu"); lists ("0-3") compare as sets; a byte count written to a
// memory file may be spelled with a K/M/G/T suffix and reads rounded down
// to whole pages. A keyed line whose values are all "max" may vanish
// (io.max drops it).
func unifiedCheck(file, val string) cgroups.Checker {
	bytes := strings.HasPrefix(file, "memory.")
	return func(got string) (string, bool) {
		gotLines := cgroups.Lines(got)
		for _, l := range cgroups.Lines(val) {
			f := strings.Fields(l)
			if len(f) == 1 && len(gotLines) > 0 && sameValue(f[0], strings.Fields(gotLines[0])[0], bytes) {
				continue
			}
			if strings.HasPrefix(f[0], "+") || strings.HasPrefix(f[0], "-") {
				// cgroup.subtree_control: "+cpu -io"
				have := strings.Fields(got)
				for _, t := range f {
					if slices.Contains(have, t[1:]) != (t[0] == '+') {
						return val, false
					}
				}
				continue
			}
			line := strings.Fields(keyedLine(got, f[0]))
			if len(line) == 0 {
				allMax := len(f) > 1
				for _, t := range f[1:] {
					allMax = allMax && strings.HasSuffix(t, "=max")
				}
				if allMax {
					continue
				}
				return val, false
			}
			for _, t := range f[1:] {
				if !slices.Contains(line[1:], t) {
					return val, false
				}
			}
		}
		return val, true
	}
}

// sameValue compares a written single value w with the one read back g;
// bytes: they are byte counts of a memory file.
func sameValue(w, g string, bytes bool) bool {
	if w == g {
		return true
	}
	if a, err := cgroups.ParseList(w); err == nil {
		if b, err := cgroups.ParseList(g); err == nil && slices.Equal(a, b) {
			return true
		}
	}
	if !bytes {
		return false
	}
	wn, ok := memparse(w)
	gn, err := strconv.ParseUint(g, 10, 64)
	ps := uint64(os.Getpagesize())
	return ok && err == nil && gn <= wn && wn-gn < ps
}

// memparse parses a byte count the way the kernel's memparse does: a
// number with an optional K, M, G, T, P or E suffix (base 1024).
func memparse(s string) (uint64, bool) {
	shift := 0
	if i := strings.IndexAny(s, "kKmMgGtTpPeE"); i == len(s)-1 && i > 0 {
		shift = 10 * (1 + strings.IndexByte("kmgtpe", s[i]|0x20))
		s = s[:i]
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || (shift > 0 && n > math.MaxUint64>>shift) {
		return 0, false
	}
	return n << shift, true
}
