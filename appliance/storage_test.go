package appliance

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"roomkit/provisioning"
	"roomkit/ui"
)

// TestUnusableStorage: a kit whose state directory cannot be created or
// written (root ignores file modes, so the directory is put under a
// file, as an unmounted /perm on a read-only root fails) pairs from
// memory, says on screen that nothing will be kept, and after a restart
// asks to be paired again. A usable directory keeps the pairing.
func TestUnusableStorage(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
		keep bool // the pairing survives a restart; no warning
	}{
		{"writable", func(t *testing.T) string { return t.TempDir() }, true},
		{"under a file", func(t *testing.T) string { return filepath.Join(aFile(t), "roomkit") }, false},
		{"a file itself", aFile, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warning := msgNoStorage
			if tc.keep {
				warning = ""
			}
			p := newFakePortal(t)
			dir := tc.dir(t)
			h := start(t, p, dir)
			h.showingCode()
			s, v := h.kit.Status(), h.kit.view()
			if s.StorageError != warning || v.Error != warning {
				t.Errorf("pairing: storage_error %q, error line %q; want %q", s.StorageError, v.Error, warning)
			}
			if s := h.pairAs(boardroom); s.StorageError != warning {
				t.Errorf("paired: storage_error %q, want %q", s.StorageError, warning)
			}
			if _, v := h.until("home", func(s Status, v ui.View) bool { return v.Screen == ui.Home }); v.Error != warning {
				t.Errorf("home screen error line %q, want %q", v.Error, warning)
			}

			// A factory reset works from memory too.
			before := h.kit.Status().DeviceID
			if err := h.kit.FactoryReset(context.Background()); err != nil {
				t.Fatalf("FactoryReset: %v", err)
			}
			s, _ = h.until("pairing after the reset", func(s Status, v ui.View) bool { return v.Screen == ui.Pairing && v.UserCode != "" })
			if s.DeviceID == before || s.Message != msgReset || s.StorageError != warning {
				t.Errorf("after reset: device %s (was %s), message %q, storage_error %q", s.DeviceID, before, s.Message, s.StorageError)
			}
			h.pairAs(boardroom)
			h.stop()

			h = start(t, p, dir)
			want := ui.Pairing
			if tc.keep {
				want = ui.Home
			}
			_, v = h.until("the screen after a restart", func(s Status, v ui.View) bool { return v.Screen == want })
			if v.Error != warning {
				t.Errorf("after a restart: error line %q, want %q", v.Error, warning)
			}
		})
	}
}

// aFile is a regular file where a directory should be.
func aFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "perm")
	if err := os.WriteFile(path, []byte("not a directory\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMemoryIdentity(t *testing.T) {
	a, err := memoryIdentity()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := memoryIdentity()
	if a.DeviceID == b.DeviceID || a.DeviceID != provisioning.DeviceID(a.PublicKey()) {
		t.Errorf("memory identities %s and %s: want distinct IDs derived from their keys", a.DeviceID, b.DeviceID)
	}
}
