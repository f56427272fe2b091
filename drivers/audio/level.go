package audio

import (
	"math"
	"sync"
	"time"
)

// MeterWindow is how much recent audio a LevelMeter measures: long enough
// to be steady, short enough to follow speech on a 10 Hz meter.
const MeterWindow = 100 * time.Millisecond

// SilenceDBFS is the level a LevelMeter reports for digital silence: the
// floor of 16-bit audio, so meters need no special case for −∞.
const SilenceDBFS = -96.0

// LevelMeter measures the microphone for the settings screen: RMS and peak
// in dBFS over the last MeterWindow of samples written to it. dBFS is
// relative to a full-scale peak, so a full-scale sine is 0 dBFS peak and
// −3 dBFS RMS. It is safe for concurrent use: the audio path writes, the
// UI reads.
type LevelMeter struct {
	mu     sync.Mutex
	window []int16 // a ring of the last len(window) samples
	next   int     // where the next sample goes
	filled int     // valid samples in window
	sumSq  int64   // sum of squares of the valid samples, kept exact
}

// NewLevelMeter returns a meter over MeterWindow of audio at SampleRate.
func NewLevelMeter() *LevelMeter {
	return &LevelMeter{window: make([]int16, int(MeterWindow*SampleRate/time.Second))}
}

// Write adds samples; only the newest MeterWindow of them count.
func (m *LevelMeter) Write(samples []int16) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(samples) > len(m.window) {
		samples = samples[len(samples)-len(m.window):]
	}
	for _, v := range samples {
		if m.filled == len(m.window) {
			old := int64(m.window[m.next])
			m.sumSq -= old * old
		} else {
			m.filled++
		}
		m.window[m.next] = v
		m.sumSq += int64(v) * int64(v)
		m.next++
		if m.next == len(m.window) {
			m.next = 0
		}
	}
}

// Level returns the RMS and the peak level of the window in dBFS, each
// at least SilenceDBFS.
func (m *LevelMeter) Level() (rms, peak float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.filled == 0 {
		return SilenceDBFS, SilenceDBFS
	}
	var p int32
	for _, v := range m.window[:m.filled] {
		a := int32(v)
		if a < 0 {
			a = -a
		}
		p = max(p, a)
	}
	r := math.Sqrt(float64(m.sumSq) / float64(m.filled))
	return dbfs(r), dbfs(float64(p))
}

// Reset forgets all samples, e.g. when the microphone changes.
func (m *LevelMeter) Reset() {
	m.mu.Lock()
	m.next, m.filled, m.sumSq = 0, 0, 0
	m.mu.Unlock()
}

func dbfs(v float64) float64 {
	if v <= 0 {
		return SilenceDBFS
	}
	return max(SilenceDBFS, 20*math.Log10(v/32768))
}
