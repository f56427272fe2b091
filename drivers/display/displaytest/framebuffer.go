// Package displaytest has a fake display: an in-memory framebuffer that
// remembers the last frame shown.
package displaytest

import (
	"fmt"
	"image"
	"image/draw"
	"sync"

	"roomkit/drivers"
	"roomkit/internal/offheap"
)

// Framebuffer is an in-memory display, a display.Canvas. It is safe for
// concurrent use.
type Framebuffer struct {
	mu     sync.Mutex
	frame  *image.RGBA
	frames int
}

// New returns a blank framebuffer of the given size.
func New(width, height int) *Framebuffer {
	return &Framebuffer{frame: offheap.RGBA(image.Rect(0, 0, width, height))}
}

func (f *Framebuffer) Bounds() image.Rectangle { return f.frame.Bounds() }

func (f *Framebuffer) Show(img *image.RGBA) error {
	if img.Bounds() != f.frame.Bounds() {
		return fmt.Errorf("show frame of %v on a %v framebuffer", img.Bounds(), f.frame.Bounds())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	draw.Draw(f.frame, f.frame.Bounds(), img, image.Point{}, draw.Src)
	f.frames++
	return nil
}

// Draw lends draw the frame itself (display.Canvas): the UI draws straight
// into it, under the lock, so Frame never returns half a frame.
func (f *Framebuffer) Draw(draw func(dst *image.RGBA)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	draw(f.frame)
	f.frames++
	return nil
}

// Frame returns a copy of what the screen shows now.
func (f *Framebuffer) Frame() *image.RGBA {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := image.NewRGBA(f.frame.Bounds())
	copy(c.Pix, f.frame.Pix)
	return c
}

// Frames counts the frames shown so far.
func (f *Framebuffer) Frames() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.frames
}

func (f *Framebuffer) Status() drivers.Status {
	return drivers.Status{Kind: "display", Name: "In-memory framebuffer", Present: true}
}

func (f *Framebuffer) Close() error { return nil }
