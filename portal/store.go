package portal

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" driver: pure Go, no cgo on the server either
)

// migrations are applied in order; PRAGMA user_version records how many ran.
// Append only: a shipped migration never changes.
var migrations = []string{
	`
CREATE TABLE admins (
	id         INTEGER PRIMARY KEY,
	email      TEXT NOT NULL UNIQUE COLLATE NOCASE,
	pw_hash    TEXT NOT NULL,
	created    INTEGER NOT NULL
);
CREATE TABLE sessions (
	hash       BLOB PRIMARY KEY,
	admin_id   INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
	csrf       TEXT NOT NULL,
	expires    INTEGER NOT NULL
);
CREATE TABLE api_tokens (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	hash       BLOB NOT NULL UNIQUE,
	created    INTEGER NOT NULL
);
-- A device authorization request. The device code is only kept as a hash.
CREATE TABLE pairings (
	user_code  TEXT PRIMARY KEY,
	dc_hash    BLOB NOT NULL UNIQUE,
	public_key BLOB NOT NULL,
	label      TEXT NOT NULL,
	created    INTEGER NOT NULL,
	expires    INTEGER NOT NULL,
	interval   INTEGER NOT NULL,
	last_poll  INTEGER NOT NULL DEFAULT 0,
	state      TEXT NOT NULL,
	room_id    TEXT NOT NULL DEFAULT ''
);
-- A paired room; device_id/public_key are the kit's key binding.
CREATE TABLE rooms (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	location   TEXT NOT NULL,
	time_zone  TEXT NOT NULL,
	device_id  TEXT NOT NULL UNIQUE,
	public_key BLOB NOT NULL,
	label      TEXT NOT NULL,
	state      TEXT NOT NULL,
	version    TEXT NOT NULL DEFAULT '',
	devices    TEXT NOT NULL DEFAULT '[]',
	last_seen  INTEGER NOT NULL DEFAULT 0,
	created    INTEGER NOT NULL
);
CREATE TABLE access_tokens (
	hash       BLOB PRIMARY KEY,
	room_id    TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
	expires    INTEGER NOT NULL
);
CREATE INDEX access_tokens_room ON access_tokens(room_id);
-- Client assertion IDs seen, refused again until they expire.
CREATE TABLE jtis (
	jti        TEXT PRIMARY KEY,
	expires    INTEGER NOT NULL
);
CREATE TABLE audit (
	id         INTEGER PRIMARY KEY,
	at         INTEGER NOT NULL,
	actor      TEXT NOT NULL,
	action     TEXT NOT NULL,
	detail     TEXT NOT NULL,
	addr       TEXT NOT NULL
);
`,
	// 2: meetings (protocol.md §7). start_local is the room's wall-clock
	// time, so recurring meetings keep their hour across DST changes.
	`
CREATE TABLE meetings (
	id          TEXT PRIMARY KEY,
	room_id     TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
	title       TEXT NOT NULL,
	instant     INTEGER NOT NULL,
	start_local TEXT NOT NULL,
	minutes     INTEGER NOT NULL,
	recurrence  TEXT NOT NULL DEFAULT '',
	locked      INTEGER NOT NULL DEFAULT 0,
	created     INTEGER NOT NULL
);
CREATE INDEX meetings_room ON meetings(room_id);
`,
	// 3: a Meet Now meeting its organiser ended for everyone.
	`ALTER TABLE meetings ADD COLUMN ended INTEGER NOT NULL DEFAULT 0;`,
	// 4: failed attempts (sign-ins, pairing codes, meeting IDs) per key, so
	// a restart does not forget a lockout. Times are Unix nanoseconds.
	`
CREATE TABLE throttle (
	key          TEXT PRIMARY KEY,
	failures     INTEGER NOT NULL,
	locked_until INTEGER NOT NULL,
	expires      INTEGER NOT NULL
);
CREATE INDEX throttle_expires ON throttle(expires);
`,
	// 5 (security audit, issue 11): admin API tokens expire (0: a token
	// made before expiry existed, shown as such so it gets replaced); a
	// pairing keeps the address it was requested from, for the admin to
	// check before approving.
	`
ALTER TABLE api_tokens ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pairings ADD COLUMN addr TEXT NOT NULL DEFAULT '';
`,
	// 6 (issue 12): the kit's health tree as its last heartbeat reported
	// it (health.Report as JSON; '' until a kit reports one).
	`ALTER TABLE rooms ADD COLUMN health TEXT NOT NULL DEFAULT '';`,
	// 7 (issue 13): over-the-air updates. rooms.grp is the room's group
	// (issue 14 builds groups on it); rooms.ota the last ota.Report as
	// JSON. A policy row per scope ('fleet', 'group:NAME', 'room:ID'),
	// NULL fields inherit from the wider scope, then the defaults
	// (rollout.DefaultPolicy). A rollout per (channel, version) that
	// kits reported available; update_requests are admins' "update now";
	// update_events the kits' state changes, which the rollouts judge.
	`
ALTER TABLE rooms ADD COLUMN grp TEXT NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN ota TEXT NOT NULL DEFAULT '';
CREATE TABLE update_policies (
	scope        TEXT PRIMARY KEY,
	channel      TEXT,
	rings        TEXT,
	soak_s       INTEGER,
	window_start TEXT,
	window_end   TEXT,
	paused       INTEGER,
	fail_pct     INTEGER,
	updated      INTEGER NOT NULL,
	actor        TEXT NOT NULL
);
CREATE TABLE rollouts (
	channel      TEXT NOT NULL,
	version      TEXT NOT NULL,
	first_seen   INTEGER NOT NULL,
	ring         INTEGER NOT NULL,
	ring_started INTEGER NOT NULL,
	paused       INTEGER NOT NULL DEFAULT 0,
	reason       TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (channel, version)
);
CREATE TABLE update_requests (
	room_id      TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
	id           TEXT NOT NULL,
	at           INTEGER NOT NULL,
	actor        TEXT NOT NULL
);
CREATE TABLE update_events (
	id           INTEGER PRIMARY KEY,
	room_id      TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
	at           INTEGER NOT NULL,
	version      TEXT NOT NULL,
	state        TEXT NOT NULL,
	error        TEXT NOT NULL
);
CREATE INDEX update_events_version ON update_events(version, state);
CREATE INDEX update_events_room ON update_events(room_id);
`,
	// 8 (issue 14 §5): alerts and the webhooks they are sent to. An
	// alert is one row per incident of (room, kind, subject); a condition
	// that returns within the hold time reopens its row (count + 1)
	// rather than adding one, so a flapping room makes one alert.
	// clear_since is when an open alert's condition last went away (0:
	// it holds). webhooks.secret keys the HMAC of each delivery; it is
	// never shown again after it was set.
	`
CREATE TABLE alerts (
	id          INTEGER PRIMARY KEY,
	room_id     TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
	kind        TEXT NOT NULL,
	subject     TEXT NOT NULL,
	state       TEXT NOT NULL,
	detail      TEXT NOT NULL,
	since       INTEGER NOT NULL,
	opened      INTEGER NOT NULL,
	reopened    INTEGER NOT NULL,
	resolved    INTEGER NOT NULL DEFAULT 0,
	clear_since INTEGER NOT NULL DEFAULT 0,
	count       INTEGER NOT NULL DEFAULT 1,
	acked_by    TEXT NOT NULL DEFAULT '',
	acked_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX alerts_key ON alerts(room_id, kind, subject);
CREATE INDEX alerts_state ON alerts(state, resolved);
CREATE TABLE webhooks (
	id          INTEGER PRIMARY KEY,
	url         TEXT NOT NULL,
	secret      TEXT NOT NULL,
	created     INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	last_at     INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	delivered   INTEGER NOT NULL DEFAULT 0,
	failed      INTEGER NOT NULL DEFAULT 0
);
`,
	// 9 (issue 14 §6): roles and group scopes for admins and API tokens
	// (groups: names one per line, '' for the whole account). Admins made
	// before roles become owners; tokens made before roles keep their full
	// power (admin of the whole account). admin_invites are the one-time
	// links of invitations and password resets, kept as hashes. The audit
	// log names the room an entry is about, for filtering.
	`
ALTER TABLE admins ADD COLUMN role TEXT NOT NULL DEFAULT 'owner';
ALTER TABLE admins ADD COLUMN groups TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE api_tokens ADD COLUMN groups TEXT NOT NULL DEFAULT '';
CREATE TABLE admin_invites (
	hash       BLOB PRIMARY KEY,
	kind       TEXT NOT NULL,
	email      TEXT NOT NULL COLLATE NOCASE,
	role       TEXT NOT NULL,
	groups     TEXT NOT NULL,
	admin_id   INTEGER REFERENCES admins(id) ON DELETE CASCADE,
	created    INTEGER NOT NULL,
	expires    INTEGER NOT NULL,
	actor      TEXT NOT NULL
);
ALTER TABLE audit ADD COLUMN room TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_at ON audit(at);
`,
	// 10 (issue 14, the fleet view): what the rooms page filters, counts
	// and sorts by, derived from the kits' reports: writeHeartbeats sets
	// them with the reports (a trigger parsing the JSON again doubled the
	// cost of a heartbeat's write); this migration derives them for the
	// rooms that reported before. Plain columns, not virtual ones, so
	// indexes can cover them: rooms_fleet covers the counts and the
	// default order, rooms_filters every filter, so a page of 10,000
	// rooms never reads rows it does not show; the small indexes serve
	// the filters' suggestions. health_status: ok, degraded, failed (also
	// a status this portal does not know, as health.Status ranks it),
	// unknown (never reported); update_state: the ota.State, none (never
	// reported); attention: 2 failed health, 1 degraded health or a failed
	// or rolled-back update, 0 otherwise.
	`
ALTER TABLE rooms ADD COLUMN health_status TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE rooms ADD COLUMN update_state TEXT NOT NULL DEFAULT 'none';
ALTER TABLE rooms ADD COLUMN attention INTEGER NOT NULL DEFAULT 0;
UPDATE rooms SET
	health_status = CASE WHEN json_valid(health) THEN
			CASE json_extract(health, '$.status') WHEN 'ok' THEN 'ok' WHEN 'degraded' THEN 'degraded' ELSE 'failed' END
		ELSE 'unknown' END,
	update_state = CASE WHEN json_valid(ota) THEN ifnull(json_extract(ota, '$.state'), 'none') ELSE 'none' END;
UPDATE rooms SET attention = CASE WHEN health_status = 'failed' THEN 2
		WHEN health_status = 'degraded' OR update_state IN ('failed', 'rolled-back') THEN 1 ELSE 0 END;
CREATE INDEX rooms_fleet ON rooms(attention, last_seen, name COLLATE NOCASE, id);
CREATE INDEX rooms_name ON rooms(name COLLATE NOCASE, id);
CREATE INDEX rooms_filters ON rooms(health_status, update_state, version, grp, location COLLATE NOCASE,
	last_seen, attention, name COLLATE NOCASE, id);
CREATE INDEX rooms_version ON rooms(version);
CREATE INDEX rooms_grp ON rooms(grp);
CREATE INDEX rooms_location ON rooms(location COLLATE NOCASE);
`,
	// 11 (issue 14, remote actions): an admin's request for a kit
	// (restart, reboot, identify, logs), delivered in heartbeat answers
	// until the kit reports it done (times in Unix ms, 0: not yet); the
	// logs a kit uploaded last; and the room's events the page lists
	// (devices unplugged, offline, restarts, actions done).
	`
CREATE TABLE room_actions (
	id           TEXT PRIMARY KEY,
	room_id      TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
	kind         TEXT NOT NULL,
	force        INTEGER NOT NULL DEFAULT 0,
	at           INTEGER NOT NULL,
	actor        TEXT NOT NULL,
	delivered    INTEGER NOT NULL DEFAULT 0,
	done         INTEGER NOT NULL DEFAULT 0,
	error        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX room_actions_room ON room_actions(room_id, at);
CREATE TABLE room_logs (
	room_id      TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
	action_id    TEXT NOT NULL,
	at           INTEGER NOT NULL,
	lines        TEXT NOT NULL
);
CREATE TABLE room_events (
	id           INTEGER PRIMARY KEY,
	room_id      TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
	at           INTEGER NOT NULL,
	kind         TEXT NOT NULL,
	detail       TEXT NOT NULL
);
CREATE INDEX room_events_room ON room_events(room_id, at);
`,
	// 12 (issue 14): an administrator's time zone for the admin center's
	// times (timezone.go); '' for none.
	`ALTER TABLE admins ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';`,
	// 13 (issue 14, configuration profiles: profiles.go, docs/profiles.md):
	// named profile.Values (config: JSON), a group's profile, a room's
	// own profile and overrides (room_config; a room without a row has
	// its time_zone as its override), and the kit's last reported status
	// per room. room_config.effective is the merge the kit is sent ('':
	// none); rooms.time_zone becomes the effective zone once a room has a
	// row. Deleting a profile in use is refused (the foreign keys, and
	// the handler first, in words).
	`
CREATE TABLE profiles (
	id           INTEGER PRIMARY KEY,
	name         TEXT NOT NULL UNIQUE COLLATE NOCASE,
	config       TEXT NOT NULL,
	created      INTEGER NOT NULL,
	updated      INTEGER NOT NULL,
	actor        TEXT NOT NULL
);
CREATE TABLE group_profiles (
	grp          TEXT PRIMARY KEY,
	profile_id   INTEGER NOT NULL REFERENCES profiles(id),
	updated      INTEGER NOT NULL,
	actor        TEXT NOT NULL
);
CREATE INDEX group_profiles_profile ON group_profiles(profile_id);
CREATE TABLE room_config (
	room_id      TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
	profile_id   INTEGER REFERENCES profiles(id),
	overrides    TEXT NOT NULL,
	effective    TEXT NOT NULL DEFAULT '',
	updated      INTEGER NOT NULL DEFAULT 0,
	actor        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX room_config_profile ON room_config(profile_id);
CREATE TABLE config_status (
	room_id      TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
	revision     TEXT NOT NULL,
	state        TEXT NOT NULL,
	rejected     TEXT NOT NULL,
	at           INTEGER NOT NULL
);
`,
	// 14 (issue 15): the revision of the update policies, rollouts and
	// "update now" requests, one row. Every change to those tables adds
	// one in the same transaction, so a replica that keeps them in memory
	// learns from one primary-key read whether its copy is current
	// (updatesync.go).
	`
CREATE TABLE update_rev (
	id           INTEGER PRIMARY KEY CHECK (id = 1),
	rev          INTEGER NOT NULL
);
INSERT INTO update_rev (id, rev) VALUES (1, 0);
`,
	// 15 (issue 15): what a replica's last heartbeat said of the kit's
	// link (kitLink as JSON: address, latency, meeting; '' for none) and
	// its uptime, so the room page on any replica shows them and the
	// next heartbeat, wherever it lands, tells a restart by the uptime.
	// Written on PostgreSQL only: a single SQLite portal keeps them in
	// memory (actionState.links).
	`
ALTER TABLE rooms ADD COLUMN link TEXT NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN uptime INTEGER NOT NULL DEFAULT 0;
`,
	// 16 (issue 15): PostgreSQL only, where the fleet's indexes leave
	// last_seen out so a heartbeat updates its room in place
	// (migrations/postgres/0016_hot_heartbeats.sql). SQLite keeps them:
	// it rewrites a row and its index entries in place anyway, and its
	// fleet queries need them to cover the page (INDEXED BY).
	`SELECT 1;`,
}

// openDB opens (creating if needed) dir/portal.db and brings its schema up
// to date.
func openDB(dir string) (*sqlDB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dir, "portal.db")
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	// One connection: SQLite serialises writers anyway, and the hot paths
	// (heartbeats, token checks) are served from memory. This also makes
	// SQLITE_BUSY between our own connections impossible.
	db.SetMaxOpenConns(1)
	if err := migrate(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	return newSQLDB(db, sqlite), nil
}

func migrate(db *sql.DB) error {
	ctx := context.Background()
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this portal (%d); refusing to touch it", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
}
