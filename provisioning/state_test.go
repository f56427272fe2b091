package provisioning

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/renameio/v2"
)

var boardroom = &Room{ID: "rm_1", Name: "Boardroom", Location: "3rd floor", TimeZone: "Europe/Zurich"}

func TestLoadState(t *testing.T) {
	paired := State{Version: 1, PortalURL: "http://127.0.0.1:8080", DeviceID: "dev", Room: boardroom,
		PairedAt: time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)}
	for _, tc := range []struct {
		name        string
		file        *string // nil: no state file
		want        State
		wantCorrupt bool
	}{
		{name: "missing file is unpaired", file: nil, want: State{Version: 1}},
		{name: "unpaired", file: ptr(`{"version":1,"device_id":"dev","room":null}`), want: State{Version: 1, DeviceID: "dev"}},
		{name: "paired", file: ptr(`{"version":1,"portal_url":"http://127.0.0.1:8080","device_id":"dev",
			"room":{"id":"rm_1","name":"Boardroom","location":"3rd floor","time_zone":"Europe/Zurich"},
			"paired_at":"2026-11-03T09:00:00Z"}`), want: paired},
		{name: "fields from a newer firmware are kept out, not fatal", file: ptr(`{"version":2,"device_id":"dev","room":null,"channel":"beta"}`), want: State{Version: 2, DeviceID: "dev"}},
		{name: "empty file", file: ptr(""), wantCorrupt: true},
		{name: "truncated", file: ptr(`{"version":1,"device_id":"dev","room":{"id":"rm`), wantCorrupt: true},
		{name: "not JSON", file: ptr("\x00\x00\x00\x00"), wantCorrupt: true},
		{name: "two objects", file: ptr(`{"version":1}{"version":1}`), wantCorrupt: true},
		{name: "no version", file: ptr(`{"device_id":"dev"}`), wantCorrupt: true},
		{name: "room without id", file: ptr(`{"version":1,"device_id":"dev","room":{"name":"x"}}`), wantCorrupt: true},
		{name: "room without device", file: ptr(`{"version":1,"room":{"id":"rm_1"}}`), wantCorrupt: true},
		{name: "too large", file: ptr(`{"version":1,"portal_url":"` + strings.Repeat("x", maxStateSize) + `"}`), wantCorrupt: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, StateFile)
			if tc.file != nil {
				os.WriteFile(path, []byte(*tc.file), 0o600)
			}
			got, err := LoadState(dir)
			if tc.wantCorrupt {
				if !errors.Is(err, ErrCorruptState) {
					t.Fatalf("LoadState error %v, want ErrCorruptState", err)
				}
				if got.Room != nil {
					t.Errorf("a damaged state pairs the kit with %+v", got.Room)
				}
				aside, _ := filepath.Glob(path + ".corrupt-*")
				if len(aside) != 1 {
					t.Fatalf("moved-aside files %v, want one", aside)
				}
				if b, _ := os.ReadFile(aside[0]); string(b) != *tc.file {
					t.Error("the damaged file was not kept as it was")
				}
				// The next boot starts clean.
				if s, err := LoadState(dir); err != nil || s.Room != nil {
					t.Errorf("LoadState after the damage = %+v, %v; want unpaired, no error", s, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadState: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("LoadState = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// A state file that cannot be read at all (here: a directory where the
// file should be) is damaged too: moved aside, not a dead end.
func TestLoadUnreadableState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, StateFile)
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := LoadState(dir)
	if !errors.Is(err, ErrCorruptState) || !strings.Contains(err.Error(), "cannot read it") || s.Room != nil || s.Version != StateVersion {
		t.Fatalf("LoadState = %+v, %v; want an unpaired state and ErrCorruptState saying it cannot be read", s, err)
	}
	if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 1 {
		t.Errorf("moved-aside files %v, want one", aside)
	}
	if err := SaveState(dir, State{DeviceID: "dev", Room: boardroom}); err != nil {
		t.Fatalf("SaveState after the damage: %v", err)
	}
	if s, err := LoadState(dir); err != nil || s.Room == nil {
		t.Errorf("LoadState after a fresh save = %+v, %v", s, err)
	}
}

func TestStatePaired(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    State
		id   string
		want bool
	}{
		{"paired", State{DeviceID: "a", Room: boardroom}, "a", true},
		{"no room", State{DeviceID: "a"}, "a", false},
		{"another identity", State{DeviceID: "a", Room: boardroom}, "b", false},
		{"no identity recorded", State{Room: boardroom}, "", false},
	} {
		if got := tc.s.Paired(tc.id); got != tc.want {
			t.Errorf("%s: Paired = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSaveStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := State{Version: 1, PortalURL: "http://127.0.0.1:8080", DeviceID: "dev", Room: boardroom, PairedAt: time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)}
	if err := SaveState(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(dir)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("LoadState = %+v, %v; want %+v", got, err, want)
	}
	fi, _ := os.Stat(filepath.Join(dir, StateFile))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
}

// A power cut between writing the new state and renaming it over the old
// one must leave the old state, and the next save must still work.
func TestStateCrashBeforeRename(t *testing.T) {
	dir := t.TempDir()
	old := State{Version: 1, DeviceID: "dev", Room: boardroom}
	if err := SaveState(dir, old); err != nil {
		t.Fatal(err)
	}
	// The power cut: the new state is written to renameio's temporary
	// file, as writeFile writes it, but never renamed.
	path := filepath.Join(dir, StateFile)
	pending, err := renameio.NewPendingFile(path, renameio.WithTempDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pending.Write([]byte(`{"version":1,"device_id":"dev","room":null}`)); err != nil {
		t.Fatal(err)
	}
	if err := pending.Sync(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 2 {
		t.Fatalf("before the crash the directory holds %v, want the state and a temporary file", names(left))
	}
	got, err := LoadState(dir)
	if err != nil || !reflect.DeepEqual(got, old) {
		t.Fatalf("after the crash LoadState = %+v, %v; want the old state %+v", got, err, old)
	}
	next := State{Version: 1, DeviceID: "dev"}
	if err := SaveState(dir, next); err != nil {
		t.Fatalf("save after the crash: %v", err)
	}
	if got, _ := LoadState(dir); got.Room != nil {
		t.Errorf("the save after the crash did not land: %+v", got)
	}
	// The crash's leftover goes with a factory reset.
	if err := FactoryReset(dir); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("factory reset left %v", names(left))
	}
}

func TestFactoryReset(t *testing.T) {
	dir := t.TempDir()
	id, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	SaveState(dir, State{DeviceID: id.DeviceID, Room: boardroom})
	for name, data := range map[string]string{
		"control.token":                            "secret\n",
		IdentityFile + ".corrupt-123":              "old key",
		StateFile + ".corrupt-456":                 "{",
		"." + StateFile + "5577006791947779410":    "{}", // renameio's
		"." + IdentityFile + "8674665223082153551": "k",
		oldTempPrefix + StateFile + "-9876543":     "{}", // before renameio
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600)
	}
	if err := FactoryReset(dir); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(dir)
	if got := names(left); !reflect.DeepEqual(got, []string{"control.token"}) {
		t.Errorf("after factory reset the directory holds %v, want only control.token", got)
	}
	id2, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if id2.DeviceID == id.DeviceID || !id2.Created || id2.Replaced != nil {
		t.Errorf("after factory reset: %+v; want a new identity, not a replaced one", id2)
	}
	if err := FactoryReset(filepath.Join(dir, "nonexistent")); err != nil {
		t.Errorf("factory reset of a kit that never booted: %v", err)
	}
}

func names(es []os.DirEntry) []string {
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	return n
}

func FuzzLoadState(f *testing.F) {
	f.Add([]byte(`{"version":1,"portal_url":"http://127.0.0.1:8080","device_id":"dev","room":{"id":"rm_1","name":"Boardroom","location":"","time_zone":"UTC"},"paired_at":"2026-11-03T09:00:00Z"}`))
	f.Add([]byte(`{"version":1,"room":null}`))
	f.Add([]byte(`{"version":1,"room":{"id":"`))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, StateFile), data, 0o600)
		s, err := LoadState(dir)
		if err != nil {
			if !errors.Is(err, ErrCorruptState) {
				t.Fatalf("LoadState error %v does not wrap ErrCorruptState", err)
			}
			return
		}
		// Whatever loads must save and load back the same.
		if err := SaveState(dir, s); err != nil {
			t.Fatal(err)
		}
		again, err := LoadState(dir)
		if err != nil {
			t.Fatalf("reload of a saved state: %v", err)
		}
		if !reflect.DeepEqual(s.Room, again.Room) || s.DeviceID != again.DeviceID || !s.PairedAt.Equal(again.PairedAt) {
			t.Fatalf("round trip changed the state: %+v -> %+v", s, again)
		}
	})
}

// The kit's pairing files are 0600 when writeFile makes them, and keep
// the mode they have when it replaces them (renameio.WriteFile's rule).
func TestWriteFileModes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing os.FileMode // 0: no file yet
		want     os.FileMode
	}{
		{"new file", 0, 0o600},
		{"replaces a 0600 file", 0o600, 0o600},
		{"replaces a 0400 file", 0o400, 0o400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), StateFile)
			if tc.existing != 0 {
				if err := os.WriteFile(path, []byte("old"), tc.existing); err != nil {
					t.Fatal(err)
				}
			}
			if err := writeFile(path, []byte("new")); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(path); string(got) != "new" || fi.Mode().Perm() != tc.want {
				t.Errorf("after writeFile: %q, mode %v; want \"new\", mode %v", got, fi.Mode().Perm(), tc.want)
			}
		})
	}
}
