package portal

import (
	"fmt"
	"time"

	"roomkit/ota/rollout"
)

// Update policies, rollouts and "update now" requests are read on every
// heartbeat, so each portal keeps them in memory (updates.go). Replicas
// change them through one another (docs/replicas.md), so before a
// replica acts on its copy it checks that the copy is current: every
// change adds one to update_rev.rev in the transaction that makes it,
// and each heartbeat and each admin request that reads the copy first
// reads that one row (a primary-key read) and reloads the three tables
// only when it moved.
//
// Why a revision and not the tables per request: a heartbeat needs the
// fleet's, its group's and its own policy, its channel's rollouts and its
// request (three reads instead of one), and the ring arithmetic (advance,
// judge) walks every rollout. Changes are rare (an admin's edit, a ring
// advancing, a version first seen, a request taken), so reloads are rare
// too. Why not LISTEN/NOTIFY: a notification sent while a replica
// reconnects is lost; a stored counter is not. Why in the same
// transaction: a revision bumped before the change commits lets a replica
// reload the old tables under the new revision and keep them; one bumped
// after it is lost if the writer dies in between.
//
// The single portal on SQLite writes the revision too (one schema for
// both) but never reads it: its memory is the only writer.

// syncUpdates makes s.upd current: on replicas, if update_rev moved since
// it was read, the tables are read again.
func (s *Server) syncUpdates() error {
	if !s.shared() {
		return nil
	}
	var rev int64
	if err := s.db.QueryRow("SELECT rev FROM update_rev WHERE id = 1").Scan(&rev); err != nil {
		return fmt.Errorf("read the update revision: %w", err)
	}
	return s.syncUpdatesTo(rev)
}

// syncUpdatesTo is syncUpdates for the revision rev, which the caller
// read: a replica's heartbeat reads it with its room (heartbeatRoom),
// sparing a round trip.
func (s *Server) syncUpdatesTo(rev int64) error {
	if !s.shared() {
		return nil
	}
	u := s.upd
	if u.current(rev) {
		return nil
	}
	// One reload at a time: the heartbeats that saw the same new
	// revision wait for the first one's reload instead of repeating it.
	u.reloading.Lock()
	defer u.reloading.Unlock()
	if u.current(rev) {
		return nil
	}
	fresh, err := loadUpdates(s.db)
	if err != nil {
		return err
	}
	u.mu.Lock()
	u.policies, u.rollouts, u.firstSeen, u.requests, u.rev = fresh.policies, fresh.rollouts, fresh.firstSeen, fresh.requests, fresh.rev
	u.mu.Unlock()
	return nil
}

// current says whether the copy in memory was read at revision rev (or
// later). Not "<": a database restored from a dump starts again at 0.
func (u *updates) current(rev int64) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.rev == rev
}

// inUpdateTx runs change in a transaction holding the update tables'
// lock (changeRollouts reads, then writes) and, if it says it changed the
// update tables, bumps update_rev in the same transaction.
func (s *Server) inUpdateTx(change func(tx *sqlTx) (bool, error)) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.lock(lockUpdates); err != nil {
		return err
	}
	changed, err := change(tx)
	if err != nil {
		return err
	}
	if changed {
		if err := bumpUpdateRev(tx); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// bumpUpdateRev marks a change of the update tables, inside the
// transaction that makes it.
func bumpUpdateRev(tx *sqlTx) error {
	if _, err := tx.Exec("UPDATE update_rev SET rev = rev + 1 WHERE id = 1"); err != nil {
		return fmt.Errorf("bump the update revision: %w", err)
	}
	return nil
}

// changeRollouts applies change to the stored rollouts that match, in
// one transaction that reads them first, and returns those it changed.
// It changes what is stored, not what memory holds: a replica's memory
// may be a moment behind (another replica paused a rollout, or moved its
// ring), and writing that back would undo it. inUpdateTx takes the
// update tables' lock, so no change is lost between the read and the
// write.
func (s *Server) changeRollouts(match func(rolloutKey) bool, change func(rollout.Rollout) rollout.Rollout) ([]rollout.Rollout, error) {
	var changed []rollout.Rollout
	err := s.inUpdateTx(func(tx *sqlTx) (bool, error) {
		rows, err := tx.Query("SELECT channel, version, ring, ring_started, paused, reason FROM rollouts")
		if err != nil {
			return false, fmt.Errorf("read rollouts: %w", err)
		}
		defer rows.Close()
		var rs []rollout.Rollout
		for rows.Next() {
			var r rollout.Rollout
			var started int64
			if err := rows.Scan(&r.Channel, &r.Version, &r.Ring, &started, &r.Paused, &r.Reason); err != nil {
				return false, fmt.Errorf("read rollouts: %w", err)
			}
			r.RingStarted = fromUnixMilli(started)
			if match(rolloutKey{r.Channel, r.Version}) {
				rs = append(rs, r)
			}
		}
		if err := rows.Err(); err != nil {
			return false, fmt.Errorf("read rollouts: %w", err)
		}
		rows.Close()
		for _, r := range rs {
			n := change(r)
			if n == r {
				continue
			}
			if _, err := tx.Exec("UPDATE rollouts SET ring = ?, ring_started = ?, paused = ?, reason = ? WHERE channel = ? AND version = ?",
				n.Ring, n.RingStarted.UnixMilli(), n.Paused, n.Reason, n.Channel, n.Version); err != nil {
				return false, fmt.Errorf("store rollout %s %s: %w", n.Channel, n.Version, err)
			}
			changed = append(changed, n)
		}
		return len(changed) > 0, nil
	})
	if err != nil {
		return nil, err
	}
	s.upd.mu.Lock()
	for _, n := range changed {
		if r, ok := s.upd.rollouts[rolloutKey{n.Channel, n.Version}]; ok {
			*r = n
		}
	}
	s.upd.mu.Unlock()
	return changed, nil
}

// wouldChange says whether change changes a rollout in memory that
// matches: the cheap test before changeRollouts' transaction, which most
// heartbeats need not open.
func (u *updates) wouldChange(match func(rolloutKey) bool, change func(rollout.Rollout) rollout.Rollout) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for k, r := range u.rollouts {
		if match(k) && change(*r) != *r {
			return true
		}
	}
	return false
}

// fromUnixMilli is a stored millisecond time in UTC, as loadUpdates
// reads it.
func fromUnixMilli(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
