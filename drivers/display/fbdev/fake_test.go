package fbdev

import (
	"fmt"
	"io/fs"
	"sync"
)

// Screeninfo as recorded from the kernel (FBIOGET_VSCREENINFO and
// FBIOGET_FSCREENINFO) on the kinds of framebuffer a kit meets.
var (
	// efifb on a PC kit under OVMF: XRGB8888, no second page, no panning.
	efi1080p = fixture{
		v: varScreeninfo{
			XRes: 1920, YRes: 1080, XResVirtual: 1920, YResVirtual: 1080, BitsPerPixel: 32,
			Red: bitfield{Offset: 16, Length: 8}, Green: bitfield{Offset: 8, Length: 8},
			Blue: bitfield{Offset: 0, Length: 8}, Transp: bitfield{Offset: 24, Length: 8},
			Height: 0xffffffff, Width: 0xffffffff, Pixclock: 10000, Vmode: 0,
		},
		f: fixScreeninfo{
			ID: id("EFI VGA"), SmemStart: 0x80000000, SmemLen: 1920 * 1080 * 4,
			Type: typePackedPixels, Visual: visualTrueColor, LineLength: 1920 * 4,
		},
	}
	// A 16-bit LCD controller that pads rows to 64-byte bursts and offers a
	// second page for flipping.
	rgb565Padded = fixture{
		v: varScreeninfo{
			XRes: 1280, YRes: 800, XResVirtual: 1280, YResVirtual: 1600, BitsPerPixel: 16,
			Red: bitfield{Offset: 11, Length: 5}, Green: bitfield{Offset: 5, Length: 6},
			Blue: bitfield{Offset: 0, Length: 5},
		},
		f: fixScreeninfo{
			ID: id("mxsfb-drmfb"), SmemLen: 2624 * 1600,
			Type: typePackedPixels, Visual: visualTrueColor, YPanStep: 1, LineLength: 2624,
		},
	}
	// A panel that wants its bytes red first (XBGR8888), double buffered.
	bgr800 = fixture{
		v: varScreeninfo{
			XRes: 800, YRes: 480, XResVirtual: 800, YResVirtual: 960, BitsPerPixel: 32,
			Red: bitfield{Offset: 0, Length: 8}, Green: bitfield{Offset: 8, Length: 8},
			Blue: bitfield{Offset: 16, Length: 8},
		},
		f: fixScreeninfo{
			ID: id("bgr-dpi-panel"), SmemLen: 800 * 4 * 960,
			Type: typePackedPixels, Visual: visualTrueColor, YPanStep: 1, LineLength: 800 * 4,
		},
	}
	// For the benchmark: 1080p at 16 bits, single buffered.
	rgb565_1080p = fixture{
		v: varScreeninfo{
			XRes: 1920, YRes: 1080, XResVirtual: 1920, YResVirtual: 1080, BitsPerPixel: 16,
			Red: bitfield{Offset: 11, Length: 5}, Green: bitfield{Offset: 5, Length: 6},
			Blue: bitfield{Offset: 0, Length: 5},
		},
		f: fixScreeninfo{
			ID: id("simple"), SmemLen: 1920 * 1080 * 2,
			Type: typePackedPixels, Visual: visualTrueColor, LineLength: 1920 * 2,
		},
	}
)

type fixture struct {
	v varScreeninfo
	f fixScreeninfo
}

func id(s string) (b [16]byte) {
	copy(b[:], s)
	return b
}

// fakeFB is a framebuffer backed by a byte slice.
type fakeFB struct {
	fixture
	mu     sync.Mutex
	mem    []byte
	pans   []uint32 // yoffset of each FBIOPAN_DISPLAY
	panErr error
	closed bool
}

func newFakeFB(fx fixture, fill byte) *fakeFB {
	d := &fakeFB{fixture: fx, mem: make([]byte, fx.f.SmemLen)}
	for i := range d.mem {
		d.mem[i] = fill
	}
	return d
}

func (d *fakeFB) varInfo() (varScreeninfo, error) { return d.v, nil }
func (d *fakeFB) fixInfo() (fixScreeninfo, error) { return d.f, nil }
func (d *fakeFB) mmap(size int) ([]byte, error) {
	if size > len(d.mem) {
		return nil, fmt.Errorf("mmap %d of %d bytes", size, len(d.mem))
	}
	return d.mem[:size], nil
}
func (d *fakeFB) pan(v *varScreeninfo) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.panErr != nil {
		return d.panErr
	}
	d.pans = append(d.pans, v.YOffset)
	d.v.YOffset = v.YOffset
	return nil
}
func (d *fakeFB) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

type fakeTTY struct {
	modes  []int
	closed bool
}

func (t *fakeTTY) setMode(m int) error { t.modes = append(t.modes, m); return nil }
func (t *fakeTTY) close() error        { t.closed = true; return nil }

type fakeSys struct {
	fb     *fakeFB
	tty    *fakeTTY
	ttyErr error
}

func (s *fakeSys) openFB(path string) (device, error) {
	if s.fb == nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	return s.fb, nil
}

func (s *fakeSys) openConsole(path string) (console, error) {
	if s.ttyErr != nil {
		return nil, s.ttyErr
	}
	return s.tty, nil
}
