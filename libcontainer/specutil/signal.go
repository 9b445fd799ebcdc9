package specutil

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Real-time signal bounds as the C library and kill(1) number them (glibc
// keeps 32 and 33 for itself).
const (
	sigRTMin = 34
	sigRTMax = 64
)

// ParseSignal accepts a signal as a number ("15"), a name with or without
// the SIG prefix in any case ("TERM", "SIGTERM", "sigkill"), or a real-time
// signal as "RTMIN", "RTMIN+n", "RTMAX-n", "RTMAX".
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > sigRTMax {
			return 0, fmt.Errorf("unknown signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if sig := unix.SignalNum("SIG" + name); sig != 0 {
		return sig, nil
	}
	if n, ok := realtimeSignal(name); ok {
		return unix.Signal(n), nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

func realtimeSignal(name string) (int, bool) {
	base, sign := 0, 1
	rest := ""
	switch {
	case strings.HasPrefix(name, "RTMIN"):
		base, rest = sigRTMin, strings.TrimPrefix(name, "RTMIN")
	case strings.HasPrefix(name, "RTMAX"):
		base, rest, sign = sigRTMax, strings.TrimPrefix(name, "RTMAX"), -1
	default:
		return 0, false
	}
	if rest == "" {
		return base, true
	}
	want := "+"
	if sign < 0 {
		want = "-"
	}
	if !strings.HasPrefix(rest, want) {
		return 0, false
	}
	off, err := strconv.Atoi(rest[1:])
	if err != nil || off < 0 || rest[1] == '+' || rest[1] == '-' {
		return 0, false
	}
	n := base + sign*off
	if n < sigRTMin || n > sigRTMax {
		return 0, false
	}
	return n, true
}
