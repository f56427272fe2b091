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
// mirror in front that may tamper with the image. Every refusal leaves
// the kit on its root: no testboot, no switch.
func TestRealRepository(t *testing.T) {
	for _, tt := range []struct {
		name      string
		target    string                // the kit's ("": sim)
		running   string                // the kit's version ("": 1.0.0)
		mirror    func(b []byte) []byte // what the mirror serves for the image
		state     ota.State             // the outcome
		detail    string                // in Error (failed) or Detail
		installed bool
	}{
		{name: "installs", state: ota.Healthy, detail: "1.1.0 installed and healthy", installed: true},
		{name: "tampered image", mirror: func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
			state: ota.Failed, detail: "The download did not match the signed release; nothing was installed"},
		{name: "endless data", mirror: func(b []byte) []byte { return append(b, make([]byte, 1<<20)...) },
			state: ota.Failed, detail: "the download server sent more than the signed 1500000 bytes of 1.1.0"},
		{name: "wrong hardware", target: "amd64", // only a sim release is published
			state: ota.Idle, detail: "1.0.0 is the newest release"},
		{name: "image rollback", running: "1.2.0",
			state: ota.Idle, detail: "1.2.0 is the newest release"},
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
				if !strings.HasPrefix(req.URL.Path, "/targets/") || tt.mirror == nil {
					if strings.HasPrefix(req.URL.Path, "/targets/") {
						targets.Add(1)
					}
					files.ServeHTTP(w, req)
					return
				}
				targets.Add(1)
				b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(req.URL.Path, "/"))))
				if err != nil {
					http.NotFound(w, req)
					return
				}
				w.Write(tt.mirror(b))
			}))
			t.Cleanup(srv.Close)

			w := newWorld(t, noon)
			w.target = "sim"
			if tt.target != "" {
				w.target = tt.target
			}
			if tt.running != "" {
				w.base = tt.running
			}
			w.policy.InstallNow = "r-1"
			w.src = tufSource{tufclient.Config{BaseURL: srv.URL, TrustedRoot: r.Root(), CacheDir: filepath.Join(t.TempDir(), "tuf")}}
			w.boot()
			rep := w.drive(isState(tt.state))
			if got := rep.Detail + " " + rep.Error; !strings.Contains(got, tt.detail) {
				t.Fatalf("%+v, want %q", rep, tt.detail)
			}
			if !tt.installed {
				if w.calls("POST /update/testboot") != 0 || w.calls("POST /update/switch") != 0 || w.running() != w.base {
					t.Fatalf("gokrazy calls %q, running %s", w.fake.Calls(), w.running())
				}
				return
			}
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
