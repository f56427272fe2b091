package tufclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"roomkit/ota"
	"roomkit/ota/repo"
)

// The attack suite: a real repository, served over real HTTP by a mirror
// that tampers. Every attack is refused with the sentence an admin reads,
// and the kit still updates once the mirror behaves again.

// fetchAll downloads a candidate like the agent does: stream, hash.
func fetchAll(t *testing.T, cfg Config, c Candidate) (sum []byte, n int64, err error) {
	t.Helper()
	rc, err := Fetch(context.Background(), cfg, c, 0)
	if err != nil {
		return nil, 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err = io.Copy(h, rc)
	return h.Sum(nil), n, err
}

func wantErr(t *testing.T, err error, prefix string) {
	t.Helper()
	if err == nil || !strings.HasPrefix(err.Error(), prefix) {
		t.Fatalf("error %v\nwant %q", err, prefix)
	}
	t.Logf("refused: %v", err)
}

func urlPath(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Path
}

func TestAttackTamperedImage(t *testing.T) {
	f := newFixture(t)
	data := f.publish("1.0.0", "sim")
	c := f.mustLatest("sim", "", "1.0.0")
	if sum, n, err := fetchAll(t, f.cfg, c); err != nil || n != c.Length || !bytes.Equal(sum, c.SHA256) {
		t.Fatalf("the untampered image: %d bytes, hash ok %v, %v", n, bytes.Equal(sum, c.SHA256), err)
	}
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 1
	f.serveBytes(urlPath(t, c.URL), bad)
	sum, n, err := fetchAll(t, f.cfg, c)
	if err != nil || n != c.Length {
		t.Fatalf("tampered image of the right length: %d bytes, %v", n, err)
	}
	if bytes.Equal(sum, c.SHA256) {
		t.Fatal("the tampered image hashes like the signed one")
	}
}

func TestAttackEndlessImage(t *testing.T) {
	f := newFixture(t)
	data := f.publish("1.0.0", "sim")
	c := f.mustLatest("sim", "", "1.0.0")
	f.serve(urlPath(t, c.URL), func(w http.ResponseWriter, r *http.Request) {
		w.Write(data)
		for {
			if _, err := w.Write(data[:4096]); err != nil {
				return
			}
		}
	})
	sum, n, err := fetchAll(t, f.cfg, c)
	wantErr(t, err, "the download server sent more than the signed length")
	if n != c.Length || !bytes.Equal(sum, c.SHA256) {
		t.Errorf("Fetch handed out %d bytes (signed %d), hash ok %v", n, c.Length, bytes.Equal(sum, c.SHA256))
	}
}

func TestAttackBadSignature(t *testing.T) {
	t.Run("rogue key signs targets", func(t *testing.T) {
		f := newFixture(t)
		f.publish("1.0.0", "sim")
		f.mustLatest("sim", "", "1.0.0")
		f.resign(rogueSigner(t), func(tg *metadata.TargetsType) {
			addTarget(t, f.dir, tg, ota.Release{Version: "6.6.6", Channels: []string{"stable"}, Target: "sim"}, []byte("evil"))
		})
		_, _, err := f.latest("stable", "sim", "")
		wantErr(t, err, "signature check failed for targets.json: the release was not signed with a trusted key")
		var unsigned *metadata.ErrUnsignedMetadata
		if !errors.As(err, &unsigned) {
			t.Errorf("error %v does not wrap go-tuf's ErrUnsignedMetadata", err)
		}
	})
	t.Run("rogue key signs a new root", func(t *testing.T) {
		f := newFixture(t)
		f.publish("1.0.0", "sim")
		root, err := metadata.Root().FromBytes(f.image)
		if err != nil {
			t.Fatal(err)
		}
		root.Signed.Version = 2
		f.serveBytes("/metadata/2.root.json", f.sign(root, rogueSigner(t)))
		_, _, err = f.latest("stable", "sim", "")
		wantErr(t, err, "signature check failed for 2.root.json: the new root was not signed by the keys of the root the kit trusts")
	})
}

func TestAttackMetadataRollback(t *testing.T) {
	t.Run("older timestamp", func(t *testing.T) {
		f := newFixture(t)
		f.publish("1.0.0", "sim")
		old := f.metaFile("timestamp.json")
		f.publish("1.1.0", "sim")
		f.mustLatest("sim", "", "1.1.0")
		ts, _, _ := f.versions()
		f.serveBytes("/metadata/timestamp.json", old)
		_, _, err := f.latest("stable", "sim", "")
		wantErr(t, err, fmt.Sprintf("version rollback refused: the update server sent timestamp.json version %d, the kit already trusted version %d", ts-1, ts))
	})
	t.Run("older snapshot in a new timestamp", func(t *testing.T) {
		f := newFixture(t)
		f.publish("1.0.0", "sim")
		f.publish("1.1.0", "sim")
		f.mustLatest("sim", "", "1.1.0")
		ts, snap, _ := f.versions()
		name := strconv.FormatInt(snap-1, 10) + ".snapshot.json"
		f.writeTimestamp(ts+1, snap-1, f.metaFile(name))
		_, _, err := f.latest("stable", "sim", "")
		wantErr(t, err, fmt.Sprintf("version rollback refused: timestamp.json names snapshot.json version %d, the kit already trusted version %d", snap-1, snap))
	})
}

func TestAttackVersionRollback(t *testing.T) {
	f := newFixture(t)
	f.publish("1.0.0", "sim")
	f.publish("1.1.0", "sim")
	f.publish("0.9.0", "sim") // an older release signed later
	f.publish("1.2.0-rc.1", "sim", "beta")
	for _, tt := range []struct{ floor, want string }{
		{"", "1.1.0"},
		{"0.1.0-dev-3-gabc", "1.1.0"}, // a development build takes any release
		{"0.9.0", "1.1.0"},
		{"1.0.0", "1.1.0"},
		{"1.1.0", ""},
		{"1.1.1", ""},
		{"2.0.0", ""},
	} {
		f.mustLatest("sim", tt.floor, tt.want)
	}
	c, ok, err := f.latest("beta", "sim", "1.1.0")
	if err != nil || !ok || c.Release.Version != "1.2.0-rc.1" {
		t.Errorf("beta channel: %+v %v %v", c.Release, ok, err)
	}
}

func TestAttackFreeze(t *testing.T) {
	f := newFixture(t)
	f.publish("1.0.0", "sim")
	f.mustLatest("sim", "", "1.0.0")
	ts, err := metadata.Timestamp().FromBytes(f.metaFile("timestamp.json"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := metadata.Root().FromBytes(f.image)
	if err != nil {
		t.Fatal(err)
	}
	// The mirror keeps serving the same (valid, signed) metadata while
	// the world moves on: the kit's clock passes an expiry.
	for _, tt := range []struct {
		file    string
		expires time.Time
	}{
		{"timestamp.json", ts.Signed.Expires},
		{"root.json", root.Signed.Expires},
	} {
		f.cfg.Now = func() time.Time { return tt.expires.Add(time.Minute) }
		_, _, err = f.latest("stable", "sim", "")
		wantErr(t, err, "the update server's metadata expired on "+tt.expires.UTC().Format("2006-01-02 15:04 UTC")+
			" ("+tt.file+"): is its clock or the release process stuck?")
		var expired *metadata.ErrExpiredMetadata
		if !errors.As(err, &expired) {
			t.Errorf("error %v does not wrap go-tuf's ErrExpiredMetadata", err)
		}
	}
}

func TestAttackMixAndMatch(t *testing.T) {
	f := newFixture(t)
	f.publish("1.0.0", "sim")
	f.publish("1.1.0", "sim")
	_, _, tg := f.versions()
	// snapshot N names targets N; the mirror hands out targets N-1 under
	// its name.
	f.serveBytes(fmt.Sprintf("/metadata/%d.targets.json", tg), f.metaFile(fmt.Sprintf("%d.targets.json", tg-1)))
	_, _, err := f.latest("stable", "sim", "")
	wantErr(t, err, "mixed or tampered metadata refused: targets.json does not have the length and hash snapshot.json signed for it")
}

func TestAttackWrongHardware(t *testing.T) {
	f := newFixture(t)
	f.publish("1.0.0", "rpi4")
	f.publish("1.1.0", "sim")
	f.mustLatest("amd64", "", "")
	f.mustLatest("rpi4", "", "1.0.0")
	f.mustLatest("sim", "", "1.1.0")
}

func TestAttackMirror(t *testing.T) {
	big := bytes.Repeat([]byte(" "), 10<<20)
	tests := []struct {
		name string
		path string
		h    func(f *fixture) http.HandlerFunc
		want string
	}{
		{"garbage JSON", "/metadata/timestamp.json", func(f *fixture) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{\"signed\": garbage")) }
		}, "timestamp.json from the update server is not valid TUF metadata: "},
		{"another role's file", "/metadata/timestamp.json", func(f *fixture) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { w.Write(f.image) }
		}, "timestamp.json from the update server is not valid TUF metadata: "},
		{"truncated, with its length", "/metadata/timestamp.json", func(f *fixture) http.HandlerFunc {
			b := f.metaFile("timestamp.json")
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(b)))
				w.Write(b[:100])
			}
		}, "the download of timestamp.json broke off after 100 bytes"},
		{"truncated", "/metadata/timestamp.json", func(f *fixture) http.HandlerFunc {
			b := f.metaFile("timestamp.json")
			return func(w http.ResponseWriter, r *http.Request) { w.Write(b[:len(b)/2]) }
		}, "timestamp.json from the update server is not valid TUF metadata: unexpected end of JSON input"},
		{"truncated targets", "/metadata/2.targets.json", func(f *fixture) http.HandlerFunc {
			b := f.metaFile("2.targets.json")
			return func(w http.ResponseWriter, r *http.Request) { w.Write(b[:len(b)-10]) }
		}, "mixed or tampered metadata refused: targets.json does not have the length and hash snapshot.json signed for it"},
		{"redirect loop", "/metadata/timestamp.json", func(f *fixture) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, r.URL.Path, http.StatusFound) }
		}, "the download server redirected more than 3 times"},
		{"stall", "/metadata/timestamp.json", func(f *fixture) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("{"))
				blockUntilGone(w, r)
			}
		}, "the download server stopped sending for 1 s"},
		{"slow drip", "/metadata/timestamp.json", func(f *fixture) http.HandlerFunc {
			b := f.metaFile("timestamp.json")
			return func(w http.ResponseWriter, r *http.Request) { drip(w, r, b) }
		}, "the download server sent only "},
		{"10 MB timestamp", "/metadata/timestamp.json", func(f *fixture) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(big)))
				w.Write(big)
			}
		}, "timestamp.json from the update server is larger than 16384 bytes"},
		{"10 MB timestamp, no length", "/metadata/timestamp.json", func(f *fixture) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				for i := 0; i < 10; i++ {
					if _, err := w.Write(big[:1<<20]); err != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
			}
		}, "timestamp.json from the update server is larger than 16384 bytes"},
		{"server error", "/metadata/timestamp.json", func(f *fixture) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "oops", http.StatusInternalServerError) }
		}, "the update server answered 500 Internal Server Error for http://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.publish("1.0.0", "sim")
			f.serve(tt.path, tt.h(f))
			_, _, err := f.latest("stable", "sim", "")
			wantErr(t, err, tt.want)
			// The refused answer left nothing behind: the next check,
			// against an honest mirror, finds the release.
			f.serve(tt.path, nil)
			f.mustLatest("sim", "", "1.0.0")
		})
	}
}

