// Package rootfs builds a container's root filesystem from inside `ocirun
// init`: mount propagation, the config's mounts, device nodes, pivot_root,
// the console, and the final read-only/masked paths.
//
// Every path inside the rootfs is resolved with pathrs-lite (openat2
// RESOLVE_IN_ROOT or its emulation) and mounts target the resolved handle
// through /proc/self/fd/N, never a joined string path.
package rootfs

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// MountOptions is the compiled form of a mount's option list.
type MountOptions struct {
	// Flags are MS_* flags to set on mount(2).
	Flags uintptr
	// ClearFlags are MS_* flags the options explicitly turn off (rw, suid,
	// dev, exec, ...). They matter when preserving flags of an existing
	// mount on remount.
	ClearFlags uintptr
	// Propagation holds MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (maybe
	// with MS_REC), applied one by one after the mount exists.
	Propagation []uintptr
	// RecAttr is applied with mount_setattr(AT_RECURSIVE) after mounting;
	// nil when no recursive option (rro, rnosuid, ...) was given.
	RecAttr *unix.MountAttr
	// Data is the comma-joined list of options that are not flags,
	// passed to the filesystem; DataOpts holds them one by one.
	Data     string
	DataOpts []string
	// IDMap asks for an id-mapped mount (idmap); RecursiveIDMap for the
	// whole tree (ridmap). The mapping comes from the mount's own
	// uidMappings/gidMappings or the container's user namespace.
	IDMap, RecursiveIDMap bool
	// TmpCopyUp copies the destination's original content into the new
	// tmpfs (tmpcopyup).
	TmpCopyUp bool
}

// IsBind reports whether the options ask for a bind mount.
func (o MountOptions) IsBind() bool { return o.Flags&unix.MS_BIND != 0 }

type flagOpt struct {
	clear bool
	flag  uintptr
}

var mountFlags = map[string]flagOpt{
	"async":         {true, unix.MS_SYNCHRONOUS},
	"atime":         {true, unix.MS_NOATIME},
	"bind":          {false, unix.MS_BIND},
	"defaults":      {false, 0},
	"dev":           {true, unix.MS_NODEV},
	"diratime":      {true, unix.MS_NODIRATIME},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"exec":          {true, unix.MS_NOEXEC},
	"iversion":      {false, unix.MS_I_VERSION},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"loud":          {true, unix.MS_SILENT},
	"mand":          {false, unix.MS_MANDLOCK},
	"noatime":       {false, unix.MS_NOATIME},
	"nodev":         {false, unix.MS_NODEV},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"noexec":        {false, unix.MS_NOEXEC},
	"noiversion":    {true, unix.MS_I_VERSION},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"nomand":        {true, unix.MS_MANDLOCK},
	"norelatime":    {true, unix.MS_RELATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"nosuid":        {false, unix.MS_NOSUID},
	"nosymfollow":   {false, unix.MS_NOSYMFOLLOW},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
	"relatime":      {false, unix.MS_RELATIME},
	"remount":       {false, unix.MS_REMOUNT},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"silent":        {false, unix.MS_SILENT},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"suid":          {true, unix.MS_NOSUID},
	"symfollow":     {true, unix.MS_NOSYMFOLLOW},
	"sync":          {false, unix.MS_SYNCHRONOUS},
}

var propagationFlags = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// recAttrOpt is one recursive option: MOUNT_ATTR_* bits to set and to clear.
// The atime setting is an enum inside MOUNT_ATTR__ATIME, so changing it
// clears the whole field and sets the new value (relatime is 0).
type recAttrOpt struct{ set, clr uint64 }

const atimeField = unix.MOUNT_ATTR__ATIME

var recAttrFlags = map[string]recAttrOpt{
	"rro":            {set: unix.MOUNT_ATTR_RDONLY},
	"rrw":            {clr: unix.MOUNT_ATTR_RDONLY},
	"rnosuid":        {set: unix.MOUNT_ATTR_NOSUID},
	"rsuid":          {clr: unix.MOUNT_ATTR_NOSUID},
	"rnodev":         {set: unix.MOUNT_ATTR_NODEV},
	"rdev":           {clr: unix.MOUNT_ATTR_NODEV},
	"rnoexec":        {set: unix.MOUNT_ATTR_NOEXEC},
	"rexec":          {clr: unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":    {set: unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":      {clr: unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow":   {set: unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rsymfollow":     {clr: unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rrelatime":      {set: unix.MOUNT_ATTR_RELATIME, clr: atimeField},
	"rnoatime":       {set: unix.MOUNT_ATTR_NOATIME, clr: atimeField},
	"rstrictatime":   {set: unix.MOUNT_ATTR_STRICTATIME, clr: atimeField},
	"ratime":         {set: unix.MOUNT_ATTR_RELATIME, clr: atimeField}, // the kernel default
	"rnostrictatime": {set: unix.MOUNT_ATTR_RELATIME, clr: atimeField}, // the kernel default
	"rnorelatime":    {},                                               // no-op, as in runc
}

// ParseMountOptions compiles a spec mount's options. It is pure: flags to
// set and clear, propagation changes, recursive attributes and the data
// string. Options that are not flags become data; an option that looks like
// a recursive variant of a flag ("r" + a known flag name) but is not a
// supported recursive attribute is an error. idmap, ridmap and tmpcopyup
// are runtime extensions and never reach the filesystem.
func ParseMountOptions(opts []string) (MountOptions, error) {
	var (
		mo   MountOptions
		data []string
	)
	for _, o := range opts {
		if o == "" {
			continue
		}
		if f, ok := mountFlags[o]; ok {
			if f.clear {
				mo.Flags &^= f.flag
				mo.ClearFlags |= f.flag
			} else {
				mo.Flags |= f.flag
				mo.ClearFlags &^= f.flag
			}
			continue
		}
		if p, ok := propagationFlags[o]; ok {
			mo.Propagation = append(mo.Propagation, p)
			continue
		}
		if a, ok := recAttrFlags[o]; ok {
			if mo.RecAttr == nil {
				mo.RecAttr = &unix.MountAttr{}
			}
			// A later option wins over an earlier one on the same bits.
			mo.RecAttr.Attr_set = mo.RecAttr.Attr_set&^a.clr | a.set
			mo.RecAttr.Attr_clr = mo.RecAttr.Attr_clr&^a.set | a.clr
			continue
		}
		switch o {
		case "idmap":
			mo.IDMap = true
			continue
		case "ridmap":
			mo.IDMap, mo.RecursiveIDMap = true, true
			continue
		case "tmpcopyup":
			mo.TmpCopyUp = true
			continue
		}
		if rest, ok := strings.CutPrefix(o, "r"); ok {
			if _, isFlag := mountFlags[rest]; isFlag {
				return MountOptions{}, fmt.Errorf("parse mount option %q: no recursive form of %q", o, rest)
			}
		}
		data = append(data, o)
	}
	mo.Data = strings.Join(data, ",")
	mo.DataOpts = data
	return mo, nil
}
