// Package repo is the release side of over-the-air updates: a TUF
// repository on disk, created with Init, changed with Publish, Rotate and
// Refresh, and served as plain files (portal -ota DIR, or a CDN).
//
// The layout is pinned (kits, the portal and the docs rely on it):
//
//	DIR/metadata/N.root.json, N.targets.json, N.snapshot.json, timestamp.json
//	DIR/targets/releases/<version>/<sha256 hex>.<target>.root
//	DIR/keys/online/{targets,snapshot,timestamp}.pem   PKCS#8 Ed25519, 0600
//	DIR/keys/offline/root-1.pem ...                     move these off the machine
//	DIR/repo.json                                       expiry durations (not served)
//
// Snapshots are consistent: every metadata version and every target stays
// under its own name, so a kit in the middle of an update never sees a
// file change under it. A change writes the target first, then
// N+1.targets.json, N+1.snapshot.json and timestamp.json last, each
// atomically, so a reader at any moment sees either the old or the new
// repository. A lock file (DIR/.lock) serialises changes by several
// processes.
//
// Every file is signed and then verified against the root before it is
// written: a key that is not the role's in the current root is refused
// with a sentence naming the key file.
package repo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	pathpkg "path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"roomkit/ota"
)

// Role names, as TUF spells them.
const (
	RoleRoot      = metadata.ROOT
	RoleTargets   = metadata.TARGETS
	RoleSnapshot  = metadata.SNAPSHOT
	RoleTimestamp = metadata.TIMESTAMP
)

// onlineRoles are the roles whose keys stay on the release machine.
var onlineRoles = []string{RoleTargets, RoleSnapshot, RoleTimestamp}

// Repo is an opened repository. It is not safe for concurrent use by
// goroutines; separate processes are serialised by the lock file.
type Repo struct {
	dir    string
	now    func() time.Time
	config settings

	root      *metadata.Metadata[metadata.RootType]
	rootBytes []byte
	targets   *metadata.Metadata[metadata.TargetsType]
	snapshot  *metadata.Metadata[metadata.SnapshotType]
	timestamp *metadata.Metadata[metadata.TimestampType]
}

// settings is DIR/repo.json: what Init was told that later changes need.
type settings struct {
	Expires map[string]duration `json:"expires"`
}

type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }
func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = duration(v)
	return nil
}

