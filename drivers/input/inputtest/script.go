// Package inputtest has a fake input device that replays scripted events.
package inputtest

import (
	"sync"

	"roomkit/drivers"
	"roomkit/drivers/input"
)

// Script is an input source fed by the test.
type Script struct {
	ch   chan input.Event
	once sync.Once
}

// New returns a script source with room for n queued events.
func New(n int) *Script { return &Script{ch: make(chan input.Event, n)} }

// Tap queues a touch down and up at x,y.
func (s *Script) Tap(x, y int) {
	s.ch <- input.Event{Kind: input.Down, X: x, Y: y}
	s.ch <- input.Event{Kind: input.Up, X: x, Y: y}
}

// Send queues one event.
func (s *Script) Send(e input.Event) { s.ch <- e }

func (s *Script) Events() <-chan input.Event { return s.ch }

func (s *Script) Status() drivers.Status {
	return drivers.Status{Kind: "input", Name: "Scripted input", Present: true}
}

// Close ends the event stream, as an unplugged device would.
func (s *Script) Close() error {
	s.once.Do(func() { close(s.ch) })
	return nil
}
