package portal

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Replicas (docs/replicas.md): on PostgreSQL several portals may serve
// one fleet behind a load balancer, sharing nothing but the database.
// State that a single SQLite portal keeps in memory to spare its disk
// (heartbeats batched, access tokens cached, remote actions pending,
// failure counts) is then read from and written to the database on
// each request, so a kit or an admin may reach any replica.

// shared says whether other replicas may share this portal's database.
func (s *Server) shared() bool { return s.db.dialect == postgres }

// storedPendingActions reads room roomID's requests not yet done and not
// expired, oldest first: the replicas' shared queue.
func (s *Server) storedPendingActions(roomID string, now time.Time) ([]pendingAction, error) {
	rows, err := s.db.Query(`SELECT id, kind, force, at, delivered FROM room_actions
		WHERE room_id = ? AND done = 0 AND at > ? ORDER BY at`, roomID, now.Add(-actionTTL).UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("read pending actions of %s: %w", roomID, err)
	}
	defer rows.Close()
	var out []pendingAction
	for rows.Next() {
		var p pendingAction
		var at, delivered int64
		if err := rows.Scan(&p.ID, &p.Kind, &p.Force, &at, &delivered); err != nil {
			return nil, fmt.Errorf("read pending actions of %s: %w", roomID, err)
		}
		p.at, p.delivered = time.UnixMilli(at), delivered != 0
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pending actions of %s: %w", roomID, err)
	}
	return out, nil
}

// share makes the lockouts and rate limits count in the database, where
// every replica sees the same counts.
func (s *Server) share() {
	onErr := func(err error) { s.logStoreError("count failures in the database", err) }
	for _, l := range s.lockouts() {
		l.db, l.onErr = s.db, onErr
	}
	for name, r := range map[string]*rateLimiter{"rate-auth": s.deviceAuth, "rate-joins": s.joinsPerAddr, "rate-meeting": s.joinsPerMeeting} {
		r.db, r.name, r.onErr = s.db, name, onErr
	}
}

// refresh reads keys' stored counts into memory, keeping the attempts
// this replica has pending.
func (l *lockout) refresh(keys []string) {
	if l.db == nil {
		return
	}
	for _, k := range keys {
		var failures int
		var lockedUntil, expires int64
		err := l.db.QueryRow("SELECT failures, locked_until, expires FROM throttle WHERE key = ?", l.name+":"+k).
			Scan(&failures, &lockedUntil, &expires)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			l.onErr(fmt.Errorf("read failures of %s: %w", l.name, err))
			continue
		}
		l.mu.Lock()
		st := l.keys[k]
		switch {
		case err != nil && st != nil: // none stored: forgotten or reset elsewhere
			st.failures, st.lockedUntil, st.expires = 0, time.Time{}, time.Time{}
		case err == nil:
			if st == nil {
				st = &lockState{}
				l.keys[k] = st
			}
			st.failures, st.lockedUntil, st.expires = failures, fromUnixNano(lockedUntil), fromUnixNano(expires)
		}
		l.mu.Unlock()
	}
}

// failStored counts one failure on key in the database: the count is
// raised where it is stored (forgotten first if it expired), so failures
// on different replicas add up. No transaction: the caller may be in
// one (pairing, holding the code's lock), and a single statement needs
// none. The lock it earns is then raised, never lowered, so a
// concurrent failure's smaller count cannot shorten it.
func (l *lockout) failStored(now time.Time, key string) {
	st, err := l.failRow(now, key)
	l.mu.Lock()
	defer l.mu.Unlock()
	mem := l.state(now, key)
	if err != nil {
		l.onErr(err)
		l.record(now, mem) // counted here at least
		return
	}
	mem.failures, mem.lockedUntil, mem.expires = st.failures, st.lockedUntil, st.expires
}

