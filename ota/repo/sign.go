package repo

import (
	"fmt"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// onlineKeys reads the online keys of roles and checks each against the
// current root, before anything is written.
func (r *Repo) onlineKeys(roles ...string) (map[string]*key, error) {
	keys := map[string]*key{}
	for _, role := range roles {
		k, err := r.roleKey(role)
		if err != nil {
			return nil, err
		}
		keys[role] = k
	}
	return keys, nil
}

// writeRoot signs root (version already set) with keys, checks it against
// itself and, when prev is not nil, against the root it replaces (a
// client accepts N+1 only when N's threshold signed it), and writes it.
func (r *Repo) writeRoot(root *metadata.Metadata[metadata.RootType], keys []*key, prev *metadata.Metadata[metadata.RootType]) error {
	if err := sign(root, keys...); err != nil {
		return err
	}
	if prev != nil {
		if err := prev.VerifyDelegate(RoleRoot, root); err != nil {
			return fmt.Errorf("root v%d is not signed by enough keys of root v%d (threshold %d): give more -root-key files", root.Signed.Version, prev.Signed.Version, prev.Signed.Roles[RoleRoot].Threshold)
		}
	}
	if err := root.VerifyDelegate(RoleRoot, root); err != nil {
		return fmt.Errorf("root v%d is not signed by enough of its own keys (threshold %d)", root.Signed.Version, root.Signed.Roles[RoleRoot].Threshold)
	}
	b, err := root.ToBytes(true)
	if err != nil {
		return err
	}
	if err := writeFile(r.metaPath(root.Signed.Version, RoleRoot), b, 0o644); err != nil {
		return err
	}
	r.root, r.rootBytes = root, b
	return nil
}

// writeOnline re-signs the online roles and writes them in the order a
// client reads them backwards: targets (when newTargets), snapshot (when
// newSnapshot or newTargets), timestamp always, each with its version
// bumped and its expiry renewed. keys holds the keys of the roles written.
func (r *Repo) writeOnline(keys map[string]*key, newTargets, newSnapshot bool) error {
	if newTargets {
		newSnapshot = true
		t := r.targets
		t.Signed.Version++
		t.Signed.Expires = r.expiry(RoleTargets)
		b, err := signOnline(r, t, keys[RoleTargets], RoleTargets)
		if err != nil {
			return err
		}
		if err := writeFile(r.metaPath(t.Signed.Version, RoleTargets), b, 0o644); err != nil {
			return err
		}
		r.snapshot.Signed.Meta["targets.json"] = metaFile(t.Signed.Version, b)
	}
	if newSnapshot {
		s := r.snapshot
		s.Signed.Version++
		s.Signed.Expires = r.expiry(RoleSnapshot)
		b, err := signOnline(r, s, keys[RoleSnapshot], RoleSnapshot)
		if err != nil {
			return err
		}
		if err := writeFile(r.metaPath(s.Signed.Version, RoleSnapshot), b, 0o644); err != nil {
			return err
		}
		r.timestamp.Signed.Meta["snapshot.json"] = metaFile(s.Signed.Version, b)
	}
	ts := r.timestamp
	ts.Signed.Version++
	ts.Signed.Expires = r.expiry(RoleTimestamp)
	b, err := signOnline(r, ts, keys[RoleTimestamp], RoleTimestamp)
	if err != nil {
		return err
	}
	return writeFile(r.metaPath(0, RoleTimestamp), b, 0o644)
}

// signOnline signs m with k and verifies it against the current root
// before returning its bytes.
func signOnline[T metadata.Roles](r *Repo, m *metadata.Metadata[T], k *key, role string) ([]byte, error) {
	if k == nil {
		return nil, fmt.Errorf("no %s key loaded", role)
	}
	if err := sign(m, k); err != nil {
		return nil, err
	}
	if err := r.root.VerifyDelegate(role, m); err != nil {
		return nil, fmt.Errorf("%s does not sign %s for root v%d: %w", k.path, role, r.root.Signed.Version, err)
	}
	return m.ToBytes(true)
}
