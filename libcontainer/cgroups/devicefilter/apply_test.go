package devicefilter

// Real tests: the program is attached to a child of the test's own cgroup2
// cgroup and a helper process (this test binary re-executed, started in the
// cgroup with CLONE_INTO_CGROUP) opens and mknods device nodes there. What
// it may do is compared with a reference model of the v1 kernel
// (refCgroup, a literal reading of security/device_cgroup.c) and, where the
// host has a v1 devices hierarchy, with the v1 kernel itself: the same
// rules written to devices.allow/devices.deny of a v1 child cgroup, the same
// helper moved into it.
//
// A request the device controller denies fails with EPERM before the driver
// is asked, so nodes with unused numbers (242, 243) show the verdict: EPERM
// (denied) or ENXIO (allowed, no such driver).

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/ocirun/ocirun/libcontainer/cgroups"
)

const (
	envHelper = "OCIRUN_DEVFILTER_HELPER" // "probe" or "apply"
	envArg    = "OCIRUN_DEVFILTER_ARG"    // the helper's JSON argument
	envV1     = "OCIRUN_DEVFILTER_V1"     // probe: first move into this v1 cgroup
)

// op is one device access the probe helper tries.
type op struct {
	Name         string
	Path         string // open this; for mknod, create this in the probe's directory and remove it
	Flags        int    // open flags
	Mknod        bool
	Type         byte // 'b' or 'c'
	Major, Minor int64
	Access       string // the access the kernel asks the controller for
}

type probeArg struct {
	MknodDir string // a directory of the probe's own
	Ops      []op
}

type applyArg struct {
	Dir   string
	Rules []cgroups.DeviceRule
}

