package integration

// Process identity and fd hygiene, read from inside the container (its own
// /proc/<pid>/status, limits, fds) and from the host (ownership of the
// init's /proc files). Inspired by CVE-2016-9962 (a dumpable runtime
// process), CVE-2022-29162 (inheritable capabilities), CVE-2024-21626 (a
// leaked fd as the working directory) and a crun bug where `exec --user 1`
// ran as root. Where the caller matters, the runtime is started with extra
// ambient/inheritable capabilities, supplementary groups, environment
// variables or fds leaked without O_CLOEXEC, none of which may reach the
// container.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// secCaller adjusts how the test starts the runtime: credentials, ambient
// capabilities, environment, leaked fds.
type secCaller func(c *exec.Cmd)

// secRuntime runs the runtime with args as started by caller; output goes to
// files in dir (for `create`, the container's output lands there too).
func secRuntime(t *testing.T, r *rt, dir string, caller secCaller, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdLimit)
	defer cancel()
	c := r.cmd(ctx, args...)
	if caller != nil {
		caller(c)
	}
	return runToFiles(t, c, dir)
}

// secRunFg is `run` in the foreground, started by caller.
func secRunFg(b *bundle, caller secCaller, extra ...string) result {
	b.t.Helper()
	return secRuntime(b.t, b.rt, b.t.TempDir(), caller, append(append([]string{"run", "--bundle", b.Dir}, extra...), b.ID)...)
}

// secStart runs the container with `run`, or with `create` (started by
// caller) and `start`, and returns its stdout.
func secStart(b *bundle, how string, caller secCaller, extra ...string) string {
	b.t.Helper()
	if how == "run" {
		res := secRunFg(b, caller, extra...)
		if res.Code != 0 {
			b.t.Fatalf("run: %s", res)
		}
		return res.Stdout
	}
	// As with b.create, the container writes to the bundle's stdout file.
	if res := secRuntime(b.t, b.rt, b.Dir, caller, append(append([]string{"create", "--bundle", b.Dir}, extra...), b.ID)...); res.Code != 0 {
		b.t.Fatalf("create: %s", res)
	}
	b.rt.must("start", b.ID)
	b.waitStatus("stopped")
	return b.containerStdout()
}

// secInside runs script in a container built by mut, started by caller,
// and returns its stdout.
func secInside(t *testing.T, mut func(b *bundle), caller secCaller, script string) string {
	t.Helper()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.script(script)
		if mut != nil {
			mut(b)
		}
	})
	res := secRunFg(b, caller)
	if res.Code != 0 {
		t.Fatalf("container failed: %s", res)
	}
	return res.Stdout
}

