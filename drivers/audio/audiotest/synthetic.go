// Package audiotest has fake speakerphones: a synthetic one whose
// microphone hears a steady tone (the demo's speakerphone) and whose
// speaker measures what it is sent, so tests can check both directions.
package audiotest

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"roomkit/drivers"
	"roomkit/drivers/audio"
	"roomkit/internal/clock"
)

// Synthetic is a speakerphone paced in real time: Read returns samples no
// faster than 48 kHz, Write accepts them no faster than that.
type Synthetic struct {
	toneHz float64

	// now and sleep are the clock; tests replace them.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu        sync.Mutex
	readStart time.Time
	read      int64 // microphone samples delivered
	phase     float64
	volume    int
	unplugged bool
	written   int64
	peak      int16 // loudest speaker sample written since the last Level call
}

// NewSynthetic returns a speakerphone whose microphone hears a sine tone of
// toneHz at -12 dBFS (0 for silence).
func NewSynthetic(toneHz float64) *Synthetic {
	return &Synthetic{toneHz: toneHz, volume: 70, now: time.Now, sleep: clock.Sleep}
}

func (s *Synthetic) Info() audio.Info {
	return audio.Info{Name: "Synthetic speakerphone", ID: "synthetic", Channels: 1}
}

// Read fills buf with the tone, waiting until those samples would have
// been captured by a real microphone.
func (s *Synthetic) Read(ctx context.Context, buf []int16) error {
	s.mu.Lock()
	if s.unplugged {
		s.mu.Unlock()
		return fmt.Errorf("read microphone: %w", audio.ErrUnplugged)
	}
	if s.readStart.IsZero() {
		s.readStart = s.now()
	}
	s.read += int64(len(buf))
	due := time.Duration(s.read) * time.Second / audio.SampleRate
	step := 2 * math.Pi * s.toneHz / audio.SampleRate
	for i := range buf {
		buf[i] = int16(math.Sin(s.phase) * 8192) // -12 dBFS
		s.phase = math.Mod(s.phase+step, 2*math.Pi)
	}
	wait := due - s.now().Sub(s.readStart)
	s.mu.Unlock()
	if wait > 0 {
		return s.sleep(ctx, wait)
	}
	return ctx.Err()
}

// Write takes speaker samples and remembers how loud they were after the
// volume is applied.
func (s *Synthetic) Write(ctx context.Context, buf []int16) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unplugged {
		return fmt.Errorf("write speaker: %w", audio.ErrUnplugged)
	}
	for _, v := range buf {
		v = int16(int(v) * s.volume / 100)
		if v < 0 {
			v = -v
		}
		s.peak = max(s.peak, v)
	}
	s.written += int64(len(buf))
	return nil
}

// Level returns the peak speaker sample since the last call (0–32767) and
// how many samples were written in all.
func (s *Synthetic) Level() (peak int16, written int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	peak, s.peak = s.peak, 0
	return peak, s.written
}

func (s *Synthetic) SetVolume(percent int) {
	s.mu.Lock()
	s.volume = min(max(percent, 0), 100)
	s.mu.Unlock()
}

// Unplug makes the speakerphone behave as if its cable was pulled.
func (s *Synthetic) Unplug() {
	s.mu.Lock()
	s.unplugged = true
	s.mu.Unlock()
}

// Replug undoes Unplug.
func (s *Synthetic) Replug() {
	s.mu.Lock()
	s.unplugged = false
	s.readStart, s.read = time.Time{}, 0
	s.mu.Unlock()
}

func (s *Synthetic) Status() drivers.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := drivers.Status{Kind: "speakerphone", Name: "Synthetic speakerphone", Present: !s.unplugged}
	if s.unplugged {
		st.Error = "The speakerphone is unplugged. Check its USB cable."
	}
	return st
}

func (s *Synthetic) Close() error { return nil }