func TestAttackUnknownFieldsAccepted(t *testing.T) {
	f := newFixture(t)
	f.publish("1.0.0", "sim")
	f.resign(nil, func(tg *metadata.TargetsType) {
		tg.UnrecognizedFields = map[string]any{"x-roomkit-future": map[string]any{"note": "from a newer release tool"}}
		tf := tg.Targets[ota.TargetPath("1.0.0", "sim")]
		tf.UnrecognizedFields = map[string]any{"x-mirror-hint": "eu"}
		var custom map[string]any
		if err := json.Unmarshal(*tf.Custom, &custom); err != nil {
			t.Fatal(err)
		}
		custom["rollout_note"] = "a field this kit does not know"
		b, _ := json.Marshal(custom)
		raw := json.RawMessage(b)
		tf.Custom = &raw
	})
	c := f.mustLatest("sim", "", "1.0.0")
	if sum, n, err := fetchAll(t, f.cfg, c); err != nil || n != c.Length || !bytes.Equal(sum, c.SHA256) {
		t.Fatalf("download: %d bytes, hash ok %v, %v", n, bytes.Equal(sum, c.SHA256), err)
	}
}

func TestAttackRotatedKey(t *testing.T) {
	f := newFixture(t)
	f.publish("1.0.0", "sim")
	f.mustLatest("sim", "", "1.0.0")
	// The targets key leaks; the release engineer rotates it.
	leaked, err := os.ReadFile(filepath.Join(f.dir, "keys", "online", "targets.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.repo.Rotate("targets", []string{repo.RootKeyPath(f.dir, 1)}, ""); err != nil {
		t.Fatal(err)
	}
	f.publish("1.1.0", "sim")
	f.mustLatest("sim", "", "1.1.0") // the kit walks to root v2

	// The attacker signs a release with the leaked key (and, worst case,
	// holds the snapshot and timestamp keys too).
	f.resign(signerOf(t, leaked), func(tg *metadata.TargetsType) {
		addTarget(t, f.dir, tg, ota.Release{Version: "6.6.6", Channels: []string{"stable"}, Target: "sim"}, []byte("evil"))
	})
	_, _, err = f.latest("stable", "sim", "")
	wantErr(t, err, "signature check failed for targets.json: the release was not signed with a trusted key")

	// A kit that has not checked since its image was built (root v1,
	// which still names the leaked key) walks to root v2 first and
	// refuses the same.
	f.cfg.CacheDir = filepath.Join(t.TempDir(), "fresh")
	_, _, err = f.latest("stable", "sim", "")
	wantErr(t, err, "signature check failed for targets.json: the release was not signed with a trusted key")
}

// After a rotation the kit starts from the newest root it verified, not
// from the one in its image; a corrupt cached root falls back to the
// image's and walks the chain again.
func TestLatestTrustsCachedRoot(t *testing.T) {
	f := newFixture(t)
	f.publish("1.0.0", "sim")
	if err := f.repo.Rotate("targets", []string{repo.RootKeyPath(f.dir, 1)}, ""); err != nil {
		t.Fatal(err)
	}
	f.mustLatest("sim", "", "1.0.0")
	f.serve("/metadata/2.root.json", http.NotFound)
	f.mustLatest("sim", "", "1.0.0") // from the cached root v2

	// Without the cache the image's root v1 does not know the new
	// targets key and the chain to v2 is hidden.
	cached := f.cfg.CacheDir
	f.cfg.CacheDir = ""
	_, _, err := f.latest("stable", "sim", "")
	wantErr(t, err, "signature check failed for targets.json: the release was not signed with a trusted key")

	f.cfg.CacheDir = cached
	if err := os.WriteFile(filepath.Join(cached, "root.json"), []byte("{\"signed\":"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.serve("/metadata/2.root.json", nil)
	f.mustLatest("sim", "", "1.0.0") // image root v1, then 2.root.json again
}
