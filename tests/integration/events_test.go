package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// This file: `events`. --stats prints one stats event in runc's JSON shape
// whose numbers are the cgroup files' as the host reads them; the stream
// reports an OOM kill (memory limit applied by create) as an "oom" event
// while it runs, and ends when the container is gone. Helpers are
// prefixed "ev".

// evStats is the part of runc's stats event the tests check.
type evStats struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data struct {
		CPU struct {
			Usage struct {
				Total  uint64   `json:"total"`
				Percpu []uint64 `json:"percpu"`
			} `json:"usage"`
		} `json:"cpu"`
		Memory struct {
			Usage struct {
				Limit uint64 `json:"limit"`
				Usage uint64 `json:"usage"`
			} `json:"usage"`
			Raw map[string]uint64 `json:"raw"`
		} `json:"memory"`
		Pids struct {
			Current uint64 `json:"current"`
			Limit   uint64 `json:"limit"`
		} `json:"pids"`
	} `json:"data"`
}

// evUint reads a numeric logical cgroup value of the container (see
// cgValue) from the host.
func evUint(t *testing.T, b *bundle, key string) uint64 {
	t.Helper()
	text := cgValue(t, b, key)
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		t.Fatalf("parse %s %q: %v", key, text, err)
	}
	return n
}

// TestEventsStats: events --stats prints exactly one line, a stats event
// with runc's keys, whose pids.current, pids.limit, memory limit and
// usage match the host's cgroup files (v2: memory.current), and whose
// memory.raw is memory.stat (v1 total_rss, v2 anon).
func TestEventsStats(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	limit := int64(64 << 20)
	b := r.newBundle(func(b *bundle) {
		b.script(`sleep 1000 & sleep 1000 & echo ok > /out/ready; wait`)
		cgRes(b).Memory = &specs.LinuxMemory{Limit: &limit}
		cgRes(b).Pids = &specs.LinuxPids{Limit: i64(50)}
	})
	b.mustCreate()
	r.must("start", b.ID)
	waitFile(t, filepath.Join(b.Out, "ready"))

	// The kernel's usage moves by itself (per-cpu charge batches are
	// drained when other cgroups charge on that cpu, the sleeps may still
	// be faulting in): retry until a call lands between two equal reads.
	var ev evStats
	var line string
	var before, after uint64
	stable := poll(func() bool {
		before = evUint(t, b, "memory.usage")
		res := r.must("events", "--stats", b.ID)
		after = evUint(t, b, "memory.usage")
		lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
		if len(lines) != 1 {
			t.Fatalf("events --stats printed %d lines:\n%s", len(lines), res.Stdout)
		}
		line = lines[0]
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("decode %q: %v", line, err)
		}
		return before == after && ev.Data.Memory.Usage.Usage == before
	})
	if !stable {
		t.Errorf("memory.usage.usage %d never matched the host's %s (last %d before, %d after)",
			ev.Data.Memory.Usage.Usage, cgWhere("memory.usage"), before, after)
	}
	if ev.Type != "stats" || ev.ID != b.ID {
		t.Errorf("event type %q id %q", ev.Type, ev.ID)
	}
	var generic struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	json.Unmarshal([]byte(line), &generic)
	for _, k := range []string{"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"} {
		if _, ok := generic.Data[k]; !ok {
			t.Errorf("stats data lacks runc's key %q: %s", k, line)
		}
	}
	d := ev.Data
	if got, want := d.Pids.Current, evUint(t, b, "pids.current"); got != want || got != 3 {
		t.Errorf("pids.current %d, host pids.current %d, want 3 (sh and two sleeps)", got, want)
	}
	if d.Pids.Limit != 50 {
		t.Errorf("pids.limit %d, want 50", d.Pids.Limit)
	}
	if d.Memory.Usage.Limit != uint64(limit) {
		t.Errorf("memory.usage.limit %d, want %d", d.Memory.Usage.Limit, limit)
	}
	if d.Memory.Usage.Usage == 0 {
		t.Errorf("memory.usage.usage is 0")
	}
	rawKey := "total_rss"
	if cgroupV2Only() {
		rawKey = "anon"
	}
	if _, ok := d.Memory.Raw[rawKey]; !ok {
		t.Errorf("memory.raw lacks memory.stat's key %s: %v", rawKey, d.Memory.Raw)
	}
	if d.CPU.Usage.Total == 0 {
		t.Errorf("cpu usage empty: %+v", d.CPU.Usage)
	}
	cgOnly(t, 1, "cgroup v2 has no per-cpu usage (cpuacct.usage_percpu): runc leaves percpu empty there", func(t *testing.T) {
		if len(d.CPU.Usage.Percpu) == 0 {
			t.Errorf("cpu usage has no percpu: %+v", d.CPU.Usage)
		}
	})
}

