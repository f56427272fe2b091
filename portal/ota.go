package portal

import (
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// The update repository (docs/ota.md), served read-only at /ota/ when the
// portal runs with -ota DIR: kits fetch DIR/metadata/*.json and
// DIR/targets/… from here unless a CDN serves them. Nothing else in DIR is
// ever served; DIR/keys in particular holds the online signing keys.
//
// Each of the two folders is opened as an os.Root, so a symlink or ".."
// can never lead out of it (to the keys, or anywhere else).

// otaRepo serves one repository directory.
type otaRepo struct {
	dir string
}

// openOTARepo checks that dir is a directory. Its metadata and targets
// folders are opened per request: a repository set up after the portal
// started (roomkit-release init wants an empty directory) is served as
// soon as it exists, and 404 until then.
func openOTARepo(dir string) (*otaRepo, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("update repository: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("update repository %s is not a directory", dir)
	}
	return &otaRepo{dir: dir}, nil
}

// offlineKeysPresent says whether dir still holds the root keys, which
// belong on an offline machine: whoever takes the portal would otherwise
// hold every key of the fleet's updates.
func offlineKeysPresent(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "keys", "offline"))
	return err == nil
}

var (
	// versionedMetadata is N.root.json, N.targets.json, N.snapshot.json:
	// with consistent snapshots a name never gets other bytes.
	versionedMetadata = regexp.MustCompile(`^[0-9]+\.[a-z]+\.json$`)
	// hashNamedTarget is <sha256hex>.<name>: its content is its name.
	hashNamedTarget = regexp.MustCompile(`^[0-9a-f]{64}\.[^/]+$`)
)

const immutable = "public, max-age=31536000, immutable"

// ServeHTTP answers GET and HEAD below /ota/.
func (r *otaRepo) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rel, ok := strings.CutPrefix(req.URL.Path, "/ota/")
	if !ok || !cleanRepoPath(rel) {
		http.NotFound(w, req)
		return
	}
	dir, name, _ := strings.Cut(rel, "/")
	var cache, ctype string
	switch dir {
	case "metadata":
		// Only the role files: metadata/ holds nothing else a kit needs.
		if strings.Contains(name, "/") || !strings.HasSuffix(name, ".json") {
			http.NotFound(w, req)
			return
		}
		ctype, cache = "application/json", "no-cache"
		if versionedMetadata.MatchString(name) {
			cache = immutable
		}
	case "targets":
		ctype, cache = "application/octet-stream", "no-cache"
		if hashNamedTarget.MatchString(path.Base(name)) {
			cache = immutable
		}
	default:
		http.NotFound(w, req)
		return
	}
	root, err := os.OpenRoot(filepath.Join(r.dir, dir))
	if err != nil {
		http.NotFound(w, req)
		return
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		http.NotFound(w, req)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		// No listings: a folder (or anything but a file) is not there.
		http.NotFound(w, req)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if cache == immutable && dir == "targets" {
		// The name is the content's SHA-256: the best validator there is.
		w.Header().Set("ETag", `"`+path.Base(name)[:64]+`"`)
	}
	http.ServeContent(w, req, "", st.ModTime(), f)
}

// cleanRepoPath accepts "a/b/c" made of non-empty names that do not start
// with a dot: no "..", no dotfiles (.lock), no "//", no trailing slash.
func cleanRepoPath(p string) bool {
	if p == "" || strings.ContainsRune(p, '\\') || strings.ContainsRune(p, 0) {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return false
		}
	}
	return fs.ValidPath(p)
}
