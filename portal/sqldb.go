package portal

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// dialect is the SQL a store speaks. The portal's statements are written
// for SQLite with ? placeholders, in the subset both engines share; on
// PostgreSQL rebindPostgres translates the rest.
type dialect int

const (
	sqlite dialect = iota
	postgres
)

func (d dialect) String() string {
	if d == postgres {
		return "postgres"
	}
	return "sqlite"
}

// sqlDB is the portal's database: a *sql.DB and the dialect its
// statements are rewritten for (? placeholders to $n on PostgreSQL).
type sqlDB struct {
	*sql.DB
	dialect dialect
	cache   *sync.Map // statement → its PostgreSQL form
}

func newSQLDB(db *sql.DB, d dialect) *sqlDB {
	return &sqlDB{DB: db, dialect: d, cache: &sync.Map{}}
}

// sqlTx is a transaction on a sqlDB, rewriting statements as it does.
type sqlTx struct {
	*sql.Tx
	db *sqlDB
}

func (db *sqlDB) rebind(q string) string {
	if db.dialect != postgres {
		return q
	}
	if v, ok := db.cache.Load(q); ok {
		return v.(string)
	}
	r := rebindPostgres(q)
	db.cache.Store(q, r)
	return r
}

// args converts arguments PostgreSQL would refuse for an integer column:
// the portal stores booleans as 0 and 1 on both engines.
func (db *sqlDB) args(args []any) []any {
	if db.dialect != postgres {
		return args
	}
	copied := false
	for i, a := range args {
		if b, ok := a.(bool); ok {
			if !copied { // never change the caller's slice
				args, copied = append([]any(nil), args...), true
			}
			if b {
				args[i] = int64(1)
			} else {
				args[i] = int64(0)
			}
		}
	}
	return args
}

func (db *sqlDB) Exec(q string, args ...any) (sql.Result, error) {
	return db.ExecContext(context.Background(), q, args...)
}

func (db *sqlDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.DB.ExecContext(ctx, db.rebind(q), db.args(args)...)
}

func (db *sqlDB) Query(q string, args ...any) (*sql.Rows, error) {
	return db.QueryContext(context.Background(), q, args...)
}

func (db *sqlDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.DB.QueryContext(ctx, db.rebind(q), db.args(args)...)
}

func (db *sqlDB) QueryRow(q string, args ...any) *sql.Row {
	return db.QueryRowContext(context.Background(), q, args...)
}

func (db *sqlDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return db.DB.QueryRowContext(ctx, db.rebind(q), db.args(args)...)
}

func (db *sqlDB) Prepare(q string) (*sqlStmt, error) {
	st, err := db.DB.PrepareContext(context.Background(), db.rebind(q))
	if err != nil {
		return nil, err
	}
	return &sqlStmt{Stmt: st, db: db}, nil
}

func (db *sqlDB) Begin() (*sqlTx, error) {
	return db.BeginTx(context.Background(), nil)
}

// BeginTx begins a transaction. It takes no lock: a transaction that
// reads, checks and then writes takes the lock of what it checks
// (sqlTx.lock), so that only transactions checking the same thing wait
// for each other.
func (db *sqlDB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sqlTx, error) {
	tx, err := db.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &sqlTx{Tx: tx, db: db}, nil
}

// Lock keys of the checks transactions make (sqlTx.lock).
const (
	lockOwners = "owners" // the account keeps an owner (keepAnOwner)
	// lockConfig: profiles, groups and overrides, checked (a profile in
	// use, a room that exists) and merged into each room's effective
	// configuration (changeConfig); unpairing deletes a room's.
	lockConfig = "config"
	// lockUpdates: update policies, rollouts and requests (inUpdateTx):
	// a rollout's ring is read, advanced or paused, and written back.
	lockUpdates = "updates"
)

// lockPairing is the lock of one pairing code: approved or denied once.
func lockPairing(code string) string { return "pairing:" + code }

// lockDevice is the lock of one kit's key: paired as one room.
func lockDevice(id string) string { return "device:" + id }

