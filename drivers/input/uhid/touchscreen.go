// Package uhid creates virtual HID devices through the kernel's /dev/uhid,
// so tests meet the real HID and input drivers instead of fakes. Its
// Touchscreen is a Windows 8 style multitouch digitizer that the kernel's
// hid-multitouch driver binds, exactly as it binds a USB or I²C panel: the
// kit sees an event device with multitouch protocol B slots.
//
// It needs Linux with CONFIG_UHID and CONFIG_HID_MULTITOUCH, and write
// access to /dev/uhid (root). It is pure Go (no cgo).
package uhid

import (
	"context"
	"fmt"
	"image"
	"math"
	"sync"
)

// Config describes a touchscreen. The ranges are in the panel's logical
// units along the screen's width (X) and height (Y), left to right and top
// to bottom, as Touch and Tap take them.
type Config struct {
	Name       string
	MinX, MaxX int
	MinY, MaxY int
	// SwapXY, InvertX and InvertY mount the sensor differently from the
	// screen, as on some real panels: the report carries the sensor's
	// coordinates, mirrored (InvertX, InvertY) and then swapped (SwapXY).
	// The kit's evdev.Options with the same three flags undo it.
	SwapXY, InvertX, InvertY bool
}

func (c Config) layout() (layout, error) {
	if c.Name == "" {
		return layout{}, fmt.Errorf("touchscreen without a name")
	}
	for _, a := range []struct {
		axis     string
		min, max int
	}{{"X", c.MinX, c.MaxX}, {"Y", c.MinY, c.MaxY}} {
		if a.min >= a.max {
			return layout{}, fmt.Errorf("touchscreen %q: %s range %d..%d is empty", c.Name, a.axis, a.min, a.max)
		}
		if a.min < math.MinInt32 || a.max > math.MaxInt32 {
			return layout{}, fmt.Errorf("touchscreen %q: %s range %d..%d does not fit in 32 bits", c.Name, a.axis, a.min, a.max)
		}
	}
	l := layout{minX: int32(c.MinX), maxX: int32(c.MaxX), minY: int32(c.MinY), maxY: int32(c.MaxY)}
	if c.SwapXY {
		l.minX, l.maxX, l.minY, l.maxY = l.minY, l.maxY, l.minX, l.maxX
	}
	l.bits = max(fieldBits(l.minX, l.maxX), fieldBits(l.minY, l.maxY))
	return l, nil
}

// sensor maps a point on the screen's axes to what the sensor reports.
func (c Config) sensor(p image.Point) (x, y int32) {
	if c.InvertX {
		p.X = c.MinX + c.MaxX - p.X
	}
	if c.InvertY {
		p.Y = c.MinY + c.MaxY - p.Y
	}
	if c.SwapXY {
		p.X, p.Y = p.Y, p.X
	}
	return int32(p.X), int32(p.Y)
}

// device is the kernel side: /dev/uhid on Linux, a recorder in tests.
type device interface {
	input(report []byte) error
	path() string
	waitOpen(ctx context.Context) error
	close() error
}

// Touchscreen is a virtual multitouch touchscreen. It is safe for
// concurrent use.
type Touchscreen struct {
	cfg Config
	l   layout
	dev device

	mu   sync.Mutex
	down [maxContacts]bool
	last [maxContacts]contact // where each finger was, to lift it there
}

// NewTouchscreen creates a touchscreen whose axes run 0..maxX and 0..maxY
// (QEMU's usb-tablet and many panels use 32767; resistive controllers 4095).
func NewTouchscreen(name string, maxX, maxY int) (*Touchscreen, error) {
	return New(Config{Name: name, MaxX: maxX, MaxY: maxY})
}

// New creates the touchscreen c describes. It returns once a kernel driver
// has bound it and, where sysfs shows it, its event device exists.
func New(c Config) (*Touchscreen, error) {
	l, err := c.layout()
	if err != nil {
		return nil, err
	}
	dev, err := create(c.Name, reportDescriptor(l))
	if err != nil {
		return nil, fmt.Errorf("create touchscreen %q: %w", c.Name, err)
	}
	return &Touchscreen{cfg: c, l: l, dev: dev}, nil
}

// Device is the touchscreen's event device ("/dev/input/event4"), or ""
// when sysfs did not say.
func (t *Touchscreen) Device() string { return t.dev.path() }

// WaitOpen returns when some program has the touchscreen's event device
// open, so that its touches reach someone. A scan that opens each device
// to look at it also counts: a reader that scans first and keeps the
// device open after may not have it yet.
func (t *Touchscreen) WaitOpen(ctx context.Context) error { return t.dev.waitOpen(ctx) }

// Touch puts fingers on the screen at the given points, in logical units:
// the first point is the first finger, the second the second. Fingers down
// before and not given now are lifted where they were. Touch() lifts all.
//
// hid-multitouch lifts a Windows 8 panel's fingers by itself when no
// report comes for 100 ms, as real panels report continuously while
// touched: send a held finger's moves promptly.
func (t *Touchscreen) Touch(points ...image.Point) error {
	if len(points) > maxContacts {
		return fmt.Errorf("touch %q with %d fingers: it has at most %d", t.cfg.Name, len(points), maxContacts)
	}
	for _, p := range points {
		if p.X < t.cfg.MinX || p.X > t.cfg.MaxX || p.Y < t.cfg.MinY || p.Y > t.cfg.MaxY {
			return fmt.Errorf("touch %q at %v: outside its logical range %d..%d × %d..%d",
				t.cfg.Name, p, t.cfg.MinX, t.cfg.MaxX, t.cfg.MinY, t.cfg.MaxY)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var cs []contact
	var down [maxContacts]bool
	for i := range maxContacts {
		switch {
		case i < len(points):
			x, y := t.cfg.sensor(points[i])
			c := contact{tip: true, id: byte(i), x: x, y: y}
			cs = append(cs, c)
			t.last[i], down[i] = c, true
		case t.down[i]:
			// A lift is reported once, where the finger was, and counts
			// in the contact count of its report.
			c := t.last[i]
			c.tip = false
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		return nil // nothing down, nothing to lift
	}
	r, err := inputReport(t.l, cs)
	if err != nil {
		return fmt.Errorf("touch %q: %w", t.cfg.Name, err)
	}
	if err := t.dev.input(r); err != nil {
		return fmt.Errorf("touch %q: %w", t.cfg.Name, err)
	}
	t.down = down
	return nil
}

// Tap touches one finger down at x, y (logical units) and lifts it.
func (t *Touchscreen) Tap(x, y int) error {
	if err := t.Touch(image.Pt(x, y)); err != nil {
		return err
	}
	return t.Touch()
}

// Close unplugs the touchscreen: its event device goes away.
func (t *Touchscreen) Close() error {
	if err := t.dev.close(); err != nil {
		return fmt.Errorf("close touchscreen %q: %w", t.cfg.Name, err)
	}
	return nil
}
