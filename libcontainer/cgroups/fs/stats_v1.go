package fs

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

// userHz is USER_HZ, the unit of cpuacct.stat: 100 on every Linux ABI.
const userHz = 100

// cgroups.Stats reads the container's usage from its v1 controllers. A controller
// the host does not mount leaves its part empty, as with runc; a file that
// is missing in a mounted controller is skipped (kernels differ), any other
// read or parse error fails.
func (m *Manager) Stats() (*cgroups.Stats, error) {
	s := &cgroups.Stats{Hugetlb: map[string]cgroups.Hugetlb{}}
	parts := []struct {
		key  string
		read func(dir string, s *cgroups.Stats) error
	}{
		{"cpu", statCPU}, {"cpuacct", statCpuacct}, {"cpuset", statCpuset},
		{"memory", statMemory}, {"pids", statPids}, {"blkio", statBlkio},
		{"hugetlb", statHugetlb},
	}
	for _, p := range parts {
		dir, ok := m.Paths[p.key]
		if !ok {
			continue
		}
		if err := p.read(dir, s); err != nil {
			return nil, fmt.Errorf("read %s stats: %w", p.key, err)
		}
	}
	return s, nil
}

// statUint reads a one-number file into *dst, leaving it when the file is
// missing. "max" (pids.max) reads as 0, runc's "no limit".
func statUint(dir, file string, dst *uint64) error {
	text, ok, err := cgroups.StatFile(dir, file)
	if !ok || text == "max" {
		return err
	}
	v, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return fmt.Errorf("parse %s: %w", file, err)
	}
	*dst = v
	return nil
}

