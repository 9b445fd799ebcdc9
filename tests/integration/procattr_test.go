package integration

// Process attributes the user process inherits from the runtime
// (linux.personality, process.scheduler, process.ioPriority,
// linux.memoryPolicy, process.execCPUAffinity), linux.netDevices,
// linux.sysctl's namespace rules, and the clear errors for what this host
// lacks (LSMs, Intel RDT). Each effect is read where it shows: the
// container's own /proc, busybox's ionice and ip, and the host's netlink
// and sched_getattr on the container's pid.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestPersonality(t *testing.T) {
	t.Parallel()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil || unix.ByteSliceToString(u.Machine[:]) != "x86_64" {
		t.Skip("the LINUX32 check is written for x86_64 hosts")
	}
	for domain, want := range map[specs.LinuxPersonalityDomain]string{specs.PerLinux32: "i686", specs.PerLinux: "x86_64"} {
		t.Run(string(domain), func(t *testing.T) {
			t.Parallel()
			out := inside(t, func(b *bundle) {
				b.Spec.Linux.Personality = &specs.LinuxPersonality{Domain: domain}
			}, `uname -m; sh -c 'uname -m'`)
			// The child of a child keeps it: personality survives fork and exec.
			if out != want+"\n"+want+"\n" {
				t.Errorf("uname -m inside = %q, want %s twice", out, want)
			}
		})
	}
}

// schedFields returns the nice value, rt_priority and policy of a
// /proc/<pid>/stat line (fields 19, 40 and 41).
func schedFields(t *testing.T, stat string) (nice, rtprio, policy int) {
	t.Helper()
	i := strings.LastIndex(stat, ")")
	f := strings.Fields(stat[i+1:]) // f[0] is field 3
	if i < 0 || len(f) < 39 {
		t.Fatalf("short /proc/pid/stat line %q", stat)
	}
	atoi := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("stat field %q: %v", s, err)
		}
		return n
	}
	return atoi(f[16]), atoi(f[37]), atoi(f[38])
}

// rtBudget prepares a real-time container where the cpu controller has
// real-time group scheduling (cgroup v1 cpu.rt_runtime_us): a task there may
// be SCHED_FIFO/RR only if its cgroup has a budget, so the test gives the
// shared cgroup parent room for one and the container asks for it with
// linux.resources.cpu.realtimeRuntime.
func rtBudget(t *testing.T, s *specs.Spec) {
	t.Helper()
	for h, own := range ownCgroups() {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", h, own, "cpu.rt_runtime_us")); err != nil {
			continue
		}
		parent := filepath.Join("/sys/fs/cgroup", h, own, cgroupParent)
		if err := os.MkdirAll(parent, 0o755); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(parent, "cpu.rt_runtime_us")
		if cur, _ := strconv.Atoi(strings.TrimSpace(readOr(file))); cur < 100000 {
			if err := os.WriteFile(file, []byte("100000"), 0o644); err != nil {
				t.Skipf("cannot give %s a real-time budget: %v", parent, err)
			}
		}
		runtime := int64(5000)
		if s.Linux.Resources.CPU == nil {
			s.Linux.Resources.CPU = &specs.LinuxCPU{}
		}
		s.Linux.Resources.CPU.RealtimeRuntime = &runtime
	}
}

func TestScheduler(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                  string
		sched                 specs.Scheduler
		nice, rtprio, policy  int
		childRtprio, childPol int // a forked child's, when it differs
	}{
		{"batch nice", specs.Scheduler{Policy: specs.SchedBatch, Nice: 7}, 7, 0, unix.SCHED_BATCH, 0, unix.SCHED_BATCH},
		{"other nice negative", specs.Scheduler{Policy: specs.SchedOther, Nice: -4}, -4, 0, unix.SCHED_NORMAL, 0, unix.SCHED_NORMAL},
		{"idle", specs.Scheduler{Policy: specs.SchedIdle}, 0, 0, unix.SCHED_IDLE, 0, unix.SCHED_IDLE},
		{"fifo", specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10}, 0, 10, unix.SCHED_FIFO, 10, unix.SCHED_FIFO},
		{"rr reset on fork", specs.Scheduler{Policy: specs.SchedRR, Priority: 3,
			Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}, 0, 3, unix.SCHED_RR, 0, unix.SCHED_NORMAL},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			sched := tc.sched
			// The shell reads its own stat with builtins only, then a
			// child's (not the last command, which ash would exec in place).
			out := inside(t, func(b *bundle) {
				b.Spec.Process.Scheduler = &sched
				if sched.Policy == specs.SchedFIFO || sched.Policy == specs.SchedRR {
					rtBudget(t, b.Spec)
				}
			}, `read -r line < /proc/$$/stat; echo "$line"; cat /proc/self/stat; exit 0`)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 2 {
				t.Fatalf("want two stat lines, got %q", out)
			}
			nice, rtprio, policy := schedFields(t, lines[0])
			if nice != tc.nice || rtprio != tc.rtprio || policy != tc.policy {
				t.Errorf("container init: nice %d, rt_priority %d, policy %d; want %d, %d, %d",
					nice, rtprio, policy, tc.nice, tc.rtprio, tc.policy)
			}
			_, rtprio, policy = schedFields(t, lines[1])
			if rtprio != tc.childRtprio || policy != tc.childPol {
				t.Errorf("its child: rt_priority %d, policy %d; want %d, %d", rtprio, policy, tc.childRtprio, tc.childPol)
			}
		})
	}
}

