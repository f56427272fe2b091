package cameratest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"roomkit/drivers/camera"
)

// fakeClock makes the synthetic camera run without real sleeping.
func fakeClock(s *Synthetic) *[]time.Duration {
	t := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	var slept []time.Duration
	s.now = func() time.Time { return t }
	s.sleep = func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		slept = append(slept, d)
		t = t.Add(d)
		return nil
	}
	return &slept
}

func TestSyntheticFrames(t *testing.T) {
	s := NewSynthetic(1280, 720, 30)
	slept := fakeClock(s)
	ctx := context.Background()

	f0, err := s.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := bytes.Clone(f0.Data)
	if want := 1280 * 720 * 3 / 2; len(first) != want {
		t.Fatalf("I420 frame is %d bytes, want %d", len(first), want)
	}
	if !f0.Keyframe {
		t.Error("first frame is not marked as a keyframe")
	}
	f1, err := s.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first, f1.Data) {
		t.Error("two consecutive frames are identical: the pattern does not move")
	}
	if len(*slept) != 1 || (*slept)[0] < 33*time.Millisecond || (*slept)[0] > 34*time.Millisecond {
		t.Errorf("waited %v between frames, want one wait of 1/30 s", *slept)
	}
	if f1.Timestamp <= f0.Timestamp {
		t.Errorf("timestamps do not advance: %v then %v", f0.Timestamp, f1.Timestamp)
	}
}

func TestBarsAndClock(t *testing.T) {
	const w, h = 640, 480
	buf := make([]byte, w*h*3/2)
	at := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	Draw(buf, w, h, 0, at)
	row := h / 2 // below the clock band, above the sweeping box
	for _, tc := range []struct {
		name string
		x    int
		y    byte
	}{
		{"white", w / 16, 180}, {"yellow", 3 * w / 16, 162}, {"blue", 13 * w / 16, 35}, {"black", 15 * w / 16, 16},
	} {
		if got := buf[row*w+tc.x]; got != tc.y {
			t.Errorf("%s bar at x=%d: Y=%d, want %d", tc.name, tc.x, got, tc.y)
		}
	}
	band := (h / 40) * 12 * w
	clockAt := bytes.Clone(buf[:band])
	Draw(buf, w, h, 0, at.Add(time.Second))
	if bytes.Equal(clockAt, buf[:band]) {
		t.Error("the clock band did not change when the time advanced by a second")
	}
}

func TestUnplugAndCancel(t *testing.T) {
	s := NewSynthetic(320, 240, 30)
	fakeClock(s)
	s.Unplug()
	if _, err := s.Next(context.Background()); !errors.Is(err, camera.ErrUnplugged) {
		t.Errorf("Next after Unplug: %v, want ErrUnplugged", err)
	}
	if st := s.Status(); st.Present || st.Error == "" {
		t.Errorf("status after unplug = %+v, want not present with an error to show", st)
	}
	s.Replug()
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := s.Next(ctx); err != nil {
		t.Fatalf("first frame after replug: %v", err)
	}
	cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with a cancelled context: %v, want context.Canceled", err)
	}
}

// A camera behind its frame times (a starved machine) has no sleep in
// which to notice a cancelled context; its reader must stop all the same.
func TestCancelWhenBehind(t *testing.T) {
	s := NewSynthetic(320, 240, 30)
	now := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	s.sleep = func(context.Context, time.Duration) error { t.Fatal("slept though behind"); return nil }
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := s.Next(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour) // far behind: every frame is due at once
	if _, err := s.Next(ctx); err != nil {
		t.Fatalf("a frame due long ago: %v", err)
	}
	cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next behind schedule with a cancelled context: %v, want context.Canceled", err)
	}
}

// A camera read again after a pause goes on from the frame of now, one
// frame time apart, as a real one does: no burst of missed frames.
func TestNoBurstAfterPause(t *testing.T) {
	s := NewSynthetic(320, 240, 30)
	slept := fakeClock(s)
	ctx := context.Background()
	if _, err := s.Next(ctx); err != nil {
		t.Fatal(err)
	}
	*slept = nil
	s.sleep(ctx, 10*time.Second) // the pause: nobody reads
	var ts []time.Duration
	for range 3 {
		f, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, f.Timestamp)
	}
	if ts[0] < 10*time.Second || ts[0] > 10*time.Second+34*time.Millisecond {
		t.Errorf("first frame after a 10 s pause is stamped %v, want the frame of now", ts[0])
	}
	if len(*slept) != 3 || (*slept)[1] < 33*time.Millisecond || (*slept)[2] < 33*time.Millisecond {
		t.Errorf("waits %v after the pause, want the pause and then one frame time before each later frame", *slept)
	}
}

func TestDrawTinyFrames(t *testing.T) {
	for _, size := range [][2]int{{16, 16}, {32, 24}, {2, 2}} {
		w, h := size[0], size[1]
		buf := make([]byte, w*h*3/2)
		Draw(buf, w, h, 7, time.Now()) // must not panic
	}
}

func BenchmarkDraw720p(b *testing.B) {
	buf := make([]byte, 1280*720*3/2)
	at := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Draw(buf, 1280, 720, i, at)
	}
}