func helperMain() int {
	arg := os.Getenv(envArg)
	switch os.Getenv(envHelper) {
	case "apply":
		var a applyArg
		if err := json.Unmarshal([]byte(arg), &a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if err := Apply(a.Dir, a.Rules); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "probe":
		var a probeArg
		if err := json.Unmarshal([]byte(arg), &a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if dir := os.Getenv(envV1); dir != "" {
			if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
		}
		res := map[string]string{}
		for _, o := range a.Ops {
			var err error
			if o.Mknod {
				mode := uint32(unix.S_IFCHR)
				if o.Type == 'b' {
					mode = unix.S_IFBLK
				}
				p := filepath.Join(a.MknodDir, o.Path)
				err = unix.Mknod(p, mode|0o600, int(unix.Mkdev(uint32(o.Major), uint32(o.Minor))))
				if err == nil {
					err = unix.Unlink(p)
				}
			} else {
				var fd int
				fd, err = unix.Open(o.Path, o.Flags|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
				if err == nil {
					unix.Close(fd)
				}
			}
			res[o.Name] = "ok"
			if err != nil {
				res[o.Name] = unix.ErrnoName(err.(syscall.Errno))
			}
		}
		if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
			return 2
		}
		return 0
	}
	return 2
}

// refCgroup is the v1 kernel's state for one cgroup, updated as
// devcgroup_update_access does and checked as devcgroup_legacy_check_permission
// does. It starts as a fresh child of the (allow-all) root.
type refCgroup struct {
	deny bool
	ex   []cgroups.DeviceRule // Allow unused; Access normalised
}

func (c *refCgroup) write(r cgroups.DeviceRule) {
	if r.Type == 'a' {
		*c = refCgroup{deny: !r.Allow}
		return
	}
	bits, _ := cgroups.AccessBits(r.Access)
	i := slices.IndexFunc(c.ex, func(e cgroups.DeviceRule) bool {
		return e.Type == r.Type && e.Major == r.Major && e.Minor == r.Minor
	})
	if r.Allow == c.deny { // dev_exception_add
		if i < 0 {
			c.ex = append(c.ex, cgroups.DeviceRule{Type: r.Type, Major: r.Major, Minor: r.Minor})
			i = len(c.ex) - 1
		}
		have, _ := cgroups.AccessBits(c.ex[i].Access)
		c.ex[i].Access = cgroups.AccessString(have | bits)
	} else if i >= 0 { // dev_exception_rm
		have, _ := cgroups.AccessBits(c.ex[i].Access)
		if c.ex[i].Access = cgroups.AccessString(have &^ bits); c.ex[i].Access == "" {
			c.ex = slices.Delete(c.ex, i, i+1)
		}
	}
}

func (c *refCgroup) permits(typ byte, major, minor int64, access string) bool {
	want, _ := cgroups.AccessBits(access)
	for _, e := range c.ex {
		if e.Type != typ || (e.Major != -1 && e.Major != major) || (e.Minor != -1 && e.Minor != minor) {
			continue
		}
		have, _ := cgroups.AccessBits(e.Access)
		if c.deny && want&^have == 0 { // match_exception: one exception holds all
			return true
		}
		if !c.deny && want&have != 0 { // match_exception_partial: any bit
			return false
		}
	}
	return !c.deny
}

// verdicts: op name -> allowed.
type verdicts map[string]bool

func expect(rules []cgroups.DeviceRule, ops []op) verdicts {
	var c refCgroup
	for _, r := range rules {
		c.write(r)
	}
	v := verdicts{}
	for _, o := range ops {
		v[o.Name] = c.permits(o.Type, o.Major, o.Minor, o.Access)
	}
	return v
}

// env is the host set-up the real tests share.
type env struct {
	v2root string // the test's own cgroup2 directory
	v1root string // the test's own v1 devices directory, "" if none
	ops    []op
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loading cgroup device programs and making device nodes needs root")
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	mounts, err := cgroups.ParseMountinfo(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := cgroups.ParseProcCgroup(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{}
	for _, ent := range entries {
		m, ok := cgroups.FindMount(mounts, ent)
		if !ok {
			continue
		}
		dir, _ := m.Dir(ent.Path)
		if ent.Keys[0] == cgroups.UnifiedKey {
			e.v2root = dir
		} else if slices.Contains(ent.Keys, "devices") {
			e.v1root = dir
		}
	}
	if e.v2root == "" {
		t.Skip("no cgroup2 hierarchy holds this process: nowhere to attach a device program")
	}
	if e.v1root == "" {
		t.Log("no v1 devices hierarchy: verdicts are checked against the reference model only")
	}
	e.ops = makeOps(t)
	return e
}

// makeOps makes device nodes in a temporary directory and returns the
// accesses to try on them and on a few real /dev nodes.
func makeOps(t *testing.T) []op {
	t.Helper()
	nodes := t.TempDir()
	var ops []op
	for i, n := range []struct {
		typ          byte
		major, minor int64
	}{{'c', 1, 3}, {'c', 1, 5}, {'c', 1, 7}, {'c', 10, 237}, {'c', 242, 42}, {'c', 242, 7}, {'c', 243, 3}, {'b', 242, 42}, {'b', 243, 3}} {
		mode := uint32(unix.S_IFCHR)
		if n.typ == 'b' {
			mode = unix.S_IFBLK
		}
		p := filepath.Join(nodes, strconv.Itoa(i))
		if err := unix.Mknod(p, mode|0o600, int(unix.Mkdev(uint32(n.major), uint32(n.minor)))); err != nil {
			t.Fatalf("mknod %s: %v", p, err)
		}
		id := fmt.Sprintf("%c %d:%d", n.typ, n.major, n.minor)
		for _, a := range []struct {
			access string
			flags  int
		}{{"r", unix.O_RDONLY}, {"w", unix.O_WRONLY}, {"rw", unix.O_RDWR}} {
			ops = append(ops, op{Name: id + " open " + a.access, Path: p, Flags: a.flags, Type: n.typ, Major: n.major, Minor: n.minor, Access: a.access})
		}
		ops = append(ops, op{Name: id + " mknod", Path: strconv.Itoa(i), Mknod: true, Type: n.typ, Major: n.major, Minor: n.minor, Access: "m"})
	}
	for _, d := range []struct {
		path, access string
		flags        int
	}{{"/dev/null", "rw", unix.O_RDWR}, {"/dev/zero", "r", unix.O_RDONLY}, {"/dev/full", "w", unix.O_WRONLY}, {"/dev/loop-control", "rw", unix.O_RDWR}} {
		var st unix.Stat_t
		if err := unix.Stat(d.path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
			continue
		}
		ops = append(ops, op{Name: d.path + " " + d.access, Path: d.path, Flags: d.flags, Type: 'c',
			Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)), Access: d.access})
	}
	return ops
}

// child makes a fresh child cgroup of root and removes it at the end.
func child(t *testing.T, root string) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	dir := filepath.Join(root, "ocirun-devfilter-test-"+hex.EncodeToString(b))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The helpers have been waited for; the kernel may still be
		// finishing their exit for a moment.
		var err error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			if err = os.Remove(dir); err == nil || !errors.Is(err, unix.EBUSY) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("remove cgroup: %v", err)
		}
	})
	return dir
}

