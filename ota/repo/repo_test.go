package repo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"roomkit/ota"
)

// newRepo creates a repository in a temporary directory and opens it.
func newRepo(t *testing.T) *Repo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ota")
	if err := Init(dir, InitOptions{}); err != nil {
		t.Fatalf("Init: %v", err)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return r
}

// writeImage writes b to a temporary file and returns its path.
func writeImage(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// serve serves the repository the way the portal does: metadata/ and
// targets/ as plain files.
func serve(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/metadata/", http.FileServer(http.Dir(dir)))
	mux.Handle("/targets/", http.FileServer(http.Dir(dir)))
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// client refreshes a go-tuf updater against the served repository, as a kit
// trusting root does, and returns it.
func client(t *testing.T, url string, root []byte, now time.Time) (*updater.Updater, error) {
	t.Helper()
	cfg, err := config.New(url+"/metadata", root)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RemoteTargetsURL = url + "/targets"
	cfg.DisableLocalCache = true
	up, err := updater.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	up.UnsafeSetRefTime(now)
	return up, up.Refresh()
}

func TestPublishRoundTrip(t *testing.T) {
	r := newRepo(t)
	first := r.Root()
	img := bytes.Repeat([]byte("roomkit sim root\n"), 10000)
	path := writeImage(t, img)
	if err := r.Publish(path, ota.Release{Version: "0.2.0", Target: "sim", Channels: []string{"beta"}}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	// The same bytes again: promotion to stable.
	if err := r.Publish(path, ota.Release{Version: "0.2.0", Target: "sim", Channels: []string{"stable"}}); err != nil {
		t.Fatalf("Publish (promotion): %v", err)
	}

	s := serve(t, r.Dir())
	up, err := client(t, s.URL, first, time.Now())
	if err != nil {
		t.Fatalf("a go-tuf client refuses the repository: %v", err)
	}
	tf, err := up.GetTargetInfo(ota.TargetPath("0.2.0", "sim"))
	if err != nil {
		t.Fatalf("GetTargetInfo: %v", err)
	}
	rel, err := ota.ReleaseOf(tf)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rel.Channels, []string{"beta", "stable"}) || rel.Target != "sim" || rel.Version != "0.2.0" {
		t.Errorf("release = %+v, want 0.2.0 sim in beta and stable", rel)
	}
	sum := sha256.Sum256(img)
	if tf.Length != int64(len(img)) || !bytes.Equal(tf.Hashes["sha256"], sum[:]) {
		t.Errorf("signed length %d hash %x, want %d %x", tf.Length, tf.Hashes["sha256"], len(img), sum)
	}
	// The hash-prefixed file is where a client looks for it.
	_, got, err := up.DownloadTarget(tf, filepath.Join(t.TempDir(), "dl"), "")
	if err != nil {
		t.Fatalf("DownloadTarget: %v", err)
	}
	if !bytes.Equal(got, img) {
		t.Error("downloaded target differs from the image")
	}
	want := filepath.Join(r.Dir(), "targets", "releases", "0.2.0", hex.EncodeToString(sum[:])+".sim.root")
	if _, err := os.Stat(want); err != nil {
		t.Errorf("target file: %v", err)
	}
	// Publish, promotion: targets v3, snapshot v3, timestamp v3.
	ts := up.GetTrustedMetadataSet()
	if v := ts.Targets[metadata.TARGETS].Signed.Version; v != 3 {
		t.Errorf("targets version %d, want 3", v)
	}

	// Verify (the CLI's verify) agrees.
	rep, err := Verify(r.Dir(), nil, time.Now())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if len(rep.Releases) != 1 || rep.Releases[0].Release.Version != "0.2.0" {
		t.Errorf("Verify releases = %+v", rep.Releases)
	}
}
