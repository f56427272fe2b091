package portal

import (
	"bytes"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"roomkit/internal/logbuffer"
	"strings"
	"testing"
	"time"

	"roomkit/ota"
	"roomkit/ota/repo"
	"roomkit/ota/tufclient"
)

// otaFixture lays out a repository the way ota/repo writes one (the
// serving rules only look at names, so the files hold plain bytes).
func otaFixture(t *testing.T) (dir, targetName string, target []byte) {
	t.Helper()
	dir = t.TempDir()
	targetName = strings.Repeat("ab", 32) + ".sim.root"
	target = bytes.Repeat([]byte("0123456789"), 1000)
	files := map[string][]byte{
		"metadata/1.root.json":                 []byte(`{"signed":{"_type":"root"}}`),
		"metadata/2.targets.json":              []byte(`{"signed":{"_type":"targets"}}`),
		"metadata/2.snapshot.json":             []byte(`{"signed":{"_type":"snapshot"}}`),
		"metadata/timestamp.json":              []byte(`{"signed":{"_type":"timestamp"}}`),
		"metadata/notes.txt":                   []byte("not metadata"),
		"metadata/.lock":                       nil,
		"targets/releases/1.5.0/" + targetName: target,
		"targets/releases/1.5.0/.hidden":       []byte("dotfile"),
		"keys/online/targets.pem":              []byte("-----BEGIN PRIVATE KEY----- SECRET"),
		"keys/offline/root-1.pem":              []byte("-----BEGIN PRIVATE KEY----- ROOT SECRET"),
		".lock":                                nil,
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A symlink out of targets must not lead to the keys.
	if err := os.Symlink(filepath.Join(dir, "keys", "online", "targets.pem"), filepath.Join(dir, "targets", "releases", "1.5.0", "key.root")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../keys/online/targets.pem", filepath.Join(dir, "metadata", "3.targets.json")); err != nil {
		t.Fatal(err)
	}
	return dir, targetName, target
}

func TestOTAServing(t *testing.T) {
	dir, targetName, target := otaFixture(t)
	var logs logbuffer.Buffer
	c := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	e := startEnv(t, httptest.NewUnstartedServer(nil), c,
		Config{DataDir: t.TempDir(), OTADir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, nil)
	if !strings.Contains(logs.String(), "move the offline root keys off this machine") {
		t.Errorf("no start-up warning about DIR/keys/offline; log:\n%s", logs.String())
	}
	targetPath := "/ota/targets/releases/1.5.0/" + targetName

	for _, tc := range []struct {
		name, path string
		code       int
		cache      string
		ctype      string
	}{
		{"timestamp", "/ota/metadata/timestamp.json", 200, "no-cache", "application/json"},
		{"versioned root", "/ota/metadata/1.root.json", 200, immutable, "application/json"},
		{"versioned targets", "/ota/metadata/2.targets.json", 200, immutable, "application/json"},
		{"hash-named target", targetPath, 200, immutable, "application/octet-stream"},
		{"metadata not json", "/ota/metadata/notes.txt", 404, "", ""},
		{"metadata dotfile", "/ota/metadata/.lock", 404, "", ""},
		{"target dotfile", "/ota/targets/releases/1.5.0/.hidden", 404, "", ""},
		{"repo dotfile", "/ota/.lock", 404, "", ""},
		{"keys", "/ota/keys/online/targets.pem", 404, "", ""},
		{"offline keys", "/ota/keys/offline/root-1.pem", 404, "", ""},
		{"symlink to keys from targets", "/ota/targets/releases/1.5.0/key.root", 404, "", ""},
		{"symlink to keys from metadata", "/ota/metadata/3.targets.json", 404, "", ""},
		{"listing of the root", "/ota/", 404, "", ""},
		{"listing of metadata", "/ota/metadata/", 404, "", ""},
		{"listing of targets", "/ota/targets/releases/", 404, "", ""},
		{"folder without slash", "/ota/targets/releases", 404, "", ""},
		{"metadata subfolder", "/ota/metadata/x/1.root.json", 404, "", ""},
		{"missing file", "/ota/metadata/9.root.json", 404, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := e.do("GET", tc.path, "", nil, nil)
			if code != tc.code {
				t.Fatalf("GET %s: %d, want %d (%s)", tc.path, code, tc.code, body)
			}
			if bytes.Contains(body, []byte("PRIVATE KEY")) {
				t.Fatalf("GET %s served a key", tc.path)
			}
			if tc.code != 200 {
				return
			}
			if got := hdr.Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			if got := hdr.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
		})
	}

	// Paths with dot-dot never reach a key, however they are spelled
	// (the mux cleans them, os.Root refuses what is left).
	for _, p := range []string{
		"/ota/targets/../keys/online/targets.pem",
		"/ota/metadata/../keys/online/targets.pem",
		"/ota/targets/releases/%2e%2e/%2e%2e/%2e%2e/keys/online/targets.pem",
		"/ota/targets/releases/1.5.0/..%2f..%2f..%2fkeys%2fonline%2ftargets.pem",
	} {
		req := httptest.NewRequest("GET", "http://portal.test/", nil)
		req.URL.Path, req.URL.RawPath = p, ""
		if strings.Contains(p, "%") {
			req = httptest.NewRequest("GET", "http://portal.test"+p, nil)
		}
		rec := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(rec, req)
		if rec.Code == 200 || strings.Contains(rec.Body.String(), "PRIVATE KEY") {
			t.Errorf("GET %s: %d %q", p, rec.Code, rec.Body.String())
		}
	}

	// Range requests resume a download; the hash name is the ETag.
	code, hdr, body := e.do("GET", targetPath, "", nil, map[string]string{"Range": "bytes=9000-"})
	if code != http.StatusPartialContent || !bytes.Equal(body, target[9000:]) ||
		hdr.Get("Content-Range") != "bytes 9000-9999/10000" {
		t.Errorf("range: %d %q, %d bytes", code, hdr.Get("Content-Range"), len(body))
	}
	etag := hdr.Get("ETag")
	if etag != `"`+strings.Repeat("ab", 32)+`"` {
		t.Errorf("ETag %q", etag)
	}
	if code, _, _ := e.do("GET", targetPath, "", nil, map[string]string{"If-None-Match": etag}); code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", code)
	}
	if code, hdr, body := e.do("HEAD", "/ota/metadata/timestamp.json", "", nil, nil); code != 200 || len(body) != 0 || hdr.Get("Content-Length") == "" {
		t.Errorf("HEAD: %d %v", code, hdr)
	}
	if code, _, _ := e.do("POST", "/ota/metadata/timestamp.json", "", nil, nil); code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", code)
	}
}