// helper runs this binary as a helper; in the v2 cgroup dir if dir != "".
func helper(t *testing.T, mode string, arg any, dir string, extraEnv ...string) ([]byte, error) {
	t.Helper()
	js, err := json.Marshal(arg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envHelper+"="+mode, envArg+"="+string(js))
	cmd.Env = append(cmd.Env, extraEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if dir != "" {
		fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	}
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s helper: %w: %s", mode, err, stderr.String())
	}
	return out, nil
}

func (e *env) probe(t *testing.T, v2dir string, extraEnv ...string) verdicts {
	t.Helper()
	out, err := helper(t, "probe", probeArg{MknodDir: t.TempDir(), Ops: e.ops}, v2dir, extraEnv...)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]string
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("probe output %q: %v", out, err)
	}
	v := verdicts{}
	for _, o := range e.ops {
		switch r := res[o.Name]; r {
		case "EPERM":
			v[o.Name] = false
		case "ok", "ENXIO", "ENODEV":
			v[o.Name] = true
		default:
			t.Fatalf("%s: %q: neither allowed nor denied by the device controller", o.Name, r)
		}
	}
	return v
}

// probeV1 writes rules to a fresh v1 devices cgroup as the v1 driver does
// and probes from inside it: what the kernel's own v1 controller decides.
func (e *env) probeV1(t *testing.T, rules []cgroups.DeviceRule) verdicts {
	t.Helper()
	dir := child(t, e.v1root)
	for _, r := range rules {
		file := "devices.deny"
		if r.Allow {
			file = "devices.allow"
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(r.String()), 0); err != nil {
			t.Fatalf("v1: write %q to %s: %v", r, file, err)
		}
	}
	return e.probe(t, "", envV1+"="+dir)
}

func diff(t *testing.T, what string, got, want verdicts) {
	t.Helper()
	var bad []string
	for name, w := range want {
		if got[name] != w {
			bad = append(bad, fmt.Sprintf("%s: allowed=%v, want %v", name, got[name], w))
		}
	}
	slices.Sort(bad)
	if len(bad) > 0 {
		t.Errorf("%s:\n  %s", what, strings.Join(bad, "\n  "))
	}
}

// check applies rules to a fresh cgroup and compares what a process in it
// may do with v1's verdicts; must are hand-written verdicts that the
// reference model has to agree with.
func (e *env) check(t *testing.T, rules []cgroups.DeviceRule, must verdicts) {
	t.Helper()
	want := expect(rules, e.ops)
	for name, w := range must {
		if have, ok := want[name]; !ok || have != w {
			t.Fatalf("reference model: %s allowed=%v (known %v), want %v", name, have, ok, w)
		}
	}
	if e.v1root != "" {
		diff(t, "the v1 kernel differs from the reference model", e.probeV1(t, rules), want)
	}
	dir := child(t, e.v2root)
	if err := Apply(dir, rules); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	diff(t, "the device filter differs from v1", e.probe(t, dir), want)
}

