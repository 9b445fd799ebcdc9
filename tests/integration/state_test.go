package integration

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestStateFileAndDerivedStatus(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b, pid := startWaiting(t, r, nil, `true`)
	if _, err := os.Stat(filepath.Join(r.root, b.ID, "state.json")); err != nil {
		t.Errorf("no state.json: %v", err)
	}
	if st := b.state(); st.Status != "running" {
		t.Fatalf("want running, got %+v", st)
	}
	// Killed behind the runtime's back: status is derived, not stored.
	if err := killPid(pid); err != nil {
		t.Fatal(err)
	}
	b.waitStatus("stopped")
}

func TestInvalidIDs(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) { b.script(`true`) })
	for _, id := range []string{"a/b", "..", "", strings.Repeat("x", 2000), "../escape"} {
		res := r.run("create", "--bundle", b.Dir, id)
		if res.Code == 0 {
			t.Errorf("create accepted id %.20q: %s", id, res)
			r.run("delete", "--force", id)
		}
		entries, _ := os.ReadDir(r.root)
		for _, e := range entries {
			t.Errorf("id %.20q left %q in the state root", id, e.Name())
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(r.root), "escape")); err == nil {
			t.Errorf("id %.20q created a directory outside the state root", id)
		}
	}
}

// TestConcurrentCreateSameID: exactly one of two simultaneous creates wins,
// and the winner's container still works.
func TestConcurrentCreateSameID(t *testing.T) {
	t.Parallel()
	r := newRT(t)
	b := r.newBundle(func(b *bundle) { b.script(`echo winner > /out/ran`) })
	var wg sync.WaitGroup
	codes := make([]int, 2)
	dirs := []string{t.TempDir(), t.TempDir()}
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = runToFilesNoFatal(r, dirs[i], "create", "--bundle", b.Dir, b.ID)
		}()
	}
	wg.Wait()
	if (codes[0] == 0) == (codes[1] == 0) {
		t.Fatalf("want exactly one create to succeed, exit codes %v, output:\n%s\n%s", codes,
			readOr(filepath.Join(dirs[0], "out")), readOr(filepath.Join(dirs[1], "out")))
	}
	r.must("start", b.ID)
	if got := strings.TrimSpace(waitFile(t, filepath.Join(b.Out, "ran"))); got != "winner" {
		t.Errorf("winner container wrote %q", got)
	}
	b.waitStatus("stopped")
}
