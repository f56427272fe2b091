package repo

import (
	"log/slog"
	"time"
)

// Refresh re-signs the timestamp, and the snapshot and targets when less
// than half of their validity is left, with expiry counted from now. Run
// it daily (a systemd timer): a kit refuses a repository whose timestamp
// expired, which is what stops an attacker from replaying an old one
// forever. The root cannot be re-signed here (its keys are offline):
// when less than a quarter of its validity is left, Refresh warns.
func (r *Repo) Refresh(now time.Time) error {
	saved := r.now
	r.now = func() time.Time { return now }
	defer func() { r.now = saved }()
	return r.change(func() error {
		near := func(role string, exp time.Time, part int64) bool {
			return exp.Sub(now) < time.Duration(r.config.Expires[role])/time.Duration(part)
		}
		newTargets := near(RoleTargets, r.targets.Signed.Expires, 2)
		newSnapshot := newTargets || near(RoleSnapshot, r.snapshot.Signed.Expires, 2)
		roles := []string{RoleTimestamp}
		if newSnapshot {
			roles = append(roles, RoleSnapshot)
		}
		if newTargets {
			roles = append(roles, RoleTargets)
		}
		keys, err := r.onlineKeys(roles...)
		if err != nil {
			return err
		}
		if near(RoleRoot, r.root.Signed.Expires, 4) {
			slog.Warn("the root expires soon: re-sign it with the offline root keys (roomkit-release rotate -role root), or kits stop updating",
				"root", r.root.Signed.Version, "expires", r.root.Signed.Expires.Format(time.RFC3339))
		}
		return r.writeOnline(keys, newTargets, newSnapshot)
	})
}
