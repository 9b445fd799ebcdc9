package libcontainer

// The bootstrap protocol between the parent (`ocirun create`, Go) and the C
// constructor in nsenter/ that runs in `ocirun init` before the Go runtime.
// It travels over the init pipe: a SOCK_STREAM socketpair whose child end
// number is in the environment variable _OCIRUN_INITPIPE.
//
//	direction  message                               meaning
//	---------  ------------------------------------  -------------------------------------------
//	P -> C     u32 N, N bytes of attributes          the bootstrap record (attributes below)
//	C -> P     'U'                                   "I have unshared CLONE_NEWUSER: write my
//	                                                 setgroups/uid_map/gid_map" (pid = the
//	                                                 intermediate, i.e. the process P started)
//	P -> C     'u'                                   maps written, go on
//	C -> P     'P' i32 pid                           the container init, as a pid in P's pid
//	                                                 namespace; the intermediate then exits 0
//	C -> P     'E' u32 N, N bytes                    fatal error text; the sender exits 1
//	P -> init  u32 N, N bytes of JSON                initConfig, read by Go in the final child
//
// Attributes of the bootstrap record, each: u16 type, u16 0, u32 len, len bytes
// (native endian, no padding):
//
//	type  name            value
//	----  --------------  ------------------------------------------------------------
//	1     cloneFlags      u32: CLONE_NEW* namespaces to create
//	2     nsPath          u32 CLONE_NEW* type, then the path (no NUL): join it with setns;
//	                      repeated, joined in record order (the user namespace first)
//	3     timensOffsets   written verbatim to /proc/self/timens_offsets after unshare
//	4     oomScoreAdj     written verbatim to /proc/self/oom_score_adj before any unshare
//	5     cgroupTasks     a cgroup v1 `tasks` file: the intermediate writes "0" to it (moving
//	                      itself, which is cheap: see cgroups.Manager.Placement); repeated
//	6     cgroupDir       a cgroup2 directory: the init is cloned into it (CLONE_INTO_CGROUP)
//
// The cgroup steps come first, before any setns: the paths are the host's.
// CLONE_NEWCGROUP is unshared by the init itself right after the clone, so the
// namespace is rooted at the container's cgroup in every hierarchy; should
// that fail, the init sends 'E' and the parent finds it after the sync
// socket's end of file.
//
// Integers are little-endian on every architecture we build for (x86_64, arm64).

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const (
	attrCloneFlags    = 1
	attrNsPath        = 2
	attrTimensOffsets = 3
	attrOomScoreAdj   = 4
	attrCgroupTasks   = 5
	attrCgroupDir     = 6
)

// namespaceFlag maps the runtime-spec namespace type to its CLONE_NEW* flag.
var namespaceFlag = map[specs.LinuxNamespaceType]uint32{
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.TimeNamespace:    unix.CLONE_NEWTIME,
}

type bootstrapRecord struct{ buf []byte }

func (b *bootstrapRecord) attr(typ uint16, val []byte) {
	b.buf = binary.LittleEndian.AppendUint16(b.buf, typ)
	b.buf = binary.LittleEndian.AppendUint16(b.buf, 0)
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(len(val)))
	b.buf = append(b.buf, val...)
}

// bytes returns the record framed with its length, ready to write.
func (b *bootstrapRecord) bytes() []byte {
	out := binary.LittleEndian.AppendUint32(nil, uint32(len(b.buf)))
	return append(out, b.buf...)
}

// encodeBootstrap builds the bootstrap record for a container's init from the
// (already validated) spec and the cgroup placement.
func encodeBootstrap(s *specs.Spec, cgroupTasks []string, cgroupDir string) []byte {
	var rec bootstrapRecord
	for _, t := range cgroupTasks {
		rec.attr(attrCgroupTasks, []byte(t))
	}
	if cgroupDir != "" {
		rec.attr(attrCgroupDir, []byte(cgroupDir))
	}
	var create uint32
	var joins []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Path == "" {
			create |= namespaceFlag[ns.Type]
			continue
		}
		if ns.Type == specs.UserNamespace {
			joins = append([]specs.LinuxNamespace{ns}, joins...)
		} else {
			joins = append(joins, ns)
		}
	}
	rec.attr(attrCloneFlags, binary.LittleEndian.AppendUint32(nil, create))
	for _, ns := range joins {
		v := binary.LittleEndian.AppendUint32(nil, namespaceFlag[ns.Type])
		rec.attr(attrNsPath, append(v, ns.Path...))
	}
	if create&unix.CLONE_NEWTIME != 0 && len(s.Linux.TimeOffsets) > 0 {
		rec.attr(attrTimensOffsets, []byte(timensOffsets(s.Linux.TimeOffsets)))
	}
	if s.Process != nil && s.Process.OOMScoreAdj != nil {
		rec.attr(attrOomScoreAdj, []byte(fmt.Sprint(*s.Process.OOMScoreAdj)))
	}
	return rec.bytes()
}

// timensOffsets renders linux.timeOffsets in the format of
// /proc/PID/timens_offsets ("<clock> <secs> <nanosecs>" per line).
func timensOffsets(offs map[string]specs.LinuxTimeOffset) string {
	var sb strings.Builder
	for _, clock := range []string{"monotonic", "boottime"} {
		if o, ok := offs[clock]; ok {
			fmt.Fprintf(&sb, "%s %d %d\n", clock, o.Secs, o.Nanosecs)
		}
	}
	return sb.String()
}

// idMap renders uidMappings/gidMappings in the format of /proc/PID/uid_map.
func idMap(m []specs.LinuxIDMapping) []byte {
	var sb strings.Builder
	for _, e := range m {
		fmt.Fprintf(&sb, "%d %d %d\n", e.ContainerID, e.HostID, e.Size)
	}
	return []byte(sb.String())
}

// writeIDMaps answers the C stage's 'U' message: it writes the user namespace
// maps of process pid. setgroups is left as the kernel has it ("allow") since
// we are privileged in the parent namespace.
func writeIDMaps(pid int, s *specs.Spec) error {
	if len(s.Linux.GIDMappings) == 0 && len(s.Linux.UIDMappings) == 0 {
		return nil
	}
	// Through a procfs handle of our own, checked against overmounts,
	// rather than whatever is mounted at /proc.
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return fmt.Errorf("open procfs: %w", err)
	}
	defer proc.Close()
	for _, m := range []struct {
		file string
		maps []specs.LinuxIDMapping
	}{{"gid_map", s.Linux.GIDMappings}, {"uid_map", s.Linux.UIDMappings}} {
		if len(m.maps) == 0 {
			continue
		}
		if err := writePidFile(proc, pid, m.file, idMap(m.maps)); err != nil {
			return fmt.Errorf("write %s: %w", m.file, err)
		}
	}
	return nil
}

// writePidFile writes data to /proc/<pid>/<file> through proc.
func writePidFile(proc *procfs.Handle, pid int, file string, data []byte) error {
	h, err := proc.OpenPid(pid, file)
	if err != nil {
		return err
	}
	return writeProcHandle(h, data)
}
