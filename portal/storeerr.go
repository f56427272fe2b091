package portal

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// sqliteFull is SQLITE_FULL, what SQLite answers when the disk (or the
// database's page limit) is full. Extended codes keep it in the low byte.
const sqliteFull = 13

// storeRetry is what Retry-After says when the portal cannot store data:
// freeing disk space takes a person, so a minute is soon enough.
const storeRetry = time.Minute

// msgCannotStore is what kits and API callers read when a write failed
// for want of space. SQLite's own words ("database or disk is full")
// describe the server's insides, not what the caller should do.
const msgCannotStore = "The portal cannot store data right now. Try again later; if this persists, tell the portal's administrator (its disk may be full)."

// isDiskFull says whether err is the database's "disk is full"
// (PostgreSQL's disk_full, 53100).
func isDiskFull(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "53100"
	}
	var c interface{ Code() int }
	return errors.As(err, &c) && c.Code()&0xff == sqliteFull
}

// msgStoreDown is what callers read while the database (PostgreSQL) does
// not answer: it passes by itself once the database is back.
const msgStoreDown = "The portal cannot reach its database right now. Try again in a few seconds; if this persists, tell the portal's administrator."

// storeDownRetry is Retry-After while the database does not answer.
const storeDownRetry = 5 * time.Second

// isStoreDown says whether err means the database could not be reached
// or the connection to it broke (PostgreSQL stopped, restarting, or the
// network between), rather than that the statement failed.
func isStoreDown(err error) bool {
	if err == nil {
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &ce), errors.Is(err, driver.ErrBadConn), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &ne):
		return true
	case errors.As(err, &pe):
		// 08: connection exception; 57P01-03: shutting down, crashed, starting.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	return false
}

// storeFailure turns a database error while trying to do what (e.g.
// "pair the room") into the answer a caller should see: 503 with
// Retry-After when the disk is full, else a 500 that does not repeat the
// database's message. The error itself goes to the log, rate-limited.
func (s *Server) storeFailure(what string, err error) *httpError {
	s.logStoreError(what, err)
	if isDiskFull(err) {
		return &httpError{status: http.StatusServiceUnavailable, msg: msgCannotStore, retry: storeRetry}
	}
	if isStoreDown(err) {
		return &httpError{status: http.StatusServiceUnavailable, msg: msgStoreDown, retry: storeDownRetry}
	}
	return errorf(http.StatusInternalServerError, "Could not %s because of an internal error; the portal's log has the details.", what)
}

// logStoreError logs a database error, at most once a minute for each
// what: a full disk fails every write, and a line per heartbeat flush or
// per request would bury everything else (and fill the disk further).
func (s *Server) logStoreError(what string, err error) {
	if n, ok := s.logLimit.allow(s.now(), what); ok {
		attrs := []any{"what", what, "err", err, "disk_full", isDiskFull(err), "db_down", isStoreDown(err)}
		if n > 0 {
			attrs = append(attrs, "suppressed", n)
		}
		s.log.Error("database error", attrs...)
	}
}

// logLimiter lets one log line per key through each period and counts
// the ones it holds back.
type logLimiter struct {
	period time.Duration

	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

func newLogLimiter(period time.Duration) *logLimiter {
	return &logLimiter{period: period, last: map[string]time.Time{}, held: map[string]int{}}
}

// allow says whether a line for key may be logged now, and how many were
// held back since the last one that was.
func (l *logLimiter) allow(now time.Time, key string) (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, seen := l.last[key]; seen && now.Sub(last) < l.period {
		l.held[key]++
		return 0, false
	}
	n := l.held[key]
	l.last[key] = now
	delete(l.held, key)
	return n, true
}

// readyTimeout bounds /readyz's database check: a load balancer's health
// check gives up after a few seconds, and an answer must come before.
const readyTimeout = 2 * time.Second

// serveReady answers a load balancer's health check: ok while this
// process serves and reaches its database, 503 with words while it does
// not. /healthz says only that the process serves; behind a load balancer
// /readyz takes a replica cut off from the database out of the rotation
// while the others still reach it (docs/deployment.md).
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.db.PingContext(ctx); err != nil {
		w.Header().Set("Retry-After", strconv.Itoa(int(storeDownRetry/time.Second)))
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(msgStoreDown + "\n"))
		return
	}
	w.Write([]byte("ok\n"))
}
