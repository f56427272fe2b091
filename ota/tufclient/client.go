// Package tufclient is the kit's verified view of an update repository:
// which release it may install (Latest) and the bytes of that release
// (Fetch), on top of go-tuf's client workflow.
//
// Rules it keeps:
//   - Every answer comes from metadata that go-tuf verified against the
//     trusted root: signatures, thresholds, expiry, version rollback and
//     the hashes that tie timestamp, snapshot and targets together.
//   - A release image is never held in memory: Latest reads only the
//     signed length and SHA-256 of the target, Fetch streams its bytes and
//     the caller hashes what it writes.
//   - Every download goes through one HTTP client that follows at most 3
//     redirects (never from https to plain http), refuses more bytes than
//     the signed or configured length and gives up on a server that stops
//     sending or sends too slowly.
//   - Errors are sentences an admin can act on; they wrap go-tuf's typed
//     errors, so errors.Is/As still see them.
//
// One caller at a time per CacheDir: the update agent checks from a single
// goroutine.
package tufclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"roomkit/ota"
)

// Config says where the repository is and what the kit trusts.
type Config struct {
	BaseURL     string           // where the repository is served, e.g. https://portal.example/ota (metadata/ and targets/ under it)
	TrustedRoot []byte           // the root.json in the kit's image (roomd -ota-root)
	CacheDir    string           // on /perm; "" : no cache
	Client      *http.Client     // nil: a client with sane limits; its CheckRedirect is replaced by ours
	Now         func() time.Time // nil: time.Now; tests freeze time through it

	// Test knobs (zero: the defaults below). A test in this package
	// shortens them so a stalling server is caught in milliseconds.
	stall       time.Duration // waiting this long inside one read without a byte aborts
	minBytes    int64         // fewer bytes than this per stall window aborts a drip
	metaTimeout time.Duration // the longest one metadata file may take
}

// Defaults for the download limits.
const (
	defaultStall       = 30 * time.Second
	defaultMinBytes    = 4 << 10 // per stall window: ~140 B/s, far below any real link
	defaultMetaTimeout = 2 * time.Minute
	maxRedirects       = 3

	// Metadata size limits: our repository's files are far smaller (a
	// targets.json lists a few hundred releases at most).
	rootMaxLength      = 512 << 10
	timestampMaxLength = 16 << 10
	snapshotMaxLength  = 256 << 10
	targetsMaxLength   = 1 << 20
	maxRootRotations   = 32
)

func (c *Config) stallWindow() time.Duration {
	if c.stall > 0 {
		return c.stall
	}
	return defaultStall
}

func (c *Config) minBytesPerWindow() int64 {
	if c.minBytes > 0 {
		return c.minBytes
	}
	return defaultMinBytes
}

func (c *Config) metadataTimeout() time.Duration {
	if c.metaTimeout > 0 {
		return c.metaTimeout
	}
	return defaultMetaTimeout
}

func (c *Config) base() (string, error) {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("the update server address %q is not an http(s) URL", c.BaseURL)
	}
	return strings.TrimRight(c.BaseURL, "/"), nil
}

// Candidate is a release the kit may install, with what the signed
// metadata says about its bytes.
type Candidate struct {
	Release ota.Release
	Path    string // TUF target path
	Length  int64
	SHA256  []byte
	URL     string // full URL of the hash-prefixed target file
}

// Latest refreshes the metadata (verified) and returns the newest release for channel and target
// newer than floor (ota.Compare), ok=false when there is none. Errors are sentences for admins.
//
// Each call walks the TUF client workflow afresh (go-tuf's Refresh runs
// once per Updater). With a CacheDir the verified metadata is kept there,
// so a later call refuses metadata older than what it saw before; a
// corrupt cache (a power cut mid-write) is dropped and the kit falls back
// to TrustedRoot.
func Latest(ctx context.Context, cfg Config, channel, target, floor string) (c Candidate, ok bool, err error) {
	base, err := cfg.base()
	if err != nil {
		return c, false, err
	}
	dir := cfg.CacheDir
	if dir == "" {
		// go-tuf reads cached files even with its cache disabled: give it
		// an empty directory of its own rather than the working directory.
		dir, err = os.MkdirTemp("", "tufclient-")
		if err != nil {
			return c, false, fmt.Errorf("checking for updates: %w", err)
		}
		defer os.RemoveAll(dir)
	} else {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return c, false, fmt.Errorf("create the update metadata cache %s: %w", dir, err)
		}
		cleanCache(dir)
	}
	root, err := trustRoot(cfg.TrustedRoot, filepath.Join(dir, "root.json"))
	if err != nil {
		return c, false, err
	}

	f := newFetcher(ctx, &cfg)
	tc, err := config.New(base+"/metadata", root)
	if err != nil {
		return c, false, fmt.Errorf("checking for updates: %w", err)
	}
	tc.RemoteTargetsURL = base + "/targets"
	tc.LocalMetadataDir = dir
	tc.LocalTargetsDir = dir // never written: we do not call DownloadTarget
	tc.Fetcher = f
	tc.RootMaxLength = rootMaxLength
	tc.TimestampMaxLength = timestampMaxLength
	tc.SnapshotMaxLength = snapshotMaxLength
	tc.TargetsMaxLength = targetsMaxLength
	tc.MaxRootRotations = maxRootRotations
	tc.MaxDelegations = 0 // releases are listed by the top-level targets role only

	up, err := updater.New(tc)
	if err != nil {
		return c, false, fmt.Errorf("start checking for updates: %w", err)
	}
	if cfg.Now != nil {
		// go-tuf takes its reference time once, in updater.New; the
		// agent's trusted clock (and a test's frozen one) replaces it.
		up.UnsafeSetRefTime(cfg.Now().UTC())
	}
	if err := up.Refresh(); err != nil {
		if ctx.Err() != nil {
			return c, false, fmt.Errorf("checking for updates: %w", ctx.Err())
		}
		return c, false, explain(err, f, up)
	}
	trusted := up.GetTrustedMetadataSet()
	c, ok = pick(up.GetTopLevelTargets(), channel, target, floor)
	if ok {
		c.URL = targetURL(base+"/targets", c, trusted.Root.Signed.ConsistentSnapshot)
	}
	return c, ok, nil
}