// Open loads the repository in dir: its current metadata (as a kit would
// find it through timestamp.json) and its settings. Online keys are read
// when a change needs them.
func Open(dir string) (*Repo, error) {
	r := &Repo{dir: dir, now: time.Now}
	b, err := os.ReadFile(filepath.Join(dir, "repo.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is not an update repository (no repo.json): create one with roomkit-release init", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open repository: %w", err)
	}
	if err := json.Unmarshal(b, &r.config); err != nil {
		return nil, fmt.Errorf("open repository: %s: %w", filepath.Join(dir, "repo.json"), err)
	}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

// SetClock replaces the clock metadata expiry is computed from (tests
// freeze time through it).
func (r *Repo) SetClock(now func() time.Time) { r.now = now }

// Root returns the bytes of the newest N.root.json: what a kit built now
// should trust (roomd -ota-root).
func (r *Repo) Root() []byte { return bytes.Clone(r.rootBytes) }

// Dir returns the repository's directory.
func (r *Repo) Dir() string { return r.dir }

func (r *Repo) metaDir() string { return filepath.Join(r.dir, "metadata") }

func (r *Repo) metaPath(version int64, role string) string {
	if role == RoleTimestamp {
		return filepath.Join(r.metaDir(), "timestamp.json")
	}
	return filepath.Join(r.metaDir(), fmt.Sprintf("%d.%s.json", version, role))
}

// load reads the current metadata: the newest root, then timestamp →
// snapshot → targets, the way a client walks them.
func (r *Repo) load() error {
	n, err := newestRoot(r.metaDir())
	if err != nil {
		return err
	}
	if r.rootBytes, err = os.ReadFile(r.metaPath(n, RoleRoot)); err != nil {
		return fmt.Errorf("read root: %w", err)
	}
	if r.root, err = (&metadata.Metadata[metadata.RootType]{}).FromBytes(r.rootBytes); err != nil {
		return fmt.Errorf("read %s: %w", r.metaPath(n, RoleRoot), err)
	}
	if r.timestamp, err = (&metadata.Metadata[metadata.TimestampType]{}).FromFile(r.metaPath(0, RoleTimestamp)); err != nil {
		return fmt.Errorf("read %s: %w", r.metaPath(0, RoleTimestamp), err)
	}
	sm, ok := r.timestamp.Signed.Meta["snapshot.json"]
	if !ok {
		return fmt.Errorf("%s names no snapshot.json", r.metaPath(0, RoleTimestamp))
	}
	if r.snapshot, err = (&metadata.Metadata[metadata.SnapshotType]{}).FromFile(r.metaPath(sm.Version, RoleSnapshot)); err != nil {
		return fmt.Errorf("read %s: %w", r.metaPath(sm.Version, RoleSnapshot), err)
	}
	tm, ok := r.snapshot.Signed.Meta["targets.json"]
	if !ok {
		return fmt.Errorf("%s names no targets.json", r.metaPath(sm.Version, RoleSnapshot))
	}
	if r.targets, err = (&metadata.Metadata[metadata.TargetsType]{}).FromFile(r.metaPath(tm.Version, RoleTargets)); err != nil {
		return fmt.Errorf("read %s: %w", r.metaPath(tm.Version, RoleTargets), err)
	}
	return nil
}

// newestRoot returns the highest N with an N.root.json in dir.
func newestRoot(dir string) (int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("read metadata: %w", err)
	}
	var n int64
	for _, e := range ents {
		v, ok := strings.CutSuffix(e.Name(), ".root.json")
		if !ok {
			continue
		}
		if i, err := strconv.ParseInt(v, 10, 64); err == nil && i > n {
			n = i
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("%s holds no N.root.json", dir)
	}
	return n, nil
}

// lock takes the repository's lock file; changes by two processes wait
// for each other instead of interleaving. The caller calls the returned
// func to release it.
func (r *Repo) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(r.dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock repository: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock repository: %w", err)
	}
	return func() { f.Close() }, nil // closing the descriptor releases the lock
}

// change runs fn under the lock on freshly loaded metadata, so a change
// made by another process since Open is built upon, not overwritten.
func (r *Repo) change(fn func() error) error {
	unlock, err := r.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := r.load(); err != nil {
		return err
	}
	if err := fn(); err != nil {
		// What was written is consistent; drop what was changed in memory.
		if lerr := r.load(); lerr != nil {
			return errors.Join(err, lerr)
		}
		return err
	}
	return nil
}

func (r *Repo) expiry(role string) time.Time {
	return r.now().UTC().Add(time.Duration(r.config.Expires[role])).Truncate(time.Second)
}

// writeFile writes b to path atomically and makes the rename durable.
func writeFile(path string, b []byte, perm os.FileMode) error {
	if err := renameio.WriteFile(path, b, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// metaFile describes written metadata bytes for the role above it; the
// length and hash bound what a kit downloads.
func metaFile(version int64, b []byte) *metadata.MetaFiles {
	sum := sha256.Sum256(b)
	m := metadata.MetaFile(version)
	m.Length = int64(len(b))
	m.Hashes = metadata.Hashes{"sha256": metadata.HexBytes(sum[:])}
	return m
}

// Releases lists what the current targets metadata signs, newest first,
// without reading the files (Verify checks them).
func (r *Repo) Releases() []Listing {
	var out []Listing
	for path, tf := range r.targets.Signed.Targets {
		rel, err := ota.ReleaseOf(tf)
		if err != nil {
			continue
		}
		sum := hex.EncodeToString(tf.Hashes["sha256"])
		file := filepath.Join(r.dir, "targets", filepath.FromSlash(pathpkg.Dir(path)), sum+"."+pathpkg.Base(path))
		out = append(out, Listing{Path: path, Release: rel, Length: tf.Length, SHA256: sum, File: file, sum: tf.Hashes["sha256"]})
	}
	sortListings(out)
	return out
}

// Current describes the current metadata as this repository signed it
// (Verify describes it as a kit sees it): versions, expiry and releases.
func (r *Repo) Current() *Report {
	return &Report{
		Root:      Signed{r.root.Signed.Version, r.root.Signed.Expires},
		Targets:   Signed{r.targets.Signed.Version, r.targets.Signed.Expires},
		Snapshot:  Signed{r.snapshot.Signed.Version, r.snapshot.Signed.Expires},
		Timestamp: Signed{r.timestamp.Signed.Version, r.timestamp.Signed.Expires},
		Releases:  r.Releases(),
	}
}
