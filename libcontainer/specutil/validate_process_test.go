package specutil

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestValidateProcAttrs: each broken field fails Validate with one line
// naming it; the good ones pass. LSMs and intelRdt are tested against a
// fake host root in TestCheckLSM and TestCheckIntelRdt.
func TestValidateProcAttrs(t *testing.T) {
	bundle := newBundle(t)
	cases := []struct {
		name   string
		mutate func(*specs.Spec)
		field  string // "" means the config must pass
		text   string
	}{
		{"scheduler other nice", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_OTHER", Nice: -5} }, "", ""},
		{"scheduler fifo", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_FIFO", Priority: 99, Flags: []specs.LinuxSchedulerFlag{"SCHED_FLAG_RESET_ON_FORK"}}
		}, "", ""},
		{"scheduler deadline", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_DEADLINE", Runtime: 1e6, Deadline: 2e6, Period: 4e6}
		}, "", ""},
		{"scheduler unknown policy", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_FAST"} }, "process.scheduler.policy", "SCHED_FAST"},
		{"scheduler empty policy", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{} }, "process.scheduler.policy", `""`},
		{"scheduler unknown flag", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_BATCH", Flags: []specs.LinuxSchedulerFlag{"SCHED_FLAG_RECLAIM", "SCHED_FLAG_X"}}
		}, "process.scheduler.flags[1]", "SCHED_FLAG_X"},
		{"scheduler nice too low", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_OTHER", Nice: -21} }, "process.scheduler.nice", "-21"},
		{"scheduler nice too high", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_IDLE", Nice: 20} }, "process.scheduler.nice", "20"},
		{"scheduler rr priority 0", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_RR"} }, "process.scheduler.priority", "1..99"},
		{"scheduler fifo priority 100", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_FIFO", Priority: 100} }, "process.scheduler.priority", "100"},
		{"scheduler other priority", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_OTHER", Priority: 5} }, "process.scheduler.priority", "must be 0"},
		{"scheduler runtime without deadline policy", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_BATCH", Runtime: 5000} }, "process.scheduler", "SCHED_DEADLINE only"},
		{"scheduler deadline tiny runtime", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_DEADLINE", Runtime: 10, Deadline: 100}
		}, "process.scheduler.runtime", "1024"},
		{"scheduler deadline below runtime", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_DEADLINE", Runtime: 5000, Deadline: 4000}
		}, "process.scheduler.deadline", "less than the runtime"},
		{"scheduler period below deadline", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_DEADLINE", Runtime: 5000, Deadline: 8000, Period: 6000}
		}, "process.scheduler.period", "less than the deadline"},

		{"ioprio be 7", func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_BE", Priority: 7}
		}, "", ""},
		{"ioprio bad class", func(s *specs.Spec) { s.Process.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_NONE"} }, "process.ioPriority.class", "IOPRIO_CLASS_NONE"},
		{"ioprio priority 8", func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_RT", Priority: 8}
		}, "process.ioPriority.priority", "0..7"},
		{"ioprio priority negative", func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_IDLE", Priority: -1}
		}, "process.ioPriority.priority", "-1"},

		{"exec affinity good", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0", Final: "0-1,3"} }, "", ""},
		{"exec affinity bad initial", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0-", Final: "x"} }, "process.execCPUAffinity.initial", `"0-"`},
		{"exec affinity bad final", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "3-1"} }, "process.execCPUAffinity.final", "backwards"},
		{"exec affinity too big", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "1024"} }, "process.execCPUAffinity.final", "1024"},

		{"personality linux32", func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX32"} }, "", ""},
		{"personality bad domain", func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX64"} }, "linux.personality.domain", "LINUX64"},
		{"personality flag", func(s *specs.Spec) {
			s.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX", Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
		}, "linux.personality.flags[0]", "ADDR_NO_RANDOMIZE"},

		{"mempolicy bind", func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_BIND", Nodes: "0"} }, "", ""},
		{"mempolicy preferred empty", func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_PREFERRED"} }, "", ""},
		{"mempolicy unknown mode", func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_RANDOM"} }, "linux.memoryPolicy.mode", "MPOL_RANDOM"},
		{"mempolicy bind no nodes", func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_BIND"} }, "linux.memoryPolicy.nodes", "at least one"},
		{"mempolicy local with nodes", func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_LOCAL", Nodes: "0"} }, "linux.memoryPolicy.nodes", "no nodes"},
		{"mempolicy bad nodes", func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_INTERLEAVE", Nodes: "0,a"}
		}, "linux.memoryPolicy.nodes", `"a"`},
		{"mempolicy unknown flag", func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_BIND", Nodes: "0", Flags: []specs.MemoryPolicyFlagType{"MPOL_F_X"}}
		}, "linux.memoryPolicy.flags[0]", "MPOL_F_X"},
		{"mempolicy static and relative", func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_BIND", Nodes: "0", Flags: []specs.MemoryPolicyFlagType{"MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"}}
		}, "linux.memoryPolicy.flags", "exclude"},
		{"mempolicy balancing with interleave", func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_INTERLEAVE", Nodes: "0", Flags: []specs.MemoryPolicyFlagType{"MPOL_F_NUMA_BALANCING"}}
		}, "linux.memoryPolicy.flags", "MPOL_BIND"},

		{"sysctl namespaced keys", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"kernel.shmmax": "1", "fs.mqueue.msg_max": "1", "net.ipv4.ip_forward": "1",
				"net/ipv4/conf/eth0.100/forwarding": "1", "kernel.domainname": "x", "kernel.msg_next_id": "1"}
		}, "", ""},
		{"sysctl not namespaced", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"vm.swappiness": "1"} }, "linux.sysctl.vm.swappiness", "no namespace"},
		{"sysctl net without netns", func(s *specs.Spec) {
			dropNS(s, "network")
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, "linux.sysctl.net.ipv4.ip_forward", "network namespace"},
		{"sysctl net in host netns by path", func(s *specs.Spec) {
			s.Linux.Namespaces[1].Path = "/proc/self/ns/net"
			s.Linux.Sysctl = map[string]string{"net.core.somaxconn": "1"}
		}, "linux.sysctl.net.core.somaxconn", "network namespace"},
		{"sysctl shm without ipcns", func(s *specs.Spec) {
			dropNS(s, "ipc")
			s.Linux.Sysctl = map[string]string{"kernel.shmmax": "1"}
		}, "linux.sysctl.kernel.shmmax", "IPC namespace"},
		{"sysctl mqueue without ipcns", func(s *specs.Spec) {
			dropNS(s, "ipc")
			s.Linux.Sysctl = map[string]string{"fs.mqueue.queues_max": "1"}
		}, "linux.sysctl.fs.mqueue.queues_max", "IPC"},
		{"sysctl hostname", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"kernel.hostname": "x"} }, "linux.sysctl.kernel.hostname", "\"hostname\" field"},
		{"sysctl domainname without uts", func(s *specs.Spec) {
			dropNS(s, "uts")
			s.Hostname = ""
			s.Linux.Sysctl = map[string]string{"kernel.domainname": "x"}
		}, "linux.sysctl.kernel.domainname", "no namespace"},
		{"sysctl dotdot", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"net/../../kernel/x": "1"} }, "linux.sysctl", "invalid key"},
		{"sysctl empty component", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"net..ipv4": "1"} }, "linux.sysctl", "invalid key"},
		{"sysctl first bad key in sorted order", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"vm.b": "1", "vm.a": "1", "net.ipv4.ip_forward": "1"}
		}, "linux.sysctl.vm.a", "no namespace"},

		{"netdevices good", func(s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {Name: "ctr0"}, "eth2": {}, "eth3": {Name: "net%d"}, "eth4": {Name: "net%d"}}
		}, "", ""},
		{"netdevices joined netns", func(s *specs.Spec) {
			s.Linux.Namespaces[1].Path = "/proc/self/ns/net"
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {}}
		}, "linux.netDevices", "network namespace"},
		{"netdevices without netns", func(s *specs.Spec) {
			dropNS(s, "network")
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {}}
		}, "linux.netDevices", "network namespace of the container's own"},
		{"netdevices long name", func(s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {Name: "a234567890123456"}}
		}, "linux.netDevices.eth1.name", "longer than 15"},
		{"netdevices slash", func(s *specs.Spec) { s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {Name: "a/b"}} }, "linux.netDevices.eth1.name", "'/'"},
		{"netdevices two %", func(s *specs.Spec) { s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {Name: "a%d%d"}} }, "linux.netDevices.eth1.name", "%d"},
		{"netdevices %s", func(s *specs.Spec) { s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {Name: "a%s"}} }, "linux.netDevices.eth1.name", "%d"},
		{"netdevices template on host", func(s *specs.Spec) { s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth%d": {Name: "x"}} }, "linux.netDevices", `"eth%d"`},
		{"netdevices bad host name", func(s *specs.Spec) { s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"..": {Name: "x"}} }, "linux.netDevices", "not a valid"},
		{"netdevices same name twice", func(s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {Name: "eth2"}, "eth2": {}}
		}, "linux.netDevices.eth2.name", "also the name of \"eth1\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Example()
			tc.mutate(s)
			err := Validate(s, bundle)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want no error", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate passed, want an error on %s", tc.field)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Validate: %v, want field %q", err, tc.field)
			}
			prefix := "config.json: " + tc.field + ": "
			if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tc.text) || strings.Contains(msg, "\n") {
				t.Fatalf("Validate: %q, want one line starting %q containing %q", msg, prefix, tc.text)
			}
		})
	}
}

