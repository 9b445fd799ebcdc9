package cgroups

// Writing a control file and checking what the kernel made of the value.

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// checker tells whether got, a control file's trimmed content after a
// write, shows the value written; if not it also returns what it should be.
type Checker func(got string) (want string, ok bool)

// same is the checker for files that read back exactly what was written.
func Same(val string) Checker {
	return func(got string) (string, bool) { return val, got == val }
}

// set writes val to file in dir and reads it back through check (nil:
// the file must read back val).
func WriteChecked(field, dir, file, val string, check Checker) error {
	if err := WriteCtl(dir, file, val); err != nil {
		return FieldErr(field, err)
	}
	if check == nil {
		check = Same(val)
	}
	got, err := ReadTrimmed(filepath.Join(dir, file))
	if err != nil {
		return FieldErrf(field, "read back %s: %w", file, err)
	}
	if want, ok := check(got); !ok {
		return FieldErrf(field, "wrote %q to %s but it reads %q, not %q", val, filepath.Join(dir, file), got, want)
	}
	return nil
}

// writeCtl writes val to an existing control file: a cgroupfs never
// creates one, so a missing file means the kernel lacks the feature.
func WriteCtl(dir, file, val string) error {
	p := filepath.Join(dir, file)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err == nil {
		_, err = f.WriteString(val)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("write %q to %s: %w", val, p, err)
	}
	return nil
}

func Exists(dir, file string) bool {
	_, err := os.Stat(filepath.Join(dir, file))
	return err == nil
}

// Val is *p, or 0 when p is nil.
func Val[T int64 | uint64 | uint16](p *T) T {
	if p == nil {
		return 0
	}
	return *p
}

// bytesCheck is how the kernel shows a byte limit v written to a memory
// (page_counter) file: rounded down to whole pages, -1 (or anything
// larger than the counter can hold) as its maximum.
func BytesCheck(v int64) Checker {
	ps := int64(os.Getpagesize())
	limit := math.MaxInt64 / ps * ps
	want := limit
	if v >= 0 {
		want = min(v/ps*ps, limit)
	}
	return Same(strconv.FormatInt(want, 10))
}

func SetBytes(field, dir, file string, v int64) error {
	return WriteChecked(field, dir, file, strconv.FormatInt(v, 10), BytesCheck(v))
}

// ParseList parses a kernel list such as "0-3,7" (cpuset.cpus, cpuset.mems)
// into its sorted, distinct numbers. The empty string is the empty list.
func ParseList(s string) ([]int, error) {
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("%q is not a list of numbers and ranges such as 0-3,7", s)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a list of numbers and ranges such as 0-3,7", s)
			}
		}
		for n := a; n <= b; n++ {
			out = append(out, int(n))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// FormatList is the kernel's spelling of a sorted list ("0-3,7").
func FormatList(l []int) string {
	var b strings.Builder
	for i := 0; i < len(l); {
		j := i
		for j+1 < len(l) && l[j+1] == l[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(l[i]))
		if j > i {
			b.WriteString("-" + strconv.Itoa(l[j]))
		}
		i = j + 1
	}
	return b.String()
}

// lines returns the non-empty lines of a control file's content.
func Lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// ParsePageSize parses a hugepageLimits pageSize such as "2MB" or "64KB"
// (base 1024, as the spec says) into bytes.
func ParsePageSize(s string) (uint64, error) {
	units := []string{"KB", "MB", "GB", "TB", "PB"}
	for i, u := range units {
		num, ok := strings.CutSuffix(s, u)
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(num, 10, 32)
		if err != nil || n == 0 {
			break
		}
		return n << (10 * (i + 1)), nil
	}
	return 0, fmt.Errorf("%q is not a page size such as 64KB, 2MB or 1GB", s)
}
