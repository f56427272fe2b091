package evdev

import (
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
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

	mu     sync.Mutex
	closed chan struct{}
	once   sync.Once
}

func newFakeHandle(dev deviceInfo, records []byte, end error) *fakeHandle {
	return &fakeHandle{dev: dev, data: records, size: fixtureRecord, bo: binary.LittleEndian, end: end, closed: make(chan struct{})}
}

func (h *fakeHandle) info() (deviceInfo, error) { return h.dev, nil }
func (h *fakeHandle) recordSize() int           { return h.size }
func (h *fakeHandle) order() binary.ByteOrder   { return h.bo }

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
	tabletDev = deviceInfo{
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
