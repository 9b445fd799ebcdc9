package devicefilter

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf/asm"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

func TestMain(m *testing.M) {
	// The test binary re-executed as a helper (apply_test.go) does its one
	// job and exits before the testing package sees the arguments.
	if os.Getenv(envHelper) != "" {
		os.Exit(helperMain())
	}
	os.Exit(m.Run())
}

func rule(typ byte, major, minor int64, access string, allow bool) cgroups.DeviceRule {
	return cgroups.DeviceRule{Type: typ, Major: major, Minor: minor, Access: access, Allow: allow}
}

var (
	denyAll  = cgroups.DeviceRule{Type: 'a'}
	allowAll = cgroups.DeviceRule{Type: 'a', Allow: true}
)

// The rule lists the v1 driver refuses are refused here, naming the same
// rule: the program must never differ from what v1 would do, and v1 cannot
// punch a hole in a wildcard exception.
func TestCompileRefusesWhatV1Refuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []cgroups.DeviceRule
		index int
		want  string
	}{
		{"deny inside an allowed wildcard",
			[]cgroups.DeviceRule{denyAll, rule('c', 1, -1, "rwm", true), rule('c', 1, 7, "w", false)},
			2, `the earlier rule "c 1:* rwm" covers it`},
		{"deny inside an allowed all-majors wildcard",
			[]cgroups.DeviceRule{denyAll, rule('c', -1, 3, "r", true), rule('c', 1, 3, "rw", false)},
			2, `the earlier rule "c *:3 r" covers it`},
		{"allow inside a denied wildcard",
			[]cgroups.DeviceRule{allowAll, rule('b', -1, -1, "w", false), rule('b', 8, 0, "rw", true)},
			2, `the earlier rule "b *:* w" covers it`},
		{"unknown type", []cgroups.DeviceRule{denyAll, rule('x', 1, 1, "r", true)}, 1, "unknown device type"},
		{"major beyond u32", []cgroups.DeviceRule{denyAll, rule('c', 1<<32, 1, "r", true)}, 1, "not a device number"},
		{"bad access", []cgroups.DeviceRule{denyAll, rule('c', 1, 1, "rx", true)}, 1, "access"},
		{"empty access", []cgroups.DeviceRule{denyAll, rule('c', 1, 1, "", true)}, 1, "access"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.rules)
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("Compile: %v, want a *RuleError", err)
			}
			if re.Index != tc.index || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile: index %d, %q; want index %d and %q", re.Index, err, tc.index, tc.want)
			}
		})
	}
}

// A wildcard exception that does not overlap the removed access, and a
// removal of a more specific exception, are fine (v1 does them exactly).
func TestCompileAcceptsExactRemovals(t *testing.T) {
	for _, rules := range [][]cgroups.DeviceRule{
		{denyAll, rule('c', 1, -1, "r", true), rule('c', 1, 7, "w", false)},
		{denyAll, rule('c', 1, 7, "rw", true), rule('c', 1, -1, "w", false)},
		{allowAll, rule('c', 1, 3, "rw", false), rule('c', 1, 3, "r", true)},
	} {
		if _, err := Compile(rules); err != nil {
			t.Errorf("Compile(%v): %v", rules, err)
		}
	}
}

// The shape of the program: an "a" rule empties the list, so the verdict of
// a list ending in one is a constant; every exception is one block.
func TestCompileShape(t *testing.T) {
	verdict := func(insts asm.Instructions) (int64, bool) {
		n := len(insts)
		if n < 2 || insts[n-1].OpCode.JumpOp() != asm.Exit {
			return 0, false
		}
		return insts[n-2].Constant, true
	}
	for _, tc := range []struct {
		name   string
		rules  []cgroups.DeviceRule
		blocks int
		def    int64
	}{
		{"deny all", []cgroups.DeviceRule{rule('c', 1, 3, "rwm", true), denyAll}, 0, 0},
		{"allow all", []cgroups.DeviceRule{denyAll, rule('c', 1, 3, "rwm", true), allowAll}, 0, 1},
		{"empty list: a fresh cgroup allows", nil, 0, 1},
		{"defaults", append([]cgroups.DeviceRule{denyAll}, cgroups.DefaultDevices...), len(cgroups.DefaultDevices), 0},
		{"merged exception", []cgroups.DeviceRule{denyAll, rule('c', 1, 3, "r", true), rule('c', 1, 3, "w", true)}, 1, 0},
		{"removed exception", []cgroups.DeviceRule{allowAll, rule('c', 1, 3, "r", false), rule('c', 1, 3, "r", true)}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			insts, err := Compile(tc.rules)
			if err != nil {
				t.Fatal(err)
			}
			if def, ok := verdict(insts); !ok || def != tc.def {
				t.Errorf("default verdict %d (%v), want %d:\n%v", def, ok, tc.def, insts)
			}
			exits := 0
			for _, in := range insts {
				if in.OpCode.JumpOp() == asm.Exit {
					exits++
				}
			}
			if exits != tc.blocks+1 {
				t.Errorf("%d exception blocks, want %d:\n%v", exits-1, tc.blocks, insts)
			}
		})
	}
}
