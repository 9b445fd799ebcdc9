package specutil

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func withUserNS(s *specs.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
}

func TestValidateIdentity(t *testing.T) {
	bundle := newBundle(t)
	caps := func(s *specs.Spec) *specs.LinuxCapabilities { return s.Process.Capabilities }
	cases := []struct {
		name   string
		mutate func(*specs.Spec)
		field  string // "" means the config must pass
		text   string // the whole problem
	}{
		{"uid 1 passes", func(s *specs.Spec) { s.Process.User = specs.User{UID: 1, GID: 1} }, "", ""},
		{"uid 2^32-2 passes", func(s *specs.Spec) { s.Process.User.UID = math.MaxUint32 - 1 }, "", ""},
		{"username is ignored", func(s *specs.Spec) { s.Process.User.Username = "nobody" }, "", ""},
		{"uid -1", func(s *specs.Spec) { s.Process.User.UID = math.MaxUint32 }, "process.user.uid",
			"4294967295 is (uid_t)-1, which is not a valid uid"},
		{"gid -1", func(s *specs.Spec) { s.Process.User.GID = math.MaxUint32 }, "process.user.gid",
			"4294967295 is (gid_t)-1, which is not a valid gid"},
		{"additional gid -1", func(s *specs.Spec) { s.Process.User.AdditionalGids = []uint32{5, math.MaxUint32} },
			"process.user.additionalGids[1]", "4294967295 is (gid_t)-1, which is not a valid gid"},

		{"userns mapped ids pass", func(s *specs.Spec) {
			withUserNS(s)
			s.Process.User = specs.User{UID: 65535, GID: 1000, AdditionalGids: []uint32{0, 65535}}
		}, "", ""},
		{"joined userns is not checked", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user", Path: "/proc/1/ns/user"})
			s.Process.User.UID = 70000
		}, "", ""},
		{"userns uid unmapped", func(s *specs.Spec) { withUserNS(s); s.Process.User.UID = 65536 },
			"process.user.uid", "65536 is not mapped in linux.uidMappings"},
		{"userns gid unmapped", func(s *specs.Spec) { withUserNS(s); s.Process.User.GID = 70000 },
			"process.user.gid", "70000 is not mapped in linux.gidMappings"},
		{"userns additional gid unmapped", func(s *specs.Spec) {
			withUserNS(s)
			s.Process.User.AdditionalGids = []uint32{1, 2, 100000}
		}, "process.user.additionalGids[2]", "100000 is not mapped in linux.gidMappings"},

		{"nil capabilities pass", func(s *specs.Spec) { s.Process.Capabilities = nil }, "", ""},
		{"lower-case capability passes", func(s *specs.Spec) { caps(s).Bounding = append(caps(s).Bounding, "cap_chown") }, "", ""},
		{"ambient without inheritable passes (runc's default spec)", func(s *specs.Spec) {
			caps(s).Ambient = caps(s).Bounding
		}, "", ""},
		{"unknown bounding", func(s *specs.Spec) { caps(s).Bounding = append(caps(s).Bounding, "CAP_TEST") },
			"process.capabilities.bounding", `unknown capability "CAP_TEST"`},
		{"unknown effective", func(s *specs.Spec) { caps(s).Effective = []string{"KILL"} },
			"process.capabilities.effective", `unknown capability "KILL"`},
		{"unknown permitted", func(s *specs.Spec) { caps(s).Permitted = []string{""} },
			"process.capabilities.permitted", `unknown capability ""`},
		{"unknown inheritable", func(s *specs.Spec) { caps(s).Inheritable = []string{"CAP_TEST"} },
			"process.capabilities.inheritable", `unknown capability "CAP_TEST"`},
		{"unknown ambient", func(s *specs.Spec) { caps(s).Ambient = []string{"CAP_TEST"} },
			"process.capabilities.ambient", `unknown capability "CAP_TEST"`},
		{"effective beyond permitted", func(s *specs.Spec) {
			caps(s).Effective = append(caps(s).Effective, "CAP_CHOWN", "CAP_SYS_ADMIN")
		}, "process.capabilities.effective", "CAP_CHOWN, CAP_SYS_ADMIN not in permitted"},
		{"inheritable beyond bounding", func(s *specs.Spec) { caps(s).Inheritable = []string{"CAP_KILL", "CAP_CHOWN"} },
			"process.capabilities.inheritable", "CAP_CHOWN not in bounding"},

		{"oomScoreAdj bounds pass", func(s *specs.Spec) { s.Process.OOMScoreAdj = intPtr(-1000) }, "", ""},
		{"oomScoreAdj too high", func(s *specs.Spec) { s.Process.OOMScoreAdj = intPtr(1001) },
			"process.oomScoreAdj", "1001 is out of range [-1000, 1000]"},
		{"oomScoreAdj too low", func(s *specs.Spec) { s.Process.OOMScoreAdj = intPtr(-1001) },
			"process.oomScoreAdj", "-1001 is out of range [-1000, 1000]"},
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
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Validate: %v, want field %q", err, tc.field)
			}
			if want := "config.json: " + tc.field + ": " + tc.text; err.Error() != want {
				t.Fatalf("Validate: %q, want %q", err, want)
			}
		})
	}
}

// TestLoadUserIDs: ids beyond uint32, negative or fractional never reach
// Validate: Load refuses them naming the field.
func TestLoadUserIDs(t *testing.T) {
	cases := []struct{ name, user, want string }{
		{"uid 2^32", `{"uid":4294967296,"gid":0}`, "config.json: process.user.uid: cannot use number 4294967296 as uint32"},
		{"uid -1", `{"uid":-1,"gid":0}`, "config.json: process.user.uid: cannot use number -1 as uint32"},
		{"uid fraction", `{"uid":1.5,"gid":0}`, "config.json: process.user.uid: cannot use number 1.5 as uint32"},
		{"gid 2^32", `{"uid":0,"gid":4294967296}`, "config.json: process.user.gid: cannot use number 4294967296 as uint32"},
		{"gid negative", `{"uid":0,"gid":-7}`, "config.json: process.user.gid: cannot use number -7 as uint32"},
		{"additional 2^32", `{"uid":0,"gid":0,"additionalGids":[1,4294967296]}`,
			"config.json: process.user.additionalGids: cannot use number 4294967296 as uint32"},
		{"additional negative", `{"uid":0,"gid":0,"additionalGids":[-1]}`,
			"config.json: process.user.additionalGids: cannot use number -1 as uint32"},
		{"umask negative", `{"uid":0,"gid":0,"umask":-1}`, "config.json: process.user.umask: cannot use number -1 as uint32"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, `{"ociVersion":"1.0.0","process":{"user":`+tc.user+`}}`))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Load: %v, want one line starting %q", err, tc.want)
			}
		})
	}
	// (uid_t)-1 fits a uint32: Load takes it and Validate refuses it.
	s, err := Load(writeConfig(t, `{"ociVersion":"1.0.0","process":{"user":{"uid":4294967295,"gid":0}}}`))
	if err != nil || s.Process.User.UID != math.MaxUint32 {
		t.Fatalf("Load uid 4294967295: %v, %+v", err, s)
	}
}
