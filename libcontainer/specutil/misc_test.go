package specutil

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	good := []struct {
		in   string
		want unix.Signal
	}{
		{"TERM", unix.SIGTERM},
		{"SIGTERM", unix.SIGTERM},
		{"15", unix.SIGTERM},
		{"sigkill", unix.SIGKILL},
		{"kill", unix.SIGKILL},
		{"SigHup", unix.SIGHUP},
		{"9", unix.SIGKILL},
		{"64", unix.Signal(64)},
		{"WINCH", unix.SIGWINCH},
		{"RTMIN", unix.Signal(34)},
		{"RTMIN+3", unix.Signal(37)},
		{"SIGRTMIN+3", unix.Signal(37)},
		{"rtmax-1", unix.Signal(63)},
		{"RTMAX", unix.Signal(64)},
	}
	for _, tc := range good {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSignal(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("ParseSignal(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
	for _, in := range []string{"FOO", "", "0", "-1", "65", "SIG", "RTMIN+31", "RTMAX+1", "RTMIN-1", "RTMIN+", "RTMIN++1", "TERM2"} {
		t.Run("bad "+in, func(t *testing.T) {
			got, err := ParseSignal(in)
			if err == nil || err.Error() != `unknown signal "`+in+`"` {
				t.Fatalf("ParseSignal(%q) = %v, %v; want unknown signal error", in, got, err)
			}
		})
	}
}

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "abc-DEF_0.9+x", "..a", strings.Repeat("x", 1024)} {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q): %v, want nil", id, err)
		}
	}
	bad := []struct{ name, id, want string }{
		{"empty", "", "must not be empty"},
		{"dot", ".", `must not be "." or ".."`},
		{"dotdot", "..", `must not be "." or ".."`},
		{"slash", "a/b", `invalid container id "a/b": must not contain "/"`},
		{"space", "a b", `found " " at byte 1`},
		{"colon", "a:b", `found ":" at byte 1`},
		{"unicode", "é", "must contain only [A-Za-z0-9_+.-]"},
		{"too long", strings.Repeat("x", 1025), "at most 1024 bytes"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateID(tc.id)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ValidateID(%q): %v, want %q", tc.id, err, tc.want)
			}
		})
	}
}

func TestRlimitResource(t *testing.T) {
	// Every resource must be distinct and accepted by the kernel's getrlimit.
	names := []string{"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE",
		"RLIMIT_LOCKS", "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE",
		"RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"}
	seen := map[int]string{}
	for _, n := range names {
		r, err := RlimitResource(n)
		if err != nil {
			t.Fatalf("RlimitResource(%q): %v", n, err)
		}
		if other, dup := seen[r]; dup {
			t.Fatalf("%s and %s both map to %d", n, other, r)
		}
		seen[r] = n
		var lim unix.Rlimit
		if err := unix.Getrlimit(r, &lim); err != nil {
			t.Fatalf("getrlimit(%s=%d): %v", n, r, err)
		}
	}
	if r, _ := RlimitResource("RLIMIT_NOFILE"); r != unix.RLIMIT_NOFILE {
		t.Fatalf("RLIMIT_NOFILE maps to %d", r)
	}
	if _, err := RlimitResource("RLIMIT_nofile"); err == nil {
		t.Fatal("lower-case rlimit type accepted")
	}
}
