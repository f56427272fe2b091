package evdev

import (
	"fmt"
	"image"
	"slices"

	"roomkit/drivers/input"
)

// Options adapt a panel's touch axes to the screen.
type Options struct {
	// Rotate turns touch coordinates clockwise by 0, 90, 180 or 270 degrees,
	// for a panel mounted turned clockwise from its native orientation
	// (settings.json's display.rotate): with 90, a touch at the sensor's
	// top-left corner lands at the screen's top-right. The screen is then
	// the turned one (display.Rotate with the same degrees), so taps land
	// where the picture shows.
	Rotate int
	// SwapXY exchanges the sensor's axes, and InvertX and InvertY mirror
	// them, before rotation. Some panels need these whatever the rotation.
	SwapXY, InvertX, InvertY bool
}

func (o Options) validate() error {
	switch o.Rotate {
	case 0, 90, 180, 270:
		return nil
	}
	return fmt.Errorf("rotation %d°: want 0, 90, 180 or 270", o.Rotate)
}

// profile is what a device can do, decided once from its capabilities.
type profile struct {
	mt    bool // multitouch protocol B: slots and MT positions
	abs   bool // ABS_X/ABS_Y with BTN_TOUCH or BTN_LEFT: touch screen, tablet
	rel   bool // REL_X/REL_Y with BTN_LEFT: a mouse
	keys  bool // some key the UI understands
	x, y  axis // the axes mapped to the screen
	slots int
	slot0 int32 // the slot current when the device was opened

	// each slot's tracking ID and position when the device was opened
	slotIDs, slotX, slotY []int32
}

// classify decides what a device is, or says in words why the kit cannot
// use it.
func classify(path string, info deviceInfo) (profile, error) {
	var p profile
	ax, hasX := info.axis(absX)
	ay, hasY := info.axis(absY)
	mx, hasMX := info.axis(absMTPositionX)
	my, hasMY := info.axis(absMTPositionY)
	slot, hasSlot := info.axis(absMTSlot)
	_, hasTrack := info.axis(absMTTrackingID)
	button := info.hasKey(btnTouch) || info.hasKey(btnLeft)
	switch {
	case hasMX && hasMY && hasSlot && hasTrack:
		p.mt, p.x, p.y = true, mx, my
		p.slots = int(min(max(int64(slot.Max)+1, 1), maxSlots))
		p.slot0 = slot.Value
		p.slotIDs = info.slots(absMTTrackingID)
		p.slotX, p.slotY = info.slots(absMTPositionX), info.slots(absMTPositionY)
	case hasX && hasY && button:
		p.abs, p.x, p.y = true, ax, ay
	}
	p.rel = info.hasRel(relX) && info.hasRel(relY) && info.hasKey(btnLeft)
	for code := range keyNames {
		if info.hasKey(code) {
			p.keys = true
			break
		}
	}
	if p.mt || p.abs {
		for _, a := range []axis{p.x, p.y} {
			if a.Max <= a.Min {
				return p, fmt.Errorf("%s (%s): axis %#x has the empty range %d..%d; not a usable touch screen", path, info.Name, a.Code, a.Min, a.Max)
			}
		}
	}
	if !p.mt && !p.abs && !p.rel && !p.keys {
		if hasX && hasY {
			return p, fmt.Errorf("%s (%s) has ABS_X/ABS_Y but no BTN_TOUCH or BTN_LEFT; not a touch screen (a joystick or accelerometer?)", path, info.Name)
		}
		return p, fmt.Errorf("%s (%s) has no ABS_X/ABS_Y or ABS_MT_POSITION axes; not a touch screen, and no mouse buttons or keys the UI uses", path, info.Name)
	}
	return p, nil
}

type slot struct {
	active bool
	id     int32  // the kernel's tracking ID while active
	since  uint64 // when the contact appeared, to find the first one
	x, y   int32
}

// tracker turns a device's raw events into UI events. Everything between
// two SYN_REPORTs is one frame; events come out when the frame completes.
//
// When the kernel's buffer for this reader overflowed it sends SYN_DROPPED:
// the events up to the next SYN_REPORT are discarded, and the tracker asks
// query where the device is now (the kernel's ioctls on a kit, a fixture in
// tests), so a finger lifted during the loss is released and one put down
// is pressed.
type tracker struct {
	p      profile
	opts   Options
	screen image.Point
	query  func() (deviceState, error)

	// multitouch
	slots   []slot
	cur     int // current slot, -1 when the device selected one we don't keep
	primary int // the contact the UI follows
	clock   uint64

	// single touch and tablets
	rawX, rawY  int32
	touch, left bool

	// mice
	px, py int

	down     bool // whether the UI saw Down without Up yet
	lastX    int
	lastY    int
	keys     []string
	dropping bool // after SYN_DROPPED, until the next SYN_REPORT
}

