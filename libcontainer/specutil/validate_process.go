package specutil

// Checks and pure conversions for the process attributes that `ocirun init`
// applies to itself before exec (process.scheduler, process.ioPriority,
// linux.personality, linux.memoryPolicy, the LSM labels), for what the parent
// does (linux.netDevices), for what only needs the host's support
// (linux.intelRdt, the LSMs) and for linux.sysctl's namespace rules.

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// hostRoot is where the host probes (LSMs, resctrl) look: "/" but in tests.
var hostRoot = "/"

// checkProcAttrs runs the checks of this file in a fixed order.
func checkProcAttrs(s *specs.Spec, _ string) error {
	checks := []func(*specs.Spec) error{
		checkScheduler,
		checkIOPriority,
		checkExecCPUAffinity,
		func(s *specs.Spec) error { return checkLSM(s, hostRoot) },
		checkPersonality,
		checkMemoryPolicy,
		checkSysctl,
		checkNetDevices,
		func(s *specs.Spec) error { return checkIntelRdt(s, hostRoot) },
	}
	for _, check := range checks {
		if err := check(s); err != nil {
			return err
		}
	}
	return nil
}

var schedPolicies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther:    unix.SCHED_NORMAL,
	specs.SchedFIFO:     unix.SCHED_FIFO,
	specs.SchedRR:       unix.SCHED_RR,
	specs.SchedBatch:    unix.SCHED_BATCH,
	specs.SchedISO:      4, // reserved by the kernel: sched_setattr refuses it, as with runc
	specs.SchedIdle:     unix.SCHED_IDLE,
	specs.SchedDeadline: unix.SCHED_DEADLINE,
}

var schedFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork:  unix.SCHED_FLAG_RESET_ON_FORK,
	specs.SchedFlagReclaim:      unix.SCHED_FLAG_RECLAIM,
	specs.SchedFlagDLOverrun:    unix.SCHED_FLAG_DL_OVERRUN,
	specs.SchedFlagKeepPolicy:   unix.SCHED_FLAG_KEEP_POLICY,
	specs.SchedFlagKeepParams:   unix.SCHED_FLAG_KEEP_PARAMS,
	specs.SchedFlagUtilClampMin: unix.SCHED_FLAG_UTIL_CLAMP_MIN,
	specs.SchedFlagUtilClampMax: unix.SCHED_FLAG_UTIL_CLAMP_MAX,
}

// SchedAttr compiles process.scheduler into the argument of sched_setattr(2).
// Errors name the field below "process.scheduler".
func SchedAttr(sc *specs.Scheduler) (*unix.SchedAttr, error) {
	policy, ok := schedPolicies[sc.Policy]
	if !ok {
		return nil, problem("process.scheduler.policy", "unknown policy %q", sc.Policy)
	}
	attr := &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: policy, Nice: sc.Nice,
		Runtime: sc.Runtime, Deadline: sc.Deadline, Period: sc.Period}
	for i, f := range sc.Flags {
		v, ok := schedFlags[f]
		if !ok {
			return nil, problem(fmt.Sprintf("process.scheduler.flags[%d]", i), "unknown flag %q", f)
		}
		attr.Flags |= v
	}
	if sc.Nice < -20 || sc.Nice > 19 {
		return nil, problem("process.scheduler.nice", "%d is out of range -20..19", sc.Nice)
	}
	realtime := sc.Policy == specs.SchedFIFO || sc.Policy == specs.SchedRR
	switch {
	case realtime && (sc.Priority < 1 || sc.Priority > 99):
		return nil, problem("process.scheduler.priority", "%d is out of range 1..99 for %s", sc.Priority, sc.Policy)
	case !realtime && sc.Priority != 0:
		return nil, problem("process.scheduler.priority", "must be 0 for %s, not %d", sc.Policy, sc.Priority)
	}
	attr.Priority = uint32(sc.Priority)
	if sc.Policy != specs.SchedDeadline {
		if sc.Runtime != 0 || sc.Deadline != 0 || sc.Period != 0 {
			return nil, problem("process.scheduler", "runtime, deadline and period are for SCHED_DEADLINE only, not %s", sc.Policy)
		}
		return attr, nil
	}
	// The kernel's own rules (__checkparam_dl), told in the config's words.
	switch {
	case sc.Runtime < 1024:
		return nil, problem("process.scheduler.runtime", "SCHED_DEADLINE needs a runtime of at least 1024ns, not %d", sc.Runtime)
	case sc.Deadline < sc.Runtime:
		return nil, problem("process.scheduler.deadline", "%d is less than the runtime %d", sc.Deadline, sc.Runtime)
	case sc.Period != 0 && sc.Period < sc.Deadline:
		return nil, problem("process.scheduler.period", "%d is less than the deadline %d", sc.Period, sc.Deadline)
	}
	return attr, nil
}