func (l *lockout) failRow(now time.Time, key string) (lockState, error) {
	var st lockState
	var lockedUntil int64
	err := l.db.QueryRow(`INSERT INTO throttle (key, failures, locked_until, expires) VALUES (?, 1, 0, 0)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN throttle.expires <= ? THEN 1 ELSE throttle.failures + 1 END,
			locked_until = CASE WHEN throttle.expires <= ? THEN 0 ELSE throttle.locked_until END
		RETURNING failures, locked_until`, l.name+":"+key, now.UnixNano(), now.UnixNano()).Scan(&st.failures, &lockedUntil)
	if err != nil {
		return st, fmt.Errorf("count a failure of %s: %w", l.name, err)
	}
	if lockedUntil != 0 {
		st.lockedUntil = time.Unix(0, lockedUntil)
	}
	st.failures-- // record counts it again, and works out its lock
	l.record(now, &st)
	err = l.db.QueryRow(`UPDATE throttle SET locked_until = GREATEST(locked_until, ?), expires = GREATEST(expires, ?)
		WHERE key = ? RETURNING locked_until, expires`, unixNano(st.lockedUntil), unixNano(st.expires), l.name+":"+key).
		Scan(&lockedUntil, new(int64))
	if err != nil {
		return st, fmt.Errorf("count a failure of %s: %w", l.name, err)
	}
	if lockedUntil > unixNano(st.lockedUntil) {
		st.lockedUntil = time.Unix(0, lockedUntil)
	}
	return st, nil
}

// resetStored forgets key's stored failures.
func (l *lockout) resetStored(key string) {
	if l.db == nil {
		return
	}
	if _, err := l.db.Exec("DELETE FROM throttle WHERE key = ?", l.name+":"+key); err != nil {
		l.onErr(fmt.Errorf("forget failures of %s: %w", l.name, err))
	}
}

// allowStored counts a request in the database's fixed window for key.
// The throttle table holds the count in failures and the window's end in
// expires; its sweep deletes windows that ended.
func (r *rateLimiter) allowStored(now time.Time, key string) (time.Duration, error) {
	end := now.Add(r.window).UnixNano()
	var count int
	var until int64
	err := r.db.QueryRow(`INSERT INTO throttle (key, failures, locked_until, expires) VALUES (?, 1, 0, ?)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN throttle.expires <= ? THEN 1 ELSE throttle.failures + 1 END,
			expires = CASE WHEN throttle.expires <= ? THEN excluded.expires ELSE throttle.expires END
		RETURNING failures, expires`, r.name+":"+key, end, now.UnixNano(), now.UnixNano()).Scan(&count, &until)
	if err != nil {
		return 0, fmt.Errorf("count a request for %s: %w", r.name, err)
	}
	if count > r.n {
		return time.Unix(0, until).Sub(now), nil
	}
	return 0, nil
}

// unixNano is t in Unix nanoseconds, 0 for the zero time (which
// UnixNano cannot represent).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano undoes unixNano.
func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// janitorLock is the session advisory lock of the replica that runs the
// jobs that must run once for the fleet, not once per replica: alert
// evaluation (its "seen but not yet open" conditions are in memory, and
// each change calls webhooks) and rollouts ("roomkitj").
const janitorLock = 0x726f6f6d6b69746a

// leading says whether this portal runs the fleet-wide jobs: always on
// SQLite; on PostgreSQL while it holds the janitor lock on a connection
// of its own. If that replica dies, PostgreSQL ends its session and
// with it the lock, and the next replica to try takes it over.
func (s *Server) leading() bool {
	if !s.shared() {
		return true
	}
	ctx := context.Background()
	if s.lead != nil {
		if err := s.lead.PingContext(ctx); err == nil {
			return true
		}
		s.lead.Close() // its session, and so the lock, is gone
		s.lead = nil
	}
	conn, err := s.db.DB.Conn(ctx)
	if err != nil {
		s.logStoreError("take the janitor lock", err)
		return false
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", int64(janitorLock)).Scan(&ok); err != nil || !ok {
		if err != nil {
			s.logStoreError("take the janitor lock", err)
		}
		conn.Close()
		return false
	}
	s.lead = conn
	return true
}

// resign gives the janitor lock up, for another replica to take.
func (s *Server) resign() {
	if s.lead == nil {
		return
	}
	if _, err := s.lead.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", int64(janitorLock)); err != nil {
		s.logStoreError("give up the janitor lock", err)
	}
	s.lead.Close()
	s.lead = nil
}

// groupCommit stores the heartbeats of replicas (commitHeartbeat): each
// request waits until its heartbeat is committed, and the heartbeats
// that arrive while one transaction commits go together in the next, so
// a busy replica writes a batch per transaction, as the single portal's
// flush does, without answering a heartbeat it has not stored.
type groupCommit struct {
	mu      sync.Mutex
	queue   []heartbeatRow
	waiters []chan error
	running bool
}

