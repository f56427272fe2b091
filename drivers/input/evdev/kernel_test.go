package evdev

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"roomkit/drivers"
	"roomkit/drivers/input"
	"roomkit/drivers/input/uhid"
	"roomkit/drivers/kerneltest"
)

// The TestKernel tests run inside the QEMU test kernel
// (images/kernel/testdevices), where hid-multitouch binds touchscreens made
// through /dev/uhid and QEMU's usb-tablet and usb-kbd are plugged in. They
// drive the real Scan, Open and Manager, and record what the kernel really
// sends as fixtures for the unit tests.

// qemuTablet is the name QEMU's usb-tablet gives itself.
const qemuTablet = "QEMU QEMU USB Tablet"

// kernelScreen is the screen the tests map touches onto.
var kernelScreen = image.Pt(1280, 800)

// hangGuard only keeps a broken kernel from hanging the run; nothing is
// timed against it.
const hangGuard = 60 * time.Second

func newKernelTouchscreen(t *testing.T, c uhid.Config) *uhid.Touchscreen {
	t.Helper()
	ts, err := uhid.New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	if ts.Device() == "" {
		t.Fatalf("touchscreen %q: no event device in sysfs", c.Name)
	}
	return ts
}

// nextPointer returns the manager's next n touch or pointer events.
func nextPointer(t *testing.T, m *Manager, n int) []input.Event {
	t.Helper()
	var got []input.Event
	guard := time.NewTimer(hangGuard)
	defer guard.Stop()
	for len(got) < n {
		select {
		case e, ok := <-m.Events():
			if !ok {
				t.Fatalf("manager closed its events after %v", got)
			}
			if e.Kind != input.Key {
				got = append(got, e)
			}
		case <-guard.C:
			t.Fatalf("only %v of %d events after %v", got, n, hangGuard)
		}
	}
	return got
}

