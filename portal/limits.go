package portal

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// lockout counts failures per key (an admin token, a session, a client
// address, an address and an email). After rule.free failures the key is
// locked: every attempt is refused, right or wrong, until the lock ends
// (protocol.md §6), so a guesser learns nothing while locked out. Each
// further failure locks it again, for twice as long up to rule.maxLock:
// a progressive delay that the caller learns as Retry-After, never as a
// handler that sleeps.
//
// The counts live in memory, where every request reads them, and are
// written to the throttle table in the background (flushLockouts), so a
// restart does not hand a guesser a fresh set of attempts.
type lockout struct {
	name string // the keys' namespace in the throttle table
	rule lockRule
	// db, when set (replicas, shared.go), is where the counts live:
	// each check reads them and each failure is counted there, so the
	// memory only mirrors it. onErr hears of a database error, after
	// which the lockout goes on from memory.
	db    *sqlDB
	onErr func(error)

	mu   sync.Mutex
	keys map[string]*lockState
}

// lockRule says how many failures a key gets and how long it is locked.
type lockRule struct {
	free    int           // failures before the first lock
	lock    time.Duration // the first lock
	maxLock time.Duration // each further failure doubles the lock, up to this
	forget  time.Duration // failures are forgotten this long after the last one (or after the lock, if later)
}

type lockState struct {
	failures    int
	lockedUntil time.Time
	expires     time.Time // when the failures are forgotten
	pending     int       // attempts begun (begin) and not yet settled; never persisted
	dirty       bool      // changed since the last flush
}

func newLockout(name string, r lockRule) *lockout {
	return &lockout{name: name, rule: r, keys: make(map[string]*lockState)}
}

// lockFor is how long a key is locked after its n-th failure.
func (r lockRule) lockFor(n int) time.Duration {
	if n < r.free {
		return 0
	}
	d := r.lock
	for i := r.free; i < n && d < r.maxLock; i++ {
		d *= 2
	}
	return min(d, r.maxLock)
}

// state returns key's state, forgetting failures that are old enough.
// l.mu is held.
func (l *lockout) state(now time.Time, key string) *lockState {
	st := l.peek(now, key)
	if st == nil {
		st = &lockState{}
		l.keys[key] = st
	}
	return st
}

// peek is state without creating one: checking a key that never failed
// must not cost memory. l.mu is held.
func (l *lockout) peek(now time.Time, key string) *lockState {
	st := l.keys[key]
	if st != nil && st.failures > 0 && !now.Before(st.expires) {
		st.failures, st.lockedUntil, st.expires, st.dirty = 0, time.Time{}, time.Time{}, true
	}
	return st
}

// wait is how long an attempt on st must wait: the lock, or, while
// attempts are still being checked (pending), the lock they would cause
// if they all fail. A burst of concurrent attempts thus gets no more
// checks than a patient guesser.
func (l *lockout) wait(now time.Time, st *lockState) time.Duration {
	if now.Before(st.lockedUntil) {
		return st.lockedUntil.Sub(now)
	}
	if st.pending > 0 && st.failures+st.pending >= l.rule.free {
		return l.rule.lockFor(st.failures + st.pending)
	}
	return 0
}

// check is called before an attempt that is settled at once (a lookup in
// memory or the database). It reports how long the caller must wait, or
// 0 if the attempt may go ahead; a failure is then recorded with fail.
func (l *lockout) check(now time.Time, keys ...string) time.Duration {
	l.refresh(keys)
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		if st := l.peek(now, k); st != nil {
			wait = max(wait, l.wait(now, st))
		}
	}
	return wait
}

// fail records a failed attempt against every key.
func (l *lockout) fail(now time.Time, keys ...string) {
	if l.db != nil {
		for _, k := range keys {
			l.failStored(now, k)
		}
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		l.record(now, l.state(now, k))
	}
}

// record counts one failure on st. l.mu is held.
func (l *lockout) record(now time.Time, st *lockState) {
	st.failures++
	if d := l.rule.lockFor(st.failures); d > 0 {
		st.lockedUntil = now.Add(d)
	}
	st.expires = now.Add(l.rule.forget)
	if st.lockedUntil.Add(l.rule.forget).After(st.expires) {
		st.expires = st.lockedUntil.Add(l.rule.forget)
	}
	st.dirty = true
}

