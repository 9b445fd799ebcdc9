package integration

// Id-mapped mounts (runtime-spec config.md: the idmap/ridmap options and a
// mount's own uidMappings/gidMappings), without a container user namespace.
// With mount_setattr(MOUNT_ATTR_IDMAP) and the mapping containerID 0 ->
// hostID 1000, what is owned by 0 on disk shows as owned by 1000 through
// the mount, while the host keeps seeing 0.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var mntIDMap = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}

// mntIDMapped is m with the test mapping for both uids and gids.
func mntIDMapped(m specs.Mount) specs.Mount {
	m.UIDMappings, m.GIDMappings = mntIDMap, mntIDMap
	return m
}

// mntHostOwner is "uid:gid" of a host path as the host sees it.
func mntHostOwner(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return strconv.FormatUint(uint64(st.Uid), 10) + ":" + strconv.FormatUint(uint64(st.Gid), 10)
}

// TestMountsIDMap: idmap on a bind, on a tmpfs, and idmap/ridmap on an
// rbind whose source has a submount. The kernel lets the non-recursive
// idmap through on such a tree (MOUNT_ATTR_IDMAP without AT_RECURSIVE):
// only the top mount is mapped.
func TestMountsIDMap(t *testing.T) {
	requireIDMappableTmp(t)
	t.Parallel()
	t.Run("bind-idmap", func(t *testing.T) {
		t.Parallel()
		src := t.TempDir()
		if err := os.Chmod(src, 0o755); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(src, "f")
		mntWriteFile(t, file, "x")
		if err := os.Chown(file, 0, 0); err != nil {
			t.Fatal(err)
		}
		hostSeesRoot := func(*bundle) {
			if got := mntHostOwner(t, file); got != "0:0" {
				t.Errorf("host sees the file owned by %s, want 0:0", got)
			}
		}
		out := mntRun(t, func(b *bundle) {
			b.Spec.Mounts = append(b.Spec.Mounts, mntIDMapped(specs.Mount{
				Destination: "/data", Type: "bind", Source: src, Options: []string{"bind", "idmap"}}))
		}, mntScript(`stat -c %u:%g /data/f /data`), hostSeesRoot)
		hostSeesRoot(nil)
		mntCheckIDMap(t, out, map[string]bool{"/data": true}, "1000:1000\n1000:1000\n")
	})
	t.Run("tmpfs-idmap", func(t *testing.T) {
		t.Parallel()
		out := mntRun(t, func(b *bundle) {
			b.Spec.Mounts = append(b.Spec.Mounts, mntIDMapped(mntTmpfs("/data", "idmap", "mode=755")))
		}, mntScript(`stat -c %u:%g /data`))
		mntCheckIDMap(t, out, map[string]bool{"/data": true}, "1000:1000\n")
	})
	for _, opt := range []string{"ridmap", "idmap"} {
		t.Run("rbind-"+opt+"-submount", func(t *testing.T) {
			t.Parallel()
			top, sub := mntHostTree(t, false)
			out := mntRun(t, func(b *bundle) {
				b.Spec.Mounts = append(b.Spec.Mounts, mntIDMapped(specs.Mount{
					Destination: "/data", Type: "bind", Source: top, Options: []string{"rbind", opt}}))
			}, mntScript(`stat -c %u:%g /data/topfile /data/sub/subfile`))
			want := "1000:1000\n1000:1000\n"
			if opt == "idmap" {
				want = "1000:1000\n0:0\n"
			}
			mntCheckIDMap(t, out, map[string]bool{"/data": true, "/data/sub": opt == "ridmap"}, want)
			for _, p := range []string{filepath.Join(top, "topfile"), filepath.Join(sub, "subfile")} {
				if got := mntHostOwner(t, p); got != "0:0" {
					t.Errorf("host sees %s owned by %s, want 0:0", p, got)
				}
			}
		})
	}
}

// mntCheckIDMap checks the container's output of an idmap test: which
// mounts are marked "idmapped" in mountinfo, and what stat printed.
func mntCheckIDMap(t *testing.T, out string, idmapped map[string]bool, want string) {
	t.Helper()
	mounts, effect := mntSplit(t, out)
	for point, mapped := range idmapped {
		m := mntFind(mounts, point)
		if m == nil {
			t.Errorf("no mount at %s", point)
			continue
		}
		if hasOpt(m.Opts, "idmapped") != mapped {
			t.Errorf("%s options %q, want idmapped=%v", point, m.Opts, mapped)
		}
	}
	if effect != want {
		t.Errorf("owners inside: %q, want %q", effect, want)
	}
}

// TestMountsIDMapErrors: an id-mapped mount needs both mappings, and with no
// mappings and no user namespace there is nothing to map with: create must
// fail (the spec's "an error MUST be returned") and leave nothing behind.
func TestMountsIDMapErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		opt      string
		uid, gid []specs.LinuxIDMapping
		mention  string
	}{
		{"idmap-no-mappings", "idmap", nil, nil, "idmap"},
		{"ridmap-no-mappings", "ridmap", nil, nil, "idmap"},
		{"uid-without-gid", "idmap", mntIDMap, nil, ""},
		{"gid-without-uid", "idmap", nil, mntIDMap, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			src := t.TempDir()
			res := mntCreateFails(t, func(b *bundle) {
				b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: src,
					Options: []string{"rbind", c.opt}, UIDMappings: c.uid, GIDMappings: c.gid})
			})
			if c.mention != "" && !strings.Contains(res.Stderr, c.mention) {
				t.Errorf("error does not mention %s: %s", c.mention, res)
			}
			if strings.TrimSpace(res.Stderr) == "" {
				t.Errorf("create failed without saying why: %s", res)
			}
		})
	}
}
