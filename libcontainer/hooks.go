package libcontainer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// hookKind names a hook list of the runtime-spec.
type hookKind string

const (
	hookPrestart        hookKind = "prestart"
	hookCreateRuntime   hookKind = "createRuntime"
	hookCreateContainer hookKind = "createContainer"
	hookStartContainer  hookKind = "startContainer"
	hookPoststart       hookKind = "poststart"
	hookPoststop        hookKind = "poststop"
)

func hookList(h *specs.Hooks, kind hookKind) []specs.Hook {
	if h == nil {
		return nil
	}
	switch kind {
	case hookPrestart:
		return h.Prestart //nolint:staticcheck // deprecated in the spec, still honoured
	case hookCreateRuntime:
		return h.CreateRuntime
	case hookCreateContainer:
		return h.CreateContainer
	case hookStartContainer:
		return h.StartContainer
	case hookPoststart:
		return h.Poststart
	case hookPoststop:
		return h.Poststop
	}
	return nil
}

// runHooks runs the hooks of one kind in order, each with the state JSON on
// its stdin, stopping at the first failure.
func runHooks(h *specs.Hooks, kind hookKind, st *specs.State) error {
	hooks := hookList(h, kind)
	if len(hooks) == 0 {
		return nil
	}
	stateJSON, err := json.Marshal(st)
	if err != nil {
		return err
	}
	for i, hook := range hooks {
		if err := runHook(hook, stateJSON); err != nil {
			return fmt.Errorf("run %s hook #%d (%s): %w", kind, i, hook.Path, err)
		}
	}
	return nil
}

// runHooksWarn runs every hook of kind even when some fail, each failure
// being a warning: what runtime.md asks of poststop hooks ("the remaining
// hooks and lifecycle continue as if the hook had succeeded").
func runHooksWarn(h *specs.Hooks, kind hookKind, st *specs.State) {
	hooks := hookList(h, kind)
	if len(hooks) == 0 {
		return
	}
	stateJSON, err := json.Marshal(st)
	if err != nil {
		slog.Warn(fmt.Sprintf("run %s hooks: %v", kind, err))
		return
	}
	for i, hook := range hooks {
		if err := runHook(hook, stateJSON); err != nil {
			slog.Warn(fmt.Sprintf("run %s hook #%d (%s): %v", kind, i, hook.Path, err))
		}
	}
}

func runHook(h specs.Hook, stateJSON []byte) error {
	ctx := context.Background()
	if h.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdin = bytes.NewReader(stateJSON)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Do not wait for grandchildren that keep the output pipe open.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	if err != nil {
		if msg := strings.TrimSpace(out.String()); msg != "" {
			return fmt.Errorf("%w: %s", err, oneLine(msg))
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee
		}
		return err
	}
	return nil
}

// oneLine folds output into a single bounded line for an error message.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	return s
}
