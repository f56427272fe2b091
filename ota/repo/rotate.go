package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Rotate replaces the key of role and publishes root N+1 saying so,
// signed by rootKeys (files of the current root's keys, at least its
// threshold) and, for the root role, by the new key too. Then the online
// roles are re-signed with bumped versions, so a kit that read root N+1
// finds metadata signed by the keys it names; metadata signed by a
// replaced key is refused from then on.
//
// For targets, snapshot and timestamp, newKey is an existing key file to
// install as the role's online key, or "" for a new key; either way it
// ends up in DIR/keys/online/<role>.pem. For root, the first of rootKeys
// is the key replaced, and newKey is the file of its successor: read when
// it exists (made on the offline machine), else generated there ("" :
// the next free DIR/keys/offline/root-N.pem). Giving the replaced key's
// own file as newKey re-signs the root with a new expiry and the same keys.
func (r *Repo) Rotate(role string, rootKeys []string, newKey string) error {
	if !slices.Contains([]string{RoleRoot, RoleTargets, RoleSnapshot, RoleTimestamp}, role) {
		return fmt.Errorf("role %q is not root, targets, snapshot or timestamp", role)
	}
	if len(rootKeys) == 0 {
		return errors.New("rotating a key needs the current root keys (-root-key FILE, as many as the root's threshold)")
	}
	return r.change(func() error { return r.rotate(role, rootKeys, newKey) })
}

func (r *Repo) rotate(role string, rootKeyFiles []string, keyFile string) error {
	var signers []*key
	for _, p := range rootKeyFiles {
		k, err := readKey(p)
		if err != nil {
			return err
		}
		if !slices.Contains(r.root.Signed.Roles[RoleRoot].KeyIDs, k.id) {
			return fmt.Errorf("%s is not a root key of root v%d (keyid %.16s…): was it rotated?", p, r.root.Signed.Version, k.id)
		}
		if !slices.ContainsFunc(signers, func(s *key) bool { return s.id == k.id }) {
			signers = append(signers, k)
		}
	}
	if th := r.root.Signed.Roles[RoleRoot].Threshold; len(signers) < th {
		return fmt.Errorf("root v%d needs %d root keys to sign its successor, %d given", r.root.Signed.Version, th, len(signers))
	}

	next, err := cloneRoot(r.root)
	if err != nil {
		return err
	}
	next.Signed.Version++
	next.Signed.Expires = r.expiry(RoleRoot)

	var nk *key
	var pending string // online role: where the new key waits until the root names it
	if role == RoleRoot {
		if keyFile == "" {
			keyFile = r.freeRootKeyPath()
		}
		if _, err := os.Stat(keyFile); err == nil {
			nk, err = readKey(keyFile)
		} else {
			nk, err = newKey(keyFile)
		}
		if err != nil {
			return err
		}
		if err := next.Signed.RevokeKey(signers[0].id, RoleRoot); err != nil {
			return fmt.Errorf("retire %s: %w", signers[0].path, err)
		}
		if err := next.Signed.AddKey(nk.tuf, RoleRoot); err != nil {
			return err
		}
		if !slices.ContainsFunc(signers, func(s *key) bool { return s.id == nk.id }) {
			signers = append(signers, nk)
		}
	} else {
		pending = r.onlineKeyPath(role) + ".new"
		os.Remove(pending) // left by a rotation that stopped before its root was written
		if keyFile != "" {
			nk, err = readKey(keyFile)
			if err == nil {
				err = copyKey(keyFile, pending)
			}
		} else {
			nk, err = newKey(pending)
		}
		if err != nil {
			return err
		}
		for _, id := range slices.Clone(next.Signed.Roles[role].KeyIDs) {
			if err := next.Signed.RevokeKey(id, role); err != nil {
				return err
			}
		}
		if err := next.Signed.AddKey(nk.tuf, role); err != nil {
			return err
		}
	}

	prev := r.root
	if err := r.writeRoot(next, signers, prev); err != nil {
		return err
	}
	if pending != "" {
		// From here on the root names the new key: install it.
		if err := os.Rename(pending, r.onlineKeyPath(role)); err != nil {
			return fmt.Errorf("install the new %s key: %w", role, err)
		}
		if err := syncDir(filepath.Dir(pending)); err != nil {
			return err
		}
	}
	keys, err := r.onlineKeys(onlineRoles...)
	if err != nil {
		return err
	}
	return r.writeOnline(keys, true, true)
}

func copyKey(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("read key: %w", err)
	}
	return writeFile(to, b, 0o600)
}

// freeRootKeyPath is the first DIR/keys/offline/root-N.pem not taken.
func (r *Repo) freeRootKeyPath() string {
	for i := 1; ; i++ {
		p := RootKeyPath(r.dir, i)
		if _, err := os.Stat(p); err != nil {
			return p
		}
	}
}

func cloneRoot(m *metadata.Metadata[metadata.RootType]) (*metadata.Metadata[metadata.RootType], error) {
	b, err := m.ToBytes(false)
	if err != nil {
		return nil, err
	}
	return (&metadata.Metadata[metadata.RootType]{}).FromBytes(b)
}
