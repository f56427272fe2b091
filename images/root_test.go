package images

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"roomkit/ui"
)

// TestStageRoot: the kit's root carries the UI's fallback fonts at the
// paths the UI reads them from, so Arabic, Hebrew and CJK room names are
// drawn on the kit as in the goldens; and the update root it trusts.
func TestStageRoot(t *testing.T) {
	for _, f := range ui.FallbackFontFiles() {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("no %s (scripts/setup-image.sh installs the font packages): %v", f, err)
		}
	}
	if _, err := os.Stat(hostCABundle); err != nil {
		t.Skipf("no CA bundle: %v", err)
	}
	tmp := t.TempDir()
	bin, kit := filepath.Join(tmp, "bin"), filepath.Join(tmp, "kit")
	for _, p := range append([]string{filepath.Join(kit, "roomd"), filepath.Join(kit, "roomctl"), filepath.Join(bin, "init")}, prefixed(bin, systemServices)...) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("#!"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root := filepath.Join(tmp, "root")
	otaRoot := []byte(`{"signed":{"_type":"root"}}`)
	cfg := Config{Repo: tmp, Target: Target{Name: "amd64", GOARCH: "amd64"}, Version: "test", OTARoot: otaRoot}
	if err := stageRoot(root, cfg, "kit", bin, kit, filepath.Join(tmp, "kernel"), nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range ui.FallbackFontFiles() {
		want, _ := os.ReadFile(f)
		got, err := os.ReadFile(filepath.Join(root, strings.TrimPrefix(f, "/")))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("the root's %s: %v (%d bytes, want %d)", f, err, len(got), len(want))
		}
	}
	if got, err := os.ReadFile(filepath.Join(root, OTARootPath)); err != nil || !bytes.Equal(got, otaRoot) {
		t.Errorf("the root's %s: %q, %v; want the trusted update root", OTARootPath, got, err)
	}
}

func prefixed(dir string, names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join(dir, n))
	}
	return out
}