// secStatus parses "Key:\tvalue" lines (as in /proc/<pid>/status).
func secStatus(text string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// selfStatus is `/proc/<sh>/status` of the container's process itself (the
// shell the runtime executed), as the status-reading script prints it.
const selfStatus = `cat /proc/$$/status`

// secMask renders capabilities (CAP_ names) as /proc/<pid>/status does.
func secMask(names ...string) string {
	var m uint64
	for _, n := range names {
		m |= 1 << uint(secCaps[n])
	}
	return fmt.Sprintf("%016x", m)
}

// secCaps numbers the capabilities the tests use.
var secCaps = map[string]int{
	"CAP_CHOWN": unix.CAP_CHOWN, "CAP_KILL": unix.CAP_KILL, "CAP_SETGID": unix.CAP_SETGID, "CAP_SETUID": unix.CAP_SETUID,
	"CAP_SETPCAP": unix.CAP_SETPCAP, "CAP_NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE, "CAP_NET_RAW": unix.CAP_NET_RAW,
	"CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN, "CAP_SYS_RESOURCE": unix.CAP_SYS_RESOURCE, "CAP_SYS_PTRACE": unix.CAP_SYS_PTRACE,
}

// hostHasCap reports whether this test process has capability c in the set
// named field ("CapBnd", "CapEff") of its /proc/self/status.
func hostHasCap(t *testing.T, field string, c int) bool {
	t.Helper()
	v, err := strconv.ParseUint(secStatus(readFile(t, "/proc/self/status"))[field], 16, 64)
	if err != nil {
		t.Fatalf("parse %s of /proc/self/status: %v", field, err)
	}
	return v&(1<<uint(c)) != 0
}

// withAmbient starts the runtime with caps in its inheritable and ambient
// sets (Go raises them in the child before exec).
func withAmbient(caps ...int) secCaller {
	return func(c *exec.Cmd) {
		amb := make([]uintptr, len(caps))
		for i, cp := range caps {
			amb[i] = uintptr(cp)
		}
		if c.SysProcAttr == nil {
			c.SysProcAttr = &syscall.SysProcAttr{}
		}
		c.SysProcAttr.AmbientCaps = amb
	}
}

// viaShell starts the runtime through a host shell that runs prelude (on
// itself) first.
func viaShell(prelude string) secCaller {
	return func(c *exec.Cmd) {
		c.Args = append([]string{"/bin/sh", "-c", prelude + ` && exec "$@"`, "sh"}, c.Args...)
		c.Path = "/bin/sh"
	}
}

// callerStatus runs the host's cat as caller would start the runtime and
// returns its /proc/self/status, to prove the caller really has what the
// container must not inherit.
func callerStatus(t *testing.T, caller secCaller) map[string]string {
	t.Helper()
	c := exec.Command("/bin/cat", "/proc/self/status")
	c.Dir = "/"
	caller(c)
	out, err := c.Output()
	if err != nil {
		t.Fatalf("run cat as the caller: %v", err)
	}
	return secStatus(string(out))
}

func userNS(s *specs.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
}

// TestCapsExact: the five sets inside are bit for bit what execve(2)
// makes of the configured ones. For root (no file capabilities) execve gives
// permitted = effective = bounding | inheritable, so root cases configure
// them equal; a non-root execve keeps only the ambient set in permitted and
// effective (capabilities(7)), so non-root cases configure permitted =
// effective = ambient, or expect them empty. Inheritable and ambient are
// empty unless configured even when the runtime itself runs with both
// (CVE-2022-29162).
func TestCapsExact(t *testing.T) {
	t.Parallel()
	callerAmb := withAmbient(unix.CAP_NET_RAW, unix.CAP_KILL, unix.CAP_SYS_PTRACE)
	six := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"}
	two, kill, nbs := []string{"CAP_CHOWN", "CAP_KILL"}, []string{"CAP_KILL"}, []string{"CAP_NET_BIND_SERVICE"}
	killNbs := []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"}
	four := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"}
	nsCaps := []string{"CAP_KILL", "CAP_SYS_ADMIN", "CAP_SYS_RESOURCE"}
	cases := []struct {
		name   string
		user   specs.User
		userns bool
		conf   *[5][]string // bounding, effective, permitted, inheritable, ambient; nil: no object
		want   [5][]string  // CapBnd, CapEff, CapPrm, CapInh, CapAmb inside
	}{
		{"root", specs.User{}, false, &[5][]string{six, six, six, killNbs, nbs}, [5][]string{six, six, six, killNbs, nbs}},
		{"root_no_inheritable", specs.User{}, false, &[5][]string{two, two, two, nil, nil}, [5][]string{two, two, two, nil, nil}},
		{"root_nil_capabilities", specs.User{}, false, nil, [5][]string{}},
		{"user_ambient", specs.User{UID: 1000, GID: 1000}, false,
			&[5][]string{four, nbs, nbs, killNbs, nbs}, [5][]string{four, nbs, nbs, killNbs, nbs}},
		{"user_no_ambient", specs.User{UID: 1000, GID: 1000}, false,
			&[5][]string{two, kill, kill, nil, nil}, [5][]string{two, nil, nil, nil, nil}},
		// A new user namespace starts with a full bounding set: capabilities
		// the host's lacks (CAP_SYS_RESOURCE here) are there, namespaced.
		{"userns_root", specs.User{}, true,
			&[5][]string{nsCaps, nsCaps, nsCaps, kill, kill}, [5][]string{nsCaps, nsCaps, nsCaps, kill, kill}},
	}
	// The caller's own inheritable and ambient sets are not empty: otherwise
	// "empty unless configured" would prove nothing.
	if st := callerStatus(t, callerAmb); st["CapInh"] == secMask() || st["CapAmb"] == secMask() {
		t.Fatalf("caller setup: CapInh %s, CapAmb %s, want both non-empty", st["CapInh"], st["CapAmb"])
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out := secInside(t, func(b *bundle) {
				b.Spec.Process.User = c.user
				b.Spec.Process.Capabilities = nil
				if f := c.conf; f != nil {
					b.Spec.Process.Capabilities = &specs.LinuxCapabilities{
						Bounding: f[0], Effective: f[1], Permitted: f[2], Inheritable: f[3], Ambient: f[4],
					}
				}
				if c.userns {
					userNS(b.Spec)
				}
			}, callerAmb, selfStatus)
			st := secStatus(out)
			for i, field := range []string{"CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"} {
				if want := secMask(c.want[i]...); st[field] != want {
					t.Errorf("%s = %s, want %s", field, st[field], want)
				}
			}
		})
	}
}