// TestEventsStopped: events on a stopped container fails as runc's does.
func TestEventsStopped(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) { b.script(`exit 0`) })
	b.mustCreate()
	r.must("start", b.ID)
	b.waitStatus("stopped")
	for _, args := range [][]string{{"events", "--stats", b.ID}, {"events", b.ID}} {
		if res := r.run(args...); res.Code == 0 || !strings.Contains(res.Stderr, "is not running") {
			t.Errorf("want failure with \"is not running\": %s", res)
		}
	}
	if res := r.run("events", "--interval", "0s", b.ID); res.Code == 0 {
		t.Errorf("events accepted a zero interval: %s", res)
	}
}

// TestEventsOOM: while `events` runs, a dd beyond the 32 MiB limit is
// OOM-killed and an {"type":"oom","id":...} line appears; the shell
// survives, then exits, and events ends. Stats lines (interval 100ms) come
// too; the first one shows the stream is set up before the OOM is caused.
// runc 1.1 ends the stream only once the cgroup is removed (delete), not
// when the container stops.
func TestEventsOOM(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	limit := int64(32 << 20)
	b := r.newBundle(func(b *bundle) {
		cgRes(b).Memory = &specs.LinuxMemory{Limit: &limit, Swap: &limit}
		b.script(`while [ ! -e /out/go ]; do sleep 0.05; done
dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo "dd=$?" > /out/dd
while [ ! -e /out/stop ]; do sleep 0.05; done`)
	})
	b.mustCreate()
	r.must("start", b.ID)

	ctx, cancel := context.WithTimeout(context.Background(), cmdLimit)
	defer cancel()
	outPath := filepath.Join(t.TempDir(), "events")
	out := createFile(t, outPath)
	defer out.Close()
	ev := r.cmd(ctx, "events", "--interval", "100ms", b.ID)
	ev.Stdout, ev.Stderr = out, out
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ev.Wait() }()
	exited := func() bool {
		select {
		case err := <-done:
			done <- err
			return true
		default:
			return false
		}
	}
	if !poll(func() bool { return strings.Contains(readOr(outPath), `"type":"stats"`) }) {
		t.Fatalf("no stats event from events --interval 100ms: %q", readOr(outPath))
	}
	createFile(t, filepath.Join(b.Out, "go")).Close()
	if got := waitFile(t, filepath.Join(b.Out, "dd")); got != "dd=137\n" {
		t.Errorf("dd result %q, want dd=137 (OOM-killed)", got)
	}
	want := `{"type":"oom","id":"` + b.ID + `"}`
	if !poll(func() bool { return strings.Contains(readOr(outPath), want+"\n") }) {
		t.Errorf("no %s line in the events output:\n%s", want, readOr(outPath))
	}
	if exited() {
		t.Fatalf("events exited while the container runs: %s", readOr(outPath))
	}
	createFile(t, filepath.Join(b.Out, "stop")).Close()
	b.waitStatus("stopped")
	if isRunc {
		r.must("delete", b.ID) // runc watches the cgroup, not the init
	}
	if !poll(exited) {
		t.Fatalf("events still runs after the container stopped")
	}
	if err := <-done; err != nil {
		t.Errorf("events ended with %v: %s", err, readOr(outPath))
	}
	for _, l := range strings.Split(strings.TrimSpace(readOr(outPath)), "\n") {
		var e struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.ID != b.ID || (e.Type != "stats" && e.Type != "oom") {
			t.Errorf("bad events line %q (%v)", l, err)
		}
	}
	_ = os.Remove(outPath)
}
