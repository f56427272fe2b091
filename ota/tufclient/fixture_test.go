package tufclient

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"roomkit/ota"
	"roomkit/ota/repo"
)

// fixture is a real repository (ota/repo) in a temporary directory,
// served over real HTTP by a mirror that tests can make misbehave, and a
// kit's Config pointing at it with its own metadata cache.
type fixture struct {
	t      testing.TB
	dir    string
	repo   *repo.Repo
	mirror *mirror
	srv    *httptest.Server
	cfg    Config
	image  []byte // the root the kit's image trusts (1.root.json)
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	if err := repo.Init(dir, repo.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := &mirror{files: http.FileServer(http.Dir(dir)), override: map[string]http.HandlerFunc{}}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	cfg := fastConfig(srv.URL)
	cfg.TrustedRoot = r.Root()
	cfg.CacheDir = filepath.Join(t.TempDir(), "cache")
	return &fixture{t: t, dir: dir, repo: r, mirror: m, srv: srv, cfg: cfg, image: r.Root()}
}

// mirror serves the repository directory and lets a test replace what
// one URL path answers: the tampering part of an attacker's mirror.
type mirror struct {
	files    http.Handler
	mu       sync.Mutex
	override map[string]http.HandlerFunc
}

func (m *mirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	h := m.override[r.URL.Path]
	m.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	m.files.ServeHTTP(w, r)
}

// serve makes the mirror answer urlPath with h; nil restores the file.
func (f *fixture) serve(urlPath string, h http.HandlerFunc) {
	f.mirror.mu.Lock()
	defer f.mirror.mu.Unlock()
	if h == nil {
		delete(f.mirror.override, urlPath)
		return
	}
	f.mirror.override[urlPath] = h
}

// serveBytes makes the mirror answer urlPath with b.
func (f *fixture) serveBytes(urlPath string, b []byte) {
	f.serve(urlPath, func(w http.ResponseWriter, r *http.Request) { w.Write(b) })
}

// publish publishes a sim-style release of random bytes (any file is a
// valid sim image) for target and returns its bytes. Other targets than
// sim need a real root squashfs in ota/repo, so they are added with
// resign (signed with the repository's real keys) instead.
func (f *fixture) publish(version, target string, channels ...string) []byte {
	f.t.Helper()
	data := randomBytes(f.t, 64<<10)
	if len(channels) == 0 {
		channels = []string{"stable"}
	}
	rel := ota.Release{Version: version, Channels: channels, Target: target}
	if target != "sim" {
		f.resign(nil, func(tg *metadata.TargetsType) { addTarget(f.t, f.dir, tg, rel, data) })
		return data
	}
	p := filepath.Join(f.t.TempDir(), version+".img")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := f.repo.Publish(p, rel); err != nil {
		f.t.Fatalf("publish %s: %v", version, err)
	}
	return data
}

// addTarget writes data as a target file in the pinned layout and lists
// it in tg.
func addTarget(t testing.TB, dir string, tg *metadata.TargetsType, rel ota.Release, data []byte) {
	t.Helper()
	sum := sha256.Sum256(data)
	path := ota.TargetPath(rel.Version, rel.Target)
	file := filepath.Join(dir, "targets", filepath.Dir(path), fmt.Sprintf("%x.%s", sum, filepath.Base(path)))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	custom, err := json.Marshal(rel)
	if err != nil {
		t.Fatal(err)
	}
	raw := json.RawMessage(custom)
	tg.Targets[path] = &metadata.TargetFiles{Length: int64(len(data)), Hashes: metadata.Hashes{"sha256": sum[:]}, Custom: &raw, Path: path}
}

func (f *fixture) latest(channel, target, floor string) (Candidate, bool, error) {
	return Latest(context.Background(), f.cfg, channel, target, floor)
}

// mustLatest expects a candidate of version want ("" : none).
func (f *fixture) mustLatest(target, floor, want string) Candidate {
	f.t.Helper()
	c, ok, err := f.latest("stable", target, floor)
	if err != nil {
		f.t.Fatalf("Latest(%s, floor %q): %v", target, floor, err)
	}
	if got := map[bool]string{true: c.Release.Version}[ok]; got != want {
		f.t.Fatalf("Latest(%s, floor %q) = %q, want %q", target, floor, got, want)
	}
	return c
}

// metaFile reads DIR/metadata/name.
func (f *fixture) metaFile(name string) []byte {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, "metadata", name))
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// versions reads the repository's current timestamp, snapshot and
// targets versions.
func (f *fixture) versions() (ts, snap, targets int64) {
	f.t.Helper()
	t, err := metadata.Timestamp().FromBytes(f.metaFile("timestamp.json"))
	if err != nil {
		f.t.Fatal(err)
	}
	snap = t.Signed.Meta["snapshot.json"].Version
	s, err := metadata.Snapshot().FromBytes(f.metaFile(strconv.FormatInt(snap, 10) + ".snapshot.json"))
	if err != nil {
		f.t.Fatal(err)
	}
	return t.Signed.Version, snap, s.Signed.Meta["targets.json"].Version
}

