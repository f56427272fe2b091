// Package cameratest has fake cameras: a synthetic one that draws a moving
// test pattern with a running clock (the demo's camera), so a viewer can
// tell at a glance that video is live and how late it is.
package cameratest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"roomkit/drivers"
	"roomkit/drivers/camera"
	"roomkit/internal/clock"
)

// Synthetic is a camera that produces I420 frames at a fixed rate.
type Synthetic struct {
	info  camera.Info
	frame []byte // reused: Frame.Data is valid until the next Next

	// now and sleep are the clock; tests replace them.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu        sync.Mutex
	start     time.Time
	n         int // frames produced
	unplugged bool
	keyframes int
}

// NewSynthetic returns a synthetic camera of the given size (even numbers)
// and frame rate.
func NewSynthetic(width, height int, fps float64) *Synthetic {
	return &Synthetic{
		info: camera.Info{
			Name: "Synthetic camera", Path: "synthetic",
			Format: camera.I420, Width: width &^ 1, Height: height &^ 1, FPS: fps,
		},
		frame: make([]byte, (width&^1)*(height&^1)*3/2),
		now:   time.Now,
		sleep: clock.Sleep,
	}
}

func (s *Synthetic) Info() camera.Info { return s.info }

// Next waits for the next frame time and draws the frame.
func (s *Synthetic) Next(ctx context.Context) (camera.Frame, error) {
	// A camera behind its frame times never sleeps; without this its
	// reader could never be stopped (a meeting's Leave waited for ever on
	// a starved machine).
	if err := ctx.Err(); err != nil {
		return camera.Frame{}, err
	}
	s.mu.Lock()
	if s.unplugged {
		s.mu.Unlock()
		return camera.Frame{}, fmt.Errorf("read %s: %w", s.info.Path, camera.ErrUnplugged)
	}
	if s.start.IsZero() {
		s.start = s.now()
	}
	// A real camera's sensor keeps its rate whether or not it is read,
	// and the driver drops the frames nobody took: a reader back after a
	// pause (the kit reads its camera only now and then outside meetings)
	// gets the frame of now and then one per frame time, never a burst of
	// the frames it missed. A burst made a meeting's first seconds encode
	// as fast as the CPU allowed, faster than any kit's camera delivers.
	n := max(s.n, int(s.now().Sub(s.start).Seconds()*s.info.FPS))
	s.n = n + 1
	s.mu.Unlock()

	due := time.Duration(float64(n) / s.info.FPS * float64(time.Second))
	if wait := due - s.now().Sub(s.start); wait > 0 {
		if err := s.sleep(ctx, wait); err != nil {
			return camera.Frame{}, err
		}
	}
	Draw(s.frame, s.info.Width, s.info.Height, n, s.start.Add(due))
	return camera.Frame{Data: s.frame, Timestamp: due, Keyframe: n == 0}, nil
}

// RequestKeyframe is counted; raw frames are always "key" frames.
func (s *Synthetic) RequestKeyframe() {
	s.mu.Lock()
	s.keyframes++
	s.mu.Unlock()
}

// Unplug makes the camera behave as if its cable was pulled.
func (s *Synthetic) Unplug() {
	s.mu.Lock()
	s.unplugged = true
	s.mu.Unlock()
}

// Replug undoes Unplug. The camera starts streaming afresh, as a real one
// that was reopened does: no burst of the frames it missed, and a keyframe.
func (s *Synthetic) Replug() {
	s.mu.Lock()
	s.unplugged = false
	s.start, s.n = time.Time{}, 0
	s.mu.Unlock()
}

func (s *Synthetic) Status() drivers.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := drivers.Status{Kind: "camera", Name: s.info.Name, Present: !s.unplugged}
	if s.unplugged {
		st.Error = "The camera is unplugged. Check its USB cable."
	}
	return st
}

func (s *Synthetic) Close() error { return nil }