// waitStatus waits until the manager's status satisfies ok, which may
// take a rescan (RescanInterval).
func waitStatus(t *testing.T, m *Manager, what string, ok func(drivers.Status) bool) drivers.Status {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		st := m.Status()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("manager never %s: status %+v", what, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rawRecording keeps the raw events of one event device, read through its
// own file as any second reader would.
type rawRecording struct {
	h    *kernelHandle
	info deviceInfo
	recs []byte
	done chan error
}

func startRecording(t *testing.T, path string) *rawRecording {
	t.Helper()
	h, err := openKernel(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := h.info()
	if err != nil {
		h.close()
		t.Fatal(err)
	}
	r := &rawRecording{h: h.(*kernelHandle), info: info, done: make(chan error, 1)}
	go func() {
		buf := make([]byte, 64*nativeRecord)
		have := 0
		for {
			n, err := r.h.read(buf[have:])
			n += have
			i := 0
			for ; i+nativeRecord <= n; i += nativeRecord {
				r.recs = appendRecord(r.recs, decodeRecord(buf[i:], nativeRecord, r.h.order()))
			}
			have = copy(buf, buf[i:n])
			if err != nil {
				r.done <- err
				return
			}
		}
	}()
	return r
}

// stop ends the recording once the manager has seen the last event: the
// kernel hands each event to every reader at once, so this reader's
// events are already waiting and the deadline only ends the last read.
func (r *rawRecording) stop(t *testing.T) []byte {
	t.Helper()
	r.h.f.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if err := <-r.done; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("recording ended with %v", err)
	}
	r.h.close()
	var b []byte
	w := &byteWriter{&b}
	if err := writeFixtureHeader(w, r.info); err != nil {
		t.Fatal(err)
	}
	return append(b, r.recs...)
}

// describe lists a fixture's events as the kernel's names, for the log.
func describe(recs []byte) string {
	names := map[[2]uint16]string{
		{evSyn, synReport}: "SYN_REPORT", {evKey, btnTouch}: "BTN_TOUCH", {evKey, btnLeft}: "BTN_LEFT",
		{evAbs, absX}: "ABS_X", {evAbs, absY}: "ABS_Y", {evAbs, absMTSlot}: "ABS_MT_SLOT",
		{evAbs, absMTTrackingID}: "ABS_MT_TRACKING_ID", {evAbs, absMTPositionX}: "ABS_MT_POSITION_X",
		{evAbs, absMTPositionY}: "ABS_MT_POSITION_Y", {4, 5}: "MSC_TIMESTAMP",
	}
	var s strings.Builder
	for i := 0; i+fixtureRecord <= len(recs); i += fixtureRecord {
		e := decodeRecord(recs[i:], fixtureRecord, binary.LittleEndian)
		name, ok := names[[2]uint16{e.Type, e.Code}]
		if !ok {
			name = fmt.Sprintf("type %d code %#x", e.Type, e.Code)
		}
		if e.Type == evSyn {
			fmt.Fprintf(&s, "%s\n", name)
		} else {
			fmt.Fprintf(&s, "%s %d, ", name, e.Value)
		}
	}
	return s.String()
}

// boundDriver names the kernel driver bound to the HID device behind an
// event node.
func boundDriver(event string) string {
	link, err := os.Readlink(filepath.Join("/sys/class/input", filepath.Base(event), "device", "device", "driver"))
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	return filepath.Base(link)
}

func TestKernelScan(t *testing.T) {
	kerneltest.Require(t)
	ts := newKernelTouchscreen(t, uhid.Config{Name: "RoomKit uhid Touch Scan", MaxX: 32767, MaxY: 32767})
	if d := boundDriver(ts.Device()); d != "hid-multitouch" {
		t.Errorf("%s is bound to %s, want hid-multitouch", ts.Device(), d)
	}
	paths, err := Scan("")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]profile{}
	for _, path := range paths {
		h, err := openKernel(path)
		if err != nil {
			t.Fatal(err)
		}
		info, err := h.info()
		h.close()
		if err != nil {
			t.Fatal(err)
		}
		p, err := classify(path, info)
		if err != nil {
			t.Errorf("Scan listed %s, which classify rejects: %v", path, err)
		}
		t.Logf("%s %q: abs %+v rel %v keys %d (mt %v abs %v rel %v keys %v)",
			path, info.Name, info.Abs, info.Rel, len(info.Keys), p.mt, p.abs, p.rel, p.keys)
		found[info.Name] = p
		var b []byte
		if err := writeFixtureHeader(&byteWriter{&b}, info); err != nil {
			t.Fatal(err)
		}
		switch info.Name {
		case qemuTablet:
			kerneltest.Record(t, "qemu_usb_tablet_caps.evdev", b)
		case "RoomKit uhid Touch Scan":
			kerneltest.Record(t, "uhid_mt_caps.evdev", b)
		}
	}
	touch, ok := found["RoomKit uhid Touch Scan"]
	switch {
	case !ok:
		t.Errorf("Scan did not list the uhid touchscreen %s", ts.Device())
	case !touch.mt || touch.x.Min != 0 || touch.x.Max != 32767 || touch.y.Max != 32767 || touch.slots != 2:
		t.Errorf("uhid touchscreen classified %+v, want multitouch, 0..32767 on both axes, 2 slots", touch)
	}
	tablet, ok := found[qemuTablet]
	switch {
	case !ok:
		t.Errorf("Scan did not list QEMU's usb-tablet")
	case tablet.mt || !tablet.abs || tablet.x.Max != 32767 || tablet.y.Max != 32767:
		t.Errorf("usb-tablet classified %+v, want an absolute pointer 0..32767", tablet)
	}
}

func TestKernelTap(t *testing.T) {
	kerneltest.Require(t)
	type tap struct {
		at   image.Point // logical units
		want image.Point // screen pixels
	}
	tests := []struct {
		name, fixture string
		dev           uhid.Config
		opts          Options
		taps          []tap
	}{
		{"0..32767", "uhid_mt_tap_32767.evdev", uhid.Config{MaxX: 32767, MaxY: 32767}, Options{}, []tap{
			{image.Pt(0, 0), image.Pt(0, 0)},
			{image.Pt(32767, 32767), image.Pt(1279, 799)},
			{image.Pt(16384, 8192), image.Pt(640, 200)},
		}},
		{"0..4095", "uhid_mt_tap_4095.evdev", uhid.Config{MaxX: 4095, MaxY: 4095}, Options{}, []tap{
			{image.Pt(4095, 0), image.Pt(1279, 0)},
			{image.Pt(1024, 3072), image.Pt(320, 599)},
		}},
		{"unusual minimum", "uhid_mt_tap_offset.evdev", uhid.Config{MinX: 100, MaxX: 1379, MinY: -400, MaxY: 399}, Options{}, []tap{
			{image.Pt(100, -400), image.Pt(0, 0)},
			{image.Pt(740, 0), image.Pt(640, 400)},
			{image.Pt(1379, 399), image.Pt(1279, 799)},
		}},
		// A sensor mounted swapped and mirrored, and the options that say so.
		{"swapped mirrored", "uhid_mt_tap_swapped.evdev", uhid.Config{MaxX: 4095, MaxY: 4095, SwapXY: true, InvertX: true},
			Options{SwapXY: true, InvertX: true}, []tap{
				{image.Pt(4095, 0), image.Pt(1279, 0)},
				{image.Pt(1024, 3072), image.Pt(320, 599)},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.dev.Name = "RoomKit uhid Touch " + tt.name
			ts := newKernelTouchscreen(t, tt.dev)
			m := NewManager("", kernelScreen, tt.opts)
			defer m.Close()
			// NewManager opened every device before returning.
			if st := m.Status(); !strings.Contains(st.Name, tt.dev.Name) {
				t.Fatalf("manager status %+v does not list %q", st, tt.dev.Name)
			}
			rec := startRecording(t, ts.Device())
			for _, tp := range tt.taps {
				if err := ts.Tap(tp.at.X, tp.at.Y); err != nil {
					t.Fatal(err)
				}
				got := nextPointer(t, m, 2)
				want := []input.Event{down(tp.want.X, tp.want.Y), up(tp.want.X, tp.want.Y)}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("tap at %v: events %v, want %v", tp.at, got, want)
				}
			}
			fix := rec.stop(t)
			_, recs, _ := parseFixture(fix)
			t.Logf("%s: %s caps %+v; raw events:\n%s", tt.name, ts.Device(), rec.info.Abs, describe(recs))
			kerneltest.Record(t, tt.fixture, fix)
		})
	}
}

