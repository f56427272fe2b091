package main

import (
	"os"
	"path/filepath"
	"testing"

	"roomkit/provisioning"
	"roomkit/settings"
)

func TestPortalURL(t *testing.T) {
	paired := t.TempDir()
	if err := provisioning.SaveState(paired, provisioning.State{Version: provisioning.StateVersion, PortalURL: "https://paired.example"}); err != nil {
		t.Fatal(err)
	}
	damaged := t.TempDir()
	if err := os.WriteFile(filepath.Join(damaged, provisioning.StateFile), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, flag, settings, dir, want string
	}{
		{"the flag wins", "https://flag.example", "https://settings.example", paired, "https://flag.example"},
		{"then settings.json", "", "https://settings.example", paired, "https://settings.example"},
		{"then the paired portal", "", "", paired, "https://paired.example"},
		{"else the default", "", "", t.TempDir(), defaultPortal},
		{"a damaged state file: the default", "", "", damaged, defaultPortal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := portalURL(tc.flag, settings.Settings{PortalURL: tc.settings}, tc.dir); got != tc.want {
				t.Errorf("portal %q, want %q", got, tc.want)
			}
		})
	}
	// The damaged file is still there for the kit, which recovers its
	// room with it (docs/protocol.md §4).
	if b, err := os.ReadFile(filepath.Join(damaged, provisioning.StateFile)); err != nil || string(b) != "{garbage" {
		t.Errorf("state file after portalURL: %q, %v; want it left as it was", b, err)
	}
}
