package camera_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"roomkit/drivers/camera"
	"roomkit/drivers/camera/v4l2"
)

// fakeClock is time the test moves. AfterFunc's functions run when Advance
// passes their time; armed tells the test that a read is waiting.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*fakeTimer]bool
	armed  chan struct{}
}

type fakeTimer struct {
	at time.Time
	f  func()
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 12, 5, 9, 14, 0, 0, time.UTC), timers: map[*fakeTimer]bool{}, armed: make(chan struct{}, 16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers[t] = true
	c.mu.Unlock()
	c.armed <- struct{}{}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		pending := c.timers[t]
		delete(c.timers, t)
		return pending
	}
}

// Advance moves the time on by d and runs what fell due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for t := range c.timers {
		if !t.at.After(c.now) {
			due = append(due, t.f)
			delete(c.timers, t)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		go f()
	}
}

// stalledFixture is a recorded camera that sends two frames and then keeps
// its stream on in silence.
const stalledFixture = "v4l2/testdata/uvc-mjpeg-stalled.v4l2"

// opener opens the stalled fixture, then fails if told to, and keeps
// every camera it opened.
type opener struct {
	mu     sync.Mutex
	opened []camera.Camera
	fail   error // for the opens after the first
	silent bool  // the camera comes back silent: its frames already read
}

func (o *opener) open() (camera.Camera, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.opened) > 0 && o.fail != nil {
		return nil, o.fail
	}
	c, err := v4l2.OpenFixture(stalledFixture, v4l2.Options{})
	if err != nil {
		return nil, err
	}
	if o.silent {
		for range 2 {
			if _, err := c.Next(context.Background()); err != nil {
				return nil, err
			}
		}
	}
	o.opened = append(o.opened, c)
	return c, nil
}

func (o *opener) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.opened)
}

// readAll reads the fixture's two frames.
func readAll(t *testing.T, w *camera.StallWatch, clock *fakeClock) {
	t.Helper()
	for i := range 2 {
		if _, err := w.Next(context.Background()); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		<-clock.armed
	}
}

// waitingRead starts a read and returns once it waits for a frame.
func waitingRead(ctx context.Context, w *camera.StallWatch, clock *fakeClock) <-chan error {
	done := make(chan error, 1)
	go func() { _, err := w.Next(ctx); done <- err }()
	<-clock.armed
	return done
}

func TestStallWatch(t *testing.T) {
	tests := []struct {
		name       string
		reopenErr  error
		wantErr    string
		wantStatus string
		wantOpens  int
		wantPresnt bool
	}{
		{"reopened", nil, "camera: no frames for 12 s",
			"No frames for 12 s; the camera was reopened.", 2, true},
		{"reopen fails", errors.New("no camera in /dev"), "camera: no frames for 12 s",
			"No frames for 12 s, and the camera could not be opened again: open camera: no camera in /dev", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			o := &opener{fail: tt.reopenErr}
			w := camera.WatchStalls(o.open, 10*time.Second, clock)
			defer w.Close()
			readAll(t, w, clock)

			done := waitingRead(context.Background(), w, clock)
			clock.Advance(12 * time.Second)
			err := <-done
			var stall *camera.StallError
			if !errors.As(err, &stall) || err.Error() != tt.wantErr {
				t.Fatalf("read from the silent camera: %v, want %q", err, tt.wantErr)
			}
			if n := o.count(); n != tt.wantOpens {
				t.Errorf("camera opened %d times, want %d", n, tt.wantOpens)
			}
			if st := o.opened[0].Status(); st.Present {
				t.Errorf("the silent camera was not closed: %+v", st)
			}
			st := w.Status()
			if st.Kind != "camera" || st.Present != tt.wantPresnt || st.Error != tt.wantStatus {
				t.Errorf("status %+v, want present %v and %q", st, tt.wantPresnt, tt.wantStatus)
			}
			if tt.reopenErr != nil {
				if _, err := w.Next(context.Background()); !errors.Is(err, tt.reopenErr) {
					t.Errorf("read while the camera cannot be opened: %v", err)
				}
				return
			}
			// The reopened camera streams: the failure is over.
			if _, err := w.Next(context.Background()); err != nil {
				t.Fatalf("read from the reopened camera: %v", err)
			}
			<-clock.armed
			if st := w.Status(); !st.Present || st.Error != "" {
				t.Errorf("status once frames flow again: %+v", st)
			}
		})
	}
}

// TestStallWatchCountsTheSilence: the time in the error runs from the last
// frame across reopens, and only while someone reads: a camera nobody read
// for a minute is not silent.
func TestStallWatchCountsTheSilence(t *testing.T) {
	clock := newFakeClock()
	o := &opener{}
	w := camera.WatchStalls(o.open, 10*time.Second, clock)
	defer w.Close()
	readAll(t, w, clock)
	clock.Advance(time.Minute) // nobody reads

	done := waitingRead(context.Background(), w, clock)
	clock.Advance(10 * time.Second)
	if err := <-done; err == nil || err.Error() != "camera: no frames for 10 s" {
		t.Fatalf("first silence: %v", err)
	}
	// The reopened camera was silent too (the next one will be): the
	// silence goes on.
	o.mu.Lock()
	o.silent = true
	o.mu.Unlock()
	readAll(t, w, clock)
	done = waitingRead(context.Background(), w, clock)
	clock.Advance(10 * time.Second)
	if err := <-done; err == nil || err.Error() != "camera: no frames for 10 s" {
		t.Fatalf("silence after the reopened camera's frames: %v", err)
	}
	done = waitingRead(context.Background(), w, clock)
	clock.Advance(10 * time.Second)
	if err := <-done; err == nil || err.Error() != "camera: no frames for 20 s" {
		t.Fatalf("silence across a reopen: %v", err)
	}
}

// TestStallWatchLeavesOtherEnds: a read the caller ends, or a camera that
// goes away, is not a silence.
func TestStallWatchLeavesOtherEnds(t *testing.T) {
	clock := newFakeClock()
	o := &opener{}
	w := camera.WatchStalls(o.open, 10*time.Second, clock)
	readAll(t, w, clock)

	ctx, cancel := context.WithCancel(context.Background())
	done := waitingRead(ctx, w, clock)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("read the caller ended: %v", err)
	}
	if st := w.Status(); st.Error != "" || o.count() != 1 {
		t.Errorf("after a cancelled read: status %+v, %d opens", st, o.count())
	}

	done = waitingRead(context.Background(), w, clock)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, os.ErrClosed) {
		t.Errorf("read when closed: %v", err)
	}
	if _, err := w.Next(context.Background()); !errors.Is(err, os.ErrClosed) {
		t.Errorf("read after Close: %v", err)
	}
	if o.count() != 1 {
		t.Errorf("closing reopened the camera")
	}
}
