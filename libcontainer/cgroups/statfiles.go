package cgroups

// Reading the usage files both cgroupfs drivers' Stats read.

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// StatFile reads dir/file; ok is false when the file does not exist (kernels
// differ in which they have).
func StatFile(dir, file string) (text string, ok bool, err error) {
	text, err = ReadTrimmed(filepath.Join(dir, file))
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	return text, err == nil, err
}

// ParseStatUint parses a control file's number, "max" being math.MaxUint64.
func ParseStatUint(file, s string) (uint64, error) {
	if s == "max" {
		return math.MaxUint64, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", file, err)
	}
	return v, nil
}

// StatKeyed reads a flat keyed file ("key value" lines: memory.stat,
// cpu.stat, memory.events, cpuacct.stat); nil when it does not exist.
func StatKeyed(dir, file string) (map[string]uint64, error) {
	text, ok, err := StatFile(dir, file)
	if !ok {
		return nil, err
	}
	kv := map[string]uint64{}
	for _, l := range Lines(text) {
		f := strings.Fields(l)
		if len(f) != 2 {
			return nil, fmt.Errorf("parse %s line %q", file, l)
		}
		v, err := ParseStatUint(file, f[1])
		if err != nil {
			return nil, fmt.Errorf("parse %s line %q: %w", file, l, err)
		}
		kv[f[0]] = v
	}
	return kv, nil
}

// HugePageName is the kernel's name for a huge page size (in bytes) in its
// hugetlb file names (mm/hugetlb.c's mem_fmt): whole GB, else MB, else KB.
func HugePageName(bytes uint64) string {
	switch {
	case bytes >= 1<<30:
		return strconv.FormatUint(bytes>>30, 10) + "GB"
	case bytes >= 1<<20:
		return strconv.FormatUint(bytes>>20, 10) + "MB"
	}
	return strconv.FormatUint(bytes>>10, 10) + "KB"
}

// HugePagesDir lists the kernel's huge page sizes; tests replace it.
var HugePagesDir = "/sys/kernel/mm/hugepages"

// HugePageSizes returns the kernel's huge page sizes in bytes (none when it
// has no huge pages).
func HugePageSizes() []uint64 {
	entries, err := os.ReadDir(HugePagesDir)
	if err != nil {
		return nil
	}
	var sizes []uint64
	for _, e := range entries {
		kb, ok := strings.CutPrefix(e.Name(), "hugepages-")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSuffix(kb, "kB"), 10, 64); err == nil {
			sizes = append(sizes, n<<10)
		}
	}
	return sizes
}
