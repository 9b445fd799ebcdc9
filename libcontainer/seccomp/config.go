// Package seccomp turns linux.seccomp of the runtime-spec into a seccomp
// filter: Validate checks the config (pure, run by specutil.Validate before
// anything is created), Compile builds the BPF program with libseccomp, Load
// installs it in the calling thread with seccomp(2) and returns the notify
// listener, SendListener hands that listener to the agent at listenerPath.
//
// Differences from runc worth knowing:
//   - ocirun loads the program with its own seccomp(2) call (runc does too),
//     so every flag the kernel knows works, whatever libseccomp's version;
//     a flag the kernel lacks is a clear error, never silently dropped.
//   - runc prepends a stub that makes syscalls newer than its libseccomp
//     fail with ENOSYS instead of the default action; ocirun does not, so a
//     syscall unknown to libseccomp gets defaultAction.
//   - errnoRet on an action that takes no errno is an error (the spec's
//     MUST), where runc ignores it.
package seccomp

import (
	"fmt"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// FieldError is one problem with one field of linux.seccomp; Field is relative
// to it ("syscalls[3].action").
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

func problem(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// The names the spec defines (libseccomp's, as of v2.6.0).
var (
	knownActions = map[specs.LinuxSeccompAction]bool{
		specs.ActKill: true, specs.ActKillProcess: true, specs.ActKillThread: true,
		specs.ActTrap: true, specs.ActErrno: true, specs.ActTrace: true,
		specs.ActAllow: true, specs.ActLog: true, specs.ActNotify: true,
	}
	knownArchs = map[specs.Arch]bool{
		specs.ArchX86: true, specs.ArchX86_64: true, specs.ArchX32: true,
		specs.ArchARM: true, specs.ArchAARCH64: true,
		specs.ArchMIPS: true, specs.ArchMIPS64: true, specs.ArchMIPS64N32: true,
		specs.ArchMIPSEL: true, specs.ArchMIPSEL64: true, specs.ArchMIPSEL64N32: true,
		specs.ArchPPC: true, specs.ArchPPC64: true, specs.ArchPPC64LE: true,
		specs.ArchS390: true, specs.ArchS390X: true,
		specs.ArchPARISC: true, specs.ArchPARISC64: true,
		specs.ArchRISCV64: true, specs.ArchLOONGARCH64: true,
		specs.ArchM68K: true, specs.ArchSH: true, specs.ArchSHEB: true,
	}
	knownOps = map[specs.LinuxSeccompOperator]bool{
		specs.OpNotEqual: true, specs.OpLessThan: true, specs.OpLessEqual: true,
		specs.OpEqualTo: true, specs.OpGreaterEqual: true, specs.OpGreaterThan: true,
		specs.OpMaskedEqual: true,
	}
)

// Flag names of linux.seccomp.flags and their seccomp(2) values
// (SECCOMP_FILTER_FLAG_*, stable kernel ABI).
var flagBits = map[specs.LinuxSeccompFlag]uint{
	specs.LinuxSeccompFlagLog:              0x2,
	specs.LinuxSeccompFlagSpecAllow:        0x4,
	specs.LinuxSeccompFlagWaitKillableRecv: 0x20,
	"SECCOMP_FILTER_FLAG_TSYNC":            0x1,
}

// maxErrno bounds errnoRet: SECCOMP_RET_DATA holds 16 bits.
const maxErrno = 0xffff

// takesErrno reports whether an action carries errnoRet.
func takesErrno(a specs.LinuxSeccompAction) bool {
	return a == specs.ActErrno || a == specs.ActTrace
}

// Disabled reports whether c asks for no filter: absent, or (as runc
// reads it) with neither defaultAction nor syscalls.
func Disabled(c *specs.LinuxSeccomp) bool {
	return c == nil || (c.DefaultAction == "" && len(c.Syscalls) == 0)
}

// Validate checks c without touching the kernel: every action, architecture,
// flag and operator is one the spec defines, errnoRet goes with an action
// that takes one, SCMP_ACT_NOTIFY has a listenerPath and spares what init
// needs to hand the listener over. Syscall names are not checked: an unknown
// one is skipped at Compile, as runc does, since it may exist on a newer
// kernel.
func Validate(c *specs.LinuxSeccomp) error {
	if Disabled(c) {
		return nil
	}
	if err := checkAction("defaultAction", c.DefaultAction); err != nil {
		return err
	}
	if c.DefaultAction == specs.ActNotify {
		// Everything init does after the load, including sending the
		// listener, would wait for an agent that does not have it yet.
		return problem("defaultAction", "SCMP_ACT_NOTIFY cannot be the default action")
	}
	if err := checkErrno("defaultErrnoRet", c.DefaultAction, c.DefaultErrnoRet); err != nil {
		return err
	}
	for i, a := range c.Architectures {
		if !knownArchs[a] {
			return problem(fmt.Sprintf("architectures[%d]", i), "unknown architecture %q", a)
		}
	}
	for i, f := range c.Flags {
		if _, ok := flagBits[f]; !ok {
			return problem(fmt.Sprintf("flags[%d]", i), "unknown flag %q", f)
		}
	}
	notify := false
	for i, sc := range c.Syscalls {
		field := fmt.Sprintf("syscalls[%d]", i)
		if len(sc.Names) == 0 {
			return problem(field+".names", "must not be empty")
		}
		if err := checkAction(field+".action", sc.Action); err != nil {
			return err
		}
		if err := checkErrno(field+".errnoRet", sc.Action, sc.ErrnoRet); err != nil {
			return err
		}
		for j, name := range sc.Names {
			if name == "" {
				return problem(fmt.Sprintf("%s.names[%d]", field, j), "must not be empty")
			}
			if sc.Action == specs.ActNotify && name == "sendmsg" {
				// init sends the listener to the runtime with sendmsg(2)
				// after the load: it would wait for itself.
				return problem(fmt.Sprintf("%s.names[%d]", field, j), "SCMP_ACT_NOTIFY cannot be used for sendmsg")
			}
		}
		for j, arg := range sc.Args {
			af := fmt.Sprintf("%s.args[%d]", field, j)
			if arg.Index > 5 {
				return problem(af+".index", "%d is out of range: a syscall has arguments 0 to 5", arg.Index)
			}
			if !knownOps[arg.Op] {
				return problem(af+".op", "unknown operator %q", arg.Op)
			}
		}
		notify = notify || sc.Action == specs.ActNotify
	}
	switch {
	case notify && c.ListenerPath == "":
		return problem("listenerPath", "must be set when SCMP_ACT_NOTIFY is used")
	case c.ListenerMetadata != "" && c.ListenerPath == "":
		return problem("listenerMetadata", "must not be set without listenerPath")
	}
	return nil
}

func checkAction(field string, a specs.LinuxSeccompAction) error {
	switch {
	case a == "":
		return problem(field, "must not be empty")
	case !knownActions[a]:
		return problem(field, "unknown action %q", a)
	}
	return nil
}

func checkErrno(field string, a specs.LinuxSeccompAction, errno *uint) error {
	switch {
	case errno == nil:
	case !takesErrno(a):
		return problem(field, "%s takes no errno (only %s and %s do)", a, specs.ActErrno, specs.ActTrace)
	case *errno > maxErrno:
		return problem(field, "%d is out of range (at most %d)", *errno, maxErrno)
	}
	return nil
}
