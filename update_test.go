package main

import "testing"

// TestParseBytes: runc's (go-units RAMInBytes) size syntax.
func TestParseBytes(t *testing.T) {
	good := map[string]int64{
		"-1": -1, "0": 0, "4096": 4096, "512M": 512 << 20, "512m": 512 << 20, "512MB": 512 << 20,
		"512MiB": 512 << 20, "2 G": 2 << 30, "1.5k": 1536, "100kb": 100 << 10, "1t": 1 << 40, "3b": 3,
	}
	for in, want := range good {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-2", "12Q", "M", "1.2.3", "1e3", " 5", "5  M", "99999999P"} {
		if got, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) = %d, want an error", in, got)
		}
	}
}
