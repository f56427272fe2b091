package evdev

import (
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fixtures in testdata")

// fakeHandle replays records as a device would: a few at a time, then
// either an error (ENODEV for an unplugged device) or nothing until closed.
type fakeHandle struct {
	dev  deviceInfo
	data []byte
	size int
	bo   binary.ByteOrder
	end  error

	mu      sync.Mutex
	resyncs int // state answers given, from dev.Resyncs
	closed  chan struct{}
	once    sync.Once
}

func newFakeHandle(dev deviceInfo, records []byte, end error) *fakeHandle {
	return &fakeHandle{dev: dev, data: records, size: fixtureRecord, bo: binary.LittleEndian, end: end, closed: make(chan struct{})}
}

// info answers as EVIOCGNAME, EVIOCGBIT, EVIOCGABS and EVIOCGMTSLOTS do:
// the answers after a loss come only from state.
func (h *fakeHandle) info() (deviceInfo, error) {
	info := h.dev
	info.Resyncs = nil
	return info, nil
}

// state answers as the kernel did after each SYN_DROPPED of the recording,
// in order; asked once more than recorded, it fails as a device gone would.
func (h *fakeHandle) state(deviceInfo) (deviceState, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.resyncs >= len(h.dev.Resyncs) {
		return deviceState{}, syscall.ENODEV
	}
	h.resyncs++
	return h.dev.Resyncs[h.resyncs-1], nil
}

func (h *fakeHandle) recordSize() int         { return h.size }
func (h *fakeHandle) order() binary.ByteOrder { return h.bo }

func (h *fakeHandle) read(p []byte) (int, error) {
	h.mu.Lock()
	if len(h.data) > 0 {
		// Five records at a time, so frames straddle reads.
		n := copy(p[:min(len(p), 5*h.size)], h.data)
		h.data = h.data[n:]
		h.mu.Unlock()
		return n, nil
	}
	h.mu.Unlock()
	if h.end != nil {
		return 0, h.end
	}
	<-h.closed
	return 0, os.ErrClosed
}

func (h *fakeHandle) close() error {
	h.once.Do(func() { close(h.closed) })
	return nil
}

// loadFixture reads testdata/name.
func loadFixture(t testing.TB, name string) (deviceInfo, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	info, recs, err := parseFixture(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return info, recs
}

// stream builds event records for fixtures.
type stream struct {
	b    []byte
	usec int64
}

func (s *stream) ev(typ, code uint16, v int32) *stream {
	s.b = appendRecord(s.b, rawEvent{Sec: 1763800000 + s.usec/1e6, Usec: s.usec % 1e6, Type: typ, Code: code, Value: v})
	return s
}

func (s *stream) syn() *stream {
	s.ev(evSyn, synReport, 0)
	s.usec += 8000
	return s
}

// dropped is the kernel's SYN_DROPPED: this reader's buffer overflowed and
// the events after it, up to the next SYN_REPORT, are a partial frame.
func (s *stream) dropped() *stream { return s.ev(evSyn, synDropped, 0) }

func (s *stream) abs(code uint16, v int32) *stream { return s.ev(evAbs, code, v) }
func (s *stream) key(code uint16, v int32) *stream { return s.ev(evKey, code, v) }
func (s *stream) rel(code uint16, v int32) *stream { return s.ev(evRel, code, v) }

// Devices as their EVIOCG* ioctls describe them.
var (
	singleTouchDev = deviceInfo{
		Name: "ADS7846 Touchscreen",
		Abs:  []axis{{Code: absX, Min: 0, Max: 4095}, {Code: absY, Min: 0, Max: 4095}, {Code: 0x18, Max: 255}},
		Keys: []uint16{btnTouch},
	}
	mtDev = deviceInfo{
		Name: "ILITEK ILITEK-TOUCH",
		Abs: []axis{
			{Code: absX, Max: 1279}, {Code: absY, Max: 799},
			{Code: absMTSlot, Max: 9}, {Code: absMTPositionX, Max: 1279}, {Code: absMTPositionY, Max: 799},
			{Code: absMTTrackingID, Max: 65535},
		},
		Keys: []uint16{btnTouch},
	}
	// mtDev after events were lost: the kernel's answers to EVIOCGKEY,
	// EVIOCGABS and EVIOCGMTSLOTS (two slots of ten shown, the rest free).
	mtDropLiftDev = withResyncs(mtDev, mtState(1, 1279, 0, 0, -1, -1, []int32{110, 905}, []int32{210, 505}))
	mtDropNewDev  = withResyncs(mtDev,
		mtState(1, 1279, 0, btnTouch, -1, 46, []int32{100, 900}, []int32{200, 500}),
		mtState(0, 1279, 0, btnTouch, 47, -1, []int32{700, 905}, []int32{300, 505}))
	tabletDropDev = withResyncs(tabletDev, deviceState{Abs: []absValue{{absX, 32767}, {absY, 0}}})
	tabletDev     = deviceInfo{
		Name: "QEMU QEMU USB Tablet",
		Abs:  []axis{{Code: absX, Max: 32767}, {Code: absY, Max: 32767}},
		Rel:  []uint16{0x08, 0x0b}, // REL_WHEEL, REL_WHEEL_HI_RES: as the kernel reports it (testdata/qemu_usb_tablet_caps.evdev)
		Keys: []uint16{btnLeft, 0x111, 0x112},
	}
	mouseDev = deviceInfo{
		Name: "Logitech USB Optical Mouse",
		Rel:  []uint16{relX, relY, 0x08},
		Keys: []uint16{btnLeft, 0x111, 0x112},
	}
	keyboardDev = deviceInfo{
		Name: "AT Translated Set 2 keyboard",
		Keys: func() []uint16 {
			var k []uint16
			for c := uint16(1); c < 128; c++ {
				k = append(k, c)
			}
			return k
		}(),
	}
)

// withResyncs is dev with the kernel's answers after each SYN_DROPPED.
func withResyncs(dev deviceInfo, st ...deviceState) deviceInfo {
	dev.Resyncs = st
	return dev
}

// mtState is a multitouch device's state: the current slot, ABS_X and ABS_Y
// (which follow the first contact), BTN_TOUCH if held (0: not), and the
// first two slots' tracking IDs and positions, the other eight free.
func mtState(cur, x, y int32, touch uint16, id0, id1 int32, xs, ys []int32) deviceState {
	ids := append([]int32{id0, id1}, slices.Repeat([]int32{-1}, 8)...)
	pad := func(v []int32) []int32 { return append(slices.Clone(v), make([]int32, 8)...) }
	st := deviceState{
		Abs:   []absValue{{absX, x}, {absY, y}, {absMTSlot, cur}},
		Slots: []slotValues{{absMTTrackingID, ids}, {absMTPositionX, pad(xs)}, {absMTPositionY, pad(ys)}},
	}
	if touch != 0 {
		st.Keys = []uint16{touch}
	}
	return st
}

// fixtures are the streams in testdata, regenerated with -update.
var fixtures = map[string]struct {
	dev deviceInfo
	s   *stream
}{
	"single_touch_tap.evdev": {singleTouchDev, new(stream).
		abs(absX, 2048).abs(absY, 1024).key(btnTouch, 1).abs(0x18, 80).syn().
		abs(absX, 2100).abs(absY, 1100).syn().
		abs(absX, 2100).syn(). // no change: no event
		key(btnTouch, 0).abs(0x18, 0).syn()},
	"mt_two_finger.evdev": {mtDev, new(stream).
		abs(absMTSlot, 0).abs(absMTTrackingID, 45).abs(absMTPositionX, 100).abs(absMTPositionY, 200).
		key(btnTouch, 1).abs(absX, 100).abs(absY, 200).syn().
		abs(absMTSlot, 1).abs(absMTTrackingID, 46).abs(absMTPositionX, 900).abs(absMTPositionY, 500).syn().
		abs(absMTSlot, 0).abs(absMTPositionX, 110).abs(absMTPositionY, 210).
		abs(absMTSlot, 1).abs(absMTPositionX, 905).abs(absX, 110).abs(absY, 210).syn().
		abs(absMTSlot, 0).abs(absMTTrackingID, -1).syn().
		abs(absMTSlot, 1).abs(absMTPositionY, 505).syn().
		abs(absMTTrackingID, -1).key(btnTouch, 0).syn()},
	// A finger down and moving when this reader fell behind: the kernel
	// dropped events, among them the lift; the partial frame after
	// SYN_DROPPED says the finger moved. Only the state asked after it
	// says it is gone.
	"mt_drop_lift.evdev": {mtDropLiftDev, new(stream).
		abs(absMTSlot, 0).abs(absMTTrackingID, 45).abs(absMTPositionX, 100).abs(absMTPositionY, 200).
		key(btnTouch, 1).abs(absX, 100).abs(absY, 200).syn().
		abs(absMTPositionX, 110).abs(absMTPositionY, 210).abs(absX, 110).abs(absY, 210).syn().
		dropped().abs(absMTPositionX, 120).syn()},
	// A tap, then events lost while a second finger went down in slot 1;
	// it moves and lifts. Events lost again: it lifted, and a third finger
	// is down in slot 0, with no position event of its own to come.
	"mt_drop_new_touch.evdev": {mtDropNewDev, new(stream).
		abs(absMTSlot, 0).abs(absMTTrackingID, 45).abs(absMTPositionX, 100).abs(absMTPositionY, 200).
		key(btnTouch, 1).abs(absX, 100).abs(absY, 200).syn().
		abs(absMTTrackingID, -1).key(btnTouch, 0).syn().
		dropped().syn().
		abs(absMTPositionX, 905).syn().
		dropped().abs(absMTSlot, 1).syn().
		abs(absMTSlot, 0).abs(absMTTrackingID, -1).key(btnTouch, 0).syn()},
	// A tablet's button held when events were lost: released meanwhile,
	// after the pointer moved to the corner.
	"usb_tablet_drop.evdev": {tabletDropDev, new(stream).
		abs(absX, 16384).abs(absY, 16384).key(btnLeft, 1).syn().
		dropped().abs(absX, 20000).syn()},
	"usb_tablet_click.evdev": {tabletDev, new(stream).
		abs(absX, 16384).abs(absY, 16384).syn(). // hover: nothing
		key(btnLeft, 1).syn().
		key(btnLeft, 0).syn().
		abs(absX, 32767).abs(absY, 0).syn().
		key(btnLeft, 1).syn().
		key(btnLeft, 0).syn()},
	"mouse_move_click.evdev": {mouseDev, new(stream).
		rel(relX, 100).rel(relY, -50).syn().
		key(btnLeft, 1).syn().
		rel(relX, 10).rel(relY, 10).syn().
		key(btnLeft, 0).syn().
		rel(relX, -5000).rel(relY, -5000).syn().
		key(btnLeft, 1).syn().
		key(btnLeft, 0).syn()},
	"keyboard_digits.evdev": {keyboardDev, new(stream).
		ev(4, 4, 2).key(2, 1).syn().key(2, 0).syn(). // MSC_SCAN then "1"
		key(3, 1).syn().key(3, 0).syn().
		key(4, 1).syn().key(4, 0).syn().
		key(30, 1).syn().key(30, 0).syn(). // "a": not for the UI
		key(keyBackspace, 1).syn().key(keyBackspace, 2).syn().key(keyBackspace, 0).syn().
		key(11, 1).syn().key(11, 0).syn().
		key(76, 1).syn().key(76, 0).syn(). // keypad 5
		key(keyEnter, 1).syn().key(keyEnter, 0).syn().
		key(keyEsc, 1).syn().key(keyEsc, 0).syn()},
}

func TestWriteFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata")
	}
	for name, f := range fixtures {
		var b []byte
		w := &byteWriter{&b}
		if err := writeFixtureHeader(w, f.dev); err != nil {
			t.Fatal(err)
		}
		b = append(b, f.s.b...)
		if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type byteWriter struct{ b *[]byte }

func (w *byteWriter) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }

// fakeOpen opens fixtures by path, for Open, Scan and Manager.
func fakeOpen(devs map[string]func() *fakeHandle) func(string) (handle, error) {
	return func(path string) (handle, error) {
		f, ok := devs[path]
		if !ok {
			return nil, &os.PathError{Op: "open", Path: path, Err: syscall.ENOENT}
		}
		return f(), nil
	}
}
