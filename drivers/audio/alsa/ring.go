package alsa

import "sync"

// ring is a fixed-size FIFO of samples between the audio callback and the
// meeting code. Every critical section is one copy of at most a buffer's
// worth of samples and nothing else, so the real-time thread waits
// microseconds at worst and never allocates; nobody sleeps holding mu.
type ring struct {
	mu  sync.Mutex
	buf []int16
	r   int // index of the oldest sample
	n   int // samples held
}

func newRing(size int) *ring { return &ring{buf: make([]int16, size)} }

func (q *ring) size() int { return len(q.buf) }

func (q *ring) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// push appends p, dropping the oldest samples to make room; it returns how
// many were dropped. zero pushes len(p) zeros instead of p (a muted
// microphone).
func (q *ring) push(p []int16, zero bool) (dropped int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(p) > len(q.buf) {
		dropped = len(p) - len(q.buf)
		p = p[dropped:]
	}
	if over := q.n + len(p) - len(q.buf); over > 0 {
		q.discardLocked(over)
		dropped += over
	}
	w := (q.r + q.n) % len(q.buf)
	for len(p) > 0 {
		chunk := min(len(p), len(q.buf)-w)
		if zero {
			clear(q.buf[w : w+chunk])
		} else {
			copy(q.buf[w:], p[:chunk])
		}
		p = p[chunk:]
		q.n += chunk
		w = (w + chunk) % len(q.buf)
	}
	return dropped
}

// pushSome appends as much of p as fits and returns how much that was.
func (q *ring) pushSome(p []int16) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	p = p[:min(len(p), len(q.buf)-q.n)]
	w := (q.r + q.n) % len(q.buf)
	done := 0
	for done < len(p) {
		chunk := copy(q.buf[w:], p[done:])
		done += chunk
		q.n += chunk
		w = (w + chunk) % len(q.buf)
	}
	return done
}

// pop moves up to len(p) of the oldest samples into p and returns how many.
func (q *ring) pop(p []int16) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	p = p[:min(len(p), q.n)]
	done := 0
	for done < len(p) {
		chunk := copy(p[done:], q.buf[q.r:min(len(q.buf), q.r+len(p)-done)])
		done += chunk
		q.r = (q.r + chunk) % len(q.buf)
		q.n -= chunk
	}
	return done
}

// trim drops the oldest samples until at most keep are left and returns
// how many it dropped.
func (q *ring) trim(keep int) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	over := q.n - keep
	if over <= 0 {
		return 0
	}
	q.discardLocked(over)
	return over
}

func (q *ring) discardLocked(k int) {
	q.r = (q.r + k) % len(q.buf)
	q.n -= k
}
