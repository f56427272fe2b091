package portal

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The portal's state moves between stores (SQLite to PostgreSQL, or back)
// as a dump: JSON lines, a header and then one line per row, tables in
// the order their foreign keys need (portal db export / import).

// dumpTables are the tables a dump holds, parents before children.
var dumpTables = []string{
	"admins", "sessions", "api_tokens", "pairings", "rooms", "access_tokens", "jtis", "audit",
	"meetings", "throttle", "update_policies", "rollouts", "update_requests", "update_events",
	"alerts", "webhooks", "admin_invites", "room_actions", "room_logs", "room_events",
	"profiles", "group_profiles", "room_config", "config_status",
}

// dumpIdentity are the tables whose id PostgreSQL numbers itself: after
// an import its counter continues after the largest id.
var dumpIdentity = []string{"admins", "api_tokens", "audit", "update_events", "alerts", "webhooks", "room_events", "profiles"}

type dumpHeader struct {
	Dump    string `json:"roomkit_dump"` // "1"
	Schema  int    `json:"schema"`       // the number of migrations the store had
	Dialect string `json:"dialect"`
}

type dumpRow struct {
	Table string            `json:"table"`
	Row   map[string]any    `json:"row,omitempty"`
	Bytes map[string]string `json:"bytes,omitempty"` // BLOB columns, base64
}

// OpenStore opens the store cfg names (cfg.DB, else SQLite in
// cfg.DataDir), bringing its schema up to date, for the commands that
// work on the store without serving: portal migrate, portal db.
func OpenStore(cfg Config) (*Store, error) {
	var db *sqlDB
	var err error
	switch {
	case cfg.DB != "":
		if !isPostgresDSN(cfg.DB) {
			return nil, errors.New("portal: -db must be a postgres:// URL")
		}
		wait := cfg.DBWait
		if wait == 0 {
			wait = pgConnectWait
		}
		db, err = openPostgres(context.Background(), cfg.DB, cfg.Logger, wait)
	case cfg.DataDir != "":
		db, err = openDB(cfg.DataDir)
	default:
		return nil, errors.New("portal: a data directory or a PostgreSQL database is required")
	}
	if err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Store is a portal's state opened without a Server.
type Store struct{ db *sqlDB }

func (s *Store) Close() error { return s.db.Close() }

// Export writes the store's every row to w as a dump.
func (s *Store) Export(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	// One snapshot of every table: on PostgreSQL, REPEATABLE READ (READ
	// COMMITTED takes one per statement); SQLite's transaction is one.
	var opts *sql.TxOptions
	if s.db.dialect == postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer tx.Rollback()
	if err := enc.Encode(dumpHeader{Dump: "1", Schema: len(migrations), Dialect: s.db.dialect.String()}); err != nil {
		return err
	}
	for _, t := range dumpTables {
		if err := exportTable(ctx, tx, t, enc); err != nil {
			return fmt.Errorf("export %s: %w", t, err)
		}
	}
	return bw.Flush()
}

func exportTable(ctx context.Context, tx *sqlTx, table string, enc *json.Encoder) error {
	// In the order rows were made: an import numbers rows anew in the
	// order it reads them, and the fleet view pages rooms (and requests
	// are handed out) by that number. PostgreSQL's plain scan returns a
	// row a heartbeat rewrote last.
	order := "rowid"
	if tx.db.dialect == postgres && !pgHasRowid(ctx, tx, table) {
		order = "1" // the first column, the key
	}
	rows, err := tx.QueryContext(ctx, "SELECT * FROM "+table+" ORDER BY "+order)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		r := dumpRow{Table: table, Row: map[string]any{}}
		for i, c := range cols {
			if c == "rowid" { // PostgreSQL's stand-in for SQLite's row number
				continue
			}
			if b, ok := vals[i].([]byte); ok {
				if r.Bytes == nil {
					r.Bytes = map[string]string{}
				}
				r.Bytes[c] = base64.StdEncoding.EncodeToString(b)
				continue
			}
			r.Row[c] = vals[i]
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Import reads a dump into the store, which must hold no rooms and no
// administrators yet: all of it in one transaction, or nothing.
func (s *Store) Import(ctx context.Context, r io.Reader) (rows int, err error) {
	dec := json.NewDecoder(bufio.NewReader(r))
	dec.UseNumber()
	var h dumpHeader
	if err := dec.Decode(&h); err != nil || h.Dump != "1" {
		return 0, fmt.Errorf("import: not a portal dump (portal db export writes one): %v", err)
	}
	if h.Schema != len(migrations) {
		return 0, fmt.Errorf("import: the dump has schema version %d, this portal %d: export and import with the same portal release", h.Schema, len(migrations))
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("import: %w", err)
	}
	defer tx.Rollback()
	for _, t := range []string{"rooms", "admins", "meetings"} {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return 0, fmt.Errorf("import: %w", err)
		}
		if n > 0 {
			return 0, fmt.Errorf("import: the target store is not empty (%d %s): import into a new one", n, t)
		}
	}
	known := map[string]bool{}
	for _, t := range dumpTables {
		known[t] = true
	}
	for line := 2; ; line++ {
		var d dumpRow
		if err := dec.Decode(&d); err == io.EOF {
			break
		} else if err != nil {
			return 0, fmt.Errorf("import: line %d: %w", line, err)
		}
		if !known[d.Table] {
			return 0, fmt.Errorf("import: line %d: unknown table %q", line, d.Table)
		}
		var cols, marks []string
		var args []any
		for c, v := range d.Row {
			if n, ok := v.(json.Number); ok {
				i, err := n.Int64()
				if err != nil {
					return 0, fmt.Errorf("import: line %d: %s: %w", line, c, err)
				}
				v = i
			}
			cols, marks, args = append(cols, c), append(marks, "?"), append(args, v)
		}
		for c, v := range d.Bytes {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return 0, fmt.Errorf("import: line %d: %s: %w", line, c, err)
			}
			cols, marks, args = append(cols, c), append(marks, "?"), append(args, b)
		}
		for _, c := range cols {
			if !isIdent(c) {
				return 0, fmt.Errorf("import: line %d: bad column name %q", line, c)
			}
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+d.Table+" ("+strings.Join(cols, ", ")+") VALUES ("+strings.Join(marks, ", ")+")", args...); err != nil {
			return 0, fmt.Errorf("import: line %d (%s): %w", line, d.Table, err)
		}
		rows++
	}
	if s.db.dialect == postgres {
		for _, t := range dumpIdentity {
			if _, err := tx.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('"+t+"', 'id'), coalesce(max(id), 0) + 1, false) FROM "+t); err != nil {
				return 0, fmt.Errorf("import: %s ids: %w", t, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("import: %w", err)
	}
	return rows, nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !identByte(s[i]) {
			return false
		}
	}
	return true
}

// pgHasRowid says whether a PostgreSQL table has the rowid column that
// stands in for SQLite's implicit row number.
func pgHasRowid(ctx context.Context, tx *sqlTx, table string) bool {
	var n int
	tx.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = 'rowid'", table).Scan(&n)
	return n > 0
}