// TestCapsErrors: a capability name nobody knows, sets capset(2) would
// refuse, and a capability the host's bounding set lacks each make the
// container fail with one line naming the field and the capability, leaving
// nothing.
// The runtime spec (1.3) asks for a warning, not an error, for capabilities
// that cannot be granted; runc 1.1.5 warns about unknown names and runs, and
// passes an unavailable one in the bounding set silently: those cases are
// ocirun's stricter policy and are skipped for runc.
func TestCapsErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, want string
		policy     bool   // ocirun's policy, beyond what runc does
		hostLacks  string // a capability the host's bounding set must lack, if any
		caps       specs.LinuxCapabilities
	}{
		{name: "unknown_bounding", policy: true,
			want: `config.json: process.capabilities.bounding: unknown capability "CAP_TEST"`,
			caps: specs.LinuxCapabilities{Bounding: []string{"CAP_KILL", "CAP_TEST"}}},
		{name: "unknown_ambient", policy: true,
			want: `config.json: process.capabilities.ambient: unknown capability "CAP_TEST"`,
			caps: specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Ambient: []string{"CAP_TEST"}}},
		{name: "effective_not_permitted",
			want: `config.json: process.capabilities.effective: CAP_CHOWN not in permitted`,
			caps: specs.LinuxCapabilities{Bounding: []string{"CAP_KILL", "CAP_CHOWN"}, Effective: []string{"CAP_KILL", "CAP_CHOWN"}, Permitted: []string{"CAP_KILL"}}},
		{name: "inheritable_not_bounding",
			want: `config.json: process.capabilities.inheritable: CAP_CHOWN not in bounding`,
			caps: specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Inheritable: []string{"CAP_CHOWN"}}},
		{name: "host_lacks_bounding", policy: true, hostLacks: "CAP_SYS_RESOURCE",
			want: `config.json: process.capabilities.bounding: CAP_SYS_RESOURCE is not in the runtime's bounding set`,
			caps: specs.LinuxCapabilities{Bounding: []string{"CAP_KILL", "CAP_SYS_RESOURCE"}}},
		{name: "host_lacks_permitted", hostLacks: "CAP_SYS_RESOURCE",
			want: `config.json: process.capabilities.effective: CAP_SYS_RESOURCE is not in the runtime's permitted set`,
			caps: specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"},
				Effective: []string{"CAP_KILL", "CAP_SYS_RESOURCE"}, Permitted: []string{"CAP_KILL", "CAP_SYS_RESOURCE"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.policy && isRunc {
				t.Skip("ocirun's policy: runc 1.1.5 warns (unknown name) or ignores (unavailable bounding capability) and runs")
			}
			if c.hostLacks != "" && hostHasCap(t, "CapBnd", secCaps[c.hostLacks]) {
				t.Skipf("the host's bounding set has %s: nothing unavailable to ask for", c.hostLacks)
			}
			r := newRT(t)
			b := r.newBundle(func(b *bundle) {
				b.script(`grep ^Uid: /proc/$$/status`)
				caps := c.caps
				b.Spec.Process.Capabilities = &caps
			})
			secRefused(t, r, b, c.want)
		})
	}
}