// TestSchedulerDeadline: SCHED_DEADLINE with its three times, seen with
// sched_getattr from the host. With SCHED_FLAG_RESET_ON_FORK the shell can
// fork (a deadline task cannot otherwise), and its children are normal.
func TestSchedulerDeadline(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b, pid := startWaiting(t, r, func(b *bundle) {
		b.Spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1_000_000,
			Deadline: 10_000_000, Period: 20_000_000, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}
	}, `cat /proc/self/stat > /out/child`)
	attr, err := unix.SchedGetAttr(pid, 0)
	if err != nil {
		t.Fatalf("sched_getattr of the container's init: %v", err)
	}
	if attr.Policy != unix.SCHED_DEADLINE || attr.Runtime != 1_000_000 || attr.Deadline != 10_000_000 ||
		attr.Period != 20_000_000 || attr.Flags&unix.SCHED_FLAG_RESET_ON_FORK == 0 {
		t.Errorf("container init: %+v, want SCHED_DEADLINE 1ms/10ms/20ms with SCHED_FLAG_RESET_ON_FORK", attr)
	}
	if _, _, policy := schedFields(t, readFile(t, filepath.Join(b.Out, "child"))); policy != unix.SCHED_NORMAL {
		t.Errorf("a forked child has policy %d, want SCHED_OTHER", policy)
	}
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// TestSchedulerDeadlineNoFork: without SCHED_FLAG_RESET_ON_FORK the process
// must not fork, so it is the init itself that reads its sched file.
func TestSchedulerDeadlineNoFork(t *testing.T) {
	t.Parallel()
	out := inside(t, func(b *bundle) {
		b.Spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 2_000_000, Deadline: 10_000_000}
		b.Spec.Process.Args = []string{"cat", "/proc/self/sched"}
	}, "")
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "policy" {
			if f[2] != strconv.Itoa(unix.SCHED_DEADLINE) {
				t.Errorf("policy %s, want SCHED_DEADLINE (6)", f[2])
			}
			return
		}
	}
	t.Errorf("no policy line in /proc/self/sched: %q", out)
}

func TestSchedulerErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		sched specs.Scheduler
		field string
	}{
		{"unknown policy", specs.Scheduler{Policy: "SCHED_FAST"}, "process.scheduler.policy"},
		{"fifo priority 0", specs.Scheduler{Policy: specs.SchedFIFO}, "process.scheduler.priority"},
		{"nice 20", specs.Scheduler{Policy: specs.SchedOther, Nice: 20}, "process.scheduler.nice"},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			sched := tc.sched
			createFails(t, func(b *bundle) { b.Spec.Process.Scheduler = &sched }, tc.field)
		})
	}
}

// createFails creates a container built by mut, which must fail with one
// error line; ocirun's must name field. Nothing may be left behind.
func createFails(t *testing.T, mut func(b *bundle), field string) string {
	t.Helper()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.script(`true`)
		mut(b)
	})
	res := b.create()
	if res.Code == 0 {
		t.Fatalf("create accepted the config: %s", res)
	}
	lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
	if len(lines) != 1 || lines[0] == "" {
		t.Errorf("want one error line, got %q", res.Stderr)
	}
	if !isRunc && !strings.Contains(res.Stderr, field) {
		t.Errorf("error does not name %s: %q", field, res.Stderr)
	}
	if left := leftovers(r.root, b.ID, b.Dir); len(left) != 0 {
		t.Errorf("failed create left: %v", left)
	}
	return strings.TrimSpace(res.Stderr)
}

