package rootfs

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	cases := []struct {
		name    string
		opts    []string
		want    MountOptions
		wantErr string // substring of the error; "" means success
	}{
		{name: "empty", opts: nil, want: MountOptions{}},
		{
			name: "typical proc",
			opts: []string{"nosuid", "noexec", "nodev"},
			want: MountOptions{Flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV},
		},
		{
			name: "rw clears an earlier ro",
			opts: []string{"ro", "rw"},
			want: MountOptions{ClearFlags: unix.MS_RDONLY},
		},
		{
			name: "ro after rw sets",
			opts: []string{"rw", "ro"},
			want: MountOptions{Flags: unix.MS_RDONLY},
		},
		{
			name: "clearing options",
			opts: []string{"suid", "dev", "exec", "async", "atime", "nomand"},
			want: MountOptions{ClearFlags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
				unix.MS_SYNCHRONOUS | unix.MS_NOATIME | unix.MS_MANDLOCK},
		},
		{
			name: "misc flags",
			opts: []string{"sync", "dirsync", "remount", "mand", "noatime", "relatime", "strictatime", "nodiratime"},
			want: MountOptions{Flags: unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_REMOUNT | unix.MS_MANDLOCK |
				unix.MS_NOATIME | unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_NODIRATIME},
		},
		{
			name: "bind",
			opts: []string{"bind", "ro"},
			want: MountOptions{Flags: unix.MS_BIND | unix.MS_RDONLY},
		},
		{
			name: "rbind",
			opts: []string{"rbind"},
			want: MountOptions{Flags: unix.MS_BIND | unix.MS_REC},
		},
		{
			name: "tmpfs data keeps order",
			opts: []string{"nosuid", "size=1m", "mode=755", "defaults"},
			want: MountOptions{Flags: unix.MS_NOSUID, Data: "size=1m,mode=755", DataOpts: []string{"size=1m", "mode=755"}},
		},
		{
			name: "unknown non-flag option goes to data",
			opts: []string{"newinstance", "ptmxmode=0666", "gid=5"},
			want: MountOptions{Data: "newinstance,ptmxmode=0666,gid=5", DataOpts: []string{"newinstance", "ptmxmode=0666", "gid=5"}},
		},
		{
			name: "propagation in order",
			opts: []string{"rprivate", "shared", "rslave", "unbindable", "runbindable", "slave", "private", "rshared"},
			want: MountOptions{Propagation: []uintptr{
				unix.MS_PRIVATE | unix.MS_REC, unix.MS_SHARED, unix.MS_SLAVE | unix.MS_REC, unix.MS_UNBINDABLE,
				unix.MS_UNBINDABLE | unix.MS_REC, unix.MS_SLAVE, unix.MS_PRIVATE, unix.MS_SHARED | unix.MS_REC,
			}},
		},
		{
			name: "recursive attributes",
			opts: []string{"rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow"},
			want: MountOptions{RecAttr: &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID |
				unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOSYMFOLLOW}},
		},
		{
			name: "recursive clear overrides earlier set",
			opts: []string{"rro", "rrw", "rsuid"},
			want: MountOptions{RecAttr: &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID}},
		},
		{
			name: "recursive atime replaces the whole field",
			opts: []string{"rnoatime", "rstrictatime"},
			want: MountOptions{RecAttr: &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_STRICTATIME, Attr_clr: unix.MOUNT_ATTR__ATIME}},
		},
		{
			name: "recursive relatime",
			opts: []string{"rnoatime", "rrelatime"},
			want: MountOptions{RecAttr: &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RELATIME, Attr_clr: unix.MOUNT_ATTR__ATIME}},
		},
		{
			name:    "recursive form of a flag without one",
			opts:    []string{"nosuid", "rmand"},
			wantErr: `"rmand"`,
		},
		{
			name:    "recursive sync is not a thing",
			opts:    []string{"rsync"},
			wantErr: `"rsync"`,
		},
		{
			name: "idmap is a runtime option",
			opts: []string{"rbind", "idmap"},
			want: MountOptions{Flags: unix.MS_BIND | unix.MS_REC, IDMap: true},
		},
		{
			name: "ridmap is recursive idmap",
			opts: []string{"ridmap"},
			want: MountOptions{IDMap: true, RecursiveIDMap: true},
		},
		{
			name: "tmpcopyup is a runtime option",
			opts: []string{"tmpcopyup", "size=1m"},
			want: MountOptions{TmpCopyUp: true, Data: "size=1m", DataOpts: []string{"size=1m"}},
		},
		{
			name: "r-prefixed data option that is no flag stays data",
			opts: []string{"rootcontext=system_u:object_r:tmp_t:s0", "rsize=8192"},
			want: MountOptions{Data: "rootcontext=system_u:object_r:tmp_t:s0,rsize=8192",
				DataOpts: []string{"rootcontext=system_u:object_r:tmp_t:s0", "rsize=8192"}},
		},
		{
			name: "empty option ignored",
			opts: []string{"", "ro"},
			want: MountOptions{Flags: unix.MS_RDONLY},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMountOptions(tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseMountOptions(%q) error = %v, want one containing %s", tc.opts, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMountOptions(%q): %v", tc.opts, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseMountOptions(%q) = %+v (recattr %+v), want %+v (recattr %+v)",
					tc.opts, got, got.RecAttr, tc.want, tc.want.RecAttr)
			}
		})
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	cases := map[string]string{
		`/plain`:          "/plain",
		`/with\040space`:  "/with space",
		`/tab\011x\134y`:  "/tab\tx\\y",
		`/trailing\04`:    `/trailing\04`,
		`/not\999octal`:   `/not\999octal`,
		`/sys/fs/cgroup/`: "/sys/fs/cgroup/",
	}
	for in, want := range cases {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}
