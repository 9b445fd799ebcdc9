// Package devicefilter is the cgroup v2 device controller: an eBPF program
// of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the container's cgroup,
// which decides every open and mknod of a device node.
//
// The rule list is the one the v1 driver writes to devices.allow and
// devices.deny (cgroups.DeviceRules). It is first folded into the state the
// v1 kernel would hold (state.go), and the program tests a request against
// that state exactly as security/device_cgroup.c does:
//
//   - default deny: allowed iff ONE exception matches the type and numbers
//     and holds every requested access bit (open(O_RDWR) asks for r and w
//     at once; "c *:* r" plus "c 1:3 w" does not allow it);
//   - default allow: denied iff an exception matching the type and numbers
//     holds ANY requested bit ("c 1:3 w" denies open(O_RDWR) too).
//
// The program reads struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
// u32 minor; } with access_type = access<<16 | type and returns 1 (allow) or
// 0 (deny).
package devicefilter

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

// ProgramName is the name the program is loaded with: Apply replaces only
// the programs of this name that it finds on the cgroup.
const ProgramName = "ocirun_devices"

// Values of bpf_cgroup_dev_ctx (include/uapi/linux/bpf.h).
const (
	devBlock = 1 // BPF_DEVCG_DEV_BLOCK
	devChar  = 2 // BPF_DEVCG_DEV_CHAR

	accMknod = 1 // BPF_DEVCG_ACC_MKNOD
	accRead  = 2 // BPF_DEVCG_ACC_READ
	accWrite = 4 // BPF_DEVCG_ACC_WRITE
)

// Registers of the program.
const (
	regCtx    = asm.R1
	regType   = asm.R2
	regAccess = asm.R3
	regMajor  = asm.R4
	regMinor  = asm.R5
	regTmp    = asm.R6
)

// bpfAccess converts cgroups.AccessBits (r=1, w=2, m=4) to the program's.
func bpfAccess(bits uint8) int32 {
	var a int32
	for _, m := range []struct {
		bit uint8
		acc int32
	}{{1, accRead}, {2, accWrite}, {4, accMknod}} {
		if bits&m.bit != 0 {
			a |= m.acc
		}
	}
	return a
}

// Compile returns the program for rules, applied in order to a cgroup that
// allows everything (as one whose parent allows everything does in v1). A
// rule the v1 controller would refuse or ignore is a *RuleError.
func Compile(rules []cgroups.DeviceRule) (asm.Instructions, error) {
	s, err := fold(rules)
	if err != nil {
		return nil, err
	}
	insts := asm.Instructions{
		asm.LoadMem(regType, regCtx, 0, asm.Word),
		asm.Mov.Reg32(regAccess, regType),
		asm.And.Imm32(regType, 0xffff),
		asm.RSh.Imm32(regAccess, 16),
		asm.LoadMem(regMajor, regCtx, 4, asm.Word),
		asm.LoadMem(regMinor, regCtx, 8, asm.Word),
	}
	// The verdict of a matching exception, and of no match.
	match, none := int32(1), int32(0)
	if s.allowAll {
		match, none = 0, 1
	}
	for i, e := range s.exc {
		next := fmt.Sprintf("exc%d", i+1)
		typ := int32(devChar)
		if e.typ == 'b' {
			typ = devBlock
		}
		block := asm.Instructions{asm.JNE.Imm32(regType, typ, next)}
		// Numbers are u32 in the context: compare 32 bits, so that one
		// above 2^31 is not sign-extended away from the register.
		if e.major >= 0 {
			block = append(block, asm.JNE.Imm32(regMajor, int32(uint32(e.major)), next))
		}
		if e.minor >= 0 {
			block = append(block, asm.JNE.Imm32(regMinor, int32(uint32(e.minor)), next))
		}
		acc := bpfAccess(e.access)
		if s.allowAll {
			// Any requested bit the exception holds denies.
			block = append(block,
				asm.Mov.Reg32(regTmp, regAccess),
				asm.And.Imm32(regTmp, acc),
				asm.JEq.Imm32(regTmp, 0, next))
		} else {
			// Every requested bit must be in this one exception.
			block = append(block,
				asm.Mov.Reg32(regTmp, regAccess),
				asm.And.Imm32(regTmp, ^acc),
				asm.JNE.Imm32(regTmp, 0, next))
		}
		block = append(block, asm.Mov.Imm32(asm.R0, match), asm.Return())
		if i > 0 {
			block[0] = block[0].WithSymbol(fmt.Sprintf("exc%d", i))
		}
		insts = append(insts, block...)
	}
	last := asm.Mov.Imm32(asm.R0, none)
	if len(s.exc) > 0 {
		last = last.WithSymbol(fmt.Sprintf("exc%d", len(s.exc)))
	}
	return append(insts, last, asm.Return()), nil
}

// Apply compiles rules, loads the program and attaches it to the cgroup2
// directory dir with BPF_F_ALLOW_MULTI, in place of the programs named
// ProgramName already attached there (a second Apply): the first of those
// is swapped atomically (BPF_F_REPLACE), any other is detached after, so
// the cgroup is never without a filter. The cgroup holds the program: it
// stays attached after the caller closes its descriptors and exits, until
// the cgroup is removed.
func Apply(dir string, rules []cgroups.DeviceRule) (retErr error) {
	insts, err := Compile(rules)
	if err != nil {
		return err
	}
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	defer unix.Close(fd)
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         ProgramName,
		Type:         ebpf.CGroupDevice,
		License:      "Apache",
		Instructions: insts,
	})
	if err != nil {
		return fmt.Errorf("load the device filter: %w", err)
	}
	defer prog.Close()
	old, err := attached(fd)
	if err != nil {
		return fmt.Errorf("query the device filters of %s: %w", dir, err)
	}
	defer func() {
		for _, p := range old {
			p.Close()
		}
	}()
	opts := link.RawAttachProgramOptions{
		Target:  fd,
		Program: prog,
		Attach:  ebpf.AttachCGroupDevice,
		Flags:   unix.BPF_F_ALLOW_MULTI,
	}
	if len(old) > 0 {
		opts.Anchor = link.ReplaceProgram(old[0])
	}
	if err := link.RawAttachProgram(opts); err != nil {
		return fmt.Errorf("attach the device filter to %s: %w", dir, err)
	}
	var errs []error
	for _, p := range old[min(1, len(old)):] {
		err := link.RawDetachProgram(link.RawDetachProgramOptions{
			Target:  fd,
			Program: p,
			Attach:  ebpf.AttachCGroupDevice,
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("detach an old device filter from %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// attached returns the programs named ProgramName attached directly to the
// cgroup fd (not those inherited from its ancestors).
func attached(fd int) ([]*ebpf.Program, error) {
	res, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return nil, err
	}
	var ours []*ebpf.Program
	for _, ap := range res.Programs {
		p, err := ebpf.NewProgramFromID(ap.ID)
		if errors.Is(err, unix.ENOENT) {
			continue // detached and freed since the query
		}
		if err != nil {
			for _, o := range ours {
				o.Close()
			}
			return nil, fmt.Errorf("open program %d: %w", ap.ID, err)
		}
		info, err := p.Info()
		if err != nil || info.Name != ProgramName {
			p.Close()
			continue
		}
		ours = append(ours, p)
	}
	return ours, nil
}
