// Package simulator is the development screen simulator: a display and an
// input device in one, served to a browser. The browser shows the latest
// frame scaled to its window and turns a click into a tap.
//
// It stands in for the framebuffer and the touch screen when roomd runs with
// simulated devices, so the real UI code runs unchanged on a laptop.
package simulator

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"sync"

	"roomkit/drivers"
	"roomkit/drivers/input"
)

// queueLen is how many input events may wait for the UI before taps are
// refused: a UI that is that far behind is stuck, and the browser should
// hear about it rather than block.
const queueLen = 64

// errClosed is returned by Show after Close.
var errClosed = errors.New("screen simulator is closed")

// Simulator is a display and an input source. It is safe for concurrent
// use: the UI shows frames and reads events while browsers fetch frames
// and send taps.
type Simulator struct {
	size   image.Point
	events chan input.Event

	mu      sync.Mutex
	frame   *image.RGBA // latest frame; never modified once published
	seq     uint64      // counts published frames; 0 is the blank start frame
	changed chan struct{}
	closed  bool
	done    chan struct{}

	// encMu serialises PNG encoding so that browsers asking at once share
	// one encoding per frame.
	encMu  sync.Mutex
	pngSeq uint64
	png    []byte
}

// New returns a simulator of a screen of the given size, showing black.
func New(size image.Point) *Simulator {
	return &Simulator{
		size:    size,
		events:  make(chan input.Event, queueLen),
		frame:   image.NewRGBA(image.Rectangle{Max: size}),
		changed: make(chan struct{}),
		done:    make(chan struct{}),
		pngSeq:  ^uint64(0),
	}
}

// Bounds is the simulated screen's size.
func (s *Simulator) Bounds() image.Rectangle { return image.Rectangle{Max: s.size} }

// Show publishes a copy of img as the screen's new frame and tells the
// browsers. A frame identical to the current one is not announced again.
func (s *Simulator) Show(img *image.RGBA) error {
	if img.Bounds().Size() != s.size {
		return fmt.Errorf("show frame of %v on a %v screen simulator", img.Bounds().Size(), s.size)
	}
	// Copy outside the lock. A fresh image per frame (rather than one
	// reused buffer) lets PNG encoding read a frame without holding the
	// lock while the UI publishes the next one.
	c := image.NewRGBA(image.Rectangle{Max: s.size})
	for y := 0; y < s.size.Y; y++ {
		o := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y)
		copy(c.Pix[y*c.Stride:(y+1)*c.Stride], img.Pix[o:o+4*s.size.X])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	if bytes.Equal(c.Pix, s.frame.Pix) {
		return nil
	}
	s.frame = c
	s.seq++
	close(s.changed) // wake every /events stream
	s.changed = make(chan struct{})
	return nil
}

// current returns the latest frame, its number, and a channel closed when
// a newer frame arrives.
func (s *Simulator) current() (*image.RGBA, uint64, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frame, s.seq, s.changed
}

// framePNG returns the latest frame encoded as PNG, encoding it only the
// first time a browser asks for it.
func (s *Simulator) framePNG() ([]byte, uint64, error) {
	s.encMu.Lock()
	defer s.encMu.Unlock()
	frame, seq, _ := s.current()
	if seq == s.pngSeq {
		return s.png, seq, nil
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, frame); err != nil {
		return nil, 0, fmt.Errorf("encode frame %d: %w", seq, err)
	}
	s.png, s.pngSeq = buf.Bytes(), seq
	return s.png, seq, nil
}

// tap queues a touch down and up at p, both or neither.
func (s *Simulator) tap(p image.Point) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	// Only the UI receives from events and only this method (under mu)
	// sends, so checking for room for both events is race free.
	if cap(s.events)-len(s.events) < 2 {
		return errors.New("the UI is not reading input: too many taps are waiting")
	}
	s.events <- input.Event{Kind: input.Down, X: p.X, Y: p.Y}
	s.events <- input.Event{Kind: input.Up, X: p.X, Y: p.Y}
	return nil
}

// Events delivers the browser's taps, already in screen pixels. It is
// closed by Close.
func (s *Simulator) Events() <-chan input.Event { return s.events }

// Status describes the simulator as a display. Input returns a view of it
// that describes itself as an input device.
func (s *Simulator) Status() drivers.Status {
	return drivers.Status{Kind: "display", Name: "Browser screen simulator", Present: true}
}

// Input returns the simulator as an input source whose Status says "input",
// for status reports that list devices by kind.
func (s *Simulator) Input() input.Source { return inputView{s} }

type inputView struct{ *Simulator }

func (v inputView) Status() drivers.Status {
	return drivers.Status{Kind: "input", Name: "Browser screen simulator", Present: true}
}

// Close ends the event stream and the browsers' frame streams. Later
// frames and taps are refused. Closing twice is harmless.
func (s *Simulator) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.events)
	close(s.done)
	return nil
}
