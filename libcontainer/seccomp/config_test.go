package seccomp

import (
	"errors"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func uintPtr(u uint) *uint { return &u }

// validProfile is a small profile using every field.
func validProfile() *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction:    specs.ActErrno,
		DefaultErrnoRet:  uintPtr(38),
		Architectures:    []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Flags:            []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC", specs.LinuxSeccompFlagLog},
		ListenerPath:     "/run/agent.sock",
		ListenerMetadata: "meta",
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "exit_group"}, Action: specs.ActAllow},
			{Names: []string{"mkdir"}, Action: specs.ActNotify},
			{Names: []string{"personality"}, Action: specs.ActTrace, ErrnoRet: uintPtr(1), Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo},
			}},
		},
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name  string
		mut   func(c *specs.LinuxSeccomp)
		field string // "" means valid
		text  string // the problem must contain it
	}{
		{"valid", func(*specs.LinuxSeccomp) {}, "", ""},
		{"every action, arch, flag and op is known", func(c *specs.LinuxSeccomp) {
			c.Architectures = nil
			for a := range knownArchs {
				c.Architectures = append(c.Architectures, a)
			}
			c.Flags = nil
			for f := range flagBits {
				c.Flags = append(c.Flags, f)
			}
			for a := range knownActions {
				c.Syscalls = append(c.Syscalls, specs.LinuxSyscall{Names: []string{"getpid"}, Action: a})
			}
			for op := range knownOps {
				c.Syscalls = append(c.Syscalls, specs.LinuxSyscall{Names: []string{"getpid"}, Action: specs.ActLog,
					Args: []specs.LinuxSeccompArg{{Index: 5, Op: op}}})
			}
		}, "", ""},
		{"unknown syscall names are no error", func(c *specs.LinuxSeccomp) {
			c.Syscalls[0].Names = append(c.Syscalls[0].Names, "no_such_syscall")
		}, "", ""},
		{"notify without metadata", func(c *specs.LinuxSeccomp) { c.ListenerMetadata = "" }, "", ""},
		{"listenerPath without notify is ignored", func(c *specs.LinuxSeccomp) { c.Syscalls = c.Syscalls[:1] }, "", ""},
		{"empty default action", func(c *specs.LinuxSeccomp) { c.DefaultAction = "" }, "defaultAction", "must not be empty"},
		{"unknown default action", func(c *specs.LinuxSeccomp) { c.DefaultAction = "SCMP_ACT_FOO" }, "defaultAction", `unknown action "SCMP_ACT_FOO"`},
		{"notify as default", func(c *specs.LinuxSeccomp) { c.DefaultAction = specs.ActNotify; c.DefaultErrnoRet = nil }, "defaultAction", "cannot be the default"},
		{"defaultErrnoRet with allow", func(c *specs.LinuxSeccomp) { c.DefaultAction = specs.ActAllow }, "defaultErrnoRet", "SCMP_ACT_ALLOW takes no errno"},
		{"defaultErrnoRet too big", func(c *specs.LinuxSeccomp) { c.DefaultErrnoRet = uintPtr(70000) }, "defaultErrnoRet", "out of range"},
		{"unknown arch", func(c *specs.LinuxSeccomp) { c.Architectures[1] = "SCMP_ARCH_PDP11" }, "architectures[1]", `unknown architecture "SCMP_ARCH_PDP11"`},
		{"unknown flag", func(c *specs.LinuxSeccomp) { c.Flags = append(c.Flags, "SECCOMP_FILTER_FLAG_FOO") }, "flags[2]", `unknown flag "SECCOMP_FILTER_FLAG_FOO"`},
		{"no names", func(c *specs.LinuxSeccomp) { c.Syscalls[1].Names = nil }, "syscalls[1].names", "must not be empty"},
		{"empty name", func(c *specs.LinuxSeccomp) { c.Syscalls[0].Names[2] = "" }, "syscalls[0].names[2]", "must not be empty"},
		{"unknown action", func(c *specs.LinuxSeccomp) { c.Syscalls[2].Action = "SCMP_ACT_FOO" }, "syscalls[2].action", `unknown action "SCMP_ACT_FOO"`},
		{"no action", func(c *specs.LinuxSeccomp) { c.Syscalls[0].Action = "" }, "syscalls[0].action", "must not be empty"},
		{"errnoRet with kill", func(c *specs.LinuxSeccomp) { c.Syscalls[2].Action = specs.ActKillProcess }, "syscalls[2].errnoRet", "SCMP_ACT_KILL_PROCESS takes no errno"},
		{"errnoRet with notify", func(c *specs.LinuxSeccomp) { c.Syscalls[1].ErrnoRet = uintPtr(1) }, "syscalls[1].errnoRet", "takes no errno"},
		{"unknown op", func(c *specs.LinuxSeccomp) { c.Syscalls[2].Args[0].Op = "SCMP_CMP_FOO" }, "syscalls[2].args[0].op", `unknown operator "SCMP_CMP_FOO"`},
		{"arg index 6", func(c *specs.LinuxSeccomp) { c.Syscalls[2].Args[0].Index = 6 }, "syscalls[2].args[0].index", "out of range"},
		{"notify on sendmsg", func(c *specs.LinuxSeccomp) { c.Syscalls[1].Names = []string{"mkdir", "sendmsg"} }, "syscalls[1].names[1]", "sendmsg"},
		{"notify without listenerPath", func(c *specs.LinuxSeccomp) { c.ListenerPath = ""; c.ListenerMetadata = "" }, "listenerPath", "must be set"},
		{"metadata without listenerPath", func(c *specs.LinuxSeccomp) { c.Syscalls = c.Syscalls[:1]; c.ListenerPath = "" }, "listenerMetadata", "without listenerPath"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validProfile()
			tc.mut(c)
			err := Validate(c)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a *FieldError on %s, got %v", tc.field, err)
			}
			if fe.Field != tc.field || !strings.Contains(fe.Problem, tc.text) {
				t.Errorf("got %q, want field %s with %q", err, tc.field, tc.text)
			}
		})
	}
	for _, c := range []*specs.LinuxSeccomp{nil, {}, {Flags: []specs.LinuxSeccompFlag{"bogus"}}} {
		if err := Validate(c); err != nil || !Disabled(c) {
			t.Errorf("%+v: disabled %v, %v", c, Disabled(c), err)
		}
	}
}

func TestRuleGroups(t *testing.T) {
	a := func(i uint, v uint64) specs.LinuxSeccompArg {
		return specs.LinuxSeccompArg{Index: i, Value: v, Op: specs.OpEqualTo}
	}
	cases := []struct {
		name string
		args []specs.LinuxSeccompArg
		want [][]specs.LinuxSeccompArg
	}{
		{"none", nil, nil},
		{"one", []specs.LinuxSeccompArg{a(0, 1)}, [][]specs.LinuxSeccompArg{{a(0, 1)}}},
		{"distinct indexes are one rule (and)", []specs.LinuxSeccompArg{a(0, 1), a(2, 3)},
			[][]specs.LinuxSeccompArg{{a(0, 1), a(2, 3)}}},
		{"a repeated index splits every condition (or)", []specs.LinuxSeccompArg{a(1, 9), a(0, 1), a(0, 2)},
			[][]specs.LinuxSeccompArg{{a(1, 9)}, {a(0, 1)}, {a(0, 2)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ruleGroups(tc.args)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if len(got[i]) != len(tc.want[i]) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
				for j := range got[i] {
					if got[i][j] != tc.want[i][j] {
						t.Fatalf("got %v, want %v", got, tc.want)
					}
				}
			}
		})
	}
}