func TestSchedAttr(t *testing.T) {
	attr, err := SchedAttr(&specs.Scheduler{Policy: "SCHED_DEADLINE", Runtime: 1e6, Deadline: 2e6, Period: 3e6,
		Flags: []specs.LinuxSchedulerFlag{"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_DL_OVERRUN"}})
	want := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_DEADLINE, Flags: 0x5, Runtime: 1e6, Deadline: 2e6, Period: 3e6}
	if err != nil || *attr != want {
		t.Fatalf("SchedAttr = %+v, %v; want %+v", attr, err, want)
	}
	attr, err = SchedAttr(&specs.Scheduler{Policy: "SCHED_RR", Priority: 42, Nice: 3})
	want = unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: 42, Nice: 3}
	if err != nil || *attr != want {
		t.Fatalf("SchedAttr = %+v, %v; want %+v", attr, err, want)
	}
}

func TestIOPrio(t *testing.T) {
	cases := []struct {
		class specs.IOPriorityClass
		prio  int
		want  int
	}{
		{"IOPRIO_CLASS_RT", 0, 1<<13 | 0},
		{"IOPRIO_CLASS_BE", 4, 2<<13 | 4},
		{"IOPRIO_CLASS_IDLE", 7, 3<<13 | 7},
	}
	for _, tc := range cases {
		if got, err := IOPrio(&specs.LinuxIOPriority{Class: tc.class, Priority: tc.prio}); err != nil || got != tc.want {
			t.Errorf("IOPrio(%s, %d) = %#x, %v; want %#x", tc.class, tc.prio, got, err, tc.want)
		}
	}
}

