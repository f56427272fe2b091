package audio

import (
	"context"
	"fmt"
	"math"
	"time"
)

// ToneGenerator makes the settings screen's test tone: a sine wave of a
// fixed frequency and level, with short fades at both ends so the speaker
// does not click. It is not safe for concurrent use.
type ToneGenerator struct {
	hz     float64
	amp    float64 // peak amplitude in sample units
	total  int     // samples in the whole tone
	fade   int     // samples in each fade
	pos    int     // samples generated so far
	phase  float64 // radians
	stepRd float64 // radians per sample
}

// Test tone defaults: 1 kHz is where ears and small speakers are most
// sensitive, and −12 dBFS is clearly audible without clipping a speaker
// whose gain is at 100 %.
const (
	TestToneHz       = 1000
	TestToneDBFS     = -12
	TestToneDuration = time.Second
)

// toneFade is long enough to avoid a click and short enough to be unheard.
const toneFade = 5 * time.Millisecond

// NewTone returns a tone of hz at a peak level of dbfs (0 is full scale)
// lasting d.
func NewTone(hz, dbfs float64, d time.Duration) *ToneGenerator {
	total := int(d * SampleRate / time.Second)
	return &ToneGenerator{
		hz:     hz,
		amp:    math.Min(32767, 32768*math.Pow(10, dbfs/20)),
		total:  total,
		fade:   min(int(toneFade*SampleRate/time.Second), total/2),
		stepRd: 2 * math.Pi * hz / SampleRate,
	}
}

// NewTestTone returns the standard test tone: 1 kHz at −12 dBFS for 1 s.
func NewTestTone() *ToneGenerator { return NewTone(TestToneHz, TestToneDBFS, TestToneDuration) }

// Fill writes the next samples of the tone into buf and returns how many
// it wrote: fewer than len(buf) only at the end, 0 once the tone is over.
func (g *ToneGenerator) Fill(buf []int16) int {
	n := min(len(buf), g.total-g.pos)
	for i := range n {
		a := g.amp
		if k := g.pos + i; k < g.fade {
			a *= float64(k) / float64(g.fade)
		} else if r := g.total - 1 - k; r < g.fade {
			a *= float64(r) / float64(g.fade)
		}
		buf[i] = int16(math.Round(a * math.Sin(g.phase)))
		g.phase += g.stepRd
		if g.phase >= 2*math.Pi {
			g.phase -= 2 * math.Pi
		}
	}
	g.pos += n
	return n
}

// Done reports whether the whole tone was generated.
func (g *ToneGenerator) Done() bool { return g.pos >= g.total }

// PlayTone writes the rest of g to the speaker in 20 ms frames and returns
// when the last frame is queued.
func PlayTone(ctx context.Context, sp Speakerphone, g *ToneGenerator) error {
	buf := make([]int16, SampleRate/50)
	for {
		n := g.Fill(buf)
		if n == 0 {
			return nil
		}
		if err := sp.Write(ctx, buf[:n]); err != nil {
			return fmt.Errorf("play test tone: %w", err)
		}
	}
}