// onlineSigner loads the repository's online key of role.
func (f *fixture) onlineSigner(role string) signature.Signer {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, "keys", "online", role+".pem"))
	if err != nil {
		f.t.Fatal(err)
	}
	return signerOf(f.t, b)
}

func signerOf(t testing.TB, pemBytes []byte) signature.Signer {
	t.Helper()
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		t.Fatal("not a PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(k, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rogueSigner(t testing.TB) signature.Signer {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(priv, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// resign writes a new targets, snapshot and timestamp the way an attacker
// holding keys would: change applies to a copy of the current targets,
// which is signed by targetsKey (nil: the repository's own key), and the
// snapshot and timestamp are signed with the repository's online keys,
// so the only thing wrong is what the test means to be wrong.
func (f *fixture) resign(targetsKey signature.Signer, change func(*metadata.TargetsType)) {
	f.t.Helper()
	ts, snapV, tgV := f.versions()
	tg, err := metadata.Targets().FromBytes(f.metaFile(strconv.FormatInt(tgV, 10) + ".targets.json"))
	if err != nil {
		f.t.Fatal(err)
	}
	if change != nil {
		change(&tg.Signed)
	}
	tg.Signed.Version = tgV + 1
	legit := targetsKey == nil
	if legit {
		targetsKey = f.onlineSigner(metadata.TARGETS)
	}
	tgBytes := f.sign(tg, targetsKey)
	f.write(fmt.Sprintf("%d.targets.json", tgV+1), tgBytes)

	snap, err := metadata.Snapshot().FromBytes(f.metaFile(strconv.FormatInt(snapV, 10) + ".snapshot.json"))
	if err != nil {
		f.t.Fatal(err)
	}
	snap.Signed.Version = snapV + 1
	snap.Signed.Meta["targets.json"] = metaOf(tgV+1, tgBytes)
	snapBytes := f.sign(snap, f.onlineSigner(metadata.SNAPSHOT))
	f.write(fmt.Sprintf("%d.snapshot.json", snapV+1), snapBytes)

	f.writeTimestamp(ts+1, snapV+1, snapBytes)
	if legit {
		// ota/repo keeps the metadata in memory: let it see ours.
		r, err := repo.Open(f.dir)
		if err != nil {
			f.t.Fatalf("reopen the repository after re-signing: %v", err)
		}
		f.repo = r
	}
}

// writeTimestamp signs a timestamp of version v naming snapshot snapV.
func (f *fixture) writeTimestamp(v, snapV int64, snapBytes []byte) {
	f.t.Helper()
	t := metadata.Timestamp(time.Now().Add(7 * 24 * time.Hour))
	t.Signed.Version = v
	t.Signed.Meta["snapshot.json"] = metaOf(snapV, snapBytes)
	f.write("timestamp.json", f.sign(t, f.onlineSigner(metadata.TIMESTAMP)))
}

func metaOf(v int64, b []byte) *metadata.MetaFiles {
	sum := sha256.Sum256(b)
	m := metadata.MetaFile(v)
	m.Length = int64(len(b))
	m.Hashes = metadata.Hashes{"sha256": sum[:]}
	return m
}

// sign signs m (any role's metadata) with s alone and returns its bytes.
func (f *fixture) sign(m interface {
	ClearSignatures()
	Sign(signature.Signer) (*metadata.Signature, error)
	ToBytes(pretty bool) ([]byte, error)
}, s signature.Signer) []byte {
	f.t.Helper()
	m.ClearSignatures()
	if _, err := m.Sign(s); err != nil {
		f.t.Fatal(err)
	}
	b, err := m.ToBytes(true)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) write(name string, b []byte) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, "metadata", name), b, 0o644); err != nil {
		f.t.Fatal(err)
	}
}