// reset forgets key's failures: a right password from this address for
// this account.
func (l *lockout) reset(key string) {
	l.resetStored(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.keys[key]; st != nil {
		st.failures, st.lockedUntil, st.expires, st.dirty = 0, time.Time{}, time.Time{}, true
	}
}

// attempt is an attempt counted before its slow check (a password hash)
// runs: begin reserves it, and fail or release settles it.
type attempt struct {
	l    *lockout
	keys []string
	done bool
}

// begin reserves an attempt on every key, or reports how long to wait.
// Reserved attempts count as failures until they are settled, so
// concurrent requests cannot all pass the check before the first failure
// is recorded.
func (l *lockout) begin(now time.Time, keys ...string) (*attempt, time.Duration) {
	l.refresh(keys)
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		if st := l.peek(now, k); st != nil {
			wait = max(wait, l.wait(now, st))
		}
	}
	if wait > 0 {
		return nil, wait
	}
	for _, k := range keys {
		l.state(now, k).pending++
	}
	return &attempt{l: l, keys: keys}, 0
}

// fail settles the attempt as a failure.
func (a *attempt) fail(now time.Time) {
	if a == nil || a.done {
		return
	}
	a.done = true
	a.l.mu.Lock()
	for _, k := range a.keys {
		st := a.l.state(now, k)
		st.pending--
		if a.l.db == nil {
			a.l.record(now, st)
		}
	}
	a.l.mu.Unlock()
	if a.l.db != nil {
		for _, k := range a.keys {
			a.l.failStored(now, k)
		}
	}
}

// release settles the attempt without counting it: it succeeded, or it
// never got to the check. Safe to call again after fail.
func (a *attempt) release() {
	if a == nil || a.done {
		return
	}
	a.done = true
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	for _, k := range a.keys {
		if st := a.l.keys[k]; st != nil {
			st.pending--
		}
	}
}

// sweep drops keys with nothing left to remember. Dirty ones stay until
// they are flushed, so a reset also reaches the database.
func (l *lockout) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, st := range l.keys {
		if st.pending == 0 && !st.dirty && (st.failures == 0 || !now.Before(st.expires)) {
			delete(l.keys, k)
		}
	}
}

// lockRow is a key's state as stored in the throttle table.
type lockRow struct {
	key                  string // name + ":" + key
	failures             int
	lockedUntil, expires int64 // Unix nanoseconds
}

// dirtyRows takes the changed states for a flush.
func (l *lockout) dirtyRows() []lockRow {
	if l.db != nil {
		return nil // written through at once (shared.go)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var rows []lockRow
	for k, st := range l.keys {
		if !st.dirty {
			continue
		}
		st.dirty = false
		rows = append(rows, lockRow{key: l.name + ":" + k, failures: st.failures,
			lockedUntil: st.lockedUntil.UnixNano(), expires: st.expires.UnixNano()})
	}
	return rows
}

// redirty marks rows whose flush failed, to be written next time.
func (l *lockout) redirty(rows []lockRow) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range rows {
		if st := l.keys[strings.TrimPrefix(r.key, l.name+":")]; st != nil {
			st.dirty = true
		}
	}
}

// loadLockouts reads the stored failures that are not yet forgotten.
func loadLockouts(ctx context.Context, db *sqlDB, now time.Time, ls ...*lockout) error {
	rows, err := db.QueryContext(ctx, "SELECT key, failures, locked_until, expires FROM throttle WHERE expires > ?", now.UnixNano())
	if err != nil {
		return fmt.Errorf("load lockouts: %w", err)
	}
	defer rows.Close()
	byName := map[string]*lockout{}
	for _, l := range ls {
		byName[l.name] = l
	}
	for rows.Next() {
		var r lockRow
		if err := rows.Scan(&r.key, &r.failures, &r.lockedUntil, &r.expires); err != nil {
			return fmt.Errorf("load lockouts: %w", err)
		}
		name, key, ok := strings.Cut(r.key, ":")
		l := byName[name]
		if !ok || l == nil {
			continue // a lockout this portal no longer has
		}
		l.keys[key] = &lockState{failures: r.failures, lockedUntil: time.Unix(0, r.lockedUntil), expires: time.Unix(0, r.expires)}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load lockouts: %w", err)
	}
	return nil
}

