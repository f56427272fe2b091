package audiotest

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"roomkit/drivers/audio"
)

func fakeClock(s *Synthetic) *time.Duration {
	t := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	var slept time.Duration
	s.now = func() time.Time { return t }
	s.sleep = func(ctx context.Context, d time.Duration) error {
		slept += d
		t = t.Add(d)
		return ctx.Err()
	}
	return &slept
}

// zeroCrossings estimates a tone's frequency the way a test listener would.
func zeroCrossings(buf []int16) float64 {
	n := 0
	for i := 1; i < len(buf); i++ {
		if (buf[i-1] < 0) != (buf[i] < 0) {
			n++
		}
	}
	return float64(n) / 2 / (float64(len(buf)) / audio.SampleRate)
}

func TestToneFrequencyAndPacing(t *testing.T) {
	for _, hz := range []float64{440, 1000} {
		s := NewSynthetic(hz)
		slept := fakeClock(s)
		buf := make([]int16, audio.SampleRate/50) // 20 ms, one Opus frame
		var all []int16
		for range 50 { // one second
			if err := s.Read(context.Background(), buf); err != nil {
				t.Fatal(err)
			}
			all = append(all, buf...)
		}
		if got := zeroCrossings(all); math.Abs(got-hz) > 2 {
			t.Errorf("tone of %v Hz measures %.1f Hz", hz, got)
		}
		if *slept < 990*time.Millisecond || *slept > time.Second {
			t.Errorf("one second of samples took %v of waiting, want ~1 s (real-time pacing)", *slept)
		}
	}
}

func TestSpeakerLevelAndVolume(t *testing.T) {
	s := NewSynthetic(0)
	loud := []int16{10000, -20000, 5000}
	for _, tc := range []struct {
		volume int
		want   int16
	}{{100, 20000}, {50, 10000}, {0, 0}, {150, 20000}} {
		s.SetVolume(tc.volume)
		if err := s.Write(context.Background(), loud); err != nil {
			t.Fatal(err)
		}
		if peak, _ := s.Level(); peak != tc.want {
			t.Errorf("volume %d: speaker peak %d, want %d", tc.volume, peak, tc.want)
		}
	}
}

func TestUnplugged(t *testing.T) {
	s := NewSynthetic(440)
	fakeClock(s)
	s.Unplug()
	buf := make([]int16, 960)
	if err := s.Read(context.Background(), buf); !errors.Is(err, audio.ErrUnplugged) {
		t.Errorf("Read unplugged: %v", err)
	}
	if err := s.Write(context.Background(), buf); !errors.Is(err, audio.ErrUnplugged) {
		t.Errorf("Write unplugged: %v", err)
	}
	if st := s.Status(); st.Present || st.Error == "" {
		t.Errorf("status %+v, want absent with an error", st)
	}
	s.Replug()
	if err := s.Read(context.Background(), buf); err != nil {
		t.Errorf("Read after replug: %v", err)
	}
}
