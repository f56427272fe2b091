package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"roomkit/ota/repo"
)

// release runs the command in-process and returns its output and error.
func release(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestUsage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ota")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no command"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"init"}, "init: -repo DIR is required"},
		{[]string{"init", "-repo", dir, "extra"}, `init: unexpected arguments ["extra"]`},
		{[]string{"init", "-repo", dir, "-expires", "timestamp"}, `init: -expires "timestamp": write role=duration, like timestamp=168h`},
		{[]string{"init", "-repo", dir, "-expires", "timestamp=a week"}, "init: -expires timestamp: time: invalid duration"},
		{[]string{"publish", "-repo", dir}, "publish: -image FILE is required"},
		{[]string{"publish", "-repo", dir, "-image", "x"}, "publish: -version is required (like 1.5.0)"},
		{[]string{"publish", "-repo", dir, "-nope"}, "publish: flag provided but not defined: -nope"},
		{[]string{"rotate", "-repo", dir}, "rotate: -role is required"},
		{[]string{"rotate", "-repo", dir, "-role", "targets"}, "rotate: -root-key FILE is required"},
		{[]string{"sim-image", "-version", "0.2.0"}, "sim-image: -version V and -out FILE are required"},
		{[]string{"sim-image", "-version", "0.2.0", "-out", "x", "-size", "8X"}, `sim-image: -size: "8X" is not a size like 8G, 2048M, 512K or a byte count`},
	} {
		_, _, err := release(t, tc.args...)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("roomkit-release %q: %v; want a usage error containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("a usage error created the repository")
	}
}

func TestLifecycle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ota")
	out, _, err := release(t, "init", "-repo", dir, "-expires", "timestamp=48h")
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	for _, want := range []string{
		"The root keys are in " + filepath.Join(dir, "keys", "offline") + ".\nMove that directory offline now",
		"Kits trust " + filepath.Join(dir, "metadata", "1.root.json") + ": build images with it (roomd -ota-root).",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := release(t, "init", "-repo", dir); err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("init again: %v", err)
	}

	img := filepath.Join(t.TempDir(), "sim.img")
	os.WriteFile(img, bytes.Repeat([]byte("sim"), 1000), 0o644)
	other := filepath.Join(t.TempDir(), "other.img")
	os.WriteFile(other, []byte("another sim image"), 0o644)

	out, _, err = release(t, "publish", "-repo", dir, "-image", img, "-version", "0.2.0", "-target", "sim", "-channel", "beta")
	if err != nil || !strings.Contains(out, "0.2.0 for sim is in beta (3000 bytes, sha256 ") {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	out, _, err = release(t, "publish", "-repo", dir, "-image", img, "-version", "0.2.0", "-target", "sim")
	if err != nil || !strings.Contains(out, "0.2.0 for sim is in beta, stable") {
		t.Fatalf("promote: %v\n%s", err, out)
	}
	_, _, err = release(t, "publish", "-repo", dir, "-image", other, "-version", "0.2.0", "-target", "sim")
	if err == nil || err.Error() != "0.2.0 is already published for sim with another image" {
		t.Fatalf("publish other bytes: %v", err)
	}

	out, _, err = release(t, "refresh", "-repo", dir)
	if err != nil || !strings.Contains(out, "timestamp  v4 ") {
		t.Fatalf("refresh: %v\n%s", err, out)
	}
	out, _, err = release(t, "rotate", "-repo", dir, "-role", "targets", "-root-key", repo.RootKeyPath(dir, 1))
	if err != nil || !strings.Contains(out, "root v2 names the new targets key; re-signed targets v4, snapshot v4, timestamp v5") {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	out, _, err = release(t, "verify", "-repo", dir, "-root", filepath.Join(dir, "metadata", "1.root.json"))
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	for _, want := range []string{"a kit trusting " + filepath.Join(dir, "metadata", "1.root.json") + " accepts this repository:", "root       v2 ", "0.2.0    sim     beta,stable  3000 bytes  -  "} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}

	// The same through HTTP, as the portal or a CDN serves it.
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	out, _, err = release(t, "verify", "-repo", dir, "-url", srv.URL)
	if err != nil || !strings.Contains(out, "0.2.0    sim     beta,stable  3000 bytes  -  ") {
		t.Fatalf("verify -url: %v\n%s", err, out)
	}

	// A damaged target: verify fails (exit 1, not 2) and says which.
	files, _ := filepath.Glob(filepath.Join(dir, "targets", "releases", "0.2.0", "*.sim.root"))
	if len(files) != 1 {
		t.Fatalf("target files %v", files)
	}
	os.WriteFile(files[0], []byte("tampered"), 0o644)
	_, _, err = release(t, "verify", "-repo", dir)
	if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), "release 0.2.0 for sim: ") {
		t.Errorf("verify of a tampered target: %v", err)
	}
}

func TestSimImage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ota")
	img := filepath.Join(t.TempDir(), "sim-0.3.0.img")
	if _, _, err := release(t, "init", "-repo", dir); err != nil {
		t.Fatal(err)
	}
	out, _, err := release(t, "sim-image", "-version", "0.3.0", "-size", "64K", "-unhealthy", "-out", img)
	if err != nil || out != "wrote "+img+": sim release 0.3.0 (65536 bytes)\n" {
		t.Fatalf("sim-image: %v %q", err, out)
	}
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := repo.ParseSimImage(b); !ok || s.Version != "0.3.0" || !s.Unhealthy || len(b) != 64<<10 {
		t.Errorf("sim image %+v %v, %d bytes", s, ok, len(b))
	}
	if _, _, err := release(t, "publish", "-repo", dir, "-image", img, "-version", "0.4.0", "-target", "sim"); err == nil || !strings.Contains(err.Error(), "is a sim image of version 0.3.0, not 0.4.0") {
		t.Errorf("publish as another version: %v", err)
	}
	if _, _, err := release(t, "publish", "-repo", dir, "-image", img, "-version", "0.3.0", "-target", "sim"); err != nil {
		t.Errorf("publish: %v", err)
	}
}
