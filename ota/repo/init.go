package repo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// InitOptions shape a new repository. Zero values take the defaults.
type InitOptions struct {
	// RootKeys is how many offline root keys to create (default 1), and
	// RootThreshold how many of them must sign a new root (default 1).
	RootKeys, RootThreshold int
	// Expires sets how long each role's signatures stay valid, by role
	// name; missing roles take DefaultExpires.
	Expires map[string]time.Duration
}

// DefaultExpires are the validity periods of the four roles: the root is
// re-signed offline about once a year, targets with each release,
// snapshot and timestamp by Refresh (daily).
var DefaultExpires = map[string]time.Duration{
	RoleRoot:      365 * 24 * time.Hour,
	RoleTargets:   180 * 24 * time.Hour,
	RoleSnapshot:  30 * 24 * time.Hour,
	RoleTimestamp: 7 * 24 * time.Hour,
}

// MaxRootKeys bounds InitOptions.RootKeys.
const MaxRootKeys = 16

// Init creates a repository in dir, which must be empty or missing: keys
// for the four roles (the root keys under keys/offline, to be moved off
// the machine) and version 1 of each metadata file, with no releases.
func Init(dir string, o InitOptions) error {
	if o.RootKeys == 0 {
		o.RootKeys = 1
	}
	if o.RootThreshold == 0 {
		o.RootThreshold = 1
	}
	if o.RootKeys < 1 || o.RootKeys > MaxRootKeys {
		return fmt.Errorf("a repository needs between 1 and %d root keys, not %d", MaxRootKeys, o.RootKeys)
	}
	if o.RootThreshold < 1 || o.RootThreshold > o.RootKeys {
		return fmt.Errorf("the root threshold must be between 1 and the number of root keys (%d), not %d", o.RootKeys, o.RootThreshold)
	}
	cfg := settings{Expires: map[string]duration{}}
	for role, d := range DefaultExpires {
		cfg.Expires[role] = duration(d)
	}
	for role, d := range o.Expires {
		if _, ok := DefaultExpires[role]; !ok {
			return fmt.Errorf("expiry for %q: the roles are root, targets, snapshot and timestamp", role)
		}
		if d < time.Hour {
			return fmt.Errorf("expiry for %s is %v: give at least an hour", role, d)
		}
		cfg.Expires[role] = duration(d)
	}

	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("init repository: %w", err)
	case len(ents) > 0:
		return fmt.Errorf("%s is not empty: init creates a repository only in an empty or new directory", dir)
	}
	for _, d := range []string{"metadata", "targets"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return fmt.Errorf("init repository: %w", err)
		}
	}
	for _, d := range []string{"keys/online", "keys/offline"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return fmt.Errorf("init repository: %w", err)
		}
	}

	r := &Repo{dir: dir, now: time.Now, config: cfg}
	r.root = metadata.Root(r.expiry(RoleRoot))
	var rootKeys []*key
	for i := 1; i <= o.RootKeys; i++ {
		k, err := newKey(RootKeyPath(dir, i))
		if err != nil {
			return err
		}
		if err := r.root.Signed.AddKey(k.tuf, RoleRoot); err != nil {
			return err
		}
		rootKeys = append(rootKeys, k)
	}
	r.root.Signed.Roles[RoleRoot].Threshold = o.RootThreshold
	online := map[string]*key{}
	for _, role := range onlineRoles {
		k, err := newKey(r.onlineKeyPath(role))
		if err != nil {
			return err
		}
		if err := r.root.Signed.AddKey(k.tuf, role); err != nil {
			return err
		}
		online[role] = k
	}
	if err := r.writeRoot(r.root, rootKeys, nil); err != nil {
		return err
	}

	// Version 0 in memory: writeOnline bumps each to 1.
	r.targets = metadata.Targets(r.expiry(RoleTargets))
	r.targets.Signed.Version = 0
	r.snapshot = metadata.Snapshot(r.expiry(RoleSnapshot))
	r.snapshot.Signed.Version = 0
	r.timestamp = metadata.Timestamp(r.expiry(RoleTimestamp))
	r.timestamp.Signed.Version = 0
	if err := r.writeOnline(online, true, true); err != nil {
		return err
	}

	b, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		return err
	}
	// Written last: a repository without it is one whose init did not finish.
	return writeFile(filepath.Join(dir, "repo.json"), append(b, '\n'), 0o644)
}

// RootKeyPath is where Init puts the i-th (from 1) offline root key.
func RootKeyPath(dir string, i int) string {
	return filepath.Join(dir, "keys", "offline", fmt.Sprintf("root-%d.pem", i))
}
