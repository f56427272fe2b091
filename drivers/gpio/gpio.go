// Package gpio is the kit's hardware panel on GPIO pins (periph.io): a mute
// button, the LED that shows mute, and an optional presence sensor. Any of
// them may be missing; a kit with none has an empty panel.
package gpio

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"

	"roomkit/drivers"
)

// DefaultDebounce is long enough for the bounce of a tactile button and
// short enough that a deliberate double press counts twice.
const DefaultDebounce = 30 * time.Millisecond

// Config names the pins the panel is wired to, as the board calls them
// ("GPIO17"); an empty name means that part is not fitted.
type Config struct {
	MuteButton string
	MuteLED    string
	Presence   string
	// ActiveLow applies to all three: a button pulling to ground, an LED
	// sinking current, a sensor output that is low when someone is there.
	ActiveLow bool
	Debounce  time.Duration // DefaultDebounce if zero
}

// EventKind says what happened on the panel.
type EventKind int

const (
	MuteToggled     EventKind = iota + 1 // the mute button was pressed
	PresenceChanged                      // someone arrived or left: see Present
)

func (k EventKind) String() string {
	switch k {
	case MuteToggled:
		return "mute toggled"
	case PresenceChanged:
		return "presence changed"
	}
	return "unknown"
}

// Event is one thing the panel noticed.
type Event struct {
	Kind    EventKind
	Present bool // for PresenceChanged
}

// Controls is the panel as roomd uses it; gpiotest has a fake.
type Controls interface {
	// Events delivers button presses and presence changes. A fitted
	// presence sensor first reports its current state.
	Events() <-chan Event
	SetMuteLED(on bool) error
	Status() drivers.Status
	Close() error
}

// Panel is the panel on real pins. It is safe for concurrent use.
type Panel struct {
	cfg    Config
	button gpio.PinIO // nil when not fitted
	led    gpio.PinIO
	sensor gpio.PinIO
	now    func() time.Time
	idle   time.Duration // longest wait for an edge, so Close is prompt

	events chan Event
	done   chan struct{}
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	lastErr string
}

var _ Controls = (*Panel)(nil)

var (
	hostOnce sync.Once
	hostErr  error
)

// byName finds a pin on this board, loading periph's host drivers first.
func byName(name string) gpio.PinIO {
	hostOnce.Do(func() { _, hostErr = host.Init() })
	if hostErr != nil {
		return nil
	}
	return gpioreg.ByName(name)
}

// Pins lists this board's GPIO pins by name ("GPIO17"), for checking a
// configuration profile before the panel opens with it; none on a board
// without a GPIO chip, or whose GPIO drivers failed to load.
func Pins() []string {
	hostOnce.Do(func() { _, hostErr = host.Init() })
	if hostErr != nil {
		return nil
	}
	var names []string
	for _, p := range gpioreg.All() {
		names = append(names, p.Name())
	}
	return names
}

// Open claims the configured pins. lookup finds a pin by name; nil means
// the board's registry (periph's gpioreg.ByName after host.Init).
func Open(cfg Config, lookup func(name string) gpio.PinIO) (*Panel, error) {
	if lookup == nil {
		lookup = byName
	}
	return open(cfg, lookup, time.Now, time.Second)
}