// fmtRules shows rules as the writes v1 would do: "+" devices.allow, "-" devices.deny.
func fmtRules(rules []cgroups.DeviceRule) string {
	var b strings.Builder
	for _, r := range rules {
		c := '-'
		if r.Allow {
			c = '+'
		}
		fmt.Fprintf(&b, " %c%q", c, r.String())
	}
	return b.String()
}

func withDefaults(rules ...cgroups.DeviceRule) []cgroups.DeviceRule {
	return append(append([]cgroups.DeviceRule{denyAll}, rules...), cgroups.DefaultDevices...)
}

func TestApplyMatchesV1(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name  string
		rules []cgroups.DeviceRule
		must  verdicts
	}{
		{"deny all and the defaults", withDefaults(), verdicts{
			"/dev/null rw": true, "/dev/zero r": true, "/dev/full w": true, "/dev/loop-control rw": false,
			"c 242:42 mknod": true, "b 242:42 mknod": true, "c 242:42 open r": false, "b 242:42 open r": false,
		}},
		{"allow a wildcard then deny one device", []cgroups.DeviceRule{allowAll, rule('c', 1, -1, "rwm", true), rule('c', 1, 7, "w", false)}, verdicts{
			"c 1:7 open w": false, "c 1:7 open r": true, "c 1:7 open rw": false, "/dev/full w": false,
			"/dev/null rw": true, "c 242:42 open rw": true,
		}},
		{"read only, then read and write asked", []cgroups.DeviceRule{denyAll, rule('c', 242, 42, "r", true), rule('c', 1, 3, "r", true)}, verdicts{
			"c 242:42 open r": true, "c 242:42 open w": false, "c 242:42 open rw": false, "c 242:42 mknod": false,
			"c 1:3 open r": true, "/dev/null rw": false,
		}},
		{"access split over two exceptions", []cgroups.DeviceRule{denyAll, rule('c', -1, -1, "r", true), rule('c', 1, 7, "w", true)}, verdicts{
			"c 1:7 open r": true, "c 1:7 open w": true, "c 1:7 open rw": false, "c 242:42 open r": true, "c 242:42 open w": false,
		}},
		{"allow all in the middle", []cgroups.DeviceRule{denyAll, rule('c', 1, 3, "r", true), allowAll, rule('c', 1, 5, "w", false), rule('b', 242, -1, "m", false)}, verdicts{
			"/dev/zero r": true, "/dev/null rw": true, "c 1:5 open w": false, "c 1:5 open rw": false, "/dev/loop-control rw": true,
			"b 242:42 mknod": false, "c 242:42 mknod": true, "b 242:42 open rw": true,
		}},
		{"deny all in the middle", []cgroups.DeviceRule{allowAll, rule('c', 1, 5, "w", false), denyAll, rule('c', 1, 5, "w", true)}, verdicts{
			"c 1:5 open w": true, "c 1:5 open r": false, "c 242:42 open r": false,
		}},
		{"the defaults after allow all give back what was denied", []cgroups.DeviceRule{allowAll, rule('c', 1, 5, "w", false), rule('c', 1, 7, "rw", false), rule('c', 242, 42, "w", false)}, verdicts{
			"c 242:42 open w": false, "c 242:42 open r": true, "c 1:5 open w": false, "c 1:7 open r": false,
		}},
		{"block is not char", []cgroups.DeviceRule{denyAll, rule('b', 242, -1, "rwm", true), rule('c', 243, 3, "r", true)}, verdicts{
			"b 242:42 open rw": true, "b 242:42 mknod": true, "c 242:42 open r": false, "c 242:42 mknod": false,
			"b 243:3 open r": false, "c 243:3 open r": true,
		}},
		{"exceptions with the same numbers merge", []cgroups.DeviceRule{denyAll, rule('c', 242, 42, "r", true), rule('c', 242, 42, "w", true)}, verdicts{
			"c 242:42 open rw": true, "c 242:42 mknod": false,
		}},
		{"part of an exception taken away", withDefaults(rule('c', 242, 42, "rwm", true), rule('c', 242, 42, "w", false)), verdicts{
			"c 242:42 open r": true, "c 242:42 open w": false, "c 242:42 open rw": false, "c 242:42 mknod": true,
		}},
		{"part of a deny exception given back", []cgroups.DeviceRule{allowAll, rule('c', 1, 5, "rw", false), rule('c', 1, 5, "r", true)}, verdicts{
			"c 1:5 open r": true, "c 1:5 open w": false, "c 1:5 open rw": false, "c 1:5 mknod": true,
		}},
		{"all-majors wildcard", []cgroups.DeviceRule{denyAll, rule('c', -1, 3, "rw", true)}, verdicts{
			"c 1:3 open rw": true, "c 243:3 open rw": true, "c 242:42 open r": false, "c 1:3 mknod": false,
		}},
		{"no rules: a fresh cgroup", nil, verdicts{"c 242:42 open rw": true, "b 243:3 mknod": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e.check(t, tc.rules, tc.must)
		})
	}
}

