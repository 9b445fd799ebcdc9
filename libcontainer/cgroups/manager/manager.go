// Package manager picks a container's cgroup driver and keeps it in the
// container state: fs on cgroup v1 and hybrid hosts, fs2 on cgroup v2
// hosts, systemd when asked for (--systemd-cgroup).
package manager

import (
	"github.com/ocirun/ocirun/libcontainer/cgroups"
	"github.com/ocirun/ocirun/libcontainer/cgroups/fs"
	"github.com/ocirun/ocirun/libcontainer/cgroups/fs2"
	"github.com/ocirun/ocirun/libcontainer/cgroups/systemd"
)

// Handle is the driver of one container as state.json keeps it: exactly
// one field is set.
type Handle struct {
	FS      *fs.Manager      `json:"fs,omitempty"`
	FS2     *fs2.Manager     `json:"fs2,omitempty"`
	Systemd *systemd.Manager `json:"systemd,omitempty"`
}

// Manager returns the driver, or nil when the container has no cgroup.
func (h *Handle) Manager() cgroups.Manager {
	switch {
	case h == nil:
		return nil
	case h.FS != nil:
		return h.FS
	case h.FS2 != nil:
		return h.FS2
	case h.Systemd != nil:
		return h.Systemd
	}
	return nil
}

// New returns the driver for a container's linux.cgroupsPath: a relative
// path nests under ocirun's own cgroup (on v2 under its parent, see fs2),
// an absolute one starts at the hierarchy root, an empty one is derived
// from id; with systemd the path is slice:prefix:name.
func New(cgroupsPath, id string, useSystemd bool) (*Handle, error) {
	if useSystemd {
		m, err := systemd.New(cgroupsPath, id)
		if err != nil {
			return nil, err
		}
		return &Handle{Systemd: m}, nil
	}
	switch cgroups.HostMode() {
	case cgroups.Unified:
		m, err := fs2.New(cgroupsPath, id)
		if err != nil {
			return nil, err
		}
		return &Handle{FS2: m}, nil
	default:
		m, err := fs.New(cgroupsPath, id)
		if err != nil {
			return nil, err
		}
		return &Handle{FS: m}, nil
	}
}

// InitJoined tells the driver that the container's init is in its cgroup
// (the systemd driver then lets go of the scope's holder process).
func (h *Handle) InitJoined() {
	if h != nil && h.Systemd != nil {
		h.Systemd.InitJoined()
	}
}