func checkScheduler(s *specs.Spec) error {
	if s.Process == nil || s.Process.Scheduler == nil {
		return nil
	}
	_, err := SchedAttr(s.Process.Scheduler)
	return err
}

// ioprio_set(2) values: the class sits above 13 bits of data.
const (
	ioprioClassShift = 13
	ioprioClassRT    = 1
	ioprioClassBE    = 2
	ioprioClassIdle  = 3
)

// IOPrio compiles process.ioPriority into the value of ioprio_set(2).
func IOPrio(p *specs.LinuxIOPriority) (int, error) {
	var class int
	switch p.Class {
	case specs.IOPRIO_CLASS_RT:
		class = ioprioClassRT
	case specs.IOPRIO_CLASS_BE:
		class = ioprioClassBE
	case specs.IOPRIO_CLASS_IDLE:
		class = ioprioClassIdle
	default:
		return 0, problem("process.ioPriority.class", "unknown class %q: want IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE", p.Class)
	}
	if p.Priority < 0 || p.Priority > 7 {
		return 0, problem("process.ioPriority.priority", "%d is out of range 0..7", p.Priority)
	}
	return class<<ioprioClassShift | p.Priority, nil
}

func checkIOPriority(s *specs.Spec) error {
	if s.Process == nil || s.Process.IOPriority == nil {
		return nil
	}
	_, err := IOPrio(s.Process.IOPriority)
	return err
}

// checkExecCPUAffinity checks the CPU lists. The spec makes execCPUAffinity
// apply to processes run by `exec`, never to the container's init, so
// create and run do not apply it.
func checkExecCPUAffinity(s *specs.Spec) error {
	if s.Process == nil {
		return nil
	}
	a := s.Process.ExecCPUAffinity
	if a == nil {
		return nil
	}
	lists := []struct{ name, list string }{{"initial", a.Initial}, {"final", a.Final}}
	for _, l := range lists {
		if _, err := CPUList(l.list); err != nil {
			return problem("process.execCPUAffinity."+l.name, "%v", err)
		}
	}
	return nil
}

// CPUList parses a CPU list such as "0-3,7" into a CPU set.
func CPUList(list string) (*unix.CPUSet, error) {
	var set unix.CPUSet
	maxCPU := len(set) * 64
	mask, err := parseIDList(list, maxCPU)
	if err != nil {
		return nil, err
	}
	for id := range maskIDs(mask) {
		set.Set(id)
	}
	return &set, nil
}

// parseIDList parses a list such as "0-3,7" of ids below limit into a bit
// mask of 64-bit words. An empty list is an empty mask.
func parseIDList(list string, limit int) ([]uint64, error) {
	var mask []uint64
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.Atoi(lo)
		last := first
		if err == nil && isRange {
			last, err = strconv.Atoi(hi)
		}
		switch {
		case err != nil || first < 0 || last < 0:
			return nil, fmt.Errorf("invalid list %q: %q is not a number or a range n-m", list, part)
		case last < first:
			return nil, fmt.Errorf("invalid list %q: range %q goes backwards", list, part)
		case last >= limit:
			return nil, fmt.Errorf("invalid list %q: %d is not below %d", list, last, limit)
		}
		for len(mask) <= last/64 {
			mask = append(mask, 0)
		}
		for id := first; id <= last; id++ {
			mask[id/64] |= 1 << (id % 64)
		}
	}
	return mask, nil
}

// maskIDs yields the ids set in mask, in increasing order.
func maskIDs(mask []uint64) func(func(int) bool) {
	return func(yield func(int) bool) {
		for w, word := range mask {
			for word != 0 {
				b := bits.TrailingZeros64(word)
				if !yield(w*64 + b) {
					return
				}
				word &^= 1 << b
			}
		}
	}
}

// Personality values of personality(2).
const (
	perLinux   = 0x0000
	perLinux32 = 0x0008
)

// Personality compiles linux.personality into the argument of personality(2).
func Personality(p *specs.LinuxPersonality) (uint, error) {
	var v uint
	switch p.Domain {
	case specs.PerLinux:
		v = perLinux
	case specs.PerLinux32:
		v = perLinux32
	default:
		return 0, problem("linux.personality.domain", "unknown domain %q: want LINUX or LINUX32", p.Domain)
	}
	if len(p.Flags) > 0 {
		return 0, problem("linux.personality.flags[0]", "unsupported flag %q: the runtime-spec defines none", p.Flags[0])
	}
	return v, nil
}