// Random rule lists over the numbers of the probed nodes: the filter and
// v1 must agree on all of them (fixed seed, so a failure can be rerun).
func TestApplyRandomRulesMatchV1(t *testing.T) {
	e := newEnv(t)
	rnd := mrand.New(mrand.NewPCG(1, 2))
	pick := func(l ...int64) int64 { return l[rnd.IntN(len(l))] }
	for i := 0; i < 24; i++ {
		var rules []cgroups.DeviceRule
		for {
			rules = []cgroups.DeviceRule{{Type: 'a', Allow: rnd.IntN(2) == 0}}
			for j := rnd.IntN(8); j >= 0; j-- {
				if rnd.IntN(10) == 0 {
					rules = append(rules, cgroups.DeviceRule{Type: 'a', Allow: rnd.IntN(2) == 0})
					continue
				}
				typ := byte('c')
				if rnd.IntN(3) == 0 {
					typ = 'b'
				}
				access := cgroups.AccessString(uint8(1 + rnd.IntN(7)))
				rules = append(rules, rule(typ, pick(-1, 1, 242, 243), pick(-1, 3, 5, 7, 42), access, rnd.IntN(2) == 0))
			}
			if _, err := fold(rules); err == nil {
				break
			}
		}
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			t.Logf("rules: %s", fmtRules(rules))
			e.check(t, rules, nil)
		})
	}
}

// What v1 refuses is refused before anything changes: the filter applied
// before stays, and keeps deciding.
func TestApplyRefusalKeepsTheFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := child(t, e.v2root)
	good := withDefaults()
	if err := Apply(dir, good); err != nil {
		t.Fatal(err)
	}
	before := ourPrograms(t, dir)
	bad := withDefaults(rule('c', 1, -1, "rwm", true), rule('c', 1, 7, "w", false))
	var re *RuleError
	if err := Apply(dir, bad); !errors.As(err, &re) || re.Index != 2 {
		t.Fatalf("Apply of a hole in a wildcard: %v, want a *RuleError for rule 2", err)
	}
	if after := ourPrograms(t, dir); !slices.Equal(after, before) {
		t.Errorf("programs %v after the refused Apply, want %v", after, before)
	}
	diff(t, "after the refused Apply", e.probe(t, dir), expect(good, e.ops))
}