// flushLockouts writes the changed failure counts in one transaction.
func flushLockouts(db *sqlDB, ls ...*lockout) error {
	type batch struct {
		l    *lockout
		rows []lockRow
	}
	var batches []batch
	for _, l := range ls {
		if rows := l.dirtyRows(); len(rows) > 0 {
			batches = append(batches, batch{l, rows})
		}
	}
	if len(batches) == 0 {
		return nil
	}
	err := func() error {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, b := range batches {
			for _, r := range b.rows {
				if r.failures == 0 {
					_, err = tx.Exec("DELETE FROM throttle WHERE key = ?", r.key)
				} else {
					_, err = tx.Exec(`INSERT INTO throttle (key, failures, locked_until, expires) VALUES (?, ?, ?, ?)
						ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until, expires = excluded.expires`,
						r.key, r.failures, r.lockedUntil, r.expires)
				}
				if err != nil {
					return err
				}
			}
		}
		return tx.Commit()
	}()
	if err != nil {
		for _, b := range batches {
			b.l.redirty(b.rows)
		}
		return fmt.Errorf("save lockouts: %w", err)
	}
	return nil
}

// rateLimiter is a fixed-window counter per key: at most n requests per
// window. Coarse, but cheap and enough to stop one address from filling
// the pairings table.
type rateLimiter struct {
	n      int
	window time.Duration
	// db, when set (replicas, shared.go), counts in the throttle table
	// under name; onErr hears of a database error, after which the
	// count goes on in memory.
	db    *sqlDB
	name  string
	onErr func(error)

	mu   sync.Mutex
	keys map[string]*rateWindow
}

type rateWindow struct {
	start time.Time
	count int
}

func newRateLimiter(n int, window time.Duration) *rateLimiter {
	return &rateLimiter{n: n, window: window, keys: make(map[string]*rateWindow)}
}

// allow counts a request and reports 0, or how long to wait if over the limit.
func (r *rateLimiter) allow(now time.Time, key string) time.Duration {
	if r.db != nil {
		wait, err := r.allowStored(now, key)
		if err == nil {
			return wait
		}
		r.onErr(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.keys[key]
	if w == nil || !now.Before(w.start.Add(r.window)) {
		w = &rateWindow{start: now}
		r.keys[key] = w
	}
	if w.count >= r.n {
		return w.start.Add(r.window).Sub(now)
	}
	w.count++
	return 0
}

func (r *rateLimiter) sweep(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, w := range r.keys {
		if !now.Before(w.start.Add(r.window)) {
			delete(r.keys, k)
		}
	}
}

// inflight caps the requests one key (a client address) has in progress.
type inflight struct {
	max int

	mu sync.Mutex
	n  map[string]int
}

func newInflight(max int) *inflight { return &inflight{max: max, n: make(map[string]int)} }

// acquire takes a slot for key, or reports false when key has max already.
func (f *inflight) acquire(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[key] >= f.max {
		return false
	}
	f.n[key]++
	return true
}

func (f *inflight) release(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[key]--; f.n[key] <= 0 {
		delete(f.n, key)
	}
}

// errBusy: too many requests are already waiting for the gate.
var errBusy = errors.New("too many requests are waiting")

// gate bounds concurrent expensive work (argon2: 19 MiB and ~50 ms of a
// core each). More slots than cores buy no throughput, only memory; a
// bounded queue means a flood is answered "busy" at once instead of
// piling up requests that time out.
type gate struct {
	slots      chan struct{}
	waiting    atomic.Int32
	maxWaiting int32
}

func newGate(slots, maxWaiting int) *gate {
	return &gate{slots: make(chan struct{}, slots), maxWaiting: int32(maxWaiting)}
}

// enter waits for a slot; errBusy if the queue is full, ctx's error if
// the client gave up.
func (g *gate) enter(ctx context.Context) error {
	select {
	case g.slots <- struct{}{}:
		return nil
	default:
	}
	if g.waiting.Add(1) > g.maxWaiting {
		g.waiting.Add(-1)
		return errBusy
	}
	defer g.waiting.Add(-1)
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) leave() { <-g.slots }

// limitKey is the address a per-client limit counts: the address itself
// for IPv4, its /64 for IPv6, where one subscriber usually has a whole
// /64 to pick addresses from.
func limitKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is6() || a.Is4In6() {
		return addr
	}
	p, _ := a.Prefix(64)
	return p.String()
}
