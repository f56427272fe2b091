package tufclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// explain turns what go-tuf's Refresh returned into a sentence for an
// admin. go-tuf's messages name the check, not the file or the versions,
// so the file is the one the fetcher fetched last (Refresh stops at the
// first file it refuses; cached files that fail are skipped, not
// reported) and the versions come from the trusted set and that file.
func explain(err error, f *fetcher, up *updater.Updater) error {
	if isSentence(err) {
		return err
	}
	file := roleFile(f.lastURL)
	trusted := up.GetTrustedMetadataSet()

	var (
		expired  *metadata.ErrExpiredMetadata
		unsigned *metadata.ErrUnsignedMetadata
		version  *metadata.ErrBadVersionNumber
		mismatch *metadata.ErrLengthOrHashMismatch
		httpErr  *metadata.ErrDownloadHTTP
		tooLong  *metadata.ErrDownloadLengthMismatch
		repoErr  *metadata.ErrRepository
		valueErr *metadata.ErrValue
		typeErr  *metadata.ErrType
		syntax   *json.SyntaxError
		jsonType *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &expired):
		role, when := expiredRole(expired.Msg, f, trusted.Root, trusted.Timestamp, trusted.Snapshot)
		at := "an unknown date"
		if !when.IsZero() {
			at = when.UTC().Format("2006-01-02 15:04 UTC")
		}
		return sentencef(err, "the update server's metadata expired on %s (%s): is its clock or the release process stuck?", at, role)

	case errors.As(err, &unsigned):
		if file == "root.json" {
			return sentencef(err, "signature check failed for %s: the new root was not signed by the keys of the root the kit trusts", path.Base(f.lastURL))
		}
		return sentencef(err, "signature check failed for %s: the release was not signed with a trusted key", file)

	case errors.As(err, &version):
		return sentencef(err, "%s", versionSentence(version.Msg, file, f, trusted.Timestamp, trusted.Snapshot))

	case errors.As(err, &mismatch):
		signer := map[string]string{"snapshot.json": "timestamp.json", "targets.json": "snapshot.json"}[file]
		if signer == "" {
			signer = "the metadata above it"
		}
		return sentencef(err, "mixed or tampered metadata refused: %s does not have the length and hash %s signed for it", file, signer)

	case errors.As(err, &httpErr):
		return sentencef(err, "the update server answered %d %s for %s", httpErr.StatusCode, http.StatusText(httpErr.StatusCode), httpErr.URL)

	case errors.As(err, &tooLong):
		return sentencef(err, "%s", tooLong.Msg)

	case errors.As(err, &syntax), errors.As(err, &jsonType), errors.As(err, &valueErr), errors.As(err, &typeErr):
		return sentencef(err, "%s from the update server is not valid TUF metadata: %v", orAll(file), err)

	case errors.As(err, &repoErr):
		return sentencef(err, "%s from the update server was refused: %s", orAll(file), repoErr.Msg)
	}
	return sentencef(err, "checking for updates: %v", err)
}

// roleFile names the metadata file a URL holds without its version:
// ".../3.snapshot.json" → "snapshot.json".
func roleFile(u string) string {
	base := path.Base(u)
	if i := strings.IndexByte(base, '.'); i > 0 {
		if _, err := strconv.Atoi(base[:i]); err == nil {
			base = base[i+1:]
		}
	}
	if u == "" {
		return ""
	}
	return base
}

func orAll(file string) string {
	if file == "" {
		return "the metadata"
	}
	return file
}

// expiredRole finds which file expired and when. go-tuf keeps an expired
// root, timestamp or snapshot in the trusted set (it checks expiry after
// accepting the signature); an expired targets.json is only in the
// fetcher's last download.
func expiredRole(msg string, f *fetcher, root *metadata.Metadata[metadata.RootType],
	ts *metadata.Metadata[metadata.TimestampType], snap *metadata.Metadata[metadata.SnapshotType]) (string, time.Time) {
	switch {
	case strings.Contains(msg, "root.json") && root != nil:
		return "root.json", root.Signed.Expires
	case strings.Contains(msg, "timestamp.json") && ts != nil:
		return "timestamp.json", ts.Signed.Expires
	case strings.Contains(msg, "snapshot.json") && snap != nil:
		return "snapshot.json", snap.Signed.Expires
	case roleFile(f.lastURL) == "targets.json" && f.lastData != nil:
		if t, err := metadata.Targets().FromBytes(f.lastData); err == nil {
			return "targets.json", t.Signed.Expires
		}
	}
	return orAll(roleFile(f.lastURL)), time.Time{}
}

var twoNumbers = regexp.MustCompile(`(\d+)\D+(\d+)\s*$`)

// versionSentence explains go-tuf's version refusals. A version lower than
// one the kit already trusted is a rollback; a version that differs from
// what the file above it names means files of different releases were
// mixed.
func versionSentence(msg, file string, f *fetcher, ts *metadata.Metadata[metadata.TimestampType], snap *metadata.Metadata[metadata.SnapshotType]) string {
	nums := twoNumbers.FindStringSubmatch(msg)
	a, b := "?", "?"
	if nums != nil {
		a, b = nums[1], nums[2]
	}
	switch {
	case strings.HasPrefix(msg, "new timestamp version"):
		return fmt.Sprintf("version rollback refused: the update server sent timestamp.json version %s, the kit already trusted version %s", a, b)
	case strings.HasPrefix(msg, "new snapshot version"):
		return fmt.Sprintf("version rollback refused: timestamp.json names snapshot.json version %s, the kit already trusted version %s", a, b)
	case file == "snapshot.json" && strings.HasPrefix(msg, "expected ") && strings.Contains(msg, ".json version"):
		// "expected targets.json version X, got Y": go-tuf prints the new
		// version first, the trusted one second.
		return fmt.Sprintf("version rollback refused: snapshot.json names targets.json version %s, the kit already trusted version %s", a, b)
	case file == "snapshot.json" && ts != nil:
		return mixed("timestamp.json", file, ts.Signed.Meta, f)
	case file == "snapshot.json":
		return mixed("timestamp.json", file, nil, f)
	case file == "targets.json" && snap != nil:
		return mixed("snapshot.json", file, snap.Signed.Meta, f)
	case file == "targets.json":
		return mixed("snapshot.json", file, nil, f)
	case file == "root.json":
		return fmt.Sprintf("version rollback refused: %s is not the next root version (expected %s, got %s)", path.Base(f.lastURL), a, b)
	}
	return "version rollback refused: " + msg
}

// mixed says that signer's meta names another version of file than the
// server sent.
func mixed(signer, file string, meta map[string]*metadata.MetaFiles, f *fetcher) string {
	named := "?"
	if m := meta[file]; m != nil {
		named = strconv.FormatInt(m.Version, 10)
	}
	return fmt.Sprintf("mixed metadata refused: %s names %s version %s, the update server sent version %s", signer, file, named, sentVersion(f))
}

// sentVersion reads the version of the last fetched file.
func sentVersion(f *fetcher) string {
	var m struct {
		Signed struct {
			Version int64 `json:"version"`
		} `json:"signed"`
	}
	if json.Unmarshal(f.lastData, &m) != nil {
		return "?"
	}
	return strconv.FormatInt(m.Signed.Version, 10)
}
