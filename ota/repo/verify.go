package repo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"roomkit/ota"
)

// Report is what Verify found: the versions and expiry a kit trusting the
// given root accepts, and the releases it would install.
type Report struct {
	Root, Targets, Snapshot, Timestamp Signed
	Releases                           []Listing
}

// Signed is one verified metadata file.
type Signed struct {
	Version int64
	Expires time.Time
}

// Listing is one release a kit would accept.
type Listing struct {
	Path    string // TUF target path
	Release ota.Release
	Length  int64
	SHA256  string // hex
	File    string // the hash-named file in DIR/targets
}

// Verify walks the repository in dir the way a kit does, with go-tuf's
// client: from the trusted root (nil: the repository's 1.root.json, what
// the first kits were built with) through every newer root, the
// timestamp, snapshot and targets, judging expiry at now. It then checks
// every release's file against its signed length and hash, streaming.
func Verify(dir string, trusted []byte, now time.Time) (*Report, error) {
	if trusted == nil {
		b, err := os.ReadFile(filepath.Join(dir, "metadata", "1.root.json"))
		if err != nil {
			return nil, fmt.Errorf("read the first root: %w", err)
		}
		trusted = b
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	base := "file://" + filepath.ToSlash(abs)
	cfg, err := config.New(base+"/metadata", trusted)
	if err != nil {
		return nil, err
	}
	cfg.RemoteTargetsURL = base + "/targets"
	cfg.DisableLocalCache = true
	cfg.Fetcher = fileFetcher{}
	up, err := updater.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("the trusted root: %w", err)
	}
	up.UnsafeSetRefTime(now)
	if err := up.Refresh(); err != nil {
		return nil, fmt.Errorf("a kit would refuse this repository: %w", err)
	}
	t := up.GetTrustedMetadataSet()
	rep := &Report{
		Root:      Signed{t.Root.Signed.Version, t.Root.Signed.Expires},
		Timestamp: Signed{t.Timestamp.Signed.Version, t.Timestamp.Signed.Expires},
		Snapshot:  Signed{t.Snapshot.Signed.Version, t.Snapshot.Signed.Expires},
	}
	tg := t.Targets[metadata.TARGETS]
	rep.Targets = Signed{tg.Signed.Version, tg.Signed.Expires}
	for path, tf := range tg.Signed.Targets {
		rel, err := ota.ReleaseOf(tf)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", path, err)
		}
		if want := ota.TargetPath(rel.Version, rel.Target); want != path {
			return nil, fmt.Errorf("target %s describes %s", path, want)
		}
		sum := hex.EncodeToString(tf.Hashes["sha256"])
		file := filepath.Join(dir, "targets", filepath.FromSlash(filepath.ToSlash(filepath.Dir(path))), sum+"."+filepath.Base(path))
		if err := checkFile(file, tf.Length, tf.Hashes["sha256"]); err != nil {
			return nil, fmt.Errorf("release %s for %s: %w", rel.Version, rel.Target, err)
		}
		rep.Releases = append(rep.Releases, Listing{Path: path, Release: rel, Length: tf.Length, SHA256: sum, File: file})
	}
	sort.Slice(rep.Releases, func(i, j int) bool {
		a, b := rep.Releases[i].Release, rep.Releases[j].Release
		if c := ota.Compare(a.Version, b.Version); c != 0 {
			return c > 0
		}
		return a.Target < b.Target
	})
	return rep, nil
}

// checkFile hashes file streaming and compares with the signed length and
// hash.
func checkFile(file string, length int64, want []byte) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("its file is missing: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, length+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	if n != length {
		return fmt.Errorf("%s is %d bytes, signed as %d", file, n, length)
	}
	if !bytes.Equal(h.Sum(nil), want) {
		return fmt.Errorf("%s does not match its signed SHA-256", file)
	}
	return nil
}

// fileFetcher serves the updater's downloads from the local directory
// behind a file:// URL; a missing file is a 404, as over HTTP.
type fileFetcher struct{}

func (fileFetcher) DownloadFile(u string, maxLength int64, _ time.Duration) ([]byte, error) {
	path, ok := strings.CutPrefix(u, "file://")
	if !ok {
		return nil, fmt.Errorf("not a file URL: %s", u)
	}
	f, err := os.Open(filepath.FromSlash(path))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &metadata.ErrDownloadHTTP{StatusCode: http.StatusNotFound, URL: u}
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxLength+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s is longer than %d bytes", u, maxLength)}
	}
	return b, nil
}
