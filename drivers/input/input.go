// Package input delivers taps, pointer moves and keys to the UI, in screen
// pixels. Drivers: evdev on a kit (touch screens, tablets, mice, keyboards);
// the browser screen simulator in the demo; scripted events in tests.
package input

import (
	"roomkit/drivers"
)

// Kind says what happened.
type Kind int

const (
	Down Kind = iota + 1 // finger or button down at X,Y
	Move                 // moved while down
	Up                   // lifted at X,Y: a tap completes here
	Key                  // a key press; Key names it ("Enter", "Backspace", "5")
)

func (k Kind) String() string {
	switch k {
	case Down:
		return "down"
	case Move:
		return "move"
	case Up:
		return "up"
	case Key:
		return "key"
	}
	return "unknown"
}

// Event is one input event, with X and Y already mapped to screen pixels.
type Event struct {
	Kind Kind
	X, Y int
	Key  string
}

// Source is an input device. Events is closed when the device goes away.
type Source interface {
	Events() <-chan Event
	Status() drivers.Status
	Close() error
}
