package systemd

import (
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		name, path, id string
		want           Unit
		err            string
	}{
		{name: "docker style", path: "system.slice:docker:abc",
			want: Unit{Name: "docker-abc.scope", Slice: "system.slice", Path: "/system.slice/docker-abc.scope"}},
		{name: "empty slice is system.slice", path: ":crio:x1",
			want: Unit{Name: "crio-x1.scope", Slice: "system.slice", Path: "/system.slice/crio-x1.scope"}},
		{name: "empty path derives from id", path: "", id: "c1",
			want: Unit{Name: "ocirun-c1.scope", Slice: "system.slice", Path: "/system.slice/ocirun-c1.scope"}},
		{name: "nested slice expands", path: "kubepods-besteffort.slice:cri:p1",
			want: Unit{Name: "cri-p1.scope", Slice: "kubepods-besteffort.slice", Path: "/kubepods.slice/kubepods-besteffort.slice/cri-p1.scope"}},
		{name: "root slice", path: "-.slice:p:n",
			want: Unit{Name: "p-n.scope", Slice: "-.slice", Path: "/p-n.scope"}},
		{name: "empty prefix", path: "machine.slice::vm1",
			want: Unit{Name: "vm1.scope", Slice: "machine.slice", Path: "/machine.slice/vm1.scope"}},
		{name: "slice name makes a slice unit placed by its own name", path: "system.slice:ignored:a-b.slice",
			want: Unit{Name: "a-b.slice", Slice: "system.slice", Path: "/a.slice/a-b.slice"}},
		{name: "plain cgroupfs path", path: "/my/cgroup", err: "not of the form slice:prefix:name"},
		{name: "two fields", path: "system.slice:abc", err: "not of the form"},
		{name: "four fields", path: "a.slice:b:c:d", err: "not of the form"},
		{name: "empty name", path: "system.slice:docker:", err: "name (after the second colon) is empty"},
		{name: "slice without suffix", path: "system:docker:abc", err: `ends in ".slice"`},
		{name: "slice with slash", path: "a.slice/b.slice:docker:abc", err: `has no "/"`},
		{name: "slice with empty component", path: "a--b.slice:docker:abc", err: "empty component"},
		{name: "slice with leading dash", path: "-a.slice:docker:abc", err: "empty component"},
		{name: "name with slash", path: "system.slice:docker:a/b", err: "cannot hold"},
		{name: "prefix with space", path: "system.slice:do cker:ab", err: "cannot hold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePath(tc.path, tc.id)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParsePath(%q) = %+v, %v; want error containing %q", tc.path, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePath(%q): %v", tc.path, err)
			}
			if got != tc.want {
				t.Errorf("ParsePath(%q) = %+v, want %+v", tc.path, got, tc.want)
			}
			if got.IsSlice() != strings.HasSuffix(tc.want.Name, ".slice") {
				t.Errorf("IsSlice() = %v for %q", got.IsSlice(), got.Name)
			}
		})
	}
}

func TestExpandSlice(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "system.slice", want: "/system.slice"},
		{in: "a-b-c.slice", want: "/a.slice/a-b.slice/a-b-c.slice"},
		{in: "user-1000.slice", want: "/user.slice/user-1000.slice"},
		{in: "-.slice", want: "/"},
		{in: ".slice", err: "ends in"},
		{in: "a-.slice", err: "empty component"},
		{in: "a.scope", err: "ends in"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ExpandSlice(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ExpandSlice(%q) = %q, %v; want error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ExpandSlice(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestCgroupPathAgrees: what Create expects systemd to report is what New
// gave the cgroupfs driver.
func TestCgroupPathAgrees(t *testing.T) {
	for _, p := range []string{"system.slice:docker:abc", "a-b.slice:x:y", ":p:n", "s.slice:p:k-l.slice", "-.slice:p:n"} {
		u, err := ParsePath(p, "id")
		if err != nil {
			t.Fatal(err)
		}
		m := &Manager{Unit: u.Name, Slice: u.Slice}
		got, err := m.cgroupPath()
		if err != nil || got != u.Path {
			t.Errorf("%q: cgroupPath() = %q, %v; ParsePath said %q", p, got, err, u.Path)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]int{`"252.22-1~deb12u1"`: 252, `"v255"`: 255, `"249"`: 249, `""`: 0, `"x"`: 0} {
		if got := parseVersion(in); got != want {
			t.Errorf("parseVersion(%s) = %d, want %d", in, got, want)
		}
	}
}
