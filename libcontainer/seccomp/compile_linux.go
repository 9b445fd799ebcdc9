package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Filter is a compiled profile: a BPF program for seccomp(2) and the flags to
// load it with.
type Filter struct {
	Program []unix.SockFilter
	Flags   uint // SECCOMP_FILTER_FLAG_*, NEW_LISTENER included when it notifies
}

// Notifies reports whether loading f returns a notify listener.
func (f *Filter) Notifies() bool { return f.Flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 }

// Compile builds the filter c describes (c must have passed Validate).
func Compile(c *specs.LinuxSeccomp) (*Filter, error) {
	defAct := action(c.DefaultAction, c.DefaultErrnoRet)
	filter, err := libseccomp.NewFilter(defAct)
	if err != nil {
		return nil, fmt.Errorf("create seccomp filter: %w", err)
	}
	defer filter.Release()
	// A syscall of an architecture the profile does not list (say, i386's
	// int 0x80 under an x86_64-only profile) kills the whole process, not
	// just the thread (libseccomp's default), where the kernel can.
	if err := filter.SetBadArchAction(libseccomp.ActKillProcess); err != nil {
		slog.Debug(fmt.Sprintf("seccomp: bad-arch action stays SCMP_ACT_KILL_THREAD: %v", err))
	}
	for _, a := range c.Architectures {
		arch, err := libseccomp.GetArchFromString(strings.ToLower(strings.TrimPrefix(string(a), "SCMP_ARCH_")))
		if err == nil {
			err = filter.AddArch(arch)
		}
		if err != nil {
			return nil, fmt.Errorf("add seccomp architecture %s: %w", a, err)
		}
	}
	// libseccomp's binary tree for long profiles, past the size where runc
	// turns it on (libseccomp <= 2.5.4 misbehaves with it and no rules).
	if len(c.Syscalls) > 32 {
		if err := filter.SetOptimize(2); err != nil {
			slog.Debug(fmt.Sprintf("seccomp: binary tree optimization unavailable: %v", err))
		}
	}
	f := &Filter{}
	for _, name := range c.Flags {
		f.Flags |= flagBits[name]
	}
	for i, sc := range c.Syscalls {
		act := action(sc.Action, sc.ErrnoRet)
		if sc.Action == specs.ActNotify {
			f.Flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
		}
		if act == defAct {
			continue // libseccomp refuses a rule that repeats the default
		}
		for _, name := range sc.Names {
			if err := addRule(filter, name, act, sc.Args); err != nil {
				return nil, fmt.Errorf("linux.seccomp.syscalls[%d]: %w", i, err)
			}
		}
	}
	if f.Flags&unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV != 0 && !f.Notifies() {
		// The kernel refuses the flag without a listener; it means nothing then.
		slog.Debug("seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: no SCMP_ACT_NOTIFY rule")
		f.Flags &^= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
	}
	if f.Flags&unix.SECCOMP_FILTER_FLAG_TSYNC != 0 && f.Notifies() {
		// TSYNC and NEW_LISTENER together need TSYNC_ESRCH (a failed sync
		// is reported as ESRCH, leaving the return value for the fd).
		f.Flags |= unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	}
	if f.Program, err = export(filter); err != nil {
		return nil, err
	}
	return f, nil
}

// action maps a spec action to libseccomp's; errno defaults to EPERM.
func action(a specs.LinuxSeccompAction, errnoRet *uint) libseccomp.ScmpAction {
	errno := int16(unix.EPERM)
	if errnoRet != nil {
		errno = int16(*errnoRet)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return libseccomp.ActKillThread
	case specs.ActKillProcess:
		return libseccomp.ActKillProcess
	case specs.ActTrap:
		return libseccomp.ActTrap
	case specs.ActErrno:
		return libseccomp.ActErrno.SetReturnCode(errno)
	case specs.ActTrace:
		return libseccomp.ActTrace.SetReturnCode(errno)
	case specs.ActAllow:
		return libseccomp.ActAllow
	case specs.ActLog:
		return libseccomp.ActLog
	case specs.ActNotify:
		return libseccomp.ActNotify
	}
	return libseccomp.ActInvalid // Validate refused it
}