// secRefused runs b, which must fail with want (see secOneLine) and leave
// nothing behind. Should the runtime run it, the process must not be root.
func secRefused(t *testing.T, r *rt, b *bundle, want string) {
	t.Helper()
	res := b.runFg()
	if res.Code == 0 {
		if f := strings.Fields(secStatus(res.Stdout)["Uid"]); len(f) > 0 && f[0] == "0" {
			t.Fatalf("config accepted and the process RAN AS ROOT: %s", res)
		}
		t.Fatalf("config accepted: %s", res)
	}
	secOneLine(t, res, want)
	if left := leftovers(r.root, b.ID, b.Dir); len(left) != 0 {
		t.Errorf("failed run left: %v", left)
	}
}

// secOneLine checks that a failed call printed one line containing want.
// Both are ocirun's rules: runc's messages differ (and its nsexec errors
// take two lines), so for runc they are only logged.
func secOneLine(t *testing.T, res result, want string) {
	t.Helper()
	if isRunc {
		t.Logf("runc says: %s", strings.TrimSpace(res.Stderr))
		return
	}
	lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
	if len(lines) != 1 || lines[0] == "" {
		t.Errorf("want one error line, got %q", res.Stderr)
	}
	if !strings.Contains(res.Stderr, want) {
		t.Errorf("error %q does not contain %q", strings.TrimSpace(res.Stderr), want)
	}
}

// secLimits parses /proc/<pid>/limits into name -> "soft hard".
func secLimits(text string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		// "Max open files  1024  4096  files": the unit column is optional.
		n := len(f)
		if _, err := strconv.Atoi(f[n-1]); err != nil && f[n-1] != "unlimited" {
			n--
		}
		m[strings.Join(f[:n-2], " ")] = f[n-2] + " " + f[n-1]
	}
	return m
}

// TestRlimitsExact: every configured rlimit is in the process's own
// /proc/<pid>/limits (unlimited included), and the ones it does not
// configure are left as the runtime had them.
func TestRlimitsExact(t *testing.T) {
	t.Parallel()
	var core unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &core); err != nil {
		t.Fatal(err)
	}
	coreWant := "0 unlimited"
	if core.Max != unix.RLIM_INFINITY {
		t.Logf("the host's RLIMIT_CORE hard limit is %d: asking for that instead of unlimited", core.Max)
		coreWant = "0 " + strconv.FormatUint(core.Max, 10)
	}
	out := secInside(t, func(b *bundle) {
		b.Spec.Process.Rlimits = []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 333, Hard: 444},
			{Type: "RLIMIT_NPROC", Soft: 555, Hard: 666},
			{Type: "RLIMIT_MSGQUEUE", Soft: 4096, Hard: 8192},
			{Type: "RLIMIT_CORE", Soft: 0, Hard: core.Max},
		}
	}, nil, `cat /proc/$$/limits`)
	got := secLimits(out)
	want := map[string]string{
		"Max open files": "333 444", "Max processes": "555 666",
		"Max msgqueue size": "4096 8192", "Max core file size": coreWant,
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s = %q, want %q", name, got[name], w)
		}
	}
	// Not configured: the caller's, as the runtime got it.
	var stack unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_STACK, &stack); err != nil {
		t.Fatal(err)
	}
	limit := func(v uint64) string {
		if v == unix.RLIM_INFINITY {
			return "unlimited"
		}
		return strconv.FormatUint(v, 10)
	}
	if w := limit(stack.Cur) + " " + limit(stack.Max); got["Max stack size"] != w {
		t.Errorf("unconfigured Max stack size = %q, want the caller's %q", got["Max stack size"], w)
	}
}

