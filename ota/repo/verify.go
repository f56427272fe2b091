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
	pathpkg "path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
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
	File    string // the hash-named file in DIR/targets, or its URL

	sum []byte
}

// Verify walks the repository in dir the way a kit does, with go-tuf's
// client: from the trusted root (nil: the repository's 1.root.json, what
// the first kits were built with) through every newer root, the
// timestamp, snapshot and targets, judging expiry at now. It then checks
// every release's file against its signed length and hash, streaming.
func Verify(dir string, trusted []byte, now time.Time) (*Report, error) {
	trusted, err := firstRoot(dir, trusted)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	base := "file://" + filepath.ToSlash(abs)
	return verify(base, fileFetcher{}, trusted, now, func(l *Listing) error {
		l.File = filepath.Join(dir, "targets", filepath.FromSlash(pathpkg.Dir(l.Path)), l.SHA256+"."+pathpkg.Base(l.Path))
		return checkFile(l.File, l.Length, l.sum)
	})
}

// VerifyURL is Verify against a served copy of the repository (the
// portal's /ota/, a CDN): base is the URL metadata/ and targets/ are
// under. trusted is required; take the 1.root.json of the repository the
// copy was made from, not the served one.
func VerifyURL(base string, trusted []byte, now time.Time, client *http.Client) (*Report, error) {
	if len(trusted) == 0 {
		return nil, errors.New("verifying a served repository needs the root kits trust")
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Minute}
	}
	base = strings.TrimSuffix(base, "/")
	f := fetcher.NewDefaultFetcher() // one try: a missing N+1.root.json is an answer, not a failure
	f.SetHTTPClient(client)
	return verify(base, f, trusted, now, func(l *Listing) error {
		u := base + "/targets/" + pathpkg.Dir(l.Path) + "/" + l.SHA256 + "." + pathpkg.Base(l.Path)
		l.File = u
		resp, err := client.Get(u)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		return checkStream(resp.Body, u, l.Length, l.sum)
	})
}

func firstRoot(dir string, trusted []byte) ([]byte, error) {
	if trusted != nil {
		return trusted, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "metadata", "1.root.json"))
	if err != nil {
		return nil, fmt.Errorf("read the first root: %w", err)
	}
	return b, nil
}

func verify(base string, f fetcher.Fetcher, trusted []byte, now time.Time, check func(*Listing) error) (*Report, error) {
	cfg, err := config.New(base+"/metadata", trusted)
	if err != nil {
		return nil, err
	}
	cfg.RemoteTargetsURL = base + "/targets"
	cfg.DisableLocalCache = true
	cfg.Fetcher = f
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
		l := Listing{Path: path, Release: rel, Length: tf.Length, SHA256: hex.EncodeToString(tf.Hashes["sha256"]), sum: tf.Hashes["sha256"]}
		if err := check(&l); err != nil {
			return nil, fmt.Errorf("release %s for %s: %w", rel.Version, rel.Target, err)
		}
		rep.Releases = append(rep.Releases, l)
	}
	sortListings(rep.Releases)
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
	return checkStream(f, file, length, want)
}

func checkStream(r io.Reader, name string, length int64, want []byte) error {
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(r, length+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if n != length {
		return fmt.Errorf("%s is %d bytes, signed as %d", name, n, length)
	}
	if !bytes.Equal(h.Sum(nil), want) {
		return fmt.Errorf("%s does not match its signed SHA-256", name)
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

// sortListings orders releases newest version first, then by target.
func sortListings(l []Listing) {
	sort.Slice(l, func(i, j int) bool {
		a, b := l[i].Release, l[j].Release
		if c := ota.Compare(a.Version, b.Version); c != 0 {
			return c > 0
		}
		return a.Target < b.Target
	})
}
