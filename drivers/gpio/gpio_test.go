package gpio

import (
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func TestDebouncer(t *testing.T) {
	ms := func(n int) time.Time { return time.Unix(0, 0).Add(time.Duration(n) * time.Millisecond) }
	type obs struct {
		active bool
		at     int // ms
		change bool
	}
	tests := []struct {
		name string
		seq  []obs
	}{
		{"bouncing press counts once", []obs{
			{true, 0, true}, {false, 1, false}, {true, 3, false}, {false, 5, false}, {true, 9, false},
			{true, 40, false}, // settled pressed
		}},
		{"bouncing release", []obs{
			{true, 0, true}, {false, 500, true}, {true, 501, false}, {false, 504, false}, {false, 540, false},
		}},
		{"tap shorter than the window is seen on settling", []obs{
			{true, 0, true}, {false, 10, false}, {false, 30, true}, {true, 200, true},
		}},
		{"two deliberate presses", []obs{
			{true, 0, true}, {false, 100, true}, {true, 200, true}, {false, 300, true},
		}},
	}
	for _, tt := range tests {
		d := &debouncer{window: 30 * time.Millisecond}
		for _, o := range tt.seq {
			if got := d.observe(o.active, ms(o.at)); got != o.change {
				t.Errorf("%s: at %d ms level %v: changed=%v, want %v", tt.name, o.at, o.active, got, o.change)
			}
		}
	}
}

// clock is the injected time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(ms int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = time.Unix(1e9, 0).Add(time.Duration(ms) * time.Millisecond)
}

func pins(ps ...*gpiotest.Pin) func(string) gpio.PinIO {
	return func(name string) gpio.PinIO {
		for _, p := range ps {
			if p.N == name {
				return p
			}
		}
		return nil
	}
}

func TestBouncingButtonTogglesOnce(t *testing.T) {
	// Edges travel over an unbuffered channel: each send returns once the
	// panel has finished with the previous edge.
	button := &gpiotest.Pin{N: "GPIO17", Num: 17, EdgesChan: make(chan gpio.Level)}
	c := &clock{}
	c.set(0)
	p, err := open(Config{MuteButton: "GPIO17", ActiveLow: true}, pins(button), c.now, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	edges := []struct {
		at    int
		level gpio.Level
	}{
		{0, gpio.Low}, {2, gpio.High}, {3, gpio.Low}, {6, gpio.High}, {8, gpio.Low}, // press, bouncing
		{500, gpio.High}, {501, gpio.Low}, {504, gpio.High}, // release, bouncing
		{900, gpio.Low},   // the second press
		{1000, gpio.High}, // its release: once this is taken, the press was handled
	}
	for _, e := range edges {
		c.set(e.at)
		button.EdgesChan <- e.level
	}
	if n := len(p.Events()); n != 2 {
		t.Fatalf("two presses of a bouncing button gave %d events, want 2", n)
	}
	for range 2 {
		if e := <-p.Events(); e.Kind != MuteToggled {
			t.Errorf("event %v, want mute toggled", e.Kind)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-p.Events(); ok {
		t.Error("events open after Close")
	}
}

func TestPresence(t *testing.T) {
	sensor := &gpiotest.Pin{N: "GPIO22", Num: 22, EdgesChan: make(chan gpio.Level)}
	c := &clock{}
	c.set(0)
	p, err := open(Config{Presence: "GPIO22"}, pins(sensor), c.now, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if e := <-p.Events(); e != (Event{Kind: PresenceChanged, Present: false}) {
		t.Errorf("first event %+v, want the current state: nobody there", e)
	}
	c.set(100)
	sensor.EdgesChan <- gpio.High
	if e := <-p.Events(); e != (Event{Kind: PresenceChanged, Present: true}) {
		t.Errorf("event %+v, want someone there", e)
	}
	c.set(5000)
	sensor.EdgesChan <- gpio.Low
	if e := <-p.Events(); e != (Event{Kind: PresenceChanged, Present: false}) {
		t.Errorf("event %+v, want nobody there", e)
	}
}

func TestMuteLED(t *testing.T) {
	for _, activeLow := range []bool{false, true} {
		led := &gpiotest.Pin{N: "GPIO27", Num: 27, L: gpio.High}
		p, err := open(Config{MuteLED: "GPIO27", ActiveLow: activeLow}, pins(led), time.Now, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		lit := func() bool { return bool(led.Read()) != activeLow }
		if lit() {
			t.Errorf("activeLow=%v: LED lit after Open", activeLow)
		}
		for _, on := range []bool{true, false, true} {
			if err := p.SetMuteLED(on); err != nil {
				t.Fatal(err)
			}
			if lit() != on {
				t.Errorf("activeLow=%v: SetMuteLED(%v) left the LED lit=%v", activeLow, on, lit())
			}
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if lit() {
			t.Errorf("activeLow=%v: LED still lit after Close", activeLow)
		}
		if err := p.SetMuteLED(true); err == nil {
			t.Error("SetMuteLED after Close succeeded")
		}
	}
}

func TestMissingPins(t *testing.T) {
	led := &gpiotest.Pin{N: "GPIO27"}
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{MuteButton: "GPIO99"}, `GPIO pin "GPIO99" (mute button) does not exist on this board`},
		{Config{MuteLED: "GPIO27", Presence: "GPIO4"}, `GPIO pin "GPIO4" (presence sensor) does not exist on this board`},
		{Config{MuteLED: "LED0"}, `GPIO pin "LED0" (mute LED) does not exist on this board`},
	}
	for _, tt := range tests {
		_, err := Open(tt.cfg, pins(led))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%+v: error %v, want %q", tt.cfg, err, tt.want)
		}
	}
	// The board's own registry, which has no such pin here either.
	_, err := Open(Config{MuteButton: "GPIO9999"}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), `GPIO pin "GPIO9999" (mute button) does not exist on this board`) {
		t.Errorf("with the board registry: %v", err)
	}
}

func TestEmptyPanel(t *testing.T) {
	p, err := Open(Config{}, pins())
	if err != nil {
		t.Fatalf("a kit without a panel must start: %v", err)
	}
	st := p.Status()
	if st.Present || st.Error != "" || st.Kind != "gpio" {
		t.Errorf("empty panel status %+v, want not present and no error", st)
	}
	if err := p.SetMuteLED(true); err != nil {
		t.Errorf("SetMuteLED without an LED: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-p.Events(); ok {
		t.Error("events open after Close")
	}
}

func TestStatusNamesPins(t *testing.T) {
	p, err := Open(Config{MuteLED: "GPIO27"}, pins(&gpiotest.Pin{N: "GPIO27"}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if st := p.Status(); !st.Present || st.Name != "GPIO panel: mute LED GPIO27" {
		t.Errorf("status %+v", st)
	}
}