// The cgroup holds the program: it stays attached, and decides, after the
// process that loaded it has exited.
func TestApplyOutlivesTheLoader(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := child(t, e.v2root)
	rules := withDefaults(rule('c', 242, 42, "r", true))
	if _, err := helper(t, "apply", applyArg{Dir: dir, Rules: rules}, ""); err != nil {
		t.Fatal(err)
	}
	if ids := ourPrograms(t, dir); len(ids) != 1 {
		t.Fatalf("%d programs named %s on the cgroup after the loader exited, want 1", len(ids), ProgramName)
	}
	diff(t, "after the loader exited", e.probe(t, dir), expect(rules, e.ops))
}

// A second Apply replaces the program(s) an earlier one attached and
// leaves programs of others alone.
func TestApplyReplaces(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := child(t, e.v2root)
	first := withDefaults(rule('c', 242, 42, "rw", true))
	if err := Apply(dir, first); err != nil {
		t.Fatal(err)
	}
	ids1 := ourPrograms(t, dir)
	if len(ids1) != 1 {
		t.Fatalf("programs after the first Apply: %v, want one", ids1)
	}
	// Someone else's program, which allows everything: it must stay.
	foreign := attachRaw(t, dir, "other_devices", asm.Instructions{asm.Mov.Imm32(asm.R0, 1), asm.Return()})
	second := withDefaults(rule('b', 243, 3, "r", true))
	if err := Apply(dir, second); err != nil {
		t.Fatal(err)
	}
	ids2 := ourPrograms(t, dir)
	if len(ids2) != 1 || ids2[0] == ids1[0] {
		t.Errorf("programs after the second Apply: %v, want one other than %v", ids2, ids1)
	}
	if !slices.Contains(allPrograms(t, dir), foreign) {
		t.Errorf("the foreign program %d was detached", foreign)
	}
	diff(t, "after the second Apply", e.probe(t, dir), expect(second, e.ops))

	// Two of ours (as a crash between attach and detach could leave):
	// one that denies everything besides, which would show if it stayed.
	denyInsts, err := Compile([]cgroups.DeviceRule{denyAll})
	if err != nil {
		t.Fatal(err)
	}
	attachRaw(t, dir, ProgramName, denyInsts)
	if n := len(ourPrograms(t, dir)); n != 2 {
		t.Fatalf("%d of our programs before the third Apply, want 2", n)
	}
	third := withDefaults(rule('c', 243, 3, "w", true))
	if err := Apply(dir, third); err != nil {
		t.Fatal(err)
	}
	if ids := ourPrograms(t, dir); len(ids) != 1 {
		t.Errorf("programs after the third Apply: %v, want one", ids)
	}
	diff(t, "after the third Apply", e.probe(t, dir), expect(third, e.ops))
}

func attachRaw(t *testing.T, dir, name string, insts asm.Instructions) ebpf.ProgramID {
	t.Helper()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: name, Type: ebpf.CGroupDevice, License: "Apache", Instructions: insts})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	err = link.RawAttachProgram(link.RawAttachProgramOptions{Target: fd, Program: prog, Attach: ebpf.AttachCGroupDevice, Flags: unix.BPF_F_ALLOW_MULTI})
	if err != nil {
		t.Fatal(err)
	}
	info, err := prog.Info()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := info.ID()
	return id
}

func allPrograms(t *testing.T, dir string) []ebpf.ProgramID {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	res, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		t.Fatal(err)
	}
	var ids []ebpf.ProgramID
	for _, p := range res.Programs {
		ids = append(ids, p.ID)
	}
	return ids
}

func ourPrograms(t *testing.T, dir string) []ebpf.ProgramID {
	t.Helper()
	var ids []ebpf.ProgramID
	for _, id := range allPrograms(t, dir) {
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			t.Fatal(err)
		}
		info, err := p.Info()
		p.Close()
		if err != nil {
			t.Fatal(err)
		}
		if info.Name == ProgramName {
			ids = append(ids, id)
		}
	}
	return ids
}
