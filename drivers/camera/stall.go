package camera

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"roomkit/drivers"
)

// StallLimit is how long a read may wait for a frame before the camera
// counts as failed. A UVC camera in a dark room slows to a few frames a
// second and takes a second or two to its first frame after opening;
// nothing healthy is silent for ten.
const StallLimit = 10 * time.Second

// StallError is what a read returns when the camera sent no frame for the
// limit: the camera kept its stream on and said nothing (a UVC camera
// whose firmware hung does that; DQBUF simply never returns).
type StallError struct {
	Quiet time.Duration // since the last frame, across reopens
}

func (e *StallError) Error() string { return fmt.Sprintf("camera: no frames for %d s", e.seconds()) }

func (e *StallError) seconds() int64 { return int64(e.Quiet.Round(time.Second) / time.Second) }

// Clock is the time a StallWatch goes by; nil means the real one. Tests
// give a clock they advance, so they wait for events and not for seconds.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d, unless stop is
	// called first.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// StallWatch is a Camera that notices when the camera it wraps stops
// sending frames without an error. A read that gets no frame within the
// limit returns a *StallError; the camera is then closed and opened again
// through open (for V4L2 that stops and restarts the stream, which is what
// gets a hung UVC camera going), and until a frame arrives Status names the
// silence: "No frames for 12 s; the camera was reopened."
//
// Like every Camera, Next must not be called concurrently with itself; the
// other methods are safe for concurrent use, and Close wakes a blocked Next.
type StallWatch struct {
	open  func() (Camera, error)
	limit time.Duration
	clock Clock

	mu      sync.Mutex
	cur     Camera    // nil after a failed reopen
	info    Info      // the last camera's, for Info while none is open
	lastRx  time.Time // the last frame, or when watching started
	quiet   time.Time // start of the silence that made reads fail; zero while frames flow
	stalled *StallError
	openErr error // why the last reopen failed
	closed  bool
}

// errNoFrames cancels a read that waited too long.
var errNoFrames = errors.New("no frame within the stall limit")

// WatchStalls opens a camera through open and watches it: limit is
// StallLimit if zero, clock the real one if nil. A camera that cannot be
// opened now is tried again at each read, and Status says why meanwhile.
func WatchStalls(open func() (Camera, error), limit time.Duration, clock Clock) *StallWatch {
	if limit <= 0 {
		limit = StallLimit
	}
	if clock == nil {
		clock = realClock{}
	}
	s := &StallWatch{open: open, limit: limit, clock: clock, lastRx: clock.Now()}
	s.mu.Lock()
	s.reopenLocked()
	s.mu.Unlock()
	return s
}

// reopenLocked opens the camera again; s.mu is held. Opening under the
// lock keeps Close from missing a camera opened meanwhile; nothing else
// waits on it but Status.
func (s *StallWatch) reopenLocked() {
	c, err := s.open()
	if err != nil {
		s.openErr = fmt.Errorf("open camera: %w", err)
		slog.Warn("camera cannot be opened", "err", err)
		return
	}
	s.cur, s.info, s.openErr = c, c.Info(), nil
}

// camera returns the camera to read, opening it again if the last attempt
// failed.
func (s *StallWatch) camera() (Camera, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("camera: %w", os.ErrClosed)
	}
	if s.cur == nil {
		s.reopenLocked()
	}
	if s.cur == nil {
		return nil, s.openErr
	}
	return s.cur, nil
}

// Next returns the wrapped camera's next frame, or a *StallError when none
// came within the limit.
func (s *StallWatch) Next(ctx context.Context) (Frame, error) {
	c, err := s.camera()
	if err != nil {
		return Frame{}, err
	}
	start := s.clock.Now()
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := s.clock.AfterFunc(s.limit, func() { cancel(errNoFrames) })
	f, err := c.Next(rctx)
	stop()
	if err == nil {
		s.mu.Lock()
		s.lastRx, s.quiet, s.stalled = s.clock.Now(), time.Time{}, nil
		s.mu.Unlock()
		return f, nil
	}
	if ctx.Err() != nil || !errors.Is(context.Cause(rctx), errNoFrames) {
		return f, err
	}
	return Frame{}, s.stall(c, start)
}

// stall marks the camera failed, closes it and opens it again.
func (s *StallWatch) stall(c Camera, start time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quiet.IsZero() {
		// Counted from the last frame, or from this read if nobody asked
		// for frames since: an unread camera is not a silent one.
		s.quiet = s.lastRx
		if start.After(s.quiet) {
			s.quiet = start
		}
	}
	s.stalled = &StallError{Quiet: s.clock.Now().Sub(s.quiet)}
	slog.Warn("camera stopped sending frames; reopening it", "camera", c.Info().Name, "err", s.stalled)
	if s.closed || s.cur != c {
		return s.stalled
	}
	s.cur = nil
	if err := c.Close(); err != nil {
		slog.Warn("closing the silent camera", "err", err)
	}
	s.reopenLocked()
	return s.stalled
}

// Info describes the camera, or the last one while none is open.
func (s *StallWatch) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		return s.cur.Info()
	}
	return s.info
}

// RequestKeyframe forwards to the camera.
func (s *StallWatch) RequestKeyframe() {
	s.mu.Lock()
	c := s.cur
	s.mu.Unlock()
	if c != nil {
		c.RequestKeyframe()
	}
}

// Status is the camera's own, with the silence added while reads get no
// frames: the camera itself still thinks it streams.
func (s *StallWatch) Status() drivers.Status {
	s.mu.Lock()
	c, stalled, openErr, info := s.cur, s.stalled, s.openErr, s.info
	s.mu.Unlock()
	st := drivers.Status{Kind: "camera", Name: info.Name}
	if c != nil {
		st = c.Status()
	} else if openErr != nil {
		st.Error = openErr.Error()
	}
	if stalled == nil {
		return st
	}
	switch {
	case c == nil:
		st.Error = fmt.Sprintf("No frames for %d s, and the camera could not be opened again: %v", stalled.seconds(), openErr)
	case st.Error == "":
		st.Error = fmt.Sprintf("No frames for %d s; the camera was reopened.", stalled.seconds())
	}
	// Otherwise the camera's own words (unplugged, say) explain the silence.
	return st
}

// Close closes the camera; a blocked Next returns.
func (s *StallWatch) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.cur == nil {
		return nil
	}
	return s.cur.Close()
}

var _ Camera = (*StallWatch)(nil)