// TestRlimitErrors: soft above hard and duplicates are validation
// errors; a hard RLIMIT_NOFILE above the runtime's own fails with an error
// naming the limit (raising it needs CAP_SYS_RESOURCE, which this host's
// bounding set lacks).
func TestRlimitErrors(t *testing.T) {
	t.Parallel()
	var nofile unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, want string
		rl         []specs.POSIXRlimit
	}{
		{"soft_above_hard", "config.json: process.rlimits[0]: soft limit 20 is greater than hard limit 10",
			[]specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 20, Hard: 10}}},
		{"duplicate", "config.json: process.rlimits[1].type: duplicated rlimit RLIMIT_NPROC",
			[]specs.POSIXRlimit{{Type: "RLIMIT_NPROC", Soft: 1, Hard: 1}, {Type: "RLIMIT_NPROC", Soft: 2, Hard: 2}}},
		{"unknown", `config.json: process.rlimits[0].type: unknown rlimit type "RLIMIT_BOGUS"`,
			[]specs.POSIXRlimit{{Type: "RLIMIT_BOGUS", Soft: 1, Hard: 1}}},
		{"nofile_above_host", "set RLIMIT_NOFILE to soft 1024, hard " + strconv.FormatUint(nofile.Max+10000, 10),
			[]specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: nofile.Max + 10000}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.name == "nofile_above_host" && hostHasCap(t, "CapEff", unix.CAP_SYS_RESOURCE) {
				t.Skip("this host can raise RLIMIT_NOFILE above its hard limit (CAP_SYS_RESOURCE)")
			}
			r := newRT(t)
			b := r.newBundle(func(b *bundle) {
				b.script(`grep ^Uid: /proc/$$/status`)
				b.Spec.Process.Rlimits = c.rl
			})
			secRefused(t, r, b, c.want)
		})
	}
}

// TestOOMScoreAdjRules: a configured value is set; an unset one is left as
// the caller had it (the spec's MUST NOT change); out of range is a
// validation error; lowering below the caller's needs CAP_SYS_RESOURCE,
// which this host lacks, and fails naming oom_score_adj.
func TestOOMScoreAdjRules(t *testing.T) {
	t.Parallel()
	intp := func(v int) *int { return &v }
	cases := []struct {
		name   string
		adj    *int
		caller int
		want   string // inside, or the error
		fails  bool
		needs  bool // needs CAP_SYS_RESOURCE missing on the host to fail
	}{
		{name: "set", adj: intp(500), caller: 100, want: "500"},
		{name: "unset_inherits", caller: 123, want: "123"},
		{name: "out_of_range", adj: intp(1001), fails: true, want: "config.json: process.oomScoreAdj: 1001 is out of range [-1000, 1000]"},
		{name: "below_caller", adj: intp(-500), caller: 0, fails: true, needs: true, want: "oom_score_adj"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.needs && hostHasCap(t, "CapEff", unix.CAP_SYS_RESOURCE) {
				t.Skip("this host has CAP_SYS_RESOURCE: lowering oom_score_adj works")
			}
			r := newRT(t)
			b := r.newBundle(func(b *bundle) {
				b.script(`cat /proc/$$/oom_score_adj`)
				b.Spec.Process.OOMScoreAdj = c.adj
			})
			res := secRunFg(b, viaShell(fmt.Sprintf("echo %d > /proc/self/oom_score_adj", c.caller)))
			switch {
			case c.fails && res.Code == 0:
				t.Fatalf("run accepted oomScoreAdj %d: %s", *c.adj, res)
			case c.fails:
				secOneLine(t, res, c.want)
			case res.Code != 0:
				t.Fatalf("container failed: %s", res)
			case strings.TrimSpace(res.Stdout) != c.want:
				t.Errorf("oom_score_adj inside = %q, want %s", res.Stdout, c.want)
			}
		})
	}
}

// TestNoNewPrivsUmask: NoNewPrivs follows the config both ways; Umask is
// the configured one, or 0022 when none is configured, whatever the
// runtime's own (its caller sets 0, which would show through).
func TestNoNewPrivsUmask(t *testing.T) {
	t.Parallel()
	m := uint32(0o077)
	for _, c := range []struct {
		name, field, want string
		mut               func(p *specs.Process)
	}{
		{"nnp_true", "NoNewPrivs", "1", func(p *specs.Process) { p.NoNewPrivileges = true }},
		{"nnp_false", "NoNewPrivs", "0", func(p *specs.Process) { p.NoNewPrivileges = false }},
		{"umask_set", "Umask", "0077", func(p *specs.Process) { p.User.Umask = &m }},
		{"umask_default", "Umask", "0022", func(p *specs.Process) { p.User.Umask = nil }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out := secInside(t, func(b *bundle) { c.mut(b.Spec.Process) }, viaShell("umask 0"), selfStatus)
			if got := secStatus(out)[c.field]; got != c.want {
				t.Errorf("%s = %q, want %s", c.field, got, c.want)
			}
		})
	}
}

