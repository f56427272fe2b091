package evdev

import (
	"bytes"
	"encoding/binary"
	"image"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"roomkit/drivers/input"
)

func down(x, y int) input.Event { return input.Event{Kind: input.Down, X: x, Y: y} }
func move(x, y int) input.Event { return input.Event{Kind: input.Move, X: x, Y: y} }
func up(x, y int) input.Event   { return input.Event{Kind: input.Up, X: x, Y: y} }
func key(k string) input.Event  { return input.Event{Kind: input.Key, Key: k} }

// replay opens a fixture as a device that is unplugged after its last
// event, and collects everything it delivered.
func replay(t *testing.T, name string, screen image.Point, opts Options) ([]input.Event, *Device) {
	t.Helper()
	info, recs := loadFixture(t, name)
	open := fakeOpen(map[string]func() *fakeHandle{
		"/dev/input/event0": func() *fakeHandle { return newFakeHandle(info, recs, syscall.ENODEV) },
	})
	d, err := openWith(open, "/dev/input/event0", screen, opts)
	if err != nil {
		t.Fatal(err)
	}
	var got []input.Event
	for e := range d.Events() {
		got = append(got, e)
	}
	return got, d
}

func TestFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		screen  image.Point
		opts    Options
		want    []input.Event
	}{
		{"single_touch_tap.evdev", image.Pt(800, 480), Options{}, []input.Event{
			down(400, 120), move(410, 129), up(410, 129),
		}},
		{"mt_two_finger.evdev", image.Pt(1280, 800), Options{}, []input.Event{
			// The first finger leads; when it lifts the second takes over;
			// Up only when the last lifts.
			down(100, 200), move(110, 210), move(905, 500), move(905, 505), up(905, 505),
		}},
		{"usb_tablet_click.evdev", image.Pt(1920, 1080), Options{}, []input.Event{
			down(960, 540), up(960, 540), down(1919, 0), up(1919, 0),
		}},
		{"mouse_move_click.evdev", image.Pt(1280, 800), Options{}, []input.Event{
			down(740, 350), move(750, 360), up(750, 360), down(0, 0), up(0, 0),
		}},
		{"keyboard_digits.evdev", image.Pt(1280, 800), Options{}, []input.Event{
			key("1"), key("2"), key("3"), key("Backspace"), key("Backspace"), key("0"), key("5"), key("Enter"), key("Escape"),
		}},
		{"usb_tablet_click.evdev", image.Pt(1080, 1920), Options{Rotate: 90}, []input.Event{
			down(539, 960), up(539, 960), down(1079, 1919), up(1079, 1919),
		}},
		// Recorded from hid-multitouch in the QEMU test kernel (kernel_test.go):
		// the kernel leaves out any axis that did not change, and the slot
		// number when it is the current one.
		{"uhid_mt_tap_32767.evdev", image.Pt(1280, 800), Options{}, []input.Event{
			down(0, 0), up(0, 0), down(1279, 799), up(1279, 799), down(640, 200), up(640, 200),
		}},
		{"uhid_mt_tap_4095.evdev", image.Pt(1280, 800), Options{}, []input.Event{
			down(1279, 0), up(1279, 0), down(320, 599), up(320, 599),
		}},
		{"uhid_mt_tap_offset.evdev", image.Pt(1280, 800), Options{}, []input.Event{ // X 100..1379, Y -400..399
			down(0, 0), up(0, 0), down(640, 400), up(640, 400), down(1279, 799), up(1279, 799),
		}},
		{"uhid_mt_tap_swapped.evdev", image.Pt(1280, 800), Options{SwapXY: true, InvertX: true}, []input.Event{
			down(1279, 0), up(1279, 0), down(320, 599), up(320, 599),
		}},
		// Opened after a tap at the corner: the same tap again carries no
		// position; only the slots read at open say where it is.
		{"uhid_mt_tap_reopened.evdev", image.Pt(1280, 800), Options{}, []input.Event{
			down(1279, 799), up(1279, 799), down(1279, 0), up(1279, 0),
		}},
		{"uhid_mt_two_finger.evdev", image.Pt(1280, 800), Options{}, []input.Event{
			down(100, 200), move(110, 210), up(110, 210),
		}},
		// Events lost (SYN_DROPPED): the state asked afterwards decides.
		// The lift was lost: Up where the UI last saw the finger.
		{"mt_drop_lift.evdev", image.Pt(1280, 800), Options{}, []input.Event{
			down(100, 200), move(110, 210), up(110, 210),
		}},
		// A finger put down while events were lost is pressed where the
		// kernel says it is; one replaced by another in the same loss is
		// released before the new one is pressed.
		{"mt_drop_new_touch.evdev", image.Pt(1280, 800), Options{}, []input.Event{
			down(100, 200), up(100, 200), down(900, 500), move(905, 500), up(905, 500), down(700, 300), up(700, 300),
		}},
		{"usb_tablet_drop.evdev", image.Pt(1920, 1080), Options{}, []input.Event{
			down(960, 540), up(1919, 0),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, d := replay(t, tt.fixture, tt.screen, tt.opts)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events\n got %v\nwant %v", got, tt.want)
			}
			st := d.Status()
			if st.Present || !strings.Contains(st.Error, "/dev/input/event0") || !strings.Contains(st.Error, "was unplugged") {
				t.Errorf("after ENODEV status = %+v, want not present and unplugged", st)
			}
			if err := d.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

// TestRecordedDevices keeps the hand-written devices honest: they must
// describe themselves as the kernel's drivers do.
func TestRecordedDevices(t *testing.T) {
	tests := []struct {
		fixture string
		dev     deviceInfo
	}{
		{"qemu_usb_tablet_caps.evdev", tabletDev},
	}
	for _, tt := range tests {
		info, _ := loadFixture(t, tt.fixture)
		if !reflect.DeepEqual(info, tt.dev) {
			t.Errorf("%s: the kernel says\n%+v\nthe hand-written device is\n%+v", tt.fixture, info, tt.dev)
		}
	}
}

// track feeds a stream to a tracker for dev and returns what the UI sees.
func track(t *testing.T, dev deviceInfo, screen image.Point, opts Options, query func() (deviceState, error), s *stream) []input.Event {
	t.Helper()
	p, err := classify("test", dev)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTracker(p, screen, opts, query)
	var got []input.Event
	for i := 0; i < len(s.b); i += fixtureRecord {
		got = tr.feed(decodeRecord(s.b[i:], fixtureRecord, binary.LittleEndian), got)
	}
	return got
}

// TestSlotsAtOpen: what EVIOCGMTSLOTS said at open seeds the contacts.
func TestSlotsAtOpen(t *testing.T) {
	dev := func(ids, xs, ys []int32) deviceInfo {
		d := mtDev
		d.Slots = []slotValues{{absMTTrackingID, ids}, {absMTPositionX, xs}, {absMTPositionY, ys}}
		return d
	}
	tests := []struct {
		name string
		dev  deviceInfo
		s    *stream
		want []input.Event
	}{
		{"a touch where the last one was", dev([]int32{-1, -1}, []int32{1279, 5}, []int32{799, 5}),
			new(stream).abs(absMTTrackingID, 7).key(btnTouch, 1).syn().abs(absMTTrackingID, -1).key(btnTouch, 0).syn(),
			[]input.Event{down(1279, 799), up(1279, 799)}},
		{"a finger down when opened", dev([]int32{-1, 3}, []int32{0, 640}, []int32{0, 400}),
			new(stream).abs(absMTSlot, 1).abs(absMTPositionX, 650).syn().abs(absMTTrackingID, -1).key(btnTouch, 0).syn(),
			[]input.Event{down(650, 400), up(650, 400)}},
		// mtDev has 10 slots: a contact in an eleventh is not ours to follow.
		{"more values than slots", dev(append(slices.Repeat([]int32{-1}, 10), 9, 9), slices.Repeat([]int32{9}, 12), nil),
			new(stream).abs(absMTTrackingID, 7).abs(absMTPositionX, 10).abs(absMTPositionY, 20).syn().abs(absMTTrackingID, -1).syn(),
			[]input.Event{down(10, 20), up(10, 20)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := track(t, tt.dev, image.Pt(1280, 800), Options{}, nil, tt.s)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRotationMapping(t *testing.T) {
	p := profile{abs: true, x: axis{Code: absX, Max: 1000}, y: axis{Code: absY, Max: 1000}}
	screen := image.Pt(800, 480)
	corners := []image.Point{{0, 0}, {1000, 0}, {0, 1000}, {1000, 1000}, {500, 500}, {-50, 2000}}
	tests := []struct {
		opts Options
		want []image.Point // for each raw corner
	}{
		{Options{}, []image.Point{{0, 0}, {799, 0}, {0, 479}, {799, 479}, {400, 240}, {0, 479}}},
		// 90° clockwise: the sensor's top-left is the screen's top-right.
		{Options{Rotate: 90}, []image.Point{{799, 0}, {799, 479}, {0, 0}, {0, 479}, {400, 240}, {0, 0}}},
		{Options{Rotate: 180}, []image.Point{{799, 479}, {0, 479}, {799, 0}, {0, 0}, {400, 240}, {799, 0}}},
		{Options{Rotate: 270}, []image.Point{{0, 479}, {0, 0}, {799, 479}, {799, 0}, {400, 240}, {799, 479}}},
		{Options{SwapXY: true}, []image.Point{{0, 0}, {0, 479}, {799, 0}, {799, 479}, {400, 240}, {799, 0}}},
		{Options{InvertX: true}, []image.Point{{799, 0}, {0, 0}, {799, 479}, {0, 479}, {400, 240}, {799, 479}}},
		{Options{InvertY: true, Rotate: 90}, []image.Point{{0, 0}, {0, 479}, {799, 0}, {799, 479}, {400, 240}, {799, 0}}},
	}
	for _, tt := range tests {
		tr := newTracker(p, screen, tt.opts, nil)
		for i, c := range corners {
			x, y := tr.mapAbs(int32(c.X), int32(c.Y))
			if got := image.Pt(x, y); got != tt.want[i] {
				t.Errorf("%+v: raw %v -> %v, want %v", tt.opts, c, got, tt.want[i])
			}
		}
	}
}

func TestVanishMidStream(t *testing.T) {
	info, recs := loadFixture(t, "mouse_move_click.evdev")
	// Unplugged after the press and first move: no Up ever comes.
	cut := recs[:8*fixtureRecord]
	d, err := openWith(fakeOpen(map[string]func() *fakeHandle{
		"/dev/input/event5": func() *fakeHandle { return newFakeHandle(info, cut, syscall.ENODEV) },
	}), "/dev/input/event5", image.Pt(1280, 800), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []input.Event
	for e := range d.Events() {
		got = append(got, e)
	}
	if want := []input.Event{down(740, 350), move(750, 360)}; !reflect.DeepEqual(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	want := "/dev/input/event5 (Logitech USB Optical Mouse) was unplugged"
	if st := d.Status(); st.Present || st.Error != want {
		t.Errorf("status %+v, want error %q", st, want)
	}
}

func TestUnusableDevices(t *testing.T) {
	tests := []struct {
		dev  deviceInfo
		want string
	}{
		{deviceInfo{Name: "Foo Touch", Abs: []axis{{Code: 0x18, Max: 255}}, Keys: []uint16{btnTouch}},
			"/dev/input/event3 (Foo Touch) has no ABS_X/ABS_Y or ABS_MT_POSITION axes; not a touch screen"},
		{deviceInfo{Name: "lis3lv02d", Abs: []axis{{Code: absX, Min: -2300, Max: 2300}, {Code: absY, Min: -2300, Max: 2300}}},
			"/dev/input/event3 (lis3lv02d) has ABS_X/ABS_Y but no BTN_TOUCH or BTN_LEFT; not a touch screen"},
		{deviceInfo{Name: "Power Button", Keys: []uint16{116}},
			"/dev/input/event3 (Power Button) has no ABS_X/ABS_Y or ABS_MT_POSITION axes"},
		{deviceInfo{Name: "Broken Touch", Abs: []axis{{Code: absX, Max: 0}, {Code: absY, Max: 100}}, Keys: []uint16{btnTouch}},
			"/dev/input/event3 (Broken Touch): axis 0x0 has the empty range 0..0"},
	}
	for _, tt := range tests {
		h := newFakeHandle(tt.dev, nil, nil)
		_, err := openWith(fakeOpen(map[string]func() *fakeHandle{"/dev/input/event3": func() *fakeHandle { return h }}),
			"/dev/input/event3", image.Pt(800, 480), Options{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.dev.Name, err, tt.want)
		}
		select {
		case <-h.closed:
		default:
			t.Errorf("%s: rejected device left open", tt.dev.Name)
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "event9"), image.Pt(800, 480), Options{}); err == nil || !strings.Contains(err.Error(), "no such device (unplugged?)") {
		t.Errorf("missing node: %v", err)
	}
	if _, err := openWith(nil, "/dev/input/event0", image.Pt(800, 480), Options{Rotate: 45}); err == nil || !strings.Contains(err.Error(), "rotation 45°") {
		t.Errorf("bad rotation: %v", err)
	}
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	devs := map[string]deviceInfo{
		"event0":  {Name: "Power Button", Keys: []uint16{116}},
		"event1":  keyboardDev,
		"event2":  {Name: "lis3lv02d", Abs: []axis{{Code: absX, Max: 10}, {Code: absY, Max: 10}}},
		"event10": mtDev,
		"event9":  mouseDev,
		"mouse0":  mouseDev, // the legacy mousedev node: not evdev
	}
	open := map[string]func() *fakeHandle{}
	for name, info := range devs {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		open[filepath.Join(dir, name)] = func() *fakeHandle { return newFakeHandle(info, nil, nil) }
	}
	got, err := scanWith(fakeOpen(open), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "event1"), filepath.Join(dir, "event9"), filepath.Join(dir, "event10")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Scan = %v, want %v", got, want)
	}
	if _, err := Scan(filepath.Join(dir, "missing")); err == nil {
		t.Error("scanning a missing directory succeeded")
	}
}

func TestManagerHotplug(t *testing.T) {
	kbdInfo, kbdRecs := loadFixture(t, "keyboard_digits.evdev")
	tabInfo, tabRecs := loadFixture(t, "usb_tablet_click.evdev")
	handles := map[string]func() *fakeHandle{
		// The keyboard is unplugged after its events; the tablet stays.
		"/dev/input/event1": func() *fakeHandle { return newFakeHandle(kbdInfo, kbdRecs, syscall.ENODEV) },
		"/dev/input/event2": func() *fakeHandle { return newFakeHandle(tabInfo, tabRecs, nil) },
		"/dev/input/event3": func() *fakeHandle { return newFakeHandle(deviceInfo{Name: "Foo Touch"}, nil, nil) },
	}
	opens := map[string]int{}
	var present []string
	m := newManager("/dev/input",
		func() ([]string, error) { return present, nil },
		func(path string) (*Device, error) {
			opens[path]++
			return openWith(fakeOpen(handles), path, image.Pt(1920, 1080), Options{})
		})
	dropped := make(chan string, 4)
	m.dropped = dropped
	if st := m.Status(); st.Present {
		t.Errorf("no devices yet, status %+v", st)
	}

	present = []string{"/dev/input/event1"}
	m.rescan()
	var keys []string
	for range 9 {
		keys = append(keys, (<-m.Events()).Key)
	}
	if want := "1 2 3 Backspace Backspace 0 5 Enter Escape"; strings.Join(keys, " ") != want {
		t.Errorf("keys %v, want %s", keys, want)
	}
	if path := <-dropped; path != "/dev/input/event1" {
		t.Errorf("dropped %s", path)
	}
	st := m.Status()
	if st.Present || !strings.Contains(st.Error, "AT Translated Set 2 keyboard) was unplugged") {
		t.Errorf("after unplug, status %+v", st)
	}

	present = []string{"/dev/input/event2", "/dev/input/event3"}
	m.rescan()
	m.rescan() // the unusable device is not retried while it stays
	var got []input.Event
	for range 4 {
		got = append(got, <-m.Events())
	}
	if want := []input.Event{down(960, 540), up(960, 540), down(1919, 0), up(1919, 0)}; !reflect.DeepEqual(got, want) {
		t.Errorf("tablet events %v, want %v", got, want)
	}
	st = m.Status()
	if !st.Present || st.Name != "evdev: QEMU QEMU USB Tablet" || !strings.Contains(st.Error, "Foo Touch") {
		t.Errorf("status %+v", st)
	}
	if opens["/dev/input/event3"] != 1 || opens["/dev/input/event2"] != 1 {
		t.Errorf("opens %v, want each device opened once", opens)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-m.Events(); ok {
		t.Error("events still open after Close")
	}
}

func TestRecord(t *testing.T) {
	// A 32-bit kit: 16-byte records in the machine's order.
	want := []rawEvent{
		{Sec: 1763800000, Usec: 5, Type: evAbs, Code: absX, Value: 300},
		{Sec: 1763800000, Usec: 5, Type: evKey, Code: btnTouch, Value: 1},
		{Sec: 1763800000, Usec: 5, Type: evSyn, Code: synReport},
		{Sec: 1763800001, Usec: 999999, Type: evAbs, Code: absY, Value: -7},
		{Sec: 1763800002, Type: evSyn, Code: synDropped},
		{Sec: 1763800002, Type: evSyn, Code: synReport},
	}
	// After the loss the recorder asks, as the tracker would, and keeps
	// the answer in the header.
	dev := withResyncs(singleTouchDev, deviceState{Keys: []uint16{btnTouch}, Abs: []absValue{{absX, 310}, {absY, 4000}, {0x18, 60}}})
	var native []byte
	for _, e := range want {
		native = binary.LittleEndian.AppendUint32(native, uint32(e.Sec))
		native = binary.LittleEndian.AppendUint32(native, uint32(e.Usec))
		native = binary.LittleEndian.AppendUint16(native, e.Type)
		native = binary.LittleEndian.AppendUint16(native, e.Code)
		native = binary.LittleEndian.AppendUint32(native, uint32(e.Value))
	}
	h := newFakeHandle(dev, native, nil)
	h.size = 16
	var out bytes.Buffer
	if err := record(h, "/dev/input/event0", &out, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	info, recs, err := parseFixture(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(info, dev) {
		t.Errorf("header %+v, want %+v", info, dev)
	}
	var got []rawEvent
	for i := 0; i < len(recs); i += fixtureRecord {
		got = append(got, decodeRecord(recs[i:], fixtureRecord, binary.LittleEndian))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("recorded %+v, want %+v", got, want)
	}
}

func TestParseFixtureErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no newline", "no header line"},
		{"{\"format\":\"other/2\"}\n", `format "other/2"`},
		{"{\"format\":\"roomkit-evdev/1\"}\n12345", "0 events and 5 stray bytes"},
		{"not json\n", "input fixture header"},
	}
	for _, tt := range tests {
		if _, _, err := parseFixture([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.in, err, tt.want)
		}
	}
}

// checkStream asserts what the UI relies on: coordinates on screen, Up and
// Move only while down.
func checkStream(t *testing.T, evs []input.Event, screen image.Point, down *bool) {
	for _, e := range evs {
		switch e.Kind {
		case input.Down, input.Move, input.Up:
			if e.X < 0 || e.Y < 0 || e.X >= screen.X || e.Y >= screen.Y {
				t.Fatalf("%v off a %v screen", e, screen)
			}
			if (e.Kind == input.Down) == *down {
				t.Fatalf("%v while down=%v", e.Kind, *down)
			}
			*down = e.Kind != input.Up
		case input.Key:
			if e.Key == "" {
				t.Fatal("key event without a name")
			}
		default:
			t.Fatalf("unknown event kind %v", e.Kind)
		}
	}
}

// FuzzTracker feeds arbitrary records to each kind of device.
func FuzzTracker(f *testing.F) {
	for _, name := range testdataFixtures(f) {
		_, recs := loadFixture(f, name)
		f.Add(byte(0), recs)
		f.Add(byte(7), recs)
	}
	recorded, _ := loadFixture(f, "uhid_mt_tap_reopened.evdev") // with the slots at open
	devs := []deviceInfo{singleTouchDev, mtDev, tabletDev, mouseDev, keyboardDev, recorded}
	f.Fuzz(func(t *testing.T, sel byte, recs []byte) {
		info := devs[int(sel)%len(devs)]
		p, err := classify("fuzz", info)
		if err != nil {
			t.Fatal(err)
		}
		screen := image.Pt(1+int(sel)%7*300, 1+int(sel)%3*400)
		tr := newTracker(p, screen, Options{Rotate: int(sel/5%4) * 90, SwapXY: sel&0x80 != 0}, fuzzState(recs, sel))
		var out []input.Event
		down := false
		for i := 0; i+fixtureRecord <= len(recs); i += fixtureRecord {
			out = tr.feed(decodeRecord(recs[i:], fixtureRecord, binary.LittleEndian), out[:0])
			checkStream(t, out, screen, &down)
		}
	})
}

// fuzzState answers a tracker's state queries after SYN_DROPPED with states
// made of the fuzzer's bytes: any keys, axis values and slots, as many
// slots as the bytes give (more or fewer than the device has), and now and
// then an error.
func fuzzState(b []byte, sel byte) func() (deviceState, error) {
	n := 0
	return func() (deviceState, error) {
		n++
		if (int(sel)+n)%5 == 0 {
			return deviceState{}, syscall.EIO
		}
		var st deviceState
		word := func(i int) int32 {
			i = (i + n*7) % max(len(b)-3, 1)
			if i+4 > len(b) {
				return -1
			}
			return int32(binary.LittleEndian.Uint32(b[i:]))
		}
		slots := int(sel) % 40
		for _, code := range []uint16{absMTTrackingID, absMTPositionX, absMTPositionY} {
			v := make([]int32, slots)
			for i := range v {
				v[i] = word(int(code)*3 + i*5)
			}
			st.Slots = append(st.Slots, slotValues{Code: code, Values: v})
		}
		for _, code := range []uint16{absX, absY, absMTSlot} {
			st.Abs = append(st.Abs, absValue{Code: code, Value: word(int(code) * 11)})
		}
		if word(1)&1 != 0 {
			st.Keys = []uint16{btnTouch, btnLeft}
		}
		return st, nil
	}
}

// TestResyncWithoutState: when the kernel cannot say where the device is
// after a loss (it went away meanwhile), whatever was held is released.
func TestResyncWithoutState(t *testing.T) {
	tests := []struct {
		name string
		dev  deviceInfo
		s    *stream
		want []input.Event
	}{
		{"finger", mtDev,
			new(stream).abs(absMTTrackingID, 7).abs(absMTPositionX, 10).abs(absMTPositionY, 20).syn().dropped().syn(),
			[]input.Event{down(10, 20), up(10, 20)}},
		{"touch screen", singleTouchDev,
			new(stream).abs(absX, 0).abs(absY, 0).key(btnTouch, 1).syn().dropped().abs(absX, 100).syn(),
			[]input.Event{down(0, 0), up(0, 0)}},
		{"mouse button", mouseDev,
			new(stream).key(btnLeft, 1).syn().dropped().rel(relX, 100).syn().rel(relX, 10).syn(),
			[]input.Event{down(640, 400), up(640, 400)}},
		{"keys in the lost frame", keyboardDev,
			new(stream).key(2, 1).syn().dropped().key(3, 1).syn().key(4, 1).syn(),
			[]input.Event{key("1"), key("3")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gone := func() (deviceState, error) { return deviceState{}, syscall.ENODEV }
			got := track(t, tt.dev, image.Pt(1280, 800), Options{}, gone, tt.s)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzFixture parses arbitrary files as fixtures and replays what parses.
func FuzzFixture(f *testing.F) {
	for _, name := range testdataFixtures(f) {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, recs, err := parseFixture(b)
		if err != nil {
			return
		}
		p, err := classify("fuzz", info)
		if err != nil {
			return
		}
		screen := image.Pt(640, 480)
		h := newFakeHandle(info, nil, nil)
		tr := newTracker(p, screen, Options{}, func() (deviceState, error) { return h.state(info) })
		var out []input.Event
		down := false
		for i := 0; i+fixtureRecord <= len(recs); i += fixtureRecord {
			out = tr.feed(decodeRecord(recs[i:], fixtureRecord, binary.LittleEndian), out[:0])
			checkStream(t, out, screen, &down)
		}
	})
}

// testdataFixtures lists every fixture in testdata, hand-written and
// recorded.
func testdataFixtures(t testing.TB) []string {
	m, err := filepath.Glob(filepath.Join("testdata", "*.evdev"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no fixtures in testdata: %v", err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}