func newTracker(p profile, screen image.Point, opts Options, query func() (deviceState, error)) *tracker {
	t := &tracker{p: p, opts: opts, screen: screen, query: query, primary: -1}
	if p.mt {
		t.slots = make([]slot, p.slots)
		t.cur = int(p.slot0)
		if t.cur < 0 || t.cur >= len(t.slots) {
			t.cur = 0
		}
		// Start from the kernel's slots: a touch where a slot's last one
		// was carries no position events.
		ids, xs, ys := p.slotIDs, p.slotX, p.slotY
		for i := range t.slots {
			if i < len(xs) {
				t.slots[i].x = xs[i]
			}
			if i < len(ys) {
				t.slots[i].y = ys[i]
			}
			if i < len(ids) && ids[i] >= 0 {
				// Already down when opened: it leads, oldest slot first, and
				// the UI sees Down at the next frame.
				t.clock++
				t.slots[i].active, t.slots[i].id, t.slots[i].since = true, ids[i], t.clock
			}
		}
	}
	t.rawX, t.rawY = p.x.Value, p.y.Value
	t.px, t.py = screen.X/2, screen.Y/2
	return t
}

// feed takes one raw event and appends what the UI should see to out.
func (t *tracker) feed(e rawEvent, out []input.Event) []input.Event {
	if t.dropping {
		// The kernel's buffer overflowed: this frame is incomplete.
		if e.Type == evSyn && e.Code == synReport {
			t.dropping = false
			t.keys = t.keys[:0]
			return t.resync(out)
		}
		return out
	}
	switch e.Type {
	case evSyn:
		switch e.Code {
		case synReport:
			return t.report(out)
		case synDropped:
			t.dropping = true
		}
	case evKey:
		switch e.Code {
		case btnTouch:
			t.touch = e.Value != 0
		case btnLeft:
			t.left = e.Value != 0
		default:
			// 1 is a press, 2 the keyboard's auto-repeat: holding Backspace
			// keeps deleting.
			if name, ok := keyNames[e.Code]; ok && (e.Value == 1 || e.Value == 2) && len(t.keys) < 64 {
				t.keys = append(t.keys, name)
			}
		}
	case evRel:
		if !t.p.rel {
			break
		}
		switch e.Code {
		case relX:
			t.px = clamp(int64(t.px)+int64(e.Value), t.screen.X)
		case relY:
			t.py = clamp(int64(t.py)+int64(e.Value), t.screen.Y)
		}
	case evAbs:
		t.abs(e.Code, e.Value)
	}
	return out
}

func (t *tracker) abs(code uint16, v int32) {
	if t.p.mt {
		switch code {
		case absMTSlot:
			t.cur = -1
			if v >= 0 && int(v) < len(t.slots) {
				t.cur = int(v)
			}
		case absMTTrackingID:
			if t.cur < 0 {
				return
			}
			s := &t.slots[t.cur]
			if v < 0 {
				s.active = false
			} else if !s.active {
				t.clock++
				s.active, s.since = true, t.clock
			}
			s.id = v
		case absMTPositionX:
			if t.cur >= 0 {
				t.slots[t.cur].x = v
			}
		case absMTPositionY:
			if t.cur >= 0 {
				t.slots[t.cur].y = v
			}
		}
		return
	}
	if t.p.abs {
		switch code {
		case absX:
			t.rawX = v
		case absY:
			t.rawY = v
		}
	}
}