func TestIOPriority(t *testing.T) {
	t.Parallel()
	cases := []struct {
		class specs.IOPriorityClass
		prio  int
		want  string // busybox ionice -p
	}{
		{specs.IOPRIO_CLASS_RT, 3, "realtime: prio 3"},
		{specs.IOPRIO_CLASS_BE, 6, "best-effort: prio 6"},
		{specs.IOPRIO_CLASS_IDLE, 0, "idle"},
	}
	for _, tc := range cases {
		t.Run(string(tc.class), func(t *testing.T) {
			t.Parallel()
			r := newRT(t)
			b, pid := startWaiting(t, r, func(b *bundle) {
				b.Spec.Process.IOPriority = &specs.LinuxIOPriority{Class: tc.class, Priority: tc.prio}
			}, `ionice -p $$ > /out/ionice`)
			if got := strings.TrimSpace(readFile(t, filepath.Join(b.Out, "ionice"))); got != tc.want {
				t.Errorf("ionice -p inside = %q, want %q", got, tc.want)
			}
			// And from the host, on the container's init.
			class := map[specs.IOPriorityClass]uintptr{specs.IOPRIO_CLASS_RT: 1, specs.IOPRIO_CLASS_BE: 2, specs.IOPRIO_CLASS_IDLE: 3}[tc.class]
			v, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, 1 /* IOPRIO_WHO_PROCESS */, uintptr(pid), 0)
			if errno != 0 {
				t.Fatalf("ioprio_get(%d): %v", pid, errno)
			}
			if v>>13 != class || (tc.class != specs.IOPRIO_CLASS_IDLE && v&7 != uintptr(tc.prio)) {
				t.Errorf("host sees ioprio %#x for the container's init, want class %d prio %d", v, class, tc.prio)
			}
			createFile(t, filepath.Join(b.Out, "stop")).Close()
		})
	}
}

// TestExecCPUAffinityNotForInit: the spec makes execCPUAffinity apply to
// processes started by `exec`, "not applicable to the container's init
// process", so the container's init keeps the CPUs it would have without it.
func TestExecCPUAffinityNotForInit(t *testing.T) {
	t.Parallel()
	own := statusField(t, os.Getpid(), "Cpus_allowed_list")
	if own == "0" {
		t.Skip("needs two CPUs")
	}
	out := inside(t, func(b *bundle) {
		b.Spec.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0", Final: "1"}
	}, `grep Cpus_allowed_list /proc/self/status`)
	if f := strings.Fields(out); len(f) != 2 || f[1] != own {
		t.Errorf("container init's %q, want the runtime's own %s", strings.TrimSpace(out), own)
	}
}

func TestExecCPUAffinityBadList(t *testing.T) {
	t.Parallel()
	createFails(t, func(b *bundle) {
		b.Spec.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "1-0"}
	}, "process.execCPUAffinity.final")
}

func TestMemoryPolicy(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/numa_maps"); err != nil {
		t.Skip("kernel without NUMA (no /proc/self/numa_maps)")
	}
	cases := []struct {
		name string
		mp   specs.LinuxMemoryPolicy
		want string // the policy column of numa_maps
	}{
		{"default", specs.LinuxMemoryPolicy{Mode: specs.MpolDefault}, "default"},
		{"bind", specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"}, "bind:0"},
		{"interleave static", specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "0",
			Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}}, "interleave=static:0"},
		{"preferred", specs.LinuxMemoryPolicy{Mode: specs.MpolPreferred, Nodes: "0"}, "prefer:0"},
		{"local", specs.LinuxMemoryPolicy{Mode: specs.MpolLocal}, "local"},
		{"bind balancing", specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0",
			Flags: []specs.MemoryPolicyFlagType{specs.MpolFNumaBalancing}}, "bind=balancing:0"},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			mp := tc.mp
			// head reads its own numa_maps: the policy was inherited by fork.
			out := inside(t, func(b *bundle) { b.Spec.Linux.MemoryPolicy = &mp }, `head -n 1 /proc/self/numa_maps`)
			if f := strings.Fields(out); len(f) < 2 || f[1] != tc.want {
				t.Errorf("numa_maps inside: %q, want policy %q", strings.TrimSpace(out), tc.want)
			}
		})
	}
}

func TestMemoryPolicyErrors(t *testing.T) {
	t.Parallel()
	createFails(t, func(b *bundle) {
		b.Spec.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind}
	}, "linux.memoryPolicy.nodes")
}

