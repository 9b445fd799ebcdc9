package capabilities

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name  string
		names []string
		want  Set
		err   string
	}{
		{"empty", nil, 0, ""},
		{"one", []string{"CAP_CHOWN"}, 1 << unix.CAP_CHOWN, ""},
		{"several and duplicates", []string{"CAP_KILL", "CAP_SYS_ADMIN", "CAP_KILL"}, 1<<unix.CAP_KILL | 1<<unix.CAP_SYS_ADMIN, ""},
		{"above 31", []string{"CAP_CHECKPOINT_RESTORE"}, 1 << unix.CAP_CHECKPOINT_RESTORE, ""},
		{"lower case", []string{"cap_net_raw"}, 1 << unix.CAP_NET_RAW, ""},
		{"unknown", []string{"CAP_KILL", "CAP_TEST"}, 0, `unknown capability "CAP_TEST"`},
		{"no prefix", []string{"KILL"}, 0, `unknown capability "KILL"`},
		{"empty name", []string{""}, 0, `unknown capability ""`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.names)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("Parse(%q) = %v, %v; want error %q", tc.names, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Parse(%q) = %#x, %v; want %#x", tc.names, got, err, tc.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	s := Set(1<<unix.CAP_SYS_RESOURCE | 1<<unix.CAP_CHOWN | 1<<unix.CAP_BPF)
	if got := strings.Join(s.Names(), ","); got != "CAP_CHOWN,CAP_SYS_RESOURCE,CAP_BPF" {
		t.Fatalf("Names = %s", got)
	}
	if Set(0).Names() != nil {
		t.Fatalf("empty set has names")
	}
}

func TestNewNamesTheSet(t *testing.T) {
	_, err := New(&specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Permitted: []string{"CAP_TEST"}})
	if want := `config.json: process.capabilities.permitted: unknown capability "CAP_TEST"`; err == nil || err.Error() != want {
		t.Fatalf("New: %v, want %q", err, want)
	}
	c, err := New(nil)
	if err != nil || *c != (Caps{}) {
		t.Fatalf("New(nil) = %+v, %v; want every set empty", c, err)
	}
	c, err = New(&specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Ambient: []string{"CAP_CHOWN"}})
	if err != nil || c.Bounding != 1<<unix.CAP_KILL || c.Ambient != 1<<unix.CAP_CHOWN || c.Effective != 0 {
		t.Fatalf("New = %+v, %v", c, err)
	}
}

// TestLastCap: the probe agrees with the kernel's own count.
func TestLastCap(t *testing.T) {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Skipf("no cap_last_cap: %v", err)
	}
	want, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if got := lastCap(); got != want {
		t.Fatalf("lastCap = %d, want %d", got, want)
	}
}

// TestCheckAvailable: what this process holds is available; a capability
// missing from its bounding set is named with the set that asked for it.
func TestCheckAvailable(t *testing.T) {
	cur, err := readCurrent()
	if err != nil {
		t.Fatal(err)
	}
	ok := &Caps{Bounding: cur.bounding, Effective: cur.permitted & cur.bounding, Permitted: cur.permitted & cur.bounding}
	if err := ok.CheckAvailable(); err != nil {
		t.Fatalf("CheckAvailable of what we hold: %v", err)
	}
	missing := -1
	for n := 0; n <= lastCap(); n++ {
		if !cur.bounding.Has(n) {
			missing = n
			break
		}
	}
	if missing < 0 {
		t.Skip("the bounding set is full: nothing unavailable to ask for")
	}
	bad := &Caps{Bounding: cur.bounding | 1<<uint(missing)}
	want := "config.json: process.capabilities.bounding: " + Name(missing) + " is not in the runtime's bounding set"
	if err := bad.CheckAvailable(); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("CheckAvailable: %v, want %q...", err, want)
	}
	bad = &Caps{Ambient: 1 << uint(missing)}
	want = "config.json: process.capabilities.ambient: " + Name(missing) + " is not in the runtime's permitted set"
	if err := bad.CheckAvailable(); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("CheckAvailable: %v, want %q...", err, want)
	}
}