// pick chooses the newest release for channel and target above floor
// among signed targets. Targets whose description does not fit their path
// or that lack a SHA-256 are ignored: the release tool never writes them.
func pick(targets map[string]*metadata.TargetFiles, channel, target, floor string) (best Candidate, ok bool) {
	for p, tf := range targets {
		if tf == nil {
			continue
		}
		rel, err := ota.ReleaseOf(tf)
		if err != nil || rel.Target != target || !slices.Contains(rel.Channels, channel) {
			continue
		}
		if p != ota.TargetPath(rel.Version, rel.Target) {
			continue
		}
		sum := tf.Hashes["sha256"]
		if len(sum) != 32 || tf.Length <= 0 {
			continue
		}
		if ota.Compare(rel.Version, floor) <= 0 {
			continue
		}
		if ok && ota.Compare(rel.Version, best.Release.Version) <= 0 {
			continue
		}
		best = Candidate{Release: rel, Path: p, Length: tf.Length, SHA256: slices.Clone([]byte(sum))}
		ok = true
	}
	return best, ok
}

// targetURL is where the target's bytes are, as go-tuf's DownloadTarget
// would compute it: with consistent snapshots the file name carries the
// hash, so a file never changes under a URL.
func targetURL(targetsBase string, c Candidate, consistent bool) string {
	p := c.Path
	if consistent {
		dir, name := "", p
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			dir, name = p[:i+1], p[i+1:]
		}
		p = dir + fmt.Sprintf("%x", c.SHA256) + "." + name
	}
	return targetsBase + "/" + p
}

// trustRoot chooses the root the check starts from: the cached root.json
// when it is a valid root newer than the image's (the repository rotated
// keys since the image was built), else the image's.
func trustRoot(image []byte, cached string) ([]byte, error) {
	imgMeta, err := trustedmetadata.New(image)
	if err != nil {
		return nil, fmt.Errorf("the kit's trusted root (-ota-root) is not a valid TUF root: %v", err)
	}
	b, err := os.ReadFile(cached)
	if err != nil {
		return image, nil
	}
	cm, err := trustedmetadata.New(b)
	if err != nil || cm.Root.Signed.Version <= imgMeta.Root.Signed.Version {
		return image, nil
	}
	return b, nil
}

// cleanCache drops what a power cut may have left: go-tuf's temporary
// files, and cached metadata that does not even parse (go-tuf skips a
// cached file that fails verification but stops on one that is not JSON).
func cleanCache(dir string) {
	if tmps, err := filepath.Glob(filepath.Join(dir, "tuf_tmp*")); err == nil {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	check := map[string]func([]byte) error{
		metadata.TIMESTAMP: func(b []byte) error { _, err := metadata.Timestamp().FromBytes(b); return err },
		metadata.SNAPSHOT:  func(b []byte) error { _, err := metadata.Snapshot().FromBytes(b); return err },
		metadata.TARGETS:   func(b []byte) error { _, err := metadata.Targets().FromBytes(b); return err },
	}
	for role, parse := range check {
		p := filepath.Join(dir, role+".json")
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if err := parse(b); err != nil {
			os.Remove(p)
		}
	}
}

// sentence is an error whose message is meant for an admin; it keeps the
// error it explains for errors.Is/As.
type sentence struct {
	msg string
	err error
}

func (s *sentence) Error() string { return s.msg }
func (s *sentence) Unwrap() error { return s.err }

func sentencef(err error, format string, args ...any) error {
	return &sentence{msg: fmt.Sprintf(format, args...), err: err}
}

// isSentence reports whether err already speaks to an admin.
func isSentence(err error) bool {
	var s *sentence
	return errors.As(err, &s)
}
