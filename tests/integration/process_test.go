package integration

import (
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestArgs(t *testing.T) {
	t.Parallel()
	out := inside(t, func(b *bundle) {
		b.Spec.Process.Args = []string{"/bin/echo", "one", "two words", "", "$HOME"}
	}, "")
	if out != "one two words  $HOME\n" {
		t.Errorf("echo printed %q", out)
	}
}

// TestEnvExact: the process sees exactly the configured environment and
// nothing from the runtime's caller.
func TestEnvExact(t *testing.T) {
	t.Setenv("OCIRUN_IT_CALLER_LEAK", "leaked") // not parallel: it changes our env
	env := []string{"PATH=/bin:/usr/bin", "HOME=/root", "FOO=bar baz", "EMPTY="}
	// env is the init itself: a shell in between would add PWD and SHLVL.
	out := inside(t, func(b *bundle) {
		b.Spec.Process.Env = env
		b.Spec.Process.Args = []string{"env"}
	}, "")
	got := strings.Split(strings.TrimSpace(out), "\n")
	sort.Strings(got)
	want := append([]string(nil), env...)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("env inside:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCwd(t *testing.T) {
	t.Parallel()
	out := inside(t, func(b *bundle) { b.Spec.Process.Cwd = "/home/user" }, `pwd`)
	if out != "/home/user\n" {
		t.Errorf("cwd = %q", out)
	}
}

func TestUserAndGroups(t *testing.T) {
	t.Parallel()
	out := inside(t, func(b *bundle) {
		b.Spec.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 20}}
	}, `grep -E '^(Uid|Gid|Groups):' /proc/self/status`)
	fields := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, ":")
		fields[k] = strings.Fields(v)
	}
	if strings.Join(fields["Uid"], " ") != "1000 1000 1000 1000" || strings.Join(fields["Gid"], " ") != "1000 1000 1000 1000" {
		t.Errorf("ids: %q", out)
	}
	groups := fields["Groups"]
	sort.Strings(groups)
	if strings.Join(groups, " ") != "10 20" {
		t.Errorf("supplementary groups %v, want exactly 10 20", groups)
	}
}

func TestUmask(t *testing.T) {
	t.Parallel()
	mask := uint32(0o027)
	out := inside(t, func(b *bundle) { b.Spec.Process.User.Umask = &mask }, `umask`)
	if strings.TrimSpace(out) != "0027" {
		t.Errorf("umask = %q", out)
	}
}

func TestHostname(t *testing.T) {
	t.Parallel()
	out := inside(t, func(b *bundle) { b.Spec.Hostname = "box" }, `hostname; cat /proc/sys/kernel/hostname`)
	if out != "box\nbox\n" {
		t.Errorf("hostname = %q", out)
	}
}

// TestDomainname: runc 1.1 ignores the domainname field (support came in
// runc 1.2), so it fails this test; see README.md.
func TestDomainname(t *testing.T) {
	t.Parallel()
	out := inside(t, func(b *bundle) { b.Spec.Domainname = "example.org" }, `cat /proc/sys/kernel/domainname`)
	if out != "example.org\n" {
		t.Errorf("domainname = %q", out)
	}
}

func TestRlimits(t *testing.T) {
	t.Parallel()
	out := inside(t, func(b *bundle) {
		b.Spec.Process.Rlimits = []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 123, Hard: 456},
			{Type: "RLIMIT_NPROC", Soft: 777, Hard: 888},
		}
	}, `grep -E '^Max (open files|processes)' /proc/self/limits`)
	want := map[string]string{"Max open files": "123 456", "Max processes": "777 888"}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		name := strings.Join(f[:len(f)-3], " ")
		if w, ok := want[name]; ok {
			if got := f[len(f)-3] + " " + f[len(f)-2]; got != w {
				t.Errorf("%s = %s, want %s", name, got, w)
			}
			delete(want, name)
		}
	}
	for name := range want {
		t.Errorf("no %q in /proc/self/limits: %q", name, out)
	}
}

func TestOOMScoreAdj(t *testing.T) {
	t.Parallel()
	adj := 345
	out := inside(t, func(b *bundle) { b.Spec.Process.OOMScoreAdj = &adj }, `cat /proc/self/oom_score_adj`)
	if strings.TrimSpace(out) != "345" {
		t.Errorf("oom_score_adj = %q", out)
	}
}

// TestStdioPassthrough: with terminal false the process writes to the
// caller's stdout and stderr, and the runtime adds nothing on success.
func TestStdioPassthrough(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) { b.script(`echo out; echo err >&2`) })
	res := b.runFg()
	if res.Code != 0 || res.Stdout != "out\n" || res.Stderr != "err\n" {
		t.Errorf("stdio: %s", res)
	}
}
