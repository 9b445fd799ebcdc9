package fs2

// Stats fill cgroups.Stats (runc 1.1's types.Stats) as runc 1.1's fs2
// driver does, so that clients decoding runc's JSON see the same numbers:
//
//	cpu.stat        usage_usec, user_usec, system_usec -> CPU.Usage Total,
//	                User, Kernel (ns); nr_periods, nr_throttled,
//	                throttled_usec (-> ns) -> CPU.Throttling
//	memory.stat     -> Memory.Raw; its "file" -> Memory.Cache
//	memory.current  -> Memory.Usage.Usage, memory.max its Limit ("max":
//	                math.MaxUint64, as runc reads it)
//	memory.swap.*   -> Memory.Swap, as memory+swap like v1's memsw: usage
//	                swap.current + memory.current, limit swap.max +
//	                memory.max (MaxUint64 when either is "max")
//	pids.current, pids.max ("max": 0, runc's "no limit")
//	io.stat         rbytes/wbytes -> Blkio.IoServiceBytesRecursive Read/Write,
//	                rios/wios -> Blkio.IoServicedRecursive, in file order
//	hugetlb.<size>.current (the .rsvd. one where the kernel has it, as
//	                runc) -> Hugetlb[size].Usage; .events "max" -> Failcnt.
//	                v2 keeps no maximum usage: Max stays 0.
//
// A file that does not exist (controller not enabled, kernel without it)
// is skipped; any other read or parse error fails.

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

// Stats reads the container's usage counters.
func (m *Manager) Stats() (*cgroups.Stats, error) {
	s := &cgroups.Stats{Hugetlb: map[string]cgroups.Hugetlb{}}
	for _, p := range []struct {
		name string
		read func(dir string, s *cgroups.Stats) error
	}{
		{"cpu", statCPU}, {"memory", statMemory}, {"pids", statPids}, {"io", statIO}, {"hugetlb", statHugetlb},
	} {
		if err := p.read(m.Dir, s); err != nil {
			return nil, fmt.Errorf("read %s stats: %w", p.name, err)
		}
	}
	return s, nil
}

// statUint reads a one-number file; ok is false when it does not exist.
func statUint(dir, file string) (v uint64, ok bool, err error) {
	text, ok, err := cgroups.StatFile(dir, file)
	if !ok {
		return 0, false, err
	}
	v, err = cgroups.ParseStatUint(file, text)
	return v, err == nil, err
}

func statCPU(dir string, s *cgroups.Stats) error {
	kv, err := cgroups.StatKeyed(dir, "cpu.stat")
	if err != nil || kv == nil {
		return err
	}
	s.CPU.Usage.Total = kv["usage_usec"] * 1000
	s.CPU.Usage.User = kv["user_usec"] * 1000
	s.CPU.Usage.Kernel = kv["system_usec"] * 1000
	s.CPU.Throttling = cgroups.Throttling{
		Periods:          kv["nr_periods"],
		ThrottledPeriods: kv["nr_throttled"],
		ThrottledTime:    kv["throttled_usec"] * 1000,
	}
	return nil
}

func statMemory(dir string, s *cgroups.Stats) error {
	raw, err := cgroups.StatKeyed(dir, "memory.stat")
	if err != nil {
		return err
	}
	if raw != nil {
		s.Memory.Raw, s.Memory.Cache = raw, raw["file"]
	}
	usage, ok, err := statUint(dir, "memory.current")
	if err != nil || !ok {
		return err
	}
	limit, _, err := statUint(dir, "memory.max")
	if err != nil {
		return err
	}
	s.Memory.Usage = cgroups.MemoryEntry{Usage: usage, Limit: limit}
	swap, ok, err := statUint(dir, "memory.swap.current")
	if err != nil || !ok {
		return err // no swap accounting: Swap stays empty, as in runc
	}
	swapLimit, _, err := statUint(dir, "memory.swap.max")
	if err != nil {
		return err
	}
	// v1 reported memory+swap (memsw); v2 counts swap alone.
	if swapLimit != math.MaxUint64 {
		if limit > math.MaxUint64-swapLimit {
			swapLimit = math.MaxUint64
		} else {
			swapLimit += limit
		}
	}
	s.Memory.Swap = cgroups.MemoryEntry{Usage: swap + usage, Limit: swapLimit}
	return nil
}

func statPids(dir string, s *cgroups.Stats) error {
	cur, ok, err := statUint(dir, "pids.current")
	if err != nil {
		return err
	}
	if !ok {
		// No pids controller: count the processes, as runc does.
		pids, err := cgroups.ReadPids(dir)
		if err != nil {
			return err
		}
		s.Pids.Current = uint64(len(pids))
		return nil
	}
	limit, _, err := statUint(dir, "pids.max")
	if err != nil {
		return err
	}
	if limit == math.MaxUint64 {
		limit = 0
	}
	s.Pids = cgroups.Pids{Current: cur, Limit: limit}
	return nil
}

// statIO reads io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N ..." lines.
func statIO(dir string, s *cgroups.Stats) error {
	text, ok, err := cgroups.StatFile(dir, "io.stat")
	if err != nil || !ok {
		return err
	}
	for _, l := range cgroups.Lines(text) {
		f := strings.Fields(l)
		maj, min, ok := strings.Cut(f[0], ":")
		if !ok {
			continue
		}
		var e cgroups.BlkioEntry
		if e.Major, err = strconv.ParseUint(maj, 10, 64); err == nil {
			e.Minor, err = strconv.ParseUint(min, 10, 64)
		}
		if err != nil {
			return fmt.Errorf("parse io.stat line %q: %w", l, err)
		}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			var table *[]cgroups.BlkioEntry
			switch k {
			case "rbytes", "wbytes":
				table = &s.Blkio.IoServiceBytesRecursive
			case "rios", "wios":
				table = &s.Blkio.IoServicedRecursive
			default:
				continue // no v1 counterpart in runc's types
			}
			e.Op = "Read"
			if k[0] == 'w' {
				e.Op = "Write"
			}
			if e.Value, err = strconv.ParseUint(v, 10, 64); err != nil {
				return fmt.Errorf("parse io.stat line %q: %w", l, err)
			}
			*table = append(*table, e)
		}
	}
	return nil
}

// statHugetlb reads, for each huge page size of the kernel, its usage and
// how often the limit was hit.
func statHugetlb(dir string, s *cgroups.Stats) error {
	for _, bytes := range cgroups.HugePageSizes() {
		size := cgroups.HugePageName(bytes)
		prefix := "hugetlb." + size + ".rsvd"
		if !cgroups.Exists(dir, prefix+".current") {
			prefix = "hugetlb." + size
		}
		usage, ok, err := statUint(dir, prefix+".current")
		if err != nil {
			return err
		}
		if !ok {
			continue // hugetlb not enabled here
		}
		ev, err := cgroups.StatKeyed(dir, prefix+".events")
		if err != nil {
			return err
		}
		s.Hugetlb[size] = cgroups.Hugetlb{Usage: usage, Failcnt: ev["max"]}
	}
	return nil
}
