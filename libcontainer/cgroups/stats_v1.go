package cgroups

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
)

// Stats is the "data" of a stats event, shaped and named exactly as runc
// 1.1's types.Stats encodes it (containerd and other clients decode it with
// runc's types): the same fields, JSON names and omitempty choices.
type Stats struct {
	CPU               CPU                `json:"cpu"`
	CPUSet            CPUSet             `json:"cpuset"`
	Memory            Memory             `json:"memory"`
	Pids              Pids               `json:"pids"`
	Blkio             Blkio              `json:"blkio"`
	Hugetlb           map[string]Hugetlb `json:"hugetlb"`
	IntelRdt          struct{}           `json:"intel_rdt"`
	NetworkInterfaces []struct{}         `json:"network_interfaces"`
}

type Hugetlb struct {
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

type BlkioEntry struct {
	Major uint64 `json:"major,omitempty"`
	Minor uint64 `json:"minor,omitempty"`
	Op    string `json:"op,omitempty"`
	Value uint64 `json:"value,omitempty"`
}

type Blkio struct {
	IoServiceBytesRecursive []BlkioEntry `json:"ioServiceBytesRecursive,omitempty"`
	IoServicedRecursive     []BlkioEntry `json:"ioServicedRecursive,omitempty"`
	IoQueuedRecursive       []BlkioEntry `json:"ioQueueRecursive,omitempty"`
	IoServiceTimeRecursive  []BlkioEntry `json:"ioServiceTimeRecursive,omitempty"`
	IoWaitTimeRecursive     []BlkioEntry `json:"ioWaitTimeRecursive,omitempty"`
	IoMergedRecursive       []BlkioEntry `json:"ioMergedRecursive,omitempty"`
	IoTimeRecursive         []BlkioEntry `json:"ioTimeRecursive,omitempty"`
	SectorsRecursive        []BlkioEntry `json:"sectorsRecursive,omitempty"`
}

type Pids struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

type Throttling struct {
	Periods          uint64 `json:"periods,omitempty"`
	ThrottledPeriods uint64 `json:"throttledPeriods,omitempty"`
	ThrottledTime    uint64 `json:"throttledTime,omitempty"`
}

// CPUUsage is in nanoseconds.
type CPUUsage struct {
	Total        uint64   `json:"total,omitempty"`
	Percpu       []uint64 `json:"percpu,omitempty"`
	PercpuKernel []uint64 `json:"percpu_kernel,omitempty"`
	PercpuUser   []uint64 `json:"percpu_user,omitempty"`
	Kernel       uint64   `json:"kernel"`
	User         uint64   `json:"user"`
}

type CPU struct {
	Usage      CPUUsage   `json:"usage,omitempty"`
	Throttling Throttling `json:"throttling,omitempty"`
}

type CPUSet struct {
	CPUs                  []uint16 `json:"cpus,omitempty"`
	CPUExclusive          uint64   `json:"cpu_exclusive"`
	Mems                  []uint16 `json:"mems,omitempty"`
	MemHardwall           uint64   `json:"mem_hardwall"`
	MemExclusive          uint64   `json:"mem_exclusive"`
	MemoryMigrate         uint64   `json:"memory_migrate"`
	MemorySpreadPage      uint64   `json:"memory_spread_page"`
	MemorySpreadSlab      uint64   `json:"memory_spread_slab"`
	MemoryPressure        uint64   `json:"memory_pressure"`
	SchedLoadBalance      uint64   `json:"sched_load_balance"`
	SchedRelaxDomainLevel int64    `json:"sched_relax_domain_level"`
}

type MemoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

type Memory struct {
	Cache     uint64            `json:"cache,omitempty"`
	Usage     MemoryEntry       `json:"usage,omitempty"`
	Swap      MemoryEntry       `json:"swap,omitempty"`
	Kernel    MemoryEntry       `json:"kernel,omitempty"`
	KernelTCP MemoryEntry       `json:"kernelTCP,omitempty"`
	Raw       map[string]uint64 `json:"raw,omitempty"`
}

// userHz is USER_HZ, the unit of cpuacct.stat: 100 on every Linux ABI.
const userHz = 100

// Stats reads the container's usage from its v1 controllers. A controller
// the host does not mount leaves its part empty, as with runc; a file that
// is missing in a mounted controller is skipped (kernels differ), any other
// read or parse error fails.
func (m *Manager) Stats() (*Stats, error) {
	s := &Stats{Hugetlb: map[string]Hugetlb{}}
	parts := []struct {
		key  string
		read func(dir string, s *Stats) error
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

// statFile reads dir/file; ok is false when the file does not exist.
func statFile(dir, file string) (string, bool, error) {
	text, err := readTrimmed(filepath.Join(dir, file))
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	return text, err == nil, err
}

// statUint reads a one-number file into *dst, leaving it when the file is
// missing. "max" (pids.max) reads as 0, runc's "no limit".
func statUint(dir, file string, dst *uint64) error {
	text, ok, err := statFile(dir, file)
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

// statKeyed reads a "key value" per line file (cpu.stat, memory.stat).
func statKeyed(dir, file string) (map[string]uint64, error) {
	text, ok, err := statFile(dir, file)
	if !ok {
		return nil, err
	}
	kv := map[string]uint64{}
	for _, l := range lines(text) {
		f := strings.Fields(l)
		if len(f) != 2 {
			return nil, fmt.Errorf("parse %s line %q", file, l)
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse %s line %q: %w", file, l, err)
		}
		kv[f[0]] = v
	}
	return kv, nil
}

// statUints reads a file of space-separated numbers (cpuacct.usage_percpu).
func statUints(dir, file string) ([]uint64, error) {
	text, ok, err := statFile(dir, file)
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

func statCPU(dir string, s *Stats) error {
	kv, err := statKeyed(dir, "cpu.stat")
	if err != nil {
		return err
	}
	s.CPU.Throttling = Throttling{Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_time"]}
	return nil
}

func statCpuacct(dir string, s *Stats) error {
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
	kv, err := statKeyed(dir, "cpuacct.stat")
	if err != nil {
		return err
	}
	const nsPerTick = 1_000_000_000 / userHz
	u.User, u.Kernel = kv["user"]*nsPerTick, kv["system"]*nsPerTick
	return nil
}

func statCpuset(dir string, s *Stats) error {
	c := &s.CPUSet
	for file, dst := range map[string]*[]uint16{"cpuset.cpus": &c.CPUs, "cpuset.mems": &c.Mems} {
		text, ok, err := statFile(dir, file)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		list, err := ParseList(text)
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
	text, ok, err := statFile(dir, "cpuset.sched_relax_domain_level")
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
func memoryEntry(dir, prefix string, e *MemoryEntry) error {
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

func statMemory(dir string, s *Stats) error {
	m := &s.Memory
	raw, err := statKeyed(dir, "memory.stat")
	if err != nil {
		return err
	}
	m.Raw, m.Cache = raw, raw["cache"]
	for prefix, e := range map[string]*MemoryEntry{
		"memory": &m.Usage, "memory.memsw": &m.Swap, "memory.kmem": &m.Kernel, "memory.kmem.tcp": &m.KernelTCP,
	} {
		if err := memoryEntry(dir, prefix, e); err != nil {
			return err
		}
	}
	return nil
}

func statPids(dir string, s *Stats) error {
	if err := statUint(dir, "pids.current", &s.Pids.Current); err != nil {
		return err
	}
	return statUint(dir, "pids.max", &s.Pids.Limit)
}

// blkioEntries parses "maj:min Op value" lines (or "maj:min value" ones);
// the "Total N" summary line is dropped, as runc does.
func blkioEntries(dir, file string) ([]BlkioEntry, error) {
	text, ok, err := statFile(dir, file)
	if !ok {
		return nil, err
	}
	var out []BlkioEntry
	for _, l := range lines(text) {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] == "Total" {
			continue
		}
		maj, min, ok := strings.Cut(f[0], ":")
		if !ok {
			return nil, fmt.Errorf("parse %s line %q", file, l)
		}
		e := BlkioEntry{}
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
func statBlkio(dir string, s *Stats) error {
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
func statHugetlb(dir string, s *Stats) error {
	entries, err := os.ReadDir("/sys/kernel/mm/hugepages")
	if err != nil {
		return nil // no huge pages on this kernel
	}
	for _, e := range entries {
		kb, ok := strings.CutPrefix(e.Name(), "hugepages-")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(kb, "kB"), 10, 64)
		if err != nil {
			continue
		}
		size := hugePageName(n)
		var h Hugetlb
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

// hugePageName turns a size in KiB into the kernel's hugetlb file name part.
func hugePageName(kb uint64) string {
	units := []string{"KB", "MB", "GB", "TB"}
	i := 0
	for kb >= 1024 && kb%1024 == 0 && i < len(units)-1 {
		kb /= 1024
		i++
	}
	return strconv.FormatUint(kb, 10) + units[i]
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
			more, err := readPids(p)
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