// statUints reads a file of space-separated numbers (cpuacct.usage_percpu).
func statUints(dir, file string) ([]uint64, error) {
	text, ok, err := cgroups.StatFile(dir, file)
	if !ok {
		return nil, err
	}
	var out []uint64
	for _, f := range strings.Fields(text) {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", file, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func statCPU(dir string, s *cgroups.Stats) error {
	kv, err := cgroups.StatKeyed(dir, "cpu.stat")
	if err != nil {
		return err
	}
	s.CPU.Throttling = cgroups.Throttling{Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_time"]}
	return nil
}

func statCpuacct(dir string, s *cgroups.Stats) error {
	u := &s.CPU.Usage
	if err := statUint(dir, "cpuacct.usage", &u.Total); err != nil {
		return err
	}
	var err error
	if u.Percpu, err = statUints(dir, "cpuacct.usage_percpu"); err != nil {
		return err
	}
	if u.PercpuKernel, err = statUints(dir, "cpuacct.usage_percpu_sys"); err != nil {
		return err
	}
	if u.PercpuUser, err = statUints(dir, "cpuacct.usage_percpu_user"); err != nil {
		return err
	}
	kv, err := cgroups.StatKeyed(dir, "cpuacct.stat")
	if err != nil {
		return err
	}
	const nsPerTick = 1_000_000_000 / userHz
	u.User, u.Kernel = kv["user"]*nsPerTick, kv["system"]*nsPerTick
	return nil
}

func statCpuset(dir string, s *cgroups.Stats) error {
	c := &s.CPUSet
	for file, dst := range map[string]*[]uint16{"cpuset.cpus": &c.CPUs, "cpuset.mems": &c.Mems} {
		text, ok, err := cgroups.StatFile(dir, file)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		list, err := cgroups.ParseList(text)
		if err != nil {
			return fmt.Errorf("parse %s: %w", file, err)
		}
		for _, n := range list {
			*dst = append(*dst, uint16(n))
		}
	}
	for file, dst := range map[string]*uint64{
		"cpuset.cpu_exclusive": &c.CPUExclusive, "cpuset.mem_hardwall": &c.MemHardwall,
		"cpuset.mem_exclusive": &c.MemExclusive, "cpuset.memory_migrate": &c.MemoryMigrate,
		"cpuset.memory_spread_page": &c.MemorySpreadPage, "cpuset.memory_spread_slab": &c.MemorySpreadSlab,
		"cpuset.memory_pressure": &c.MemoryPressure, "cpuset.sched_load_balance": &c.SchedLoadBalance,
	} {
		if err := statUint(dir, file, dst); err != nil {
			return err
		}
	}
	text, ok, err := cgroups.StatFile(dir, "cpuset.sched_relax_domain_level")
	if err != nil || !ok {
		return err
	}
	if c.SchedRelaxDomainLevel, err = strconv.ParseInt(text, 10, 64); err != nil {
		return fmt.Errorf("parse cpuset.sched_relax_domain_level: %w", err)
	}
	return nil
}

// memoryEntry reads <prefix>.{usage_in_bytes,max_usage_in_bytes,failcnt,
// limit_in_bytes}, prefix being memory, memory.memsw, memory.kmem or
// memory.kmem.tcp.
func memoryEntry(dir, prefix string, e *cgroups.MemoryEntry) error {
	for suffix, dst := range map[string]*uint64{
		"usage_in_bytes": &e.Usage, "max_usage_in_bytes": &e.Max,
		"failcnt": &e.Failcnt, "limit_in_bytes": &e.Limit,
	} {
		if err := statUint(dir, prefix+"."+suffix, dst); err != nil {
			return err
		}
	}
	return nil
}

func statMemory(dir string, s *cgroups.Stats) error {
	m := &s.Memory
	raw, err := cgroups.StatKeyed(dir, "memory.stat")
	if err != nil {
		return err
	}
	m.Raw, m.Cache = raw, raw["cache"]
	for prefix, e := range map[string]*cgroups.MemoryEntry{
		"memory": &m.Usage, "memory.memsw": &m.Swap, "memory.kmem": &m.Kernel, "memory.kmem.tcp": &m.KernelTCP,
	} {
		if err := memoryEntry(dir, prefix, e); err != nil {
			return err
		}
	}
	return nil
}

func statPids(dir string, s *cgroups.Stats) error {
	if err := statUint(dir, "pids.current", &s.Pids.Current); err != nil {
		return err
	}
	return statUint(dir, "pids.max", &s.Pids.Limit)
}

// blkioEntries parses "maj:min Op value" lines (or "maj:min value" ones);
// the "Total N" summary line is dropped, as runc does.
func blkioEntries(dir, file string) ([]cgroups.BlkioEntry, error) {
	text, ok, err := cgroups.StatFile(dir, file)
	if !ok {
		return nil, err
	}
	var out []cgroups.BlkioEntry
	for _, l := range cgroups.Lines(text) {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] == "Total" {
			continue
		}
		maj, min, ok := strings.Cut(f[0], ":")
		if !ok {
			return nil, fmt.Errorf("parse %s line %q", file, l)
		}
		e := cgroups.BlkioEntry{}
		if e.Major, err = strconv.ParseUint(maj, 10, 64); err == nil {
			e.Minor, err = strconv.ParseUint(min, 10, 64)
		}
		if err == nil {
			v := f[len(f)-1]
			if len(f) == 3 {
				e.Op = f[1]
			}
			e.Value, err = strconv.ParseUint(v, 10, 64)
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s line %q: %w", file, l, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// statBlkio reads the BFQ counters when they count something, else the
// throttle layer's, which count every bio whatever the scheduler.
func statBlkio(dir string, s *cgroups.Stats) error {
	for _, prefix := range []string{"blkio.bfq.", "blkio.throttle."} {
		bytes, err := blkioEntries(dir, prefix+"io_service_bytes_recursive")
		if err != nil {
			return err
		}
		ios, err := blkioEntries(dir, prefix+"io_serviced_recursive")
		if err != nil {
			return err
		}
		if len(bytes)+len(ios) > 0 {
			s.Blkio.IoServiceBytesRecursive, s.Blkio.IoServicedRecursive = bytes, ios
			return nil
		}
	}
	return nil
}

// statHugetlb reads hugetlb.<size>.* for each size the kernel offers,
// named as runc names them ("2MB", "1GB").
func statHugetlb(dir string, s *cgroups.Stats) error {
	for _, bytes := range cgroups.HugePageSizes() {
		size := cgroups.HugePageName(bytes)
		var h cgroups.Hugetlb
		prefix := "hugetlb." + size + "."
		for file, dst := range map[string]*uint64{"usage_in_bytes": &h.Usage, "max_usage_in_bytes": &h.Max, "failcnt": &h.Failcnt} {
			if err := statUint(dir, prefix+file, dst); err != nil {
				return err
			}
		}
		s.Hugetlb[size] = h
	}
	return nil
}

// AllPids lists the processes of the container's cgroup and of the cgroups
// nested in it (a container may make its own), from the first hierarchy
// (by name) that can be read, as runc's ps does.
func (m *Manager) AllPids() ([]int, error) {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m.Paths)) {
		var pids []int
		err := filepath.WalkDir(m.Paths[k], func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			more, err := cgroups.ReadPids(p)
			if errors.Is(err, os.ErrNotExist) && p != m.Paths[k] {
				return nil // removed while we walked
			}
			pids = append(pids, more...)
			return err
		})
		if err == nil {
			return pids, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("list cgroup pids: %w", errors.Join(errs...))
}