var ops = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual:     libseccomp.CompareNotEqual,
	specs.OpLessThan:     libseccomp.CompareLess,
	specs.OpLessEqual:    libseccomp.CompareLessOrEqual,
	specs.OpEqualTo:      libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	specs.OpGreaterThan:  libseccomp.CompareGreater,
	specs.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
}

// addRule adds the rules for one syscall name. A name libseccomp does not
// know is skipped, as runc does: the profile may name a syscall of a newer
// kernel.
func addRule(filter *libseccomp.ScmpFilter, name string, act libseccomp.ScmpAction, args []specs.LinuxSeccompArg) error {
	call, err := libseccomp.GetSyscallFromName(name)
	if err != nil {
		slog.Debug(fmt.Sprintf("seccomp: unknown syscall %q skipped", name))
		return nil
	}
	groups := ruleGroups(args)
	if len(groups) == 0 {
		if err := filter.AddRule(call, act); err != nil {
			return fmt.Errorf("add rule for %s: %w", name, err)
		}
		return nil
	}
	for _, g := range groups {
		conds := make([]libseccomp.ScmpCondition, 0, len(g))
		for _, a := range g {
			cond, err := libseccomp.MakeCondition(a.Index, ops[a.Op], a.Value, a.ValueTwo)
			if err != nil {
				return fmt.Errorf("condition on %s argument %d: %w", name, a.Index, err)
			}
			conds = append(conds, cond)
		}
		if err := filter.AddRuleConditional(call, act, conds); err != nil {
			return fmt.Errorf("add rule for %s: %w", name, err)
		}
	}
	return nil
}

// ruleGroups splits a syscall's argument conditions into rules, with runc's
// semantics: conditions on distinct arguments make one rule (all must hold);
// as soon as one argument index appears twice (which one rule cannot
// express), every condition becomes a rule of its own (any may hold).
// For MASKED_EQ, value is the mask and valueTwo the value the masked
// argument must equal.
func ruleGroups(args []specs.LinuxSeccompArg) [][]specs.LinuxSeccompArg {
	if len(args) == 0 {
		return nil
	}
	seen := map[uint]bool{}
	for _, a := range args {
		if seen[a.Index] {
			groups := make([][]specs.LinuxSeccompArg, len(args))
			for i := range args {
				groups[i] = args[i : i+1]
			}
			return groups
		}
		seen[a.Index] = true
	}
	return [][]specs.LinuxSeccompArg{args}
}

// export returns the filter's BPF program (libseccomp writes it to an fd).
func export(filter *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	fd, err := unix.MemfdCreate("seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("export seccomp filter: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "seccomp-bpf")
	defer mem.Close()
	if err := filter.ExportBPF(mem); err != nil {
		return nil, fmt.Errorf("export seccomp filter: %w", err)
	}
	if _, err := mem.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("export seccomp filter: %w", err)
	}
	raw, err := io.ReadAll(mem)
	if err != nil {
		return nil, fmt.Errorf("export seccomp filter: %w", err)
	}
	return decodeBPF(raw)
}

// decodeBPF decodes struct sock_filter records (8 bytes, native byte order).
func decodeBPF(raw []byte) ([]unix.SockFilter, error) {
	if len(raw) == 0 || len(raw)%8 != 0 {
		return nil, errors.New("export seccomp filter: malformed program")
	}
	prog := make([]unix.SockFilter, len(raw)/8)
	for i := range prog {
		r := raw[i*8:]
		prog[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(r[0:2]),
			Jt:   r[2],
			Jf:   r[3],
			K:    binary.NativeEndian.Uint32(r[4:8]),
		}
	}
	return prog, nil
}