func TestKernelTwoFingers(t *testing.T) {
	kerneltest.Require(t)
	ts := newKernelTouchscreen(t, uhid.Config{Name: "RoomKit uhid Touch Two", MaxX: 1279, MaxY: 799})
	m := NewManager("", kernelScreen, Options{})
	defer m.Close()
	rec := startRecording(t, ts.Device())
	steps := [][]image.Point{
		{{100, 200}},
		{{100, 200}, {900, 500}}, // a second finger: the UI keeps following the first
		{{110, 210}, {905, 500}},
		{{110, 210}}, // the second lifts
		{},           // the first lifts
	}
	for _, s := range steps {
		if err := ts.Touch(s...); err != nil {
			t.Fatal(err)
		}
	}
	got := nextPointer(t, m, 3)
	if want := []input.Event{down(100, 200), move(110, 210), up(110, 210)}; !reflect.DeepEqual(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	fix := rec.stop(t)
	_, recs, _ := parseFixture(fix)
	t.Logf("raw events:\n%s", describe(recs))
	kerneltest.Record(t, "uhid_mt_two_finger.evdev", fix)
}

func TestKernelHotplug(t *testing.T) {
	kerneltest.Require(t)
	first := newKernelTouchscreen(t, uhid.Config{Name: "RoomKit uhid Touch First", MaxX: 4095, MaxY: 4095})
	m := NewManager("", kernelScreen, Options{})
	defer m.Close()
	dropped := make(chan string, 8)
	m.mu.Lock()
	m.dropped = dropped
	m.mu.Unlock()
	st := m.Status()
	if !strings.Contains(st.Name, "RoomKit uhid Touch First") || !strings.Contains(st.Name, qemuTablet) {
		t.Fatalf("status %+v, want the touchscreen and the usb-tablet", st)
	}

	path := first.Device()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-dropped:
		if p != path {
			t.Errorf("manager dropped %s, want %s", p, path)
		}
	case <-time.After(hangGuard):
		t.Fatalf("manager never dropped the unplugged %s", path)
	}
	st = m.Status()
	if strings.Contains(st.Name, "RoomKit uhid Touch First") || !strings.Contains(st.Error, path+" (RoomKit uhid Touch First) was unplugged") {
		t.Errorf("after unplug, status %+v", st)
	}
	if !st.Present || !strings.Contains(st.Name, qemuTablet) {
		t.Errorf("after unplugging the touchscreen the tablet is gone too: %+v", st)
	}

	second := newKernelTouchscreen(t, uhid.Config{Name: "RoomKit uhid Touch Second", MaxX: 4095, MaxY: 4095})
	// The manager's next rescan opens it: uhid hears of it.
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := second.WaitOpen(ctx); err != nil {
		t.Fatalf("the manager never opened the new touchscreen: %v", err)
	}
	waitStatus(t, m, "picked up the second touchscreen", func(st drivers.Status) bool {
		return strings.Contains(st.Name, "RoomKit uhid Touch Second")
	})
	if err := second.Tap(4095, 4095); err != nil {
		t.Fatal(err)
	}
	if got, want := nextPointer(t, m, 2), []input.Event{down(1279, 799), up(1279, 799)}; !reflect.DeepEqual(got, want) {
		t.Errorf("tap on the plugged-in touchscreen: %v, want %v", got, want)
	}
}

