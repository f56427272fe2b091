package portal

import (
	"sync"
	"time"
)

// lockout counts failures per key (an admin token, a session, a client
// address, an email). After max failures within window, the next attempt
// and everything for lock after it is refused, right or wrong
// (protocol.md §6): a guesser learns nothing while locked out.
type lockout struct {
	max    int
	window time.Duration
	lock   time.Duration

	mu   sync.Mutex
	keys map[string]*lockState
}

type lockState struct {
	failures    []time.Time
	lockedUntil time.Time
}

func newLockout(max int, window, lock time.Duration) *lockout {
	return &lockout{max: max, window: window, lock: lock, keys: make(map[string]*lockState)}
}

// check is called before an attempt. It reports how long the caller must
// wait, or 0 if the attempt may go ahead.
func (l *lockout) check(now time.Time, keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		st := l.keys[k]
		if st == nil {
			continue
		}
		if now.Before(st.lockedUntil) {
			wait = max(wait, st.lockedUntil.Sub(now))
			continue
		}
		st.failures = recent(st.failures, now.Add(-l.window))
		if len(st.failures) >= l.max {
			// This is the attempt after the last allowed failure: lock.
			st.failures = nil
			st.lockedUntil = now.Add(l.lock)
			wait = max(wait, l.lock)
		}
	}
	return wait
}

// fail records a failed attempt against every key.
func (l *lockout) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		st := l.keys[k]
		if st == nil {
			st = &lockState{}
			l.keys[k] = st
		}
		st.failures = append(recent(st.failures, now.Add(-l.window)), now)
	}
}

func (l *lockout) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, st := range l.keys {
		st.failures = recent(st.failures, now.Add(-l.window))
		if len(st.failures) == 0 && !now.Before(st.lockedUntil) {
			delete(l.keys, k)
		}
	}
}

// recent drops the times before since; ts is sorted.
func recent(ts []time.Time, since time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(since) {
		i++
	}
	return ts[i:]
}

// rateLimiter is a fixed-window counter per key: at most n requests per
// window. Coarse, but cheap and enough to stop one address from filling
// the pairings table.
type rateLimiter struct {
	n      int
	window time.Duration

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
