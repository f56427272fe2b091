package drivers

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestNodes(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"video10", "video2", "video0", "videoX", "event1", "video"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	got, err := Nodes(dir, "video")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "video0"), filepath.Join(dir, "video2"), filepath.Join(dir, "video10")}
	if !slices.Equal(got, want) {
		t.Errorf("Nodes = %v, want %v (numbered nodes only, in numeric order)", got, want)
	}
	if _, err := Nodes(filepath.Join(dir, "missing"), "video"); err == nil {
		t.Error("Nodes of a missing directory gave no error")
	}
}