// commitHeartbeat stores r, together with the heartbeats that arrive
// meanwhile, and reports whether it is stored.
func (s *Server) commitHeartbeat(r heartbeatRow) error {
	g := &s.commits
	done := make(chan error, 1)
	g.mu.Lock()
	g.queue = append(g.queue, r)
	g.waiters = append(g.waiters, done)
	if !g.running {
		g.running = true
		go s.commitLoop()
	}
	g.mu.Unlock()
	return <-done
}

// commitLoop writes what is queued until nothing is.
func (s *Server) commitLoop() {
	g := &s.commits
	for {
		g.mu.Lock()
		batch, waiters := g.queue, g.waiters
		g.queue, g.waiters = nil, nil
		if len(batch) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		err := s.writeHeartbeatsShared(lastPerRoom(batch))
		for _, w := range waiters {
			w <- err
		}
	}
}

// lastPerRoom keeps each room's last heartbeat of batch, in order.
func lastPerRoom(batch []heartbeatRow) []heartbeatRow {
	last := make(map[string]int, len(batch))
	for i, r := range batch {
		last[r.id] = i
	}
	if len(last) == len(batch) {
		return batch
	}
	out := make([]heartbeatRow, 0, len(last))
	for i, r := range batch {
		if last[r.id] == i {
			out = append(out, r)
		}
	}
	return out
}

// storedRoom is what a replica's heartbeat needs of its room, read in
// one round trip (heartbeatRoom) instead of one query each for the
// token, the room, its last stored heartbeat, its configuration and its
// queue: on PostgreSQL the round trips, not the portal, were the cost.
type storedRoom struct {
	cfg      roomConfig
	meta     roomUpdateMeta
	devices  []Device  // of the last stored heartbeat
	lastSeen time.Time // zero: no heartbeat stored yet
	ota      string    // the stored update report (storedReport)
	uptime   *int64    // the kit's, at the last stored heartbeat; nil if it stored no link
	actions  bool      // requests are waiting: read them (storedPendingActions)
	// updateRev is the update tables' revision (syncUpdatesTo).
	updateRev int64
}

// heartbeatRoom looks up the room of a kit's access token with what its
// heartbeat compares and answers, or errNotFound if the token is
// unknown, expired or revoked, or its room is gone. The lookups of the
// heartbeats that arrive while one query runs go together in the next
// (groupLookup): a busy replica asks PostgreSQL once for many.
func (s *Server) heartbeatRoom(secret string) (*storedRoom, error) {
	h := sha256.Sum256([]byte(secret))
	g := &s.lookups
	done := make(chan lookupResult, 1)
	g.mu.Lock()
	g.queue = append(g.queue, lookupRequest{h[:], done})
	if !g.running {
		g.running = true
		go s.lookupLoop()
	}
	g.mu.Unlock()
	r := <-done
	return r.room, r.err
}

// groupLookup batches heartbeatRoom's queries, as groupCommit batches
// the writes.
type groupLookup struct {
	mu      sync.Mutex
	queue   []lookupRequest
	running bool
}

type lookupRequest struct {
	hash []byte
	done chan lookupResult
}

type lookupResult struct {
	room *storedRoom
	err  error
}

// lookupLoop looks up what is queued until nothing is.
func (s *Server) lookupLoop() {
	g := &s.lookups
	for {
		g.mu.Lock()
		batch := g.queue
		g.queue = nil
		if len(batch) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		hashes := make([][]byte, len(batch))
		for i, r := range batch {
			hashes[i] = r.hash
		}
		rooms, err := s.heartbeatRooms(hashes)
		for _, r := range batch {
			switch st, ok := rooms[string(r.hash)]; {
			case err != nil:
				r.done <- lookupResult{err: err}
			case !ok:
				r.done <- lookupResult{err: errNotFound}
			default:
				r.done <- lookupResult{room: st}
			}
		}
	}
}

