package camera

import (
	"context"
	"errors"
	"image"
	"sync/atomic"
	"time"
)

// SelfView is a camera as a meeting reads it: frames pass through
// untouched, and every Every it keeps a small copy of the frame it
// passed on, for the screen's self-view (Latest). Turned off (SetOff),
// it keeps no copy, so the screen shows no picture of a room whose
// camera is off.
//
// Next is called by one reader (the camera's contract); Latest and
// SetOff may be called from any goroutine.
type SelfView struct {
	Camera
	// Every is how often a copy is made; MaxWidth bounds its width.
	Every    time.Duration
	MaxWidth int

	off  atomic.Bool
	last atomic.Pointer[image.Image]
	conv Converter
	next time.Time // when the next copy is due; Next's alone
}

// NewSelfView wraps cam with a copy every every (MJPEG cameras need a
// decode for it, which costs more: give them a longer interval) at most
// maxW wide.
func NewSelfView(cam Camera, every time.Duration, maxW int) *SelfView {
	return &SelfView{Camera: cam, Every: every, MaxWidth: maxW}
}

// Next reads the next frame from the camera.
func (c *SelfView) Next(ctx context.Context) (Frame, error) {
	f, err := c.Camera.Next(ctx)
	if err != nil {
		// No frame (the camera was unplugged): the self-view must not
		// keep showing the room as it was.
		c.last.Store(nil)
		return f, err
	}
	if c.off.Load() {
		return f, nil
	}
	if now := time.Now(); now.After(c.next) {
		c.next = now.Add(c.Every)
		var img image.Image
		p, perr := Preview(&c.conv, c.Camera.Info(), f, c.MaxWidth)
		switch {
		case perr == nil:
			img = p
		case errors.Is(perr, ErrNeedsDecoder):
			img = H264Placeholder()
		}
		if img != nil {
			c.last.Store(&img)
		}
	}
	return f, nil
}

// SetOff turns the self-view off (no copy kept, Latest is nil) or on.
func (c *SelfView) SetOff(off bool) {
	c.off.Store(off)
	if off {
		c.last.Store(nil)
	}
}

// Latest is the last copy, or nil: off, unplugged, or no frame yet.
func (c *SelfView) Latest() image.Image {
	if p := c.last.Load(); p != nil {
		return *p
	}
	return nil
}
