package agent

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"roomkit/ota"
	"roomkit/ota/repo"
	"roomkit/ota/tufclient"
)

// TestRealRepository runs the agent against a real signed repository
// (ota/repo) served over HTTP and read through ota/tufclient, with a
// mirror in front that can tamper with the image.
func TestRealRepository(t *testing.T) {
	for _, tt := range []struct {
		name   string
		tamper bool
	}{
		{"installs", false},
		{"tampered image", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ota")
			if err := repo.Init(dir, repo.InitOptions{}); err != nil {
				t.Fatal(err)
			}
			r, err := repo.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			img := image("1.1.0", 1_500_000)
			path := filepath.Join(t.TempDir(), "sim.img")
			if err := os.WriteFile(path, img, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := r.Publish(path, ota.Release{Version: "1.1.0", Target: "sim", Channels: []string{"stable"}}); err != nil {
				t.Fatal(err)
			}
			var targets atomic.Int32
			files := http.FileServer(http.Dir(dir))
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if !strings.HasPrefix(req.URL.Path, "/targets/") {
					files.ServeHTTP(w, req)
					return
				}
				targets.Add(1)
				if !tt.tamper {
					files.ServeHTTP(w, req)
					return
				}
				// A mirror that serves other bytes of the same length.
				b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(req.URL.Path, "/"))))
				if err != nil {
					http.NotFound(w, req)
					return
				}
				b[len(b)-1] ^= 1
				http.ServeContent(w, req, "root", noon, bytes.NewReader(b))
			}))
			t.Cleanup(srv.Close)

			w := newWorld(t, noon)
			w.target = "sim"
			w.policy.InstallNow = "r-1"
			w.src = tufSource{tufclient.Config{BaseURL: srv.URL, TrustedRoot: r.Root(), CacheDir: filepath.Join(t.TempDir(), "tuf")}}
			w.boot()
			if tt.tamper {
				rep := w.report()
				if rep.State != ota.Failed || rep.Error != "The download did not match the signed release; nothing was installed" {
					t.Fatalf("%+v", rep)
				}
				if got := w.fake.Calls(); !slices.Equal(got, []string{"PUT /update/root"}) {
					t.Fatalf("gokrazy calls: %q", got)
				}
				return
			}
			rep := w.drive(isState(ota.Healthy))
			if rep.Last.Version != "1.1.0" || w.running() != "1.1.0" || !bytes.Equal(w.fake.Root(), img) {
				t.Fatalf("%+v, running %s", rep, w.running())
			}
			if targets.Load() != 1 {
				t.Fatalf("%d target downloads, want 1", targets.Load())
			}
			if !slices.Equal(w.fake.Calls(), []string{"PUT /update/root", "POST /update/testboot", "POST /reboot", "POST /update/switch"}) {
				t.Fatalf("gokrazy calls: %q", w.fake.Calls())
			}
		})
	}
}