func open(cfg Config, lookup func(string) gpio.PinIO, now func() time.Time, idle time.Duration) (*Panel, error) {
	if cfg.Debounce <= 0 {
		cfg.Debounce = DefaultDebounce
	}
	p := &Panel{cfg: cfg, now: now, idle: idle, events: make(chan Event, 16), done: make(chan struct{})}
	find := func(name, role string) (gpio.PinIO, error) {
		if name == "" {
			return nil, nil
		}
		pin := lookup(name)
		if pin == nil {
			msg := fmt.Sprintf("GPIO pin %q (%s) does not exist on this board", name, role)
			if hostErr != nil {
				msg += fmt.Sprintf(" (GPIO drivers failed to load: %v)", hostErr)
			}
			return nil, errors.New(msg)
		}
		return pin, nil
	}
	var err error
	if p.button, err = find(cfg.MuteButton, "mute button"); err != nil {
		return nil, err
	}
	if p.led, err = find(cfg.MuteLED, "mute LED"); err != nil {
		return nil, err
	}
	if p.sensor, err = find(cfg.Presence, "presence sensor"); err != nil {
		return nil, err
	}
	// The inactive level is what the pull resistor gives an open contact.
	pull := gpio.PullDown
	if cfg.ActiveLow {
		pull = gpio.PullUp
	}
	for _, in := range []struct {
		pin  gpio.PinIO
		role string
	}{{p.button, "mute button"}, {p.sensor, "presence sensor"}} {
		if in.pin == nil {
			continue
		}
		if err := in.pin.In(pull, gpio.BothEdges); err != nil {
			return nil, fmt.Errorf("GPIO pin %q (%s): set up as input with edge detection: %w", in.pin.Name(), in.role, err)
		}
	}
	if p.led != nil {
		if err := p.led.Out(p.level(false)); err != nil {
			return nil, fmt.Errorf("GPIO pin %q (mute LED): set up as output: %w", p.led.Name(), err)
		}
	}
	if p.button != nil {
		d := &debouncer{window: cfg.Debounce, stable: p.active(p.button)}
		p.wg.Add(1)
		go p.watch(p.button, d, func(pressed bool) {
			if pressed {
				p.send(Event{Kind: MuteToggled})
			}
		})
	}
	if p.sensor != nil {
		d := &debouncer{window: cfg.Debounce, stable: p.active(p.sensor)}
		p.events <- Event{Kind: PresenceChanged, Present: d.stable}
		p.wg.Add(1)
		go p.watch(p.sensor, d, func(present bool) {
			p.send(Event{Kind: PresenceChanged, Present: present})
		})
	}
	return p, nil
}

// level is the pin level for an active (true) or inactive output.
func (p *Panel) level(active bool) gpio.Level {
	return gpio.Level(active != p.cfg.ActiveLow)
}

func (p *Panel) active(pin gpio.PinIO) bool {
	return bool(pin.Read()) != p.cfg.ActiveLow
}

// watch follows one input until Close. Both an edge and a quiet wait end
// in a look at the level: the debouncer decides what counts.
func (p *Panel) watch(pin gpio.PinIO, d *debouncer, changed func(active bool)) {
	defer p.wg.Done()
	for {
		pin.WaitForEdge(d.wait(p.now(), p.idle))
		select {
		case <-p.done:
			return
		default:
		}
		if d.observe(p.active(pin), p.now()) {
			changed(d.stable)
		}
	}
}

func (p *Panel) send(e Event) {
	select {
	case p.events <- e:
	case <-p.done:
	}
}

// Events delivers presses and presence changes until Close.
func (p *Panel) Events() <-chan Event { return p.events }

// SetMuteLED lights or darkens the mute LED; without one it does nothing.
func (p *Panel) SetMuteLED(on bool) error {
	if p.led == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("set mute LED: panel closed")
	}
	if err := p.led.Out(p.level(on)); err != nil {
		err = fmt.Errorf("set mute LED on GPIO pin %q: %w", p.led.Name(), err)
		p.lastErr = err.Error()
		return err
	}
	return nil
}

// Status lists what is fitted. An empty panel is not present, and not an
// error either.
func (p *Panel) Status() drivers.Status {
	var parts []string
	for _, c := range []struct{ role, name string }{
		{"mute button", p.cfg.MuteButton}, {"mute LED", p.cfg.MuteLED}, {"presence sensor", p.cfg.Presence},
	} {
		if c.name != "" {
			parts = append(parts, c.role+" "+c.name)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st := drivers.Status{Kind: "gpio", Present: len(parts) > 0 && !p.closed, Error: p.lastErr}
	if len(parts) == 0 {
		st.Name = "GPIO panel: nothing fitted"
	} else {
		st.Name = "GPIO panel: " + strings.Join(parts, ", ")
	}
	return st
}

// Close stops watching the pins, turns the LED off and ends Events.
func (p *Panel) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	var errs []error
	if p.led != nil {
		if err := p.led.Out(p.level(false)); err != nil {
			errs = append(errs, fmt.Errorf("turn mute LED off: %w", err))
		}
	}
	p.mu.Unlock()
	// Halting an input ends a WaitForEdge in progress on real pins.
	for _, pin := range []gpio.PinIO{p.button, p.sensor} {
		if pin != nil {
			if err := pin.Halt(); err != nil {
				errs = append(errs, fmt.Errorf("halt GPIO pin %q: %w", pin.Name(), err))
			}
		}
	}
	p.wg.Wait()
	close(p.events)
	return errors.Join(errs...)
}