// TestOTAOff: without -ota there is nothing at /ota/.
func TestOTAOff(t *testing.T) {
	e := newEnv(t)
	if code, _, _ := e.do("GET", "/ota/metadata/timestamp.json", "", nil, nil); code != 404 {
		t.Errorf("without -ota: %d, want 404", code)
	}
}

// TestOTADirRefused: -ota must name a directory; one that is not yet a
// repository is served as soon as it becomes one.
func TestOTADirRefused(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	for _, dir := range []string{f, filepath.Join(t.TempDir(), "missing")} {
		if _, err := New(Config{DataDir: t.TempDir(), URL: "http://127.0.0.1", OTADir: dir}); err == nil || !strings.Contains(err.Error(), "update repository") {
			t.Errorf("-ota %s: %v", dir, err)
		}
	}
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	e := startEnv(t, httptest.NewUnstartedServer(nil), c, Config{DataDir: t.TempDir(), OTADir: dir}, nil)
	if code, _, _ := e.do("GET", "/ota/metadata/timestamp.json", "", nil, nil); code != 404 {
		t.Errorf("empty repository: %d", code)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the portal wrote into the repository: %v", entries)
	}
	os.MkdirAll(filepath.Join(dir, "metadata"), 0o755)
	os.WriteFile(filepath.Join(dir, "metadata", "timestamp.json"), []byte("{}"), 0o644)
	if code, _, _ := e.do("GET", "/ota/metadata/timestamp.json", "", nil, nil); code != 200 {
		t.Errorf("after init: %d", code)
	}
}

// TestOTARepoThroughPortal: a real repository (ota/repo) with a published
// sim release, served by the portal, read and verified by the kit's TUF
// client (ota/tufclient) through /ota/, including a resumed download.
func TestOTARepoThroughPortal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ota")
	if err := repo.Init(dir, repo.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "sim.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.WriteSimImage(f, repo.SimImage{Version: "0.2.0"}, 1<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := r.Publish(img, ota.Release{Version: "0.2.0", Channels: []string{"stable"}, Target: "sim"}); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(img)

	var logs logbuffer.Buffer
	c := &clock{t: time.Now()}
	e := startEnv(t, httptest.NewUnstartedServer(nil), c,
		Config{DataDir: t.TempDir(), OTADir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, nil)
	if !strings.Contains(logs.String(), "move the offline root keys off this machine") {
		t.Errorf("roomkit-release init leaves keys/offline: no warning in\n%s", logs.String())
	}
	cfg := tufclient.Config{BaseURL: e.ts.URL + "/ota", TrustedRoot: r.Root(), Client: e.ts.Client()}
	ctx := t.Context()
	cand, ok, err := tufclient.Latest(ctx, cfg, "stable", "sim", "0.1.0")
	if err != nil || !ok || cand.Release.Version != "0.2.0" || cand.Length != int64(len(want)) {
		t.Fatalf("Latest through the portal: %+v %v %v", cand, ok, err)
	}
	for _, off := range []int64{0, 300000} {
		rc, err := tufclient.Fetch(ctx, cfg, cand, off)
		if err != nil {
			t.Fatalf("Fetch from %d: %v", off, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want[off:]) {
			t.Fatalf("Fetch from %d: %d bytes, %v", off, len(got), err)
		}
	}
	sum := sha256.Sum256(want)
	if !bytes.Equal(sum[:], cand.SHA256) {
		t.Errorf("signed hash %x, image %x", cand.SHA256, sum)
	}
	// The online keys sit beside what is served, never in it.
	if code, _, body := e.do("GET", "/ota/keys/online/targets.pem", "", nil, nil); code != 404 || bytes.Contains(body, []byte("PRIVATE")) {
		t.Errorf("keys: %d", code)
	}
}
