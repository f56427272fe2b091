package meeting

import (
	"math"
	"sync"
)

// Each remote audio track feeds a small jitter buffer; the speaker loop
// takes 20 ms from each every 20 ms and sums them.
const (
	// mixStart is how much a buffer holds before it starts playing (and
	// again after running dry): enough to ride out network jitter.
	mixStart = 3 * frameSamples
	// mixMax bounds the delay: older samples are dropped beyond it.
	mixMax = 10 * frameSamples
)

type mixer struct {
	mu  sync.Mutex
	src map[string]*mixSource
	acc [frameSamples]int32
}

type mixSource struct {
	buf     []int16
	playing bool
}

func newMixer() *mixer { return &mixer{src: make(map[string]*mixSource)} }

// push queues decoded samples of the source id.
func (m *mixer) push(id string, pcm []int16) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.src[id]
	if s == nil {
		s = &mixSource{buf: make([]int16, 0, mixMax+frameSamples*6)}
		m.src[id] = s
	}
	s.buf = append(s.buf, pcm...)
	if over := len(s.buf) - mixMax; over > 0 {
		n := copy(s.buf, s.buf[over:])
		s.buf = s.buf[:n]
	}
}

// remove forgets a source whose track ended.
func (m *mixer) remove(id string) {
	m.mu.Lock()
	delete(m.src, id)
	m.mu.Unlock()
}

// mix fills out with the sum of every playing source and reports whether
// any source contributed.
func (m *mixer) mix(out []int16) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	acc := m.acc[:len(out)]
	clear(acc)
	any := false
	for _, s := range m.src {
		if !s.playing && len(s.buf) >= mixStart {
			s.playing = true
		}
		if !s.playing {
			continue
		}
		k := min(len(s.buf), len(out))
		for i, v := range s.buf[:k] {
			acc[i] += int32(v)
		}
		n := copy(s.buf, s.buf[k:])
		s.buf = s.buf[:n]
		if n == 0 {
			s.playing = false // ran dry: buffer up again before resuming
		}
		any = any || k > 0
	}
	for i, v := range acc {
		out[i] = int16(min(max(v, math.MinInt16), math.MaxInt16))
	}
	return any
}
