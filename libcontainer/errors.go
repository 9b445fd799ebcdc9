package libcontainer

import "errors"

// Sentinel errors. Their texts are matched by container managers (containerd,
// CRI-O, podman match runc's words), so they must not change.
var (
	ErrNotExist   = errors.New("container does not exist")
	ErrNotRunning = errors.New("container not running")
	ErrExist      = errors.New("container with given ID already exists")
)
