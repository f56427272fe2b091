package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Rotate replaces the key of role and publishes root N+1 saying so,
// signed by rootKeys (files of the current root's keys, at least its
// threshold) and, for the root role, by the new key too. Then the online
// roles are re-signed with bumped versions, so a kit that read root N+1
// finds metadata signed by the keys it names; metadata signed by a
// replaced key is refused from then on.
//
// role may list several online roles separated by commas
// ("targets,snapshot,timestamp" after losing the release machine): they
// change in one root. The online keys not rotated must be the current
// ones; they re-sign their roles.
//
// For one online role, newKey is an existing key file to install as the
// role's online key, or "" for a new key; either way it ends up in
// DIR/keys/online/<role>.pem. For root (on its own), the first of
// rootKeys is the key replaced, and newKey is the file of its successor:
// read when it exists (made on the offline machine), else generated there
// ("" : the next free DIR/keys/offline/root-N.pem). Giving the replaced
// key's own file as newKey re-signs the root with a new expiry and the
// same keys.
func (r *Repo) Rotate(role string, rootKeys []string, newKey string) error {
	var roles []string
	for _, ro := range strings.Split(role, ",") {
		ro = strings.TrimSpace(ro)
		if !slices.Contains([]string{RoleRoot, RoleTargets, RoleSnapshot, RoleTimestamp}, ro) {
			return fmt.Errorf("role %q is not root, targets, snapshot or timestamp", ro)
		}
		if !slices.Contains(roles, ro) {
			roles = append(roles, ro)
		}
	}
	if len(roles) > 1 && slices.Contains(roles, RoleRoot) {
		return errors.New("rotate a root key on its own, not with other roles")
	}
	if len(roles) > 1 && newKey != "" {
		return errors.New("a new key file can be given for one role only; rotating several makes a new key for each")
	}
	if len(rootKeys) == 0 {
		return errors.New("rotating a key needs the current root keys (-root-key FILE, as many as the root's threshold)")
	}
	return r.change(func() error { return r.rotate(roles, rootKeys, newKey) })
}

func (r *Repo) rotate(roles []string, rootKeyFiles []string, keyFile string) error {
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
	// The keys that stay must work before the root changes: after it,
	// they re-sign their roles, and a repository whose new root names keys
	// nobody can sign with is stuck.
	for _, role := range onlineRoles {
		if slices.Contains(roles, role) {
			continue
		}
		if _, err := r.roleKey(role); err != nil {
			return fmt.Errorf("%w (rotate it too: -role %s)", err, strings.Join(append(slices.Clone(roles), role), ","))
		}
	}

	next, err := cloneRoot(r.root)
	if err != nil {
		return err
	}
	next.Signed.Version++
	next.Signed.Expires = r.expiry(RoleRoot)

	pending := map[string]string{} // online role → where its new key waits until the root names it
	for _, role := range roles {
		if role == RoleRoot {
			nk, err := r.successorRootKey(keyFile)
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
			continue
		}
		p := r.onlineKeyPath(role) + ".new"
		os.Remove(p) // left by a rotation that stopped before its root was written
		var nk *key
		if keyFile != "" {
			nk, err = readKey(keyFile)
			if err == nil {
				err = copyKey(keyFile, p)
			}
		} else {
			nk, err = newKey(p)
		}
		if err != nil {
			return err
		}
		pending[role] = p
		for _, id := range slices.Clone(next.Signed.Roles[role].KeyIDs) {
			if err := next.Signed.RevokeKey(id, role); err != nil {
				return err
			}
		}
		if err := next.Signed.AddKey(nk.tuf, role); err != nil {
			return err
		}
	}

	if err := r.writeRoot(next, signers, r.root); err != nil {
		return err
	}
	for role, p := range pending {
		// From here on the root names the new key: install it.
		if err := os.Rename(p, r.onlineKeyPath(role)); err != nil {
			return fmt.Errorf("install the new %s key: %w", role, err)
		}
		if err := syncDir(filepath.Dir(p)); err != nil {
			return err
		}
	}
	keys, err := r.onlineKeys(onlineRoles...)
	if err != nil {
		return err
	}
	return r.writeOnline(keys, true, true)
}

// successorRootKey reads the new root key from file, or generates it
// there ("" : the next free DIR/keys/offline/root-N.pem).
func (r *Repo) successorRootKey(file string) (*key, error) {
	if file == "" {
		file = r.freeRootKeyPath()
	}
	if _, err := os.Stat(file); err == nil {
		return readKey(file)
	}
	return newKey(file)
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
