package libcontainer

// The LSM labels of the container: process.apparmorProfile and
// process.selinuxLabel become the label of init's next execve (the user
// process) through /proc/thread-self/attr; linux.mountLabel becomes the
// SELinux context of the container's tmpfs, mqueue and devpts mounts.
// specutil refuses them up front on a host without the LSM.

import (
	"errors"
	"fmt"
	"os"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"github.com/ocirun/ocirun/libcontainer/specutil"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// labelMounts adds linux.mountLabel to the mounts that take it, in init's
// own copy of the spec, before the root filesystem is built.
func labelMounts(s *specs.Spec) {
	for i := range s.Mounts {
		s.Mounts[i].Options = specutil.MountLabelOptions(s.Mounts[i], s.Linux.MountLabel)
	}
}

// applyExecLabels sets the AppArmor profile and SELinux label that the
// kernel gives init's next execve. It runs as runc does: before seccomp, the
// user switch and the capabilities; init execs nothing of its own after it
// (startContainer hooks run "in the container" and get the label too, as
// with runc). The files are reached through a procfs handle of our own, not
// the container's /proc, which the image or a racing mount could redirect
// (CVE-2019-16884).
func applyExecLabels(p *specs.Process) error {
	if p.ApparmorProfile == "" && p.SelinuxLabel == "" {
		return nil
	}
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return fmt.Errorf("open procfs: %w", err)
	}
	defer proc.Close()
	if p.ApparmorProfile != "" {
		// attr/apparmor/exec since Linux 5.8 (LSM stacking); attr/exec before.
		err := writeThreadSelf(proc, "attr/apparmor/exec", specutil.AppArmorExecAttr(p.ApparmorProfile))
		if errors.Is(err, os.ErrNotExist) {
			err = writeThreadSelf(proc, "attr/exec", specutil.AppArmorExecAttr(p.ApparmorProfile))
		}
		if err != nil {
			return fmt.Errorf("set AppArmor profile %q: %w", p.ApparmorProfile, err)
		}
	}
	if p.SelinuxLabel != "" {
		if err := writeThreadSelf(proc, "attr/exec", p.SelinuxLabel); err != nil {
			return fmt.Errorf("set SELinux label %q: %w", p.SelinuxLabel, err)
		}
	}
	return nil
}

// writeThreadSelf writes value to /proc/thread-self/<subpath> of the calling
// thread, which must be the one that will execve (init's locked main thread).
func writeThreadSelf(proc *procfs.Handle, subpath, value string) error {
	h, closer, err := proc.OpenThreadSelf(subpath)
	if err != nil {
		return err
	}
	defer closer()
	defer h.Close()
	f, err := pathrs.Reopen(h, unix.O_WRONLY|unix.O_CLOEXEC)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