func checkPersonality(s *specs.Spec) error {
	if s.Linux.Personality == nil {
		return nil
	}
	_, err := Personality(s.Linux.Personality)
	return err
}

var mpolModes = map[specs.MemoryPolicyModeType]int{
	specs.MpolDefault:            unix.MPOL_DEFAULT,
	specs.MpolPreferred:          unix.MPOL_PREFERRED,
	specs.MpolBind:               unix.MPOL_BIND,
	specs.MpolInterleave:         unix.MPOL_INTERLEAVE,
	specs.MpolLocal:              unix.MPOL_LOCAL,
	specs.MpolPreferredMany:      unix.MPOL_PREFERRED_MANY,
	specs.MpolWeightedInterleave: unix.MPOL_WEIGHTED_INTERLEAVE,
}

var mpolFlags = map[specs.MemoryPolicyFlagType]int{
	specs.MpolFNumaBalancing: unix.MPOL_F_NUMA_BALANCING,
	specs.MpolFRelativeNodes: unix.MPOL_F_RELATIVE_NODES,
	specs.MpolFStaticNodes:   unix.MPOL_F_STATIC_NODES,
}

// maxNumaNodes bounds node ids in linux.memoryPolicy.nodes (the kernel's
// MAX_NUMNODES is at most 1024).
const maxNumaNodes = 1024

// MemPolicy compiles linux.memoryPolicy into the arguments of
// set_mempolicy(2): the mode with its flags, and the node mask (nil for none).
func MemPolicy(p *specs.LinuxMemoryPolicy) (int, []uint64, error) {
	mode, ok := mpolModes[p.Mode]
	if !ok {
		return 0, nil, problem("linux.memoryPolicy.mode", "unknown mode %q", p.Mode)
	}
	mask, err := parseIDList(p.Nodes, maxNumaNodes)
	if err != nil {
		return 0, nil, problem("linux.memoryPolicy.nodes", "%v", err)
	}
	empty := !slices.ContainsFunc(mask, func(w uint64) bool { return w != 0 })
	switch p.Mode {
	case specs.MpolDefault, specs.MpolLocal:
		if !empty {
			return 0, nil, problem("linux.memoryPolicy.nodes", "%s takes no nodes, not %q", p.Mode, p.Nodes)
		}
	case specs.MpolBind, specs.MpolInterleave, specs.MpolWeightedInterleave, specs.MpolPreferredMany:
		if empty {
			return 0, nil, problem("linux.memoryPolicy.nodes", "%s needs at least one node", p.Mode)
		}
	}
	flags := 0
	for i, f := range p.Flags {
		v, ok := mpolFlags[f]
		if !ok {
			return 0, nil, problem(fmt.Sprintf("linux.memoryPolicy.flags[%d]", i), "unknown flag %q", f)
		}
		flags |= v
	}
	switch {
	case flags&unix.MPOL_F_STATIC_NODES != 0 && flags&unix.MPOL_F_RELATIVE_NODES != 0:
		return 0, nil, problem("linux.memoryPolicy.flags", "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other")
	case flags&unix.MPOL_F_NUMA_BALANCING != 0 && p.Mode != specs.MpolBind && p.Mode != specs.MpolPreferredMany:
		return 0, nil, problem("linux.memoryPolicy.flags", "MPOL_F_NUMA_BALANCING goes with MPOL_BIND or MPOL_PREFERRED_MANY only, not %s", p.Mode)
	}
	if empty {
		mask = nil
	}
	return mode | flags, mask, nil
}

func checkMemoryPolicy(s *specs.Spec) error {
	if s.Linux.MemoryPolicy == nil {
		return nil
	}
	_, _, err := MemPolicy(s.Linux.MemoryPolicy)
	return err
}

// ipcSysctls are the sysctls of the IPC namespace outside fs.mqueue.*
// (runc's list).
var ipcSysctls = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
	"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
	"kernel.msg_next_id": true, "kernel.sem_next_id": true, "kernel.shm_next_id": true,
}

