// Package gpiotest has a fake panel for tests of what uses the mute button,
// the mute LED and the presence sensor.
package gpiotest

import (
	"sync"

	"roomkit/drivers"
	"roomkit/drivers/gpio"
)

// Panel is a gpio.Controls driven by the test.
type Panel struct {
	ch   chan gpio.Event
	once sync.Once

	mu  sync.Mutex
	led bool
}

var _ gpio.Controls = (*Panel)(nil)

// New returns a fake panel with room for n queued events.
func New(n int) *Panel { return &Panel{ch: make(chan gpio.Event, n)} }

// Press queues one press of the mute button.
func (p *Panel) Press() { p.ch <- gpio.Event{Kind: gpio.MuteToggled} }

// SetPresence queues a presence change.
func (p *Panel) SetPresence(present bool) {
	p.ch <- gpio.Event{Kind: gpio.PresenceChanged, Present: present}
}

// LED says whether the mute LED is lit.
func (p *Panel) LED() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.led
}

func (p *Panel) Events() <-chan gpio.Event { return p.ch }

func (p *Panel) SetMuteLED(on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.led = on
	return nil
}

func (p *Panel) Status() drivers.Status {
	return drivers.Status{Kind: "gpio", Name: "Fake GPIO panel", Present: true}
}

// Close ends the event stream.
func (p *Panel) Close() error {
	p.once.Do(func() { close(p.ch) })
	return nil
}
