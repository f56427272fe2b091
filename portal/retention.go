package portal

// Retention: the tables that grow with a fleet's life (what happened to
// rooms, update state changes, resolved alerts, remote actions, the
// audit log) keep what is younger than a limit, so the database of a
// fleet that runs for years stays the size of a few months of it
// (docs/benchmarks.md has the numbers for 10,000 rooms). The janitor
// deletes in small batches, so a first sweep of years of rows never
// holds the database for long. The SQL is plain and dialect-neutral.

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Retention says how long the portal keeps history.
type Retention struct {
	// Events is how long room events (devices unplugged, back online,
	// restarts), update events, resolved alerts and remote actions are
	// kept. 0: DefaultEventRetention; negative: for ever. A rollout
	// judges a version by the update events kept (versionCounts): one
	// still rolling out after this long counts only its recent rooms.
	// The rooms' own state (rooms.ota, rollouts) is never swept.
	Events time.Duration
	// Audit is how long the audit log is kept. 0: DefaultAuditRetention;
	// negative: for ever.
	Audit time.Duration
}

const (
	// DefaultEventRetention keeps a quarter of room history: what an
	// admin looks back on when a room misbehaves.
	DefaultEventRetention = 90 * 24 * time.Hour
	// DefaultAuditRetention keeps a year and a month of the audit log,
	// so a yearly review always finds its whole year.
	DefaultAuditRetention = 395 * 24 * time.Hour
)

// withDefaults fills in the zero fields.
func (r Retention) withDefaults() Retention {
	if r.Events == 0 {
		r.Events = DefaultEventRetention
	}
	if r.Audit == 0 {
		r.Audit = DefaultAuditRetention
	}
	return r
}

// ParseRetention reads a retention setting: a number of days ("90d"), a
// Go duration of at least an hour ("2160h"), or "forever".
func ParseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "forever" {
		return -1, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 100*365 {
			return 0, fmt.Errorf("retention %q: want whole days from 1d to 36500d, a duration such as 2160h, or forever", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("retention %q: want days (90d), a duration (2160h) or forever", s)
		}
	}
	if d < time.Hour {
		return 0, fmt.Errorf("retention %q: keep history at least an hour (or forever)", s)
	}
	return d, nil
}

// retentionBatch is how many rows one statement deletes, and
// retentionBatches how many statements a table gets per sweep (a
// minute): 50,000 rows a minute is far more than any fleet adds, so the
// janitor keeps up, while each statement holds a SQLite writer for
// milliseconds only.
const (
	retentionBatch   = 1000
	retentionBatches = 50
)

// retentionRule deletes one table's old rows: query takes (cutoff in
// Unix ms, batch size) and deletes at most a batch.
type retentionRule struct {
	table string
	query string
	audit bool // governed by Retention.Audit, not Events
}

// Tables whose IDs grow with time (INTEGER keys given in order) are cut
// from the head: the first batch by ID, of which those older than the
// cutoff go. That reads a batch, never the whole table, also when
// nothing is old enough; a row whose clock went backwards waits for the
// rows before it. The others select through an index on their time.
var retentionRules = []retentionRule{
	{table: "room_events", query: `DELETE FROM room_events WHERE at < ? AND id IN
		(SELECT id FROM room_events ORDER BY id LIMIT ?)`},
	{table: "update_events", query: `DELETE FROM update_events WHERE at < ? AND id IN
		(SELECT id FROM update_events ORDER BY id LIMIT ?)`},
	{table: "alerts", query: `DELETE FROM alerts WHERE id IN
		(SELECT id FROM alerts WHERE state = 'resolved' AND resolved > 0 AND resolved < ? LIMIT ?)`},
	{table: "room_actions", query: `DELETE FROM room_actions WHERE id IN
		(SELECT id FROM room_actions WHERE at < ? LIMIT ?)`},
	{table: "audit", audit: true, query: `DELETE FROM audit WHERE id IN
		(SELECT id FROM audit WHERE at < ? ORDER BY at LIMIT ?)`},
}

// sweepHistory deletes what is older than the retention allows, and
// returns how many rows went per table.
func sweepHistory(db *sql.DB, r Retention, now time.Time) (map[string]int64, error) {
	r = r.withDefaults()
	gone := map[string]int64{}
	var errs []error
	for _, rule := range retentionRules {
		keep := r.Events
		if rule.audit {
			keep = r.Audit
		}
		if keep < 0 {
			continue
		}
		cutoff := now.Add(-keep).UnixMilli()
		for range retentionBatches {
			res, err := db.Exec(rule.query, cutoff, retentionBatch)
			if err != nil {
				errs = append(errs, fmt.Errorf("retention of %s: %w", rule.table, err))
				break
			}
			n, err := res.RowsAffected()
			if err != nil {
				errs = append(errs, fmt.Errorf("retention of %s: %w", rule.table, err))
				break
			}
			gone[rule.table] += n
			if n < retentionBatch {
				break
			}
		}
	}
	return gone, errors.Join(errs...)
}

// sweepRetention is the janitor's part for history.
func (s *Server) sweepRetention(now time.Time) error {
	gone, err := sweepHistory(s.db, s.retention, now)
	for table, n := range gone {
		if n > 0 {
			s.log.Info("retention: deleted old history", "table", table, "rows", n)
		}
	}
	return err
}

// storeBytes is the database's size: SQLite's pages, or PostgreSQL's
// own count; ok false where neither answers.
func (s *Server) storeBytes() (n int64, ok bool) {
	for _, q := range []string{
		"SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
		"SELECT pg_database_size(current_database())",
	} {
		if s.db.QueryRow(q).Scan(&n) == nil {
			return n, true
		}
	}
	return 0, false
}