// checkSysctl accepts only sysctls of a namespace the container does not
// share with the host (as runc does): a write to any other would change the
// host. Keys are checked in sorted order so the error is always the same.
func checkSysctl(s *specs.Spec) error {
	keys := make([]string, 0, len(s.Linux.Sysctl))
	for k := range s.Linux.Sysctl {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		field := "linux.sysctl." + k
		name, ok := sysctlName(k)
		if !ok {
			return problem("linux.sysctl", "invalid key %q", k)
		}
		var ns specs.LinuxNamespaceType
		switch {
		case ipcSysctls[name] || strings.HasPrefix(name, "fs.mqueue."):
			ns = specs.IPCNamespace
		case strings.HasPrefix(name, "net."):
			ns = specs.NetworkNamespace
		case name == "kernel.domainname" && hasNamespace(s, specs.UTSNamespace):
			continue
		case name == "kernel.hostname" && hasNamespace(s, specs.UTSNamespace):
			return problem(field, "set the hostname with the \"hostname\" field instead")
		default:
			return problem(field, "not allowed: the key belongs to no namespace the container can have of its own")
		}
		if shared, err := sharesHostNamespace(s, ns); err != nil {
			return &FieldError{Field: field, Problem: err.Error(), Err: err}
		} else if shared {
			return problem(field, "not allowed without a %s namespace of the container's own", nsWord[ns])
		}
	}
	return nil
}

// sysctlName returns key with dots as separators. As in sysctl(8), a key
// holding '/' has '/' as its separator and dots inside names
// (net/ipv4/conf/eth0.100/forwarding). A key with an empty, "." or ".."
// component is not valid.
func sysctlName(key string) (string, bool) {
	sep := "."
	if strings.Contains(key, "/") {
		sep = "/"
	}
	parts := strings.Split(key, sep)
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return "", false
		}
	}
	return strings.Join(parts, "."), true
}

var nsWord = map[specs.LinuxNamespaceType]string{specs.IPCNamespace: "IPC", specs.NetworkNamespace: "network"}

// sharesHostNamespace reports whether the container would be in the
// runtime's own namespace of type typ: none configured, or one joined by a
// path that is the runtime's own.
func sharesHostNamespace(s *specs.Spec, typ specs.LinuxNamespaceType) (bool, error) {
	ns, ok := namespace(s, typ)
	if !ok {
		return true, nil
	}
	if ns.Path == "" {
		return false, nil
	}
	var own, joined unix.Stat_t
	if err := unix.Stat("/proc/self/ns/"+procNSName[typ], &own); err != nil {
		return false, fmt.Errorf("stat own %s namespace: %w", typ, err)
	}
	if err := unix.Stat(ns.Path, &joined); err != nil {
		return false, fmt.Errorf("stat %s: %w", ns.Path, err)
	}
	return own.Dev == joined.Dev && own.Ino == joined.Ino, nil
}

var procNSName = map[specs.LinuxNamespaceType]string{specs.IPCNamespace: "ipc", specs.NetworkNamespace: "net"}

// checkNetDevices: moving devices needs a network namespace that is not the
// runtime's, and names the kernel accepts.
func checkNetDevices(s *specs.Spec) error {
	devs := s.Linux.NetDevices
	if len(devs) == 0 {
		return nil
	}
	if shared, err := sharesHostNamespace(s, specs.NetworkNamespace); err != nil {
		return &FieldError{Field: "linux.netDevices", Problem: err.Error(), Err: err}
	} else if shared {
		return problem("linux.netDevices", "moving network devices needs a network namespace of the container's own")
	}
	names := make([]string, 0, len(devs))
	for n := range devs {
		names = append(names, n)
	}
	slices.Sort(names)
	taken := map[string]string{}
	for _, n := range names {
		if err := checkDevName(n, false); err != nil {
			return problem("linux.netDevices", "host device %q: %v", n, err)
		}
		to := devs[n].Name
		if to == "" {
			to = n
		}
		if err := checkDevName(to, true); err != nil {
			return problem("linux.netDevices."+n+".name", "%q: %v", to, err)
		}
		if other, dup := taken[to]; dup && !strings.Contains(to, "%") {
			return problem("linux.netDevices."+n+".name", "%q is also the name of %q in the container", to, other)
		}
		taken[to] = n
	}
	return nil
}

// checkDevName applies the kernel's dev_valid_name, and with template its
// rule for a name holding "%d" (one, and no other '%').
func checkDevName(name string, template bool) error {
	switch {
	case name == "" || name == "." || name == "..":
		return errors.New("not a valid interface name")
	case len(name) >= unix.IFNAMSIZ:
		return fmt.Errorf("longer than %d bytes", unix.IFNAMSIZ-1)
	case strings.ContainsAny(name, "/: \t\n\v\f\r"):
		return errors.New("contains '/', ':' or white space")
	}
	if i := strings.IndexByte(name, '%'); i >= 0 {
		if !template || !strings.HasPrefix(name[i:], "%d") || strings.Contains(name[i+2:], "%") {
			return fmt.Errorf("'%%' is only allowed once, as %%d in the container's name")
		}
	}
	return nil
}

