package camera_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"roomkit/drivers"
	"roomkit/drivers/camera"
)

// gatedCamera hands out a frame (or an error) only when the test sends
// one, and says when a reader is waiting in Next: the tests follow the
// readers by events, not by time.
type gatedCamera struct {
	entered chan struct{}
	answers chan error // nil: a frame
	inNext  atomic.Bool
	overlap atomic.Bool // Next was called concurrently
	calls   atomic.Int64
}

func newGatedCamera() *gatedCamera {
	return &gatedCamera{entered: make(chan struct{}, 8), answers: make(chan error, 8)}
}

func (c *gatedCamera) Info() camera.Info {
	return camera.Info{Name: "Gated camera", Format: camera.I420, Width: 4, Height: 2}
}

func (c *gatedCamera) Next(ctx context.Context) (camera.Frame, error) {
	if !c.inNext.CompareAndSwap(false, true) {
		c.overlap.Store(true)
	}
	defer c.inNext.Store(false)
	c.calls.Add(1)
	c.entered <- struct{}{}
	select {
	case <-ctx.Done():
		return camera.Frame{}, ctx.Err()
	case err := <-c.answers:
		if err != nil {
			return camera.Frame{}, err
		}
		return camera.Frame{Data: make([]byte, 12)}, nil
	}
}

func (c *gatedCamera) RequestKeyframe()       {}
func (c *gatedCamera) Status() drivers.Status { return drivers.Status{Kind: "camera", Present: true} }
func (c *gatedCamera) Close() error           { return nil }

func TestSharedRead(t *testing.T) {
	unplugged := errors.New("read /dev/video0: camera unplugged")
	for _, tc := range []struct {
		name     string
		held     bool
		answer   error // what the camera answers, when it is read
		wantRead bool
		wantErr  error
		wantUsed bool
	}{
		{"a frame", false, nil, true, nil, true},
		{"the camera fails", false, unplugged, true, unplugged, false},
		{"held: not read at all", true, nil, false, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cam := newGatedCamera()
			s := camera.NewShared(cam)
			if tc.held {
				defer s.Hold()()
			}
			cam.answers <- tc.answer
			used := false
			read, err := s.Read(t.Context(), func(camera.Frame) { used = true })
			if read != tc.wantRead || !errors.Is(err, tc.wantErr) && err != tc.wantErr || used != tc.wantUsed {
				t.Errorf("Read: read %v, err %v, frame used %v; want %v, %v, %v", read, err, used, tc.wantRead, tc.wantErr, tc.wantUsed)
			}
			if tc.held && cam.calls.Load() != 0 {
				t.Error("a held camera was read")
			}
		})
	}
}

// A holder never waits for the kit's reader: Hold cancels the read in
// progress, and the reader stays out until release.
func TestSharedHoldCancelsRead(t *testing.T) {
	cam := newGatedCamera()
	s := camera.NewShared(cam)
	type result struct {
		read bool
		err  error
	}
	done := make(chan result)
	go func() {
		read, err := s.Read(context.Background(), func(camera.Frame) { t.Error("a cancelled read used a frame") })
		done <- result{read, err}
	}()
	<-cam.entered // the reader waits for a frame
	release := s.Hold()
	if r := <-done; r.read || r.err != nil {
		t.Errorf("the read cut short by Hold: read %v, err %v; want neither", r.read, r.err)
	}
	// The holder reads alone.
	cam.answers <- nil
	if _, err := s.Camera().Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-cam.entered
	if read, _ := s.Read(context.Background(), func(camera.Frame) {}); read {
		t.Error("read while held")
	}
	release()
	release() // twice is harmless
	cam.answers <- nil
	if read, err := s.Read(context.Background(), func(camera.Frame) {}); !read || err != nil {
		t.Errorf("after release: read %v, err %v", read, err)
	}
	if cam.overlap.Load() {
		t.Error("Next was called concurrently")
	}
}
