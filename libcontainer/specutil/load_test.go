package specutil

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	bundle := t.TempDir()
	if err := os.WriteFile(filepath.Join(bundle, ConfigName), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return bundle
}

func TestLoadGood(t *testing.T) {
	data, err := json.Marshal(Example())
	if err != nil {
		t.Fatal(err)
	}
	// An extension field the spec does not know must be ignored.
	text := strings.Replace(string(data), `{`, `{"org.example.extension":{"a":1},`, 1)
	s, err := Load(writeConfig(t, text))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s.Hostname != "ocirun" || len(s.Process.Args) != 1 || s.Process.Args[0] != "sh" || len(s.Linux.Namespaces) != 6 {
		t.Fatalf("Load decoded %+v, want the example config back", s)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"uid as string", `{"ociVersion":"1.0.0","process":{"user":{"uid":"0"}}}`,
			"config.json: process.user.uid: cannot use string as uint32"},
		{"namespaces as string", `{"ociVersion":"1.0.0","linux":{"namespaces":"pid"}}`,
			"config.json: linux.namespaces: cannot use string as []specs.LinuxNamespace"},
		{"args as string", `{"process":{"args":"sh -c true"}}`,
			"config.json: process.args: cannot use string as []string"},
		{"terminal as number", `{"process":{"terminal":1}}`,
			"config.json: process.terminal: cannot use number as bool"},
		{"negative uid", `{"process":{"user":{"uid":-1}}}`,
			"config.json: process.user.uid: cannot use number -1 as uint32"},
		{"top level array", `[]`,
			"config.json: (top level): cannot use array as specs.Spec"},
		{"null", `null`, "config.json: must hold a JSON object, not null"},
		{"syntax error", `{"ociVersion": "1.0.0",}`,
			"config.json: invalid JSON at offset 24: "},
		{"truncated", `{"ociVersion": "1.0`,
			"config.json: invalid JSON at offset 19: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tc.text))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("Load: %v, want an error starting %q", err, tc.want)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	bundle := t.TempDir()
	_, err := Load(bundle)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(bundle, ConfigName)) {
		t.Fatalf("Load: %v, want a not-exist error naming %s", err, filepath.Join(bundle, ConfigName))
	}
}