// checkIntelRdt: the spec requires an error when no resctrl filesystem is
// mounted. Where there is one, ocirun cannot use it yet.
func checkIntelRdt(s *specs.Spec, root string) error {
	if s.Linux.IntelRdt == nil {
		return nil
	}
	switch {
	case !fsSupported(root, "resctrl"):
		return problem("linux.intelRdt", "this kernel has no resctrl filesystem (Intel RDT)")
	case !fsMounted(root, "resctrl"):
		return problem("linux.intelRdt", "no resctrl filesystem is mounted on this host")
	}
	return problem("linux.intelRdt", "not supported by ocirun yet")
}

// fsSupported reports whether root's /proc/filesystems lists fstype.
func fsSupported(root, fstype string) bool {
	data, _ := os.ReadFile(filepath.Join(root, "proc/filesystems"))
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[len(f)-1] == fstype {
			return true
		}
	}
	return false
}

// fsMounted reports whether root's /proc/self/mountinfo has a mount of fstype.
func fsMounted(root, fstype string) bool {
	data, _ := os.ReadFile(filepath.Join(root, "proc/self/mountinfo"))
	for _, line := range strings.Split(string(data), "\n") {
		if _, after, ok := strings.Cut(line, " - "); ok && strings.HasPrefix(after, fstype+" ") {
			return true
		}
	}
	return false
}

// AppArmorEnabled reports whether the host under root has AppArmor enabled.
func AppArmorEnabled(root string) bool {
	data, err := os.ReadFile(filepath.Join(root, "sys/module/apparmor/parameters/enabled"))
	return err == nil && strings.HasPrefix(string(data), "Y")
}

// SELinuxEnabled reports whether the host under root has SELinux enabled:
// the kernel knows selinuxfs and it is mounted at /sys/fs/selinux.
func SELinuxEnabled(root string) bool {
	if !fsSupported(root, "selinuxfs") {
		return false
	}
	_, err := os.Stat(filepath.Join(root, "sys/fs/selinux/enforce"))
	return err == nil
}

// checkLSM refuses labels the host under root cannot apply, and malformed ones.
func checkLSM(s *specs.Spec, root string) error {
	var proc specs.Process
	if s.Process != nil {
		proc = *s.Process
	}
	if p := proc.ApparmorProfile; p != "" {
		if strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return problem("process.apparmorProfile", "%q contains control characters", p)
		}
		if !AppArmorEnabled(root) {
			return problem("process.apparmorProfile", "AppArmor is not enabled on this host")
		}
	}
	labels := []struct{ field, label string }{
		{"process.selinuxLabel", proc.SelinuxLabel},
		{"linux.mountLabel", s.Linux.MountLabel},
	}
	for _, l := range labels {
		if l.label == "" {
			continue
		}
		if parts := strings.SplitN(l.label, ":", 4); len(parts) < 3 || slices.Contains(parts, "") ||
			strings.ContainsAny(l.label, "\"\n\x00") {
			return problem(l.field, "%q is not an SELinux label user:role:type[:level]", l.label)
		}
		if !SELinuxEnabled(root) {
			return problem(l.field, "SELinux is not enabled on this host")
		}
	}
	return nil
}

// AppArmorExecAttr is what a process writes to its attr/apparmor/exec to
// run its next program under profile.
func AppArmorExecAttr(profile string) string {
	return "exec " + profile
}

// mountLabelTypes are the filesystems that get linux.mountLabel.
var mountLabelTypes = map[string]bool{"tmpfs": true, "mqueue": true, "devpts": true}

// MountLabelOptions returns m's options with the SELinux context label
// added when m is a tmpfs, mqueue or devpts mount that has no context of
// its own. The runtime makes these filesystems with fsconfig(2), which takes
// the value as is: unquoted, commas in MLS categories included.
func MountLabelOptions(m specs.Mount, label string) []string {
	if label == "" || !mountLabelTypes[m.Type] {
		return m.Options
	}
	for _, o := range m.Options {
		k, _, _ := strings.Cut(o, "=")
		if k == "context" || k == "fscontext" || k == "defcontext" || k == "rootcontext" {
			return m.Options
		}
	}
	return append(slices.Clip(m.Options), "context="+label)
}
