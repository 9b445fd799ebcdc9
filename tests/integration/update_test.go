package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// This file: `update` on a live container (cgroup v1 / hybrid and v2,
// through cgroupfiles_test.go). The new
// values are read from the host's cgroupfs and shown to bite inside the
// container; zero values, which docker sends for "unchanged", change
// nothing; devices are not touched; a stopped container and invalid values
// are refused without changing anything; and the values are kept in the
// state directory so that a second update builds on the first.

// upStart starts a container that waits for /out/stop, with cpu shares
// 512, pids.max 20 and a 64 MiB memory limit to update.
func upStart(t *testing.T, r *rt, script string) (*bundle, int) {
	t.Helper()
	return startWaiting(t, r, upRes, script)
}

// upRes sets cpu shares 512, pids.max 20 and a 64 MiB memory limit.
func upRes(b *bundle) {
	res := cgRes(b)
	res.CPU = &specs.LinuxCPU{Shares: u64(512)}
	res.Pids = &specs.LinuxPids{Limit: i64(20)}
	res.Memory = &specs.LinuxMemory{Limit: i64(64 << 20)}
}

// upStdin runs `update` with stdin from in.
func upStdin(r *rt, in string, args ...string) result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdLimit)
	defer cancel()
	c := r.cmd(ctx, append([]string{"update"}, args...)...)
	c.Stdin = strings.NewReader(in)
	return runToFiles(r.t, c, r.t.TempDir())
}

// upRefused wants res to be a failure whose stderr is one line holding
// want (for runc, whose words differ, only the failure is checked unless
// runcToo).
func upRefused(t *testing.T, res result, want string, runcToo bool) {
	t.Helper()
	if res.Code == 0 {
		t.Fatalf("update succeeded: %s", res)
	}
	lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
	t.Logf("refused: %s", lines[len(lines)-1])
	if isRunc && !runcToo {
		return
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, want) || (!isRunc && len(lines) != 1) {
		t.Errorf("want one error line containing %q, got: %s", want, res)
	}
}