func TestIntelRdtWithoutResctrl(t *testing.T) {
	t.Parallel()
	for _, m := range parseMountinfo(readOr("/proc/self/mountinfo")) {
		if m.FSType == "resctrl" {
			t.Skip("this host has resctrl mounted")
		}
	}
	createFails(t, func(b *bundle) {
		b.Spec.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "ocirun-it"}
	}, "linux.intelRdt")
}

func TestLSMNotOnHost(t *testing.T) {
	t.Parallel()
	apparmor := strings.HasPrefix(readOr("/sys/module/apparmor/parameters/enabled"), "Y")
	_, err := os.Stat("/sys/fs/selinux/enforce")
	selinux := err == nil
	const label = "system_u:system_r:container_t:s0:c1,c2"
	cases := []struct {
		name, want string
		skip       bool
		mut        func(b *bundle)
	}{
		{"apparmorProfile", "config.json: process.apparmorProfile: AppArmor is not enabled on this host", apparmor,
			func(b *bundle) { b.Spec.Process.ApparmorProfile = "ocirun-it" }},
		{"selinuxLabel", "config.json: process.selinuxLabel: SELinux is not enabled on this host", selinux,
			func(b *bundle) { b.Spec.Process.SelinuxLabel = label }},
		{"mountLabel", "config.json: linux.mountLabel: SELinux is not enabled on this host", selinux,
			func(b *bundle) { b.Spec.Linux.MountLabel = label }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.skip {
				t.Skip("this host has the LSM")
			}
			msg := createFails(t, tc.mut, tc.name)
			if !isRunc && msg != tc.want {
				t.Errorf("error %q, want %q", msg, tc.want)
			}
		})
	}
}

// TestSysctlNamespaceRules: only sysctls of a namespace the container has
// of its own are allowed; any other is refused, naming the key (runc's
// messages name it too).
func TestSysctlNamespaceRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, key string
		mut       func(s *specs.Spec)
	}{
		{"net without netns", "net.ipv4.ip_forward", func(s *specs.Spec) { setNamespace(s, specs.NetworkNamespace, "", true) }},
		{"net in the host netns by path", "net.core.somaxconn", func(s *specs.Spec) {
			setNamespace(s, specs.NetworkNamespace, "/proc/self/ns/net", false)
		}},
		{"shm without ipcns", "kernel.shmmax", func(s *specs.Spec) { setNamespace(s, specs.IPCNamespace, "", true) }},
		{"mqueue without ipcns", "fs.mqueue.msg_max", func(s *specs.Spec) { setNamespace(s, specs.IPCNamespace, "", true) }},
		{"not namespaced", "vm.swappiness", func(s *specs.Spec) {}},
		{"kernel not namespaced", "kernel.panic", func(s *specs.Spec) {}},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			before := readOr(filepath.Join("/proc/sys", strings.ReplaceAll(tc.key, ".", "/")))
			msg := createFails(t, func(b *bundle) {
				tc.mut(b.Spec)
				b.Spec.Linux.Sysctl = map[string]string{tc.key: "1"}
			}, "linux.sysctl")
			if !strings.Contains(msg, tc.key) {
				t.Errorf("error does not name %s: %q", tc.key, msg)
			}
			if after := readOr(filepath.Join("/proc/sys", strings.ReplaceAll(tc.key, ".", "/"))); after != before {
				t.Errorf("host %s changed from %q to %q", tc.key, before, after)
			}
		})
	}
}

// TestSysctlNamespaced: the allowed ones are set in the container only.
func TestSysctlNamespaced(t *testing.T) {
	t.Parallel()
	host := readOr("/proc/sys/kernel/shmmni") + readOr("/proc/sys/net/ipv4/ip_forward") + readOr("/proc/sys/fs/mqueue/msg_max")
	out := inside(t, func(b *bundle) {
		b.Spec.Linux.Sysctl = map[string]string{"kernel.shmmni": "1234", "net.ipv4.ip_forward": "1", "fs.mqueue.msg_max": "77"}
	}, `cat /proc/sys/kernel/shmmni /proc/sys/net/ipv4/ip_forward /proc/sys/fs/mqueue/msg_max`)
	if out != "1234\n1\n77\n" {
		t.Errorf("sysctls inside = %q", out)
	}
	if now := readOr("/proc/sys/kernel/shmmni") + readOr("/proc/sys/net/ipv4/ip_forward") + readOr("/proc/sys/fs/mqueue/msg_max"); now != host {
		t.Errorf("host sysctls changed: %q -> %q", host, now)
	}
}

