package portal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgMigrationLock is the advisory lock key replicas migrating the same
// database take, so two starting together apply each step once.
const pgMigrationLock = 0x726f6f6d6b6974 // "roomkit"

// pgConnectWait is how long a starting portal keeps trying a PostgreSQL
// that does not answer (it may be starting too) before it gives up.
const pgConnectWait = 30 * time.Second

// postgresTarget names where a DSN points, for messages: host, port and
// database, never the user's password.
func postgresTarget(cfg *pgx.ConnConfig) string {
	host := cfg.Host
	if strings.HasPrefix(host, "/") {
		host = "socket " + host
	}
	return fmt.Sprintf("%s port %d database %q user %q", host, cfg.Port, cfg.Database, cfg.User)
}

// isPostgresDSN says whether a -db value names PostgreSQL.
func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openPostgres connects to the PostgreSQL database dsn names, trying
// again with a growing pause for up to wait while it does not answer,
// and brings its schema up to date.
func openPostgres(ctx context.Context, dsn string, log *slog.Logger, wait time.Duration) (*sqlDB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password and all.
		return nil, errors.New("open PostgreSQL: the -db address is not a valid postgres:// URL")
	}
	where := postgresTarget(cfg)
	pw := cfg.Password
	db := stdlib.OpenDB(*cfg)
	// A pool: unlike SQLite's single writer, PostgreSQL serves concurrent
	// transactions, and several replicas share its max_connections.
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	deadline := time.Now().Add(wait)
	pause := 250 * time.Millisecond
	for {
		err = db.PingContext(ctx)
		if err == nil {
			break
		}
		if time.Now().Add(pause).After(deadline) || ctx.Err() != nil {
			db.Close()
			return nil, fmt.Errorf("connect to PostgreSQL at %s (gave up after %v): %s", where, wait, redactSecret(err.Error(), pw))
		}
		if log != nil {
			log.Warn("PostgreSQL does not answer; trying again", "at", where, "in", pause, "err", redactSecret(err.Error(), pw))
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
		}
		pause = min(2*pause, 5*time.Second)
	}
	ms, err := loadMigrations(postgres)
	if err == nil {
		err = migratePostgres(ctx, db, ms)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open PostgreSQL at %s: %s", where, redactSecret(err.Error(), pw))
	}
	return newSQLDB(db, postgres), nil
}

// redactSecret removes a password from an error's text.
func redactSecret(msg, secret string) string {
	if secret == "" {
		return msg
	}
	return strings.ReplaceAll(msg, secret, "[password]")
}

// migratePostgres applies the steps the database lacks, each in its own
// transaction holding the migration lock: a step that fails leaves the
// schema as the step before left it, and replicas starting together wait
// for each other instead of racing. A database newer than ms is refused.
func migratePostgres(ctx context.Context, db *sql.DB, ms []migration) error {
	// Up to date, the common case: one query, no lock.
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v); err == nil && v.Int64 == int64(len(ms)) {
		return nil
	}
	// The table of applied steps, made under the lock: CREATE TABLE IF
	// NOT EXISTS alone races with another replica's.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(pgMigrationLock)); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version BIGINT PRIMARY KEY,
	name    TEXT NOT NULL,
	applied BIGINT NOT NULL
)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range append(ms, migration{}) { // the zero step only checks
		if err := applyPGMigration(ctx, db, m, len(ms)); err != nil {
			return err
		}
	}
	return nil
}

// applyPGMigration applies m unless the database has it already (a zero
// m applies nothing), checking first that the database is not newer than
// this portal's latest step.
func applyPGMigration(ctx context.Context, db *sql.DB, m migration, latest int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %d: %w", m.version, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(pgMigrationLock)); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > latest {
		return fmt.Errorf("schema version %d is newer than this portal (%d); refusing to touch it", version, latest)
	}
	if m.version == 0 || version >= m.version {
		return nil
	}
	if version != m.version-1 {
		return fmt.Errorf("migration %d: the database is at version %d", m.version, version)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)",
		m.version, m.name, time.Now().Unix()); err != nil {
		return fmt.Errorf("migration %d: %w", m.version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %d: %w", m.version, err)
	}
	return nil
}

// isUniqueViolation says whether err is a unique constraint's refusal,
// on either engine.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// isForeignKeyViolation says whether err is a foreign key's refusal, on
// either engine.
func isForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	return strings.Contains(err.Error(), "FOREIGN KEY")
}