// lock takes key's lock for the rest of the transaction. Replicas'
// transactions that check the same thing take the same key and so run
// one after another, as SQLite's single writer runs every transaction
// (on SQLite it does nothing); without it two replicas could both pass
// a check under READ COMMITTED (both approve one pairing code, both
// demote one of the last two owners). Others, heartbeats among them, do
// not wait. A key hashes to one of PostgreSQL's 32-bit advisory keys:
// two keys sharing one only wait for each other, and the 64-bit
// janitor and migration keys (shared.go, pgstore.go) are out of its
// range. Take keys in the same order everywhere (pairing before
// device), or two transactions may deadlock.
func (tx *sqlTx) lock(key string) error {
	if tx.db.dialect != postgres {
		return nil
	}
	if _, err := tx.Tx.Exec("SELECT pg_advisory_xact_lock(hashtext($1))", "roomkit:"+key); err != nil {
		return fmt.Errorf("lock %s: %w", key, err)
	}
	return nil
}

func (tx *sqlTx) Exec(q string, args ...any) (sql.Result, error) {
	return tx.ExecContext(context.Background(), q, args...)
}

func (tx *sqlTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.db.rebind(q), tx.db.args(args)...)
}

func (tx *sqlTx) Query(q string, args ...any) (*sql.Rows, error) {
	return tx.QueryContext(context.Background(), q, args...)
}

func (tx *sqlTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.db.rebind(q), tx.db.args(args)...)
}

func (tx *sqlTx) QueryRow(q string, args ...any) *sql.Row {
	return tx.QueryRowContext(context.Background(), q, args...)
}

func (tx *sqlTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.db.rebind(q), tx.db.args(args)...)
}

func (tx *sqlTx) Prepare(q string) (*sqlStmt, error) {
	st, err := tx.Tx.PrepareContext(context.Background(), tx.db.rebind(q))
	if err != nil {
		return nil, err
	}
	return &sqlStmt{Stmt: st, db: tx.db}, nil
}

// sqlStmt is a prepared statement converting its arguments as sqlDB does.
type sqlStmt struct {
	*sql.Stmt
	db *sqlDB
}

func (st *sqlStmt) Exec(args ...any) (sql.Result, error) {
	return st.Stmt.Exec(st.db.args(args)...)
}

// rebindPostgres rewrites a statement written for SQLite into
// PostgreSQL's: ? and ?N placeholders become $N (a bare ? takes the
// number after the largest so far, as in SQLite), blob literals x'00ff'
// become bytea ones, SQLite's index hints (INDEXED BY name) go, and the
// functions without a common name take PostgreSQL's (sqliteFuncs).
// Nothing inside a string literal, a quoted identifier or a comment
// changes.
func rebindPostgres(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	maxN := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote: still inside
						j += 2
						continue
					}
					break
				}
				j++
			}
			j = min(j+1, len(q))
			b.WriteString(q[i:j])
			i = j
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j
		case (c == 'x' || c == 'X') && i+1 < len(q) && q[i+1] == '\'' && (i == 0 || !identByte(q[i-1])):
			j := strings.IndexByte(q[i+2:], '\'')
			if j < 0 {
				b.WriteString(q[i:])
				i = len(q)
				continue
			}
			b.WriteString(`'\x`)
			b.WriteString(q[i+2 : i+2+j])
			b.WriteString(`'::bytea`)
			i += 2 + j + 1
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n := maxN + 1
			if j > i+1 {
				n, _ = strconv.Atoi(q[i+1 : j])
			}
			maxN = max(maxN, n)
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i = j
		case identByte(c) && (i == 0 || !identByte(q[i-1])):
			j := i
			for j < len(q) && identByte(q[j]) {
				j++
			}
			word := q[i:j]
			if strings.EqualFold(word, "INDEXED") {
				if k, ok := indexHint(q, j); ok {
					i = k
					continue
				}
			}
			if f, ok := sqliteFuncs[strings.ToLower(word)]; ok && j < len(q) && q[j] == '(' {
				word = f
			}
			b.WriteString(word)
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func identByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// sqliteFuncs are SQLite's functions that PostgreSQL spells otherwise,
// with the same arguments.
var sqliteFuncs = map[string]string{
	"instr":       "strpos",
	"json_object": "json_build_object",
}

// indexHint reports where " BY name" ends when q[at:] starts with it
// (after INDEXED).
func indexHint(q string, at int) (int, bool) {
	skip := func(i int) int {
		for i < len(q) && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n') {
			i++
		}
		return i
	}
	i := skip(at)
	if i+2 > len(q) || !strings.EqualFold(q[i:i+2], "BY") || i+2 < len(q) && identByte(q[i+2]) {
		return 0, false
	}
	i = skip(i + 2)
	j := i
	for j < len(q) && identByte(q[j]) {
		j++
	}
	if j == i {
		return 0, false
	}
	return j, true
}