// hostIfb creates a virtual (ifb) network device on the host with an IPv4
// and an IPv6 address, removed in cleanup if it is still there.
func hostIfb(t *testing.T) (name, v4, v6 string) {
	t.Helper()
	id := newID()
	name = "oit" + id[len(id)-8:]
	n, _ := strconv.ParseUint(id[len(id)-2:], 16, 8)
	// TEST-NET-3: a documentation prefix, checked unused here (even a
	// down device's address is a local route of the host).
	v4 = fmt.Sprintf("203.0.113.%d/24", n%250+1)
	ifaces, _ := net.Interfaces()
	for _, ifc := range ifaces {
		if strings.HasPrefix(ifc.Name, "oit") {
			continue // another test's
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && (ipn.Contains(net.ParseIP("203.0.113.1")) || ipn.Contains(net.ParseIP("2001:db8::1"))) {
				t.Skipf("the host uses the test prefix on %s: %v", ifc.Name, ipn)
			}
		}
	}
	v6 = fmt.Sprintf("2001:db8::%x/64", n+1)
	for _, args := range [][]string{
		{"link", "add", name, "type", "ifb"},
		{"addr", "add", v4, "dev", name},
		{"addr", "add", v6, "dev", name, "nodad"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			exec.Command("ip", "link", "del", name).Run()
			t.Skipf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		if hostHasLink(name) {
			exec.Command("ip", "link", "del", name).Run()
		}
	})
	return name, v4, v6
}

func hostHasLink(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// TestNetDevices: a host device moves into the container under its new
// name, up, with its addresses; it is gone from the host meanwhile, and
// after delete it stays gone: a virtual device dies with the namespace (the
// spec forbids moving it back).
func TestNetDevices(t *testing.T) {
	t.Parallel()
	dev, v4, v6 := hostIfb(t)
	r := newRT(t)
	b, _ := startWaiting(t, r, func(b *bundle) {
		b.Spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{dev: {Name: "ctr0"}}
	}, `ip -o link show ctr0 > /out/link; ip -o addr show dev ctr0 > /out/addr`)
	link := readFile(t, filepath.Join(b.Out, "link"))
	if i, j := strings.Index(link, "<"), strings.Index(link, ">"); i < 0 || j < i || !hasOpt(link[i+1:j], "UP") {
		t.Errorf("ctr0 inside is not up: %q", link)
	}
	addrs := readFile(t, filepath.Join(b.Out, "addr"))
	for _, want := range []string{"inet " + v4, "inet6 " + v6} {
		if !strings.Contains(addrs, want) {
			t.Errorf("ctr0 inside lacks %s: %q", want, addrs)
		}
	}
	if hostHasLink(dev) {
		t.Errorf("%s is still on the host while the container runs", dev)
	}
	createFile(t, filepath.Join(b.Out, "stop")).Close()
	b.waitStatus("stopped")
	r.must("delete", b.ID)
	if !poll(func() bool { return !hostHasLink(dev) && !hostHasLink("ctr0") }) {
		t.Errorf("after delete the virtual device is back on the host (%s or ctr0)", dev)
	}
}

// TestNetDevicesTemplate: a name with %d gets the kernel's first free number.
func TestNetDevicesTemplate(t *testing.T) {
	t.Parallel()
	dev, _, _ := hostIfb(t)
	out := inside(t, func(b *bundle) {
		b.Spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{dev: {Name: "net%d"}}
	}, `ip -o link | cut -d: -f2 | tr -d ' '`)
	if got := strings.Fields(out); strings.Join(got, " ") != "lo net0" {
		t.Errorf("links inside = %q, want lo and net0", got)
	}
}

// TestNetDevicesNameTaken: a name the container's namespace already has is
// an error (the spec's MUST), and the device stays on the host.
func TestNetDevicesNameTaken(t *testing.T) {
	t.Parallel()
	dev, _, _ := hostIfb(t)
	msg := createFails(t, func(b *bundle) {
		b.Spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{dev: {Name: "lo"}}
	}, dev)
	if !isRunc && !strings.Contains(msg, "file exists") {
		t.Errorf("error %q does not say the name exists", msg)
	}
	if !hostHasLink(dev) {
		t.Errorf("%s left the host though the move failed", dev)
	}
}

func TestNetDevicesWithoutNetns(t *testing.T) {
	t.Parallel()
	dev, _, _ := hostIfb(t)
	createFails(t, func(b *bundle) {
		setNamespace(b.Spec, specs.NetworkNamespace, "", true)
		b.Spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{dev: {}}
	}, "linux.netDevices")
	if !hostHasLink(dev) {
		t.Errorf("%s left the host", dev)
	}
}