func TestCPUList(t *testing.T) {
	cases := []struct {
		in   string
		want []int
	}{
		{"0", []int{0}},
		{"0-3,7", []int{0, 1, 2, 3, 7}},
		{" 1 , 3-4 ", []int{1, 3, 4}},
		{"5,5,4-5", []int{4, 5}},
		{"1023", []int{1023}},
		{"", nil},
	}
	for _, tc := range cases {
		set, err := CPUList(tc.in)
		if err != nil {
			t.Errorf("CPUList(%q): %v", tc.in, err)
			continue
		}
		var got []int
		for i := range 1024 {
			if set.IsSet(i) {
				got = append(got, i)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("CPUList(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"a", "-1", "1-", "3-1", "1,,2", "1024", "0-1024", "1-2-3"} {
		if _, err := CPUList(bad); err == nil {
			t.Errorf("CPUList(%q) passed, want an error", bad)
		}
	}
}

func TestMemPolicy(t *testing.T) {
	cases := []struct {
		p    specs.LinuxMemoryPolicy
		mode int
		mask []uint64
	}{
		{specs.LinuxMemoryPolicy{Mode: "MPOL_DEFAULT"}, unix.MPOL_DEFAULT, nil},
		{specs.LinuxMemoryPolicy{Mode: "MPOL_LOCAL"}, unix.MPOL_LOCAL, nil},
		{specs.LinuxMemoryPolicy{Mode: "MPOL_PREFERRED", Nodes: ""}, unix.MPOL_PREFERRED, nil},
		{specs.LinuxMemoryPolicy{Mode: "MPOL_BIND", Nodes: "0-2,65"}, unix.MPOL_BIND, []uint64{0x7, 0x2}},
		{specs.LinuxMemoryPolicy{Mode: "MPOL_INTERLEAVE", Nodes: "1", Flags: []specs.MemoryPolicyFlagType{"MPOL_F_STATIC_NODES"}},
			unix.MPOL_INTERLEAVE | unix.MPOL_F_STATIC_NODES, []uint64{0x2}},
		{specs.LinuxMemoryPolicy{Mode: "MPOL_BIND", Nodes: "0", Flags: []specs.MemoryPolicyFlagType{"MPOL_F_NUMA_BALANCING"}},
			unix.MPOL_BIND | unix.MPOL_F_NUMA_BALANCING, []uint64{0x1}},
	}
	for _, tc := range cases {
		mode, mask, err := MemPolicy(&tc.p)
		if err != nil || mode != tc.mode || !slices.Equal(mask, tc.mask) {
			t.Errorf("MemPolicy(%+v) = %#x, %#x, %v; want %#x, %#x", tc.p, mode, mask, err, tc.mode, tc.mask)
		}
	}
}

// fakeRoot makes a host root holding files (path relative to the root ->
// content).
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	filesPlain   = "nodev\tsysfs\nnodev\tproc\nnodev\ttmpfs\n\text4\n"
	filesSELinux = filesPlain + "nodev\tselinuxfs\n"
	filesResctrl = filesPlain + "nodev\tresctrl\n"
)

func TestHostLSMDetection(t *testing.T) {
	cases := []struct {
		name              string
		files             map[string]string
		apparmor, selinux bool
	}{
		{"neither", map[string]string{"proc/filesystems": filesPlain}, false, false},
		{"apparmor", map[string]string{"proc/filesystems": filesPlain, "sys/module/apparmor/parameters/enabled": "Y\n"}, true, false},
		{"apparmor disabled", map[string]string{"sys/module/apparmor/parameters/enabled": "N\n"}, false, false},
		{"selinux", map[string]string{"proc/filesystems": filesSELinux, "sys/fs/selinux/enforce": "1"}, false, true},
		{"selinuxfs known, not mounted", map[string]string{"proc/filesystems": filesSELinux}, false, false},
		{"selinux dir without the filesystem", map[string]string{"proc/filesystems": filesPlain, "sys/fs/selinux/enforce": "1"}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeRoot(t, tc.files)
			if got := AppArmorEnabled(root); got != tc.apparmor {
				t.Errorf("AppArmorEnabled = %v, want %v", got, tc.apparmor)
			}
			if got := SELinuxEnabled(root); got != tc.selinux {
				t.Errorf("SELinuxEnabled = %v, want %v", got, tc.selinux)
			}
		})
	}
}

func TestCheckLSM(t *testing.T) {
	none := fakeRoot(t, map[string]string{"proc/filesystems": filesPlain})
	both := fakeRoot(t, map[string]string{"proc/filesystems": filesSELinux, "sys/fs/selinux/enforce": "1",
		"sys/module/apparmor/parameters/enabled": "Y"})
	const label = "system_u:system_r:container_t:s0:c1,c2"
	cases := []struct {
		name   string
		root   string
		mutate func(*specs.Spec)
		want   string // "" means no error
	}{
		{"nothing asked", none, func(*specs.Spec) {}, ""},
		{"apparmor missing", none, func(s *specs.Spec) { s.Process.ApparmorProfile = "docker-default" },
			"config.json: process.apparmorProfile: AppArmor is not enabled on this host"},
		{"selinux missing", none, func(s *specs.Spec) { s.Process.SelinuxLabel = label },
			"config.json: process.selinuxLabel: SELinux is not enabled on this host"},
		{"mount label missing", none, func(s *specs.Spec) { s.Linux.MountLabel = label },
			"config.json: linux.mountLabel: SELinux is not enabled on this host"},
		{"all present", both, func(s *specs.Spec) {
			s.Process.ApparmorProfile = "docker-default"
			s.Process.SelinuxLabel = label
			s.Linux.MountLabel = label
		}, ""},
		{"malformed label", both, func(s *specs.Spec) { s.Process.SelinuxLabel = "container_t" },
			`config.json: process.selinuxLabel: "container_t" is not an SELinux label user:role:type[:level]`},
		{"label with quote", both, func(s *specs.Spec) { s.Linux.MountLabel = `a:b:c"` }, "config.json: linux.mountLabel: "},
		{"profile with newline", both, func(s *specs.Spec) { s.Process.ApparmorProfile = "a\nb" },
			"config.json: process.apparmorProfile: \"a\\nb\" contains control characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Example()
			tc.mutate(s)
			err := checkLSM(s, tc.root)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("checkLSM: %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Fatalf("checkLSM: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCheckIntelRdt(t *testing.T) {
	mountinfo := "22 1 0:21 / /sys rw - sysfs sysfs rw\n"
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no kernel support", map[string]string{"proc/filesystems": filesPlain, "proc/self/mountinfo": mountinfo},
			"config.json: linux.intelRdt: this kernel has no resctrl filesystem (Intel RDT)"},
		{"not mounted", map[string]string{"proc/filesystems": filesResctrl, "proc/self/mountinfo": mountinfo},
			"config.json: linux.intelRdt: no resctrl filesystem is mounted on this host"},
		{"mounted", map[string]string{"proc/filesystems": filesResctrl,
			"proc/self/mountinfo": mountinfo + "40 22 0:40 / /sys/fs/resctrl rw - resctrl resctrl rw\n"},
			"config.json: linux.intelRdt: not supported by ocirun yet"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Example()
			if err := checkIntelRdt(s, fakeRoot(t, tc.files)); err != nil {
				t.Fatalf("without intelRdt: %v", err)
			}
			s.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "x"}
			if err := checkIntelRdt(s, fakeRoot(t, tc.files)); err == nil || err.Error() != tc.want {
				t.Fatalf("checkIntelRdt: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMountLabelOptions(t *testing.T) {
	const label = "system_u:object_r:container_file_t:s0:c1,c2"
	cases := []struct {
		name string
		m    specs.Mount
		want []string
	}{
		{"tmpfs", specs.Mount{Type: "tmpfs", Options: []string{"nosuid", "size=1m"}}, []string{"nosuid", "size=1m", "context=" + label}},
		{"mqueue without options", specs.Mount{Type: "mqueue"}, []string{"context=" + label}},
		{"devpts", specs.Mount{Type: "devpts", Options: []string{"newinstance"}}, []string{"newinstance", "context=" + label}},
		{"proc untouched", specs.Mount{Type: "proc"}, nil},
		{"bind untouched", specs.Mount{Type: "bind", Options: []string{"rbind"}}, []string{"rbind"}},
		{"own context kept", specs.Mount{Type: "tmpfs", Options: []string{"context=a:b:c"}}, []string{"context=a:b:c"}},
		{"own defcontext kept", specs.Mount{Type: "tmpfs", Options: []string{"defcontext=a:b:c"}}, []string{"defcontext=a:b:c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			orig := slices.Clone(tc.m.Options)
			got := MountLabelOptions(tc.m, label)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("MountLabelOptions = %q, want %q", got, tc.want)
			}
			if !slices.Equal(tc.m.Options, orig) {
				t.Fatalf("the mount's own options changed to %q", tc.m.Options)
			}
			if got := MountLabelOptions(tc.m, ""); !slices.Equal(got, tc.m.Options) {
				t.Fatalf("without a label: %q", got)
			}
		})
	}
	if got := AppArmorExecAttr("docker-default"); got != "exec docker-default" {
		t.Errorf("AppArmorExecAttr = %q", got)
	}
}