// TestKernelReopen: the kernel drops an axis event that repeats the slot's
// last value, so a touch where the previous one was carries no position at
// all. A reader that opens the device afterwards (roomd restarted, or the
// device was rescanned) must learn the slots' positions from the kernel.
func TestKernelReopen(t *testing.T) {
	kerneltest.Require(t)
	ts := newKernelTouchscreen(t, uhid.Config{Name: "RoomKit uhid Touch Reopen", MaxX: 4095, MaxY: 4095})
	before := NewManager("", kernelScreen, Options{})
	if err := ts.Tap(4095, 4095); err != nil {
		t.Fatal(err)
	}
	if got, want := nextPointer(t, before, 2), []input.Event{down(1279, 799), up(1279, 799)}; !reflect.DeepEqual(got, want) {
		t.Errorf("first tap: %v, want %v", got, want)
	}
	before.Close()

	m := NewManager("", kernelScreen, Options{})
	defer m.Close()
	rec := startRecording(t, ts.Device())
	taps := []struct{ at, want image.Point }{
		{image.Pt(4095, 4095), image.Pt(1279, 799)}, // the same place: no position events
		{image.Pt(4095, 0), image.Pt(1279, 0)},      // only Y changes
	}
	for _, tp := range taps {
		if err := ts.Tap(tp.at.X, tp.at.Y); err != nil {
			t.Fatal(err)
		}
		if got, want := nextPointer(t, m, 2), []input.Event{down(tp.want.X, tp.want.Y), up(tp.want.X, tp.want.Y)}; !reflect.DeepEqual(got, want) {
			t.Errorf("tap at %v after reopening: %v, want %v", tp.at, got, want)
		}
	}
	fix := rec.stop(t)
	_, recs, _ := parseFixture(fix)
	t.Logf("raw events:\n%s", describe(recs))
	kerneltest.Record(t, "uhid_mt_tap_reopened.evdev", fix)
}