// TestUpdateCgroupFiles: memory limit and reservation, memory+swap, cpu
// shares, quota and period, pids.max and the cpuset change in the host's
// cgroupfs, and the container's init is moved to the new CPU set.
func TestUpdateCgroupFiles(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b, pid := upStart(t, r, `true`)
	args := []string{"update", "--memory", "128M", "--memory-swap", "256m", "--memory-reservation", "32MiB",
		"--cpu-share", "256", "--cpu-quota", "30000", "--cpu-period", "60000", "--pids-limit", "30"}
	last := strconv.Itoa(runtime.NumCPU() - 1)
	if runtime.NumCPU() > 1 {
		args = append(args, "--cpuset-cpus", last, "--cpuset-mems", "0")
	}
	r.must(append(args, b.ID)...)
	cgWant(t, b, "memory.limit", "134217728")
	cgWant(t, b, "memory.swap", "268435456")
	cgWant(t, b, "memory.reservation", "33554432")
	cgWant(t, b, "cpu.shares", "256")
	cgWant(t, b, "cpu.quota", "30000")
	cgWant(t, b, "cpu.period", "60000")
	cgWant(t, b, "pids.max", "30")
	if runtime.NumCPU() > 1 {
		cgWant(t, b, "cpuset.cpus", last)
		if got := statusField(t, pid, "Cpus_allowed_list"); got != last {
			t.Errorf("init's Cpus_allowed_list %q, want %q", got, last)
		}
	}
	// Lowering both limits again takes the other write order.
	r.must("update", "--memory", "48M", "--memory-swap", "96M", b.ID)
	cgWant(t, b, "memory.limit", "50331648")
	cgWant(t, b, "memory.swap", "100663296")
	// -1 makes the memory and, with it, the memory+swap limit unlimited.
	r.must("update", "--memory", "-1", b.ID)
	cgWant(t, b, "memory.limit", "-1")
	cgWant(t, b, "memory.swap", "-1")
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// TestUpdatePidsLimitBites: a container created with pids.max 20 and
// updated to 5 can no longer fork past 5: its shell (2 tasks with the
// init) starts exactly 3 background sleeps.
func TestUpdatePidsLimitBites(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		cgRes(b).Pids = &specs.LinuxPids{Limit: i64(20)}
		b.script(`echo ok > /out/ready; while [ ! -e /out/go ]; do sleep 0.05; done
sh -c 'while true; do sleep 1000 & echo $! >> /out/pids; done' 2>/out/forkerr
n=0; while read p; do n=$((n+1)); done < /out/pids
` + cgInside("pids") + `; read max < "$cg/pids.max"
echo "started=$n max=$max" > /out/count
while [ ! -e /out/stop ]; do sleep 0.05; done`)
	})
	b.mustCreate()
	r.must("start", b.ID)
	waitFile(t, filepath.Join(b.Out, "ready"))
	r.must("update", "--pids-limit", "5", b.ID)
	cgWant(t, b, "pids.max", "5")
	createFile(t, filepath.Join(b.Out, "go")).Close()
	if got := strings.TrimSpace(waitFile(t, filepath.Join(b.Out, "count"))); got != "started=3 max=5" {
		t.Errorf("inside: %q, want started=3 max=5", got)
	}
	if got := readFile(t, filepath.Join(b.Out, "forkerr")); !strings.Contains(got, "can't fork") {
		t.Errorf("the fork loop did not end on a failed fork: %q", got)
	}
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// TestUpdateResourcesStdin: `--resources -` reads a linux.resources JSON
// from stdin. The device rules it carries (containerd resends them) are
// not applied: nodes outside create's allowlist still cannot be opened
// (v1: devices.list is what create made; v2: the eBPF program stays).
func TestUpdateResourcesStdin(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		upRes(b)
		cgAddCap(b, "CAP_MKNOD")
		b.script(`echo ok > /out/ready; while [ ! -e /out/go ]; do sleep 0.05; done
{
` + cgDeviceScript + `
} > /out/devices.tmp; mv /out/devices.tmp /out/devices
while [ ! -e /out/stop ]; do sleep 0.05; done`)
	})
	b.mustCreate()
	r.must("start", b.ID)
	waitFile(t, filepath.Join(b.Out, "ready"))
	devices := ""
	if !cgroupV2Only() {
		devices = cgRead(t, b, "devices", "devices.list")
	}
	in := `{"memory":{"limit":100663296},"cpu":{"shares":768,"quota":25000},"pids":{"limit":12},
"devices":[{"allow":true,"access":"rwm"}]}`
	if res := upStdin(r, in, "--resources", "-", b.ID); res.Code != 0 {
		t.Fatalf("update: %s", res)
	}
	cgWant(t, b, "memory.limit", "100663296")
	cgWant(t, b, "cpu.shares", "768")
	cgWant(t, b, "cpu.quota", "25000")
	cgWant(t, b, "pids.max", "12")
	createFile(t, filepath.Join(b.Out, "go")).Close()
	out := waitFile(t, filepath.Join(b.Out, "devices"))
	devWant(t, out, "mknod-ok", "/dev/lc read denied", "/dev/lp read denied", "/dev/km read denied",
		"/dev/null write ok", "/dev/zero read ok", "Operation not permitted")
	cgOnly(t, 1, "cgroup v2 has no devices.list: the opens above show the eBPF program is the one create attached", func(t *testing.T) {
		cgRaw(t, b, "devices", "devices.list", devices)
	})
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// TestUpdateZeroLeavesUnchanged: the request docker sends for
// `docker update --cpu-quota 40000`, zeros everywhere else, changes the
// quota only: shares, pids.max, the memory limit and the cpuset stay.
func TestUpdateZeroLeavesUnchanged(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b, _ := upStart(t, r, `true`)
	cpus := cgValue(t, b, "cpuset.cpus")
	file := filepath.Join(t.TempDir(), "resources.json")
	in := `{"memory":{"limit":0,"reservation":0,"swap":0,"kernel":0,"kernelTCP":0},
"cpu":{"shares":0,"quota":40000,"period":0,"realtimeRuntime":0,"realtimePeriod":0,"cpus":"","mems":""},
"blockIO":{"weight":0},"pids":{"limit":0}}`
	if err := os.WriteFile(file, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	r.must("update", "--resources", file, b.ID)
	cgWant(t, b, "cpu.quota", "40000")
	cgWant(t, b, "cpu.shares", "512")
	cgWant(t, b, "pids.max", "20")
	cgWant(t, b, "memory.limit", "67108864")
	cgWant(t, b, "cpuset.cpus", cpus)
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// TestUpdateCreated: a created container, not started yet, can be updated.
func TestUpdateCreated(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) {
		b.script(`true`)
		cgRes(b).Pids = &specs.LinuxPids{Limit: i64(20)}
	})
	b.mustCreate()
	r.must("update", "--pids-limit", "7", b.ID)
	cgWant(t, b, "pids.max", "7")
	if st := b.state(); st.Status != "created" {
		t.Errorf("status after update %q, want created", st.Status)
	}
}