// TestGroupsNoLeak: the process has exactly the configured
// additionalGids, even when the runtime's caller has supplementary groups.
func TestGroupsNoLeak(t *testing.T) {
	t.Parallel()
	caller := func(c *exec.Cmd) {
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{4242, 4343}}}
	}
	if got := callerStatus(t, caller)["Groups"]; got != "4242 4343" {
		t.Fatalf("caller setup: Groups %q, want 4242 4343", got)
	}
	cases := []struct {
		name        string
		user        specs.User
		groups, idG string
		userns      bool
	}{
		{name: "root_none", user: specs.User{}, groups: "", idG: "0"},
		{name: "root_additional", user: specs.User{AdditionalGids: []uint32{20, 10}}, groups: "10 20", idG: "0 10 20"},
		{name: "user_none", user: specs.User{UID: 1000, GID: 1000}, groups: "", idG: "1000"},
		{name: "user_caller_group", user: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{4343}}, groups: "4343", idG: "1000 4343"},
		{name: "userns_none", user: specs.User{UID: 1000, GID: 1000}, userns: true, groups: "", idG: "1000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out := secInside(t, func(b *bundle) {
				b.Spec.Process.User = c.user
				if c.userns {
					userNS(b.Spec)
				}
			}, caller, selfStatus+`; echo "idG: $(id -G)"`)
			st := secStatus(out)
			if st["Groups"] != c.groups {
				t.Errorf("Groups = %q, want %q", st["Groups"], c.groups)
			}
			idG := strings.Fields(st["idG"])
			sort.Strings(idG)
			if strings.Join(idG, " ") != c.idG {
				t.Errorf("id -G = %q, want %q", st["idG"], c.idG)
			}
		})
	}
}

// TestEnvNoLeak: the process's environment is exactly process.env (no
// HOME added, nothing of the caller's, none of the runtime's own _OCIRUN_
// variables), in order. runc adds HOME from the image's /etc/passwd when
// process.env lacks it; that one line is tolerated (and logged) for runc.
func TestEnvNoLeak(t *testing.T) {
	t.Parallel()
	env := []string{"PATH=/bin:/usr/bin", "FOO=bar baz", "EQ=a=b", "EMPTY=", "_OCIRUN_LIKE=mine"}
	caller := func(c *exec.Cmd) {
		c.Env = append(os.Environ(), "OCIRUN_IT_CALLER_LEAK=1", "HOME=/caller-home", "LANG=C.UTF-8")
	}
	for _, start := range []string{"run", "create"} {
		t.Run(start, func(t *testing.T) {
			t.Parallel()
			r := newRT(t)
			b := r.newBundle(func(b *bundle) {
				b.Spec.Process.Env = env
				// The init itself runs env: a shell would add PWD and SHLVL.
				b.Spec.Process.Args = []string{"env"}
			})
			got := strings.Split(strings.TrimSpace(secStart(b, start, caller)), "\n")
			if isRunc {
				for i, e := range got {
					if e == "HOME=/root" {
						t.Logf("runc added %s (from the image's /etc/passwd)", e)
						got = append(got[:i], got[i+1:]...)
						break
					}
				}
			}
			if strings.Join(got, "\n") != strings.Join(env, "\n") {
				t.Errorf("env inside:\n%s\nwant exactly:\n%s", strings.Join(got, "\n"), strings.Join(env, "\n"))
			}
		})
	}
}

