package tufclient

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"roomkit/ota"
)

func TestLatestWithoutCache(t *testing.T) {
	f := newFixture(t)
	f.publish("1.0.0", "sim")
	f.cfg.CacheDir = ""
	for range 2 {
		c := f.mustLatest("sim", "", "1.0.0")
		if want := f.srv.URL + "/targets/releases/1.0.0/" + hexOf(c.SHA256) + ".sim.root"; c.URL != want {
			t.Errorf("URL %s, want %s", c.URL, want)
		}
		if c.Path != "releases/1.0.0/sim.root" || c.Length != 64<<10 {
			t.Errorf("candidate %+v", c)
		}
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	s := make([]byte, 0, 2*len(b))
	for _, c := range b {
		s = append(s, digits[c>>4], digits[c&15])
	}
	return string(s)
}

// A power cut can leave go-tuf's temporary file and torn cache files: the
// next check drops them and starts from the image's root again.
func TestLatestCorruptCache(t *testing.T) {
	f := newFixture(t)
	f.publish("1.0.0", "sim")
	f.mustLatest("sim", "", "1.0.0")
	f.publish("1.1.0", "sim")
	for _, name := range []string{"root.json", "timestamp.json", "snapshot.json", "targets.json", "tuf_tmp123456"} {
		if err := os.WriteFile(filepath.Join(f.cfg.CacheDir, name), []byte("{\"sig"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.mustLatest("sim", "", "1.1.0")
	if _, err := os.Stat(filepath.Join(f.cfg.CacheDir, "tuf_tmp123456")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary file is still there: %v", err)
	}
	// a cached timestamp that parses but is not signed is skipped too
	if err := os.WriteFile(filepath.Join(f.cfg.CacheDir, "timestamp.json"), f.image, 0o644); err != nil {
		t.Fatal(err)
	}
	f.mustLatest("sim", "", "1.1.0")
}

func TestLatestRefusesBadConfig(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no URL", func(c *Config) { c.BaseURL = "" }, `the update server address "" is not an http(s) URL`},
		{"ftp", func(c *Config) { c.BaseURL = "ftp://portal.example/ota" }, `the update server address "ftp://portal.example/ota" is not an http(s) URL`},
		{"garbage root", func(c *Config) { c.TrustedRoot = []byte("{}") }, "the kit's trusted root (-ota-root) is not a valid TUF root: "},
		{"no root", func(c *Config) { c.TrustedRoot = nil }, "the kit's trusted root (-ota-root) is not a valid TUF root: "},
		{"unreachable", func(c *Config) { c.BaseURL = "http://127.0.0.1:1/ota" }, "cannot get 2.root.json from the update server: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.cfg
			tt.change(&cfg)
			_, _, err := Latest(context.Background(), cfg, "stable", "sim", "")
			wantErr(t, err, tt.want)
		})
	}
}

func TestLatestCancelled(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := Latest(ctx, f.cfg, "stable", "sim", "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestPick(t *testing.T) {
	tf := func(path string, rel any, n int64, sumLen int) *metadata.TargetFiles {
		b, _ := json.Marshal(rel)
		raw := json.RawMessage(b)
		return &metadata.TargetFiles{Length: n, Hashes: metadata.Hashes{"sha256": make([]byte, sumLen)}, Custom: &raw, Path: path}
	}
	rel := func(v, target string, ch ...string) ota.Release {
		return ota.Release{Version: v, Target: target, Channels: ch}
	}
	targets := map[string]*metadata.TargetFiles{
		"releases/1.0.0/sim.root":   tf("releases/1.0.0/sim.root", rel("1.0.0", "sim", "stable"), 10, 32),
		"releases/1.1.0/sim.root":   tf("releases/1.1.0/sim.root", rel("1.1.0", "sim", "beta", "stable"), 10, 32),
		"releases/1.2.0/sim.root":   tf("releases/1.2.0/sim.root", rel("1.2.0", "sim", "beta"), 10, 32),
		"releases/1.3.0/amd64.root": tf("releases/1.3.0/amd64.root", rel("1.3.0", "amd64", "stable"), 10, 32),
		// signed, but not what the release tool writes: ignored
		"releases/1.0.0/other.root": tf("releases/1.0.0/other.root", rel("9.0.0", "sim", "stable"), 10, 32),
		"releases/9.1.0/sim.root":   tf("releases/9.1.0/sim.root", rel("9.1.0", "sim", "stable"), 10, 20),
		"releases/9.2.0/sim.root":   tf("releases/9.2.0/sim.root", rel("9.2.0", "sim", "stable"), 0, 32),
		"releases/9.3.0/sim.root":   tf("releases/9.3.0/sim.root", map[string]string{"version": "9.3"}, 10, 32),
		"releases/9.4.0/sim.root":   nil,
		"releases/v9.5.0/sim.root":  tf("releases/v9.5.0/sim.root", rel("v9.5.0", "sim", "stable"), 10, 32),
	}
	for _, tt := range []struct{ channel, target, floor, want string }{
		{"stable", "sim", "", "1.1.0"},
		{"beta", "sim", "", "1.2.0"},
		{"stable", "amd64", "", "1.3.0"},
		{"stable", "amd64", "1.3.0", ""},
		{"stable", "rpi4", "", ""},
		{"nightly", "sim", "", ""},
		{"stable", "sim", "1.0.0", "1.1.0"},
	} {
		c, ok := pick(targets, tt.channel, tt.target, tt.floor)
		if got := map[bool]string{true: c.Release.Version}[ok]; got != tt.want {
			t.Errorf("pick(%s, %s, %q) = %q, want %q", tt.channel, tt.target, tt.floor, got, tt.want)
		}
	}
}

func FuzzPick(f *testing.F) {
	f.Add([]byte(`{"signed":{"_type":"targets","spec_version":"1.0","version":2,"expires":"2030-01-01T00:00:00Z","targets":{"releases/1.0.0/sim.root":{"length":10,"hashes":{"sha256":"0000000000000000000000000000000000000000000000000000000000000000"},"custom":{"version":"1.0.0","channels":["stable"],"target":"sim"}}}},"signatures":[]}`), "")
	f.Add([]byte(`{"signed":{"_type":"targets","targets":{"releases/1.0.0/sim.root":{"length":-1,"custom":{"version":"1.0.0"}}}}}`), "0.1.0")
	f.Fuzz(func(t *testing.T, b []byte, floor string) {
		tg, err := metadata.Targets().FromBytes(b)
		if err != nil {
			return
		}
		c, ok := pick(tg.Signed.Targets, "stable", "sim", floor)
		if !ok {
			return
		}
		if c.Path != ota.TargetPath(c.Release.Version, "sim") || len(c.SHA256) != 32 || c.Length <= 0 ||
			ota.Compare(c.Release.Version, floor) <= 0 || ota.CheckVersion(c.Release.Version) != nil {
			t.Fatalf("pick returned an unfit candidate %+v (floor %q)", c, floor)
		}
	})
}