// TestUpdateStopped: a container whose process has exited cannot be
// updated: "container not running", the words clients match.
func TestUpdateStopped(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) { b.script(`true`) })
	b.mustCreate()
	r.must("start", b.ID)
	b.waitStatus("stopped")
	upRefused(t, r.run("update", "--memory", "64M", b.ID), "container not running", true)
	upRefused(t, r.run("update", "--memory", "64M", "it-no-such-container"), "container does not exist", true)
}

// TestUpdatePersisted: the values are recorded in the state directory, and
// a second update merges with the first instead of forgetting it. The
// stored values then guard the next update: a memory limit above the
// recorded memory+swap limit is refused before anything is written.
func TestUpdatePersisted(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b, _ := upStart(t, r, `true`)
	r.must("update", "--memory", "128M", "--memory-swap", "192M", b.ID)
	r.must("update", "--cpu-share", "300", b.ID)
	if isRunc {
		// runc 1.1 keeps its config in state.json; update copies every
		// field of its request into it, zeros included.
		st := readFile(t, filepath.Join(r.root, b.ID, "state.json"))
		var s struct {
			Config struct {
				Cgroups map[string]any `json:"cgroups"`
			} `json:"config"`
		}
		if err := json.Unmarshal([]byte(st), &s); err != nil {
			t.Fatal(err)
		}
		cg := s.Config.Cgroups
		t.Logf("runc state.json after the second update: memory %v, memory_swap %v, cpu_shares %v, pids_limit %v",
			cg["memory"], cg["memory_swap"], cg["cpu_shares"], cg["pids_limit"])
	} else {
		var s specs.Spec
		if err := json.Unmarshal([]byte(readFile(t, filepath.Join(r.root, b.ID, "config.json"))), &s); err != nil {
			t.Fatal(err)
		}
		res := s.Linux.Resources
		if res == nil || res.Memory == nil || res.Memory.Limit == nil || res.Memory.Swap == nil ||
			res.CPU == nil || res.CPU.Shares == nil || res.Pids == nil || res.Pids.Limit == nil {
			t.Fatalf("the stored config lacks the updated resources: %+v", res)
		}
		got := []int64{*res.Memory.Limit, *res.Memory.Swap, int64(*res.CPU.Shares), *res.Pids.Limit, int64(len(res.Devices))}
		want := []int64{128 << 20, 192 << 20, 300, 20, int64(len(b.Spec.Linux.Resources.Devices))}
		for i, name := range []string{"memory.limit", "memory.swap", "cpu.shares", "pids.limit", "len(devices)"} {
			if got[i] != want[i] {
				t.Errorf("stored linux.resources.%s = %d, want %d", name, got[i], want[i])
			}
		}
	}
	cgWant(t, b, "memory.limit", "134217728")
	cgWant(t, b, "cpu.shares", "300")
	// 256M is above the recorded 192M memory+swap limit.
	res := r.run("update", "--memory", "256M", "--cpu-share", "400", b.ID)
	if isRunc {
		t.Logf("runc: %s", res)
	} else {
		upRefused(t, res, "linux.resources.memory.swap", false)
		cgWant(t, b, "cpu.shares", "300")
	}
	cgWant(t, b, "memory.limit", "134217728")
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// TestUpdateInvalid: invalid values are refused with one error line and
// change nothing: swappiness 200 from --resources (the same check as
// create's), a size or a number that is not one, and an Intel RDT schema
// (this host has no resctrl; ocirun has no RDT support yet).
func TestUpdateInvalid(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b, _ := upStart(t, r, `true`)
	swappiness := readOr(filepath.Join(cgDir(t, b, "memory"), "memory.swappiness"))
	res := upStdin(r, `{"cpu":{"shares":256},"memory":{"swappiness":200}}`, "--resources", "-", b.ID)
	if isRunc && res.Code == 0 {
		t.Logf("runc 1.1 ignores memory.swappiness in update and applied the rest")
	} else {
		upRefused(t, res, "linux.resources.memory.swappiness", false)
		cgWant(t, b, "cpu.shares", "512")
	}
	cgOnly(t, 1, "cgroup v2 has no memory.swappiness", func(t *testing.T) {
		cgRaw(t, b, "memory", "memory.swappiness", strings.TrimSpace(swappiness))
	})

	upRefused(t, r.run("update", "--memory", "12Q", "--cpu-share", "256", b.ID), "invalid value for memory", true)
	upRefused(t, r.run("update", "--cpu-share", "lots", b.ID), "invalid value for cpu-share", true)
	upRefused(t, r.run("update", "--l3-cache-schema", "L3:0=f", b.ID), "l3-cache-schema", false)
	if !isRunc {
		cgWant(t, b, "cpu.shares", "512")
		cgWant(t, b, "memory.limit", "67108864")
	}
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// TestUpdateBlkioWeight: --blkio-weight reaches blkio.weight (CFQ) or
// blkio.bfq.weight (BFQ), on v2 io.bfq.weight or, mapped, io.weight; a
// kernel with none of them is refused by name.
func TestUpdateBlkioWeight(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b, _ := upStart(t, r, `true`)
	res := r.run("update", "--blkio-weight", "500", b.ID)
	if file, got, want := cgWeight(t, b, 500); file == "" {
		upRefused(t, res, "linux.resources.blockIO.weight", false)
	} else if res.Code != 0 || got != want {
		t.Errorf("host %s holds %q, want %q (blkio weight 500): %s", file, got, want, res)
	}
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

// TestUpdateMemoryBelowUsage: a memory limit below what the container
// holds in tmpfs (which, without swap, the kernel cannot reclaim) is
// refused, naming the field, and the old limit stays.
// TestUpdateCheckBeforeUpdate: with memory.checkBeforeUpdate, a new limit
// below the current usage is refused before the kernel is asked (on v2 it
// would take it and OOM-kill), and the limit stays; a limit above the
// usage still applies. The setting comes in the request here; from the
// container's config it works the same (the two are merged).
func TestUpdateCheckBeforeUpdate(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b, _ := upStart(t, r, `dd if=/dev/zero of=/dev/shm/fill bs=1M count=24 2>/dev/null`)
	res := upStdin(r, `{"memory":{"limit":8388608,"checkBeforeUpdate":true}}`, "--resources", "-", b.ID)
	upRefused(t, res, "linux.resources.memory.limit", false)
	if !isRunc && !strings.Contains(res.Stderr, "checkBeforeUpdate") {
		t.Errorf("the error does not name checkBeforeUpdate: %s", res)
	}
	cgWant(t, b, "memory.limit", "67108864")
	if res := upStdin(r, `{"memory":{"limit":100663296,"checkBeforeUpdate":true}}`, "--resources", "-", b.ID); res.Code != 0 {
		t.Fatalf("update above the usage: %s", res)
	}
	cgWant(t, b, "memory.limit", "100663296")
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}

func TestUpdateMemoryBelowUsage(t *testing.T) {
	t.Parallel()
	if cgroupV2Only() {
		t.Skip("v1 only: cgroup v2's memory.max takes a limit below the usage (the kernel reclaims, then OOM-kills) where v1 refuses it with EBUSY")
	}
	if lines := strings.Split(strings.TrimSpace(readOr("/proc/swaps")), "\n"); len(lines) > 1 {
		t.Skip("the host has swap: the kernel could reclaim the tmpfs pages")
	}
	r := newRT(t)
	b, _ := upStart(t, r, `dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 2>/dev/null`)
	res := r.run("update", "--memory", "16M", b.ID)
	upRefused(t, res, "linux.resources.memory.limit", false)
	if !isRunc && !strings.Contains(res.Stderr, "the container uses") {
		t.Errorf("the error does not give the usage: %s", res)
	}
	cgWant(t, b, "memory.limit", "67108864")
	createFile(t, filepath.Join(b.Out, "stop")).Close()
}