// TestUserIDsAsGiven: process.user's numbers are used as given: no lookup in
// the image's /etc/passwd changes them (uid 1 has no entry, uid 1000 has
// one with gid 1000), and user.username, a Windows field, changes nothing
// (runc ignores it too).
func TestUserIDsAsGiven(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		user     specs.User
		userns   bool
		uid, gid string // inside
	}{
		{name: "uid1", user: specs.User{UID: 1, GID: 1}, uid: "1", gid: "1"},
		{name: "uid1_gid0", user: specs.User{UID: 1}, uid: "1", gid: "0"},
		{name: "uid1000_gid0", user: specs.User{UID: 1000, GID: 0}, uid: "1000", gid: "0"},
		{name: "uid0_gid1000", user: specs.User{UID: 0, GID: 1000}, uid: "0", gid: "1000"},
		{name: "username_ignored", user: specs.User{UID: 1000, GID: 1000, Username: "root"}, uid: "1000", gid: "1000"},
		{name: "userns_uid1", user: specs.User{UID: 1, GID: 1}, userns: true, uid: "1", gid: "1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out := secInside(t, func(b *bundle) {
				b.Spec.Process.User = c.user
				if c.userns {
					userNS(b.Spec)
				}
			}, nil, selfStatus)
			st := secStatus(out)
			four := func(id string) string { return strings.Join([]string{id, id, id, id}, " ") }
			if got := strings.Join(strings.Fields(st["Uid"]), " "); got != four(c.uid) {
				t.Errorf("Uid = %q, want %s (real, effective, saved, fs)", st["Uid"], four(c.uid))
			}
			if got := strings.Join(strings.Fields(st["Gid"]), " "); got != four(c.gid) {
				t.Errorf("Gid = %q, want %s (real, effective, saved, fs)", st["Gid"], four(c.gid))
			}
			if st["Groups"] != "" {
				t.Errorf("Groups = %q, want none", st["Groups"])
			}
		})
	}
}

// TestUserBadIDs: ids that are not uint32, negative, or (uid_t)-1 (which
// setresuid takes as "unchanged": the process would stay root), and ids not
// mapped in the container's user namespace are refused, naming the field.
// Should a runtime accept one, the process must not be root.
func TestUserBadIDs(t *testing.T) {
	t.Parallel()
	user := func(m map[string]any) map[string]any { return m["process"].(map[string]any)["user"].(map[string]any) }
	cases := []struct {
		name, want string
		mut        func(m map[string]any)
		userns     bool
	}{
		{name: "uid_2^32", want: "config.json: process.user.uid:", mut: func(m map[string]any) { user(m)["uid"] = 4294967296 }},
		{name: "uid_negative", want: "config.json: process.user.uid:", mut: func(m map[string]any) { user(m)["uid"] = -1 }},
		{name: "gid_2^32", want: "config.json: process.user.gid:", mut: func(m map[string]any) { user(m)["gid"] = 4294967296 }},
		{name: "gid_negative", want: "config.json: process.user.gid:", mut: func(m map[string]any) { user(m)["gid"] = -1 }},
		{name: "uid_fraction", want: "config.json: process.user.uid:", mut: func(m map[string]any) { user(m)["uid"] = 1.5 }},
		{name: "additional_2^32", want: "config.json: process.user.additionalGids", mut: func(m map[string]any) {
			user(m)["additionalGids"] = []any{10, 4294967296}
		}},
		{name: "additional_negative", want: "config.json: process.user.additionalGids", mut: func(m map[string]any) {
			user(m)["additionalGids"] = []any{-5}
		}},
		{name: "uid_minus_one_as_uint32", want: "config.json: process.user.uid: 4294967295 is (uid_t)-1",
			mut: func(m map[string]any) { user(m)["uid"] = 4294967295 }},
		{name: "gid_minus_one_as_uint32", want: "config.json: process.user.gid: 4294967295 is (gid_t)-1",
			mut: func(m map[string]any) { user(m)["uid"] = 1000; user(m)["gid"] = 4294967295 }},
		{name: "additional_minus_one_as_uint32", want: "config.json: process.user.additionalGids[1]: 4294967295 is (gid_t)-1",
			mut: func(m map[string]any) { user(m)["uid"] = 1000; user(m)["additionalGids"] = []any{10, 4294967295} }},
		{name: "userns_uid_unmapped", userns: true, want: "config.json: process.user.uid: 70000 is not mapped in linux.uidMappings",
			mut: func(m map[string]any) { user(m)["uid"] = 70000 }},
		{name: "userns_additional_unmapped", userns: true, want: "config.json: process.user.additionalGids[0]: 70000 is not mapped in linux.gidMappings",
			mut: func(m map[string]any) { user(m)["additionalGids"] = []any{70000} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newRT(t)
			b := r.newBundle(func(b *bundle) {
				b.script(`grep -E '^(Uid|Gid|Groups):' /proc/$$/status`)
				if c.userns {
					userNS(b.Spec)
				}
			})
			m := specMap(t, b.Spec)
			c.mut(m)
			writeConfig(t, b.Dir, m)
			secRefused(t, r, b, c.want)
		})
	}
}
