package specutil

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ocirun/ocirun/libcontainer/capabilities"
)

// invalidID is (uid_t)-1: setresuid/setresgid take it to mean "leave this id
// unchanged", so a process configured with it would keep running as root.
const invalidID = math.MaxUint32

// checkIdentity checks who the process will be: its ids and groups, its
// capability sets and its OOM score adjustment. Values beyond uint32 (or
// negative) never get here: Load rejects them as a field of the wrong type.
// process.user.username is a Windows field and is ignored, as runc does.
func checkIdentity(s *specs.Spec, _ string) error {
	if s.Process == nil {
		return nil
	}
	u := s.Process.User
	if u.UID == invalidID {
		return problem("process.user.uid", "%d is (uid_t)-1, which is not a valid uid", u.UID)
	}
	if u.GID == invalidID {
		return problem("process.user.gid", "%d is (gid_t)-1, which is not a valid gid", u.GID)
	}
	for i, g := range u.AdditionalGids {
		if g == invalidID {
			return problem(fmt.Sprintf("process.user.additionalGids[%d]", i), "%d is (gid_t)-1, which is not a valid gid", g)
		}
	}
	if err := checkUserMapped(s); err != nil {
		return err
	}
	if err := checkCapabilities(s.Process.Capabilities); err != nil {
		return err
	}
	if adj := s.Process.OOMScoreAdj; adj != nil && (*adj < -1000 || *adj > 1000) {
		return problem("process.oomScoreAdj", "%d is out of range [-1000, 1000]", *adj)
	}
	return nil
}

// checkUserMapped: in a new user namespace the process's ids must be mapped,
// or setresuid/setresgid/setgroups fail with a bare EINVAL.
func checkUserMapped(s *specs.Spec) error {
	userns, ok := namespace(s, specs.UserNamespace)
	if !ok || userns.Path != "" {
		return nil // no user namespace, or a joined one whose maps we cannot see here
	}
	// Missing mappings are checkIDMappings' to report.
	u, uids, gids := s.Process.User, s.Linux.UIDMappings, s.Linux.GIDMappings
	if len(uids) > 0 && !idMapped(uids, u.UID) {
		return problem("process.user.uid", "%d is not mapped in linux.uidMappings", u.UID)
	}
	if len(gids) == 0 {
		return nil
	}
	if !idMapped(gids, u.GID) {
		return problem("process.user.gid", "%d is not mapped in linux.gidMappings", u.GID)
	}
	for i, g := range u.AdditionalGids {
		if !idMapped(gids, g) {
			return problem(fmt.Sprintf("process.user.additionalGids[%d]", i), "%d is not mapped in linux.gidMappings", g)
		}
	}
	return nil
}

func idMapped(maps []specs.LinuxIDMapping, id uint32) bool {
	for _, m := range maps {
		if uint64(id) >= uint64(m.ContainerID) && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return true
		}
	}
	return false
}

// checkCapabilities: every name known, and the sets consistent in the ways
// capset(2) insists on (effective within permitted, inheritable within
// bounding), so that a mistake is named here rather than an EPERM later.
// An ambient capability that is not also inheritable and permitted is not
// an error: the kernel cannot raise it, and runc's default spec asks for
// exactly that; it is left out, as in runc.
func checkCapabilities(pc *specs.LinuxCapabilities) error {
	c, err := capabilities.New(pc)
	var fe *capabilities.FieldError
	if errors.As(err, &fe) {
		return problem("process.capabilities."+fe.Field, "%s", fe.Problem)
	} else if err != nil {
		return &FieldError{Field: "process.capabilities", Problem: err.Error(), Err: err}
	}
	if extra := c.Effective &^ c.Permitted; extra != 0 {
		return problem("process.capabilities.effective", "%s not in permitted", strings.Join(extra.Names(), ", "))
	}
	if extra := c.Inheritable &^ c.Bounding; extra != 0 {
		return problem("process.capabilities.inheritable", "%s not in bounding", strings.Join(extra.Names(), ", "))
	}
	return nil
}