// heartbeatRooms reads the rooms of the access tokens hashes, by hash,
// in one query; a token unknown, expired or revoked, or whose room is
// gone, is left out.
func (s *Server) heartbeatRooms(hashes [][]byte) (map[string]*storedRoom, error) {
	now := s.now()
	rows, err := s.db.Query(`SELECT t.hash, t.expires, r.id, r.name, r.location, r.time_zone, r.device_id, r.grp,
			coalesce(rc.effective, ''), r.devices, r.last_seen, r.ota, r.uptime, r.link <> '',
			EXISTS (SELECT 1 FROM room_actions a WHERE a.room_id = r.id AND a.done = 0 AND a.at > ?),
			(SELECT rev FROM update_rev WHERE id = 1)
		FROM access_tokens t JOIN rooms r ON r.id = t.room_id LEFT JOIN room_config rc ON rc.room_id = r.id
		WHERE t.hash = ANY(?::bytea[])`, now.Add(-actionTTL).UnixMilli(), hashes)
	if err != nil {
		return nil, fmt.Errorf("look up access tokens: %w", err)
	}
	defer rows.Close()
	out := make(map[string]*storedRoom, len(hashes))
	for rows.Next() {
		st := &storedRoom{}
		var hash []byte
		var exp, lastSeen int64
		var devJSON, eff string
		var uptime int64
		var linked bool
		if err := rows.Scan(&hash, &exp, &st.cfg.ID, &st.cfg.Name, &st.cfg.Location, &st.cfg.TimeZone, &st.meta.deviceID,
			&st.meta.group, &eff, &devJSON, &lastSeen, &st.ota, &uptime, &linked, &st.actions, &st.updateRev); err != nil {
			return nil, fmt.Errorf("look up access tokens: %w", err)
		}
		if !now.Before(time.Unix(exp, 0)) {
			continue
		}
		st.meta.timeZone, st.meta.cfg = st.cfg.TimeZone, configState(eff)
		if lastSeen != 0 {
			st.lastSeen = time.UnixMilli(lastSeen)
			_ = unmarshalDevices(devJSON, &st.devices) // a bad column compares as no devices
			if linked {
				st.uptime = &uptime
			}
		}
		out[string(hash)] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up access tokens: %w", err)
	}
	return out, nil
}

// writeHeartbeatsShared stores a group commit's batch in one statement:
// one round trip whatever the batch's size, atomic without a
// transaction. Rooms go in ID order, so two replicas' batches sharing
// rooms tend to lock them in the same order; should they deadlock all
// the same (PostgreSQL then cancels one), the cancelled one is written
// again: a heartbeat's row is the kit's latest, whoever wins.
func (s *Server) writeHeartbeatsShared(batch []heartbeatRow) error {
	batch = slices.Clone(batch)
	slices.SortFunc(batch, func(a, b heartbeatRow) int { return strings.Compare(a.id, b.id) })
	cols := make([][]*string, 8)
	seen := make([]int64, len(batch))
	links := make([]string, len(batch))
	uptimes := make([]int64, len(batch))
	for i, r := range batch {
		links[i], uptimes[i] = r.st.link, r.st.uptime
		a := r.args() // state, version, devices, last_seen, health, ota, health_status, update_state, id
		for c, j := range [...]int{0, 1, 2, 4, 5, 6, 7, 8} {
			var v *string
			if str, ok := a[j].(string); ok {
				v = &str
			}
			cols[c] = append(cols[c], v)
		}
		seen[i] = a[3].(int64)
	}
	q := `UPDATE rooms SET state = v.state, version = v.version, devices = v.devices, last_seen = v.last_seen, link = v.link, uptime = v.uptime,
		health = COALESCE(v.health, rooms.health), ota = COALESCE(v.ota, rooms.ota),
		health_status = COALESCE(v.health_status, rooms.health_status), update_state = COALESCE(v.update_state, rooms.update_state),
		attention = ` + attentionSQL("COALESCE(v.health_status, rooms.health_status)", "COALESCE(v.update_state, rooms.update_state)") + `
		FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[])
			AS v(state, version, devices, last_seen, health, ota, health_status, update_state, id, link, uptime)
		WHERE rooms.id = v.id`
	var err error
	for range 3 {
		_, err = s.db.Exec(q, cols[0], cols[1], cols[2], seen, cols[3], cols[4], cols[5], cols[6], cols[7], links, uptimes)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "40P01" { // deadlock_detected
			break
		}
	}
	if err != nil {
		return fmt.Errorf("store %d heartbeats: %w", len(batch), err)
	}
	return nil
}