// resync replaces what the lost events would have said with the device's
// state now, and reports the difference to what the UI saw.
func (t *tracker) resync(out []input.Event) []input.Event {
	var st deviceState
	if t.query != nil {
		var err error
		if st, err = t.query(); err != nil {
			// Not knowing, assume nothing is held: a finger still down
			// presses again at its next move, while a button the UI thinks
			// is held would swallow every tap after it.
			st = deviceState{}
		}
	}
	held := func(code uint16) bool { return slices.Contains(st.Keys, code) }
	switch {
	case t.p.mt:
		ids, xs, ys := st.slots(absMTTrackingID), st.slots(absMTPositionX), st.slots(absMTPositionY)
		id := func(i int) int32 {
			if i < len(ids) {
				return ids[i]
			}
			return -1
		}
		// First the contacts that ended during the loss, or were replaced
		// by another in their slot: when none is left the UI sees Up where
		// it last saw the finger, before any new contact's Down.
		left := false
		for i := range t.slots {
			s := &t.slots[i]
			if s.active && s.id != id(i) {
				s.active = false
			}
			left = left || s.active
		}
		if t.down && !left {
			out = append(out, input.Event{Kind: input.Up, X: t.lastX, Y: t.lastY})
			t.down = false
		}
		for i := range t.slots {
			s := &t.slots[i]
			if v := id(i); v >= 0 && !s.active {
				t.clock++
				s.active, s.id, s.since = true, v, t.clock
			}
			if i < len(xs) {
				s.x = xs[i]
			}
			if i < len(ys) {
				s.y = ys[i]
			}
		}
		if v, ok := st.abs(absMTSlot); ok {
			t.cur = -1
			if v >= 0 && int(v) < len(t.slots) {
				t.cur = int(v)
			}
		}
	case t.p.abs:
		t.touch, t.left = held(btnTouch), held(btnLeft)
		if v, ok := st.abs(t.p.x.Code); ok {
			t.rawX = v
		}
		if v, ok := st.abs(t.p.y.Code); ok {
			t.rawY = v
		}
	default:
		t.left = held(btnLeft) // a mouse's motion is relative: what was lost is lost
	}
	return t.report(out)
}

// report ends a frame: the pointer's state against what the UI last saw.
func (t *tracker) report(out []input.Event) []input.Event {
	pressed, x, y, ok := t.pointer()
	if ok {
		switch {
		case pressed && !t.down:
			out = append(out, input.Event{Kind: input.Down, X: x, Y: y})
			t.down = true
		case pressed && (x != t.lastX || y != t.lastY):
			out = append(out, input.Event{Kind: input.Move, X: x, Y: y})
		case !pressed && t.down:
			out = append(out, input.Event{Kind: input.Up, X: x, Y: y})
			t.down = false
		}
		t.lastX, t.lastY = x, y
	}
	for _, k := range t.keys {
		out = append(out, input.Event{Kind: input.Key, Key: k})
	}
	t.keys = t.keys[:0]
	return out
}

// pointer is where the pointer is and whether it is pressed; ok is false
// for devices without one (keyboards).
func (t *tracker) pointer() (pressed bool, x, y int, ok bool) {
	switch {
	case t.p.mt:
		if t.primary < 0 || !t.slots[t.primary].active {
			// Follow the oldest contact still down; when the last one
			// lifts, keep the old primary so Up lands where it lifted.
			best := -1
			for i, s := range t.slots {
				if s.active && (best < 0 || s.since < t.slots[best].since) {
					best = i
				}
			}
			if best >= 0 {
				t.primary = best
			}
		}
		if t.primary < 0 {
			return false, 0, 0, true
		}
		s := t.slots[t.primary]
		x, y = t.mapAbs(s.x, s.y)
		return s.active, x, y, true
	case t.p.abs:
		x, y = t.mapAbs(t.rawX, t.rawY)
		return t.touch || t.left, x, y, true
	case t.p.rel:
		return t.left, t.px, t.py, true
	}
	return false, 0, 0, false
}

// mapAbs maps raw axis values to screen pixels: normalise each axis to
// 0..1 over its range, swap, invert, rotate, scale to the screen.
func (t *tracker) mapAbs(rx, ry int32) (int, int) {
	nx := norm(rx, t.p.x)
	ny := norm(ry, t.p.y)
	if t.opts.SwapXY {
		nx, ny = ny, nx
	}
	if t.opts.InvertX {
		nx = 1 - nx
	}
	if t.opts.InvertY {
		ny = 1 - ny
	}
	switch t.opts.Rotate {
	case 90:
		nx, ny = 1-ny, nx
	case 180:
		nx, ny = 1-nx, 1-ny
	case 270:
		nx, ny = ny, 1-nx
	}
	return scale(nx, t.screen.X), scale(ny, t.screen.Y)
}

func norm(v int32, a axis) float64 {
	f := (float64(v) - float64(a.Min)) / (float64(a.Max) - float64(a.Min))
	return min(max(f, 0), 1)
}

func scale(f float64, n int) int {
	return clamp(int64(f*float64(n-1)+0.5), n)
}

// clamp keeps v on a screen n pixels wide.
func clamp(v int64, n int) int {
	return int(min(max(v, 0), int64(n-1)))
}
