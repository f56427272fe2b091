// Package fbdev shows the UI on a Linux framebuffer (/dev/fb0): the EFI
// framebuffer on a PC kit, vc4's fbdev emulation on a Raspberry Pi.
//
// Frames arrive as image.RGBA and are converted to the framebuffer's own
// pixel layout, read from the kernel (32-bit XRGB8888 and its BGR sibling,
// 16-bit RGB565), honouring the line length the driver chose (which may be
// wider than the visible row). When the driver offers a second page
// (yres_virtual ≥ 2*yres), a frame is converted into the hidden page and
// flipped in with FBIOPAN_DISPLAY; otherwise it is converted straight into
// the visible memory (see Show). While open, the text console is switched
// to graphics mode so its cursor does not blink through the UI.
package fbdev

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"log/slog"
	"sync"

	"roomkit/drivers"
)

// DefaultPath is the first framebuffer, the one the console uses.
const DefaultPath = "/dev/fb0"

// DefaultConsole is the foreground virtual terminal.
const DefaultConsole = "/dev/tty0"

// Framebuffer is an open Linux framebuffer. It is safe for concurrent use.
type Framebuffer struct {
	path string
	name string // e.g. "EFI VGA, 1920x1080 XRGB8888"
	pf   pixelFormat
	w, h int
	line int // bytes per row in the framebuffer, ≥ w*bytes per pixel

	mu      sync.Mutex
	dev     device
	tty     console // nil when the console could not be switched
	vinfo   varScreeninfo
	mem     []byte // the whole mapping
	page    int    // the page being shown (0 or 1)
	double  bool   // whether Show flips pages instead of writing the visible one
	closed  bool
	lastErr string
}

// Open opens the framebuffer at path (DefaultPath if empty) and switches the
// console DefaultConsole to graphics mode.
func Open(path string) (*Framebuffer, error) {
	return OpenConsole(path, DefaultConsole)
}

// OpenConsole is Open with another console to switch to graphics mode, or
// none if tty is "" (e.g. when the UI runs on a second display).
func OpenConsole(path, tty string) (*Framebuffer, error) {
	if path == "" {
		path = DefaultPath
	}
	return open(kernel{}, path, tty)
}

// notFoundError keeps the hint for the room's staff while still matching
// fs.ErrNotExist for callers that check.
type notFoundError struct {
	path string
	err  error
}

func (e *notFoundError) Error() string {
	return fmt.Sprintf("open framebuffer %s: no such file (is the display connected and the fbdev driver loaded?)", e.path)
}

func (e *notFoundError) Unwrap() error { return e.err }

func open(sys system, path, tty string) (*Framebuffer, error) {
	dev, err := sys.openFB(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &notFoundError{path: path, err: err}
		}
		return nil, fmt.Errorf("open framebuffer %s: %w", path, err)
	}
	fb, err := setup(dev, path)
	if err != nil {
		dev.close()
		return nil, err
	}
	if tty != "" {
		fb.tty = graphicsMode(sys, tty)
	}
	return fb, nil
}

func setup(dev device, path string) (*Framebuffer, error) {
	vi, err := dev.varInfo()
	if err != nil {
		return nil, fmt.Errorf("framebuffer %s: FBIOGET_VSCREENINFO: %w", path, err)
	}
	fi, err := dev.fixInfo()
	if err != nil {
		return nil, fmt.Errorf("framebuffer %s: FBIOGET_FSCREENINFO: %w", path, err)
	}
	if fi.Type != typePackedPixels || (fi.Visual != visualTrueColor && fi.Visual != visualDirect) {
		return nil, fmt.Errorf("framebuffer %s (%s) is not a packed true-colour framebuffer (type %d, visual %d)", path, fi.name(), fi.Type, fi.Visual)
	}
	pf, err := newPixelFormat(&vi)
	if err != nil {
		return nil, fmt.Errorf("framebuffer %s (%s): %w", path, fi.name(), err)
	}
	w, h, line := int(vi.XRes), int(vi.YRes), int(fi.LineLength)
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("framebuffer %s (%s) reports a %dx%d screen", path, fi.name(), w, h)
	}
	if line < w*pf.bytes {
		return nil, fmt.Errorf("framebuffer %s (%s): line length %d bytes is shorter than a %d-pixel row", path, fi.name(), line, w)
	}
	frame := line * h
	if int(fi.SmemLen) < frame {
		return nil, fmt.Errorf("framebuffer %s (%s): %d bytes of video memory cannot hold a %dx%d frame", path, fi.name(), fi.SmemLen, w, h)
	}
	mem, err := dev.mmap(int(fi.SmemLen))
	if err != nil {
		return nil, fmt.Errorf("framebuffer %s: mmap %d bytes: %w", path, fi.SmemLen, err)
	}
	fb := &Framebuffer{
		path:  path,
		name:  fmt.Sprintf("%s, %dx%d %s", fi.name(), w, h, pf.name),
		pf:    pf,
		w:     w,
		h:     h,
		line:  line,
		dev:   dev,
		vinfo: vi,
		mem:   mem,
	}
	// Page flipping needs a second page in the mapping and a driver that
	// pans vertically (ypanstep 0 means it cannot).
	if int(vi.YResVirtual) >= 2*h && fi.YPanStep != 0 && len(mem) >= 2*frame {
		fb.double = true
		if int(vi.YOffset) >= h {
			fb.page = 1
		}
	}
	return fb, nil
}

// graphicsMode switches the console to KD_GRAPHICS. A kit without a text
// console (serial only) still shows the UI, so failure is only logged.
func graphicsMode(sys system, tty string) console {
	c, err := sys.openConsole(tty)
	if err != nil {
		slog.Warn("console stays in text mode", "console", tty, "err", err)
		return nil
	}
	if err := c.setMode(kdGraphics); err != nil {
		slog.Warn("console stays in text mode", "console", tty, "err", fmt.Errorf("KDSETMODE KD_GRAPHICS: %w", err))
		c.close()
		return nil
	}
	return c
}

// Bounds is the visible screen.
func (fb *Framebuffer) Bounds() image.Rectangle { return image.Rect(0, 0, fb.w, fb.h) }

// Show converts img and puts it on screen in one step.
func (fb *Framebuffer) Show(img *image.RGBA) error {
	if img.Rect.Dx() != fb.w || img.Rect.Dy() != fb.h {
		return fmt.Errorf("show frame of %dx%d on the %dx%d framebuffer %s", img.Rect.Dx(), img.Rect.Dy(), fb.w, fb.h, fb.path)
	}
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.closed {
		return fmt.Errorf("show on framebuffer %s: closed", fb.path)
	}
	frame := fb.line * fb.h
	if fb.double {
		next := 1 - fb.page
		dst := fb.mem[next*frame : (next+1)*frame]
		fb.convert(dst, img)
		v := fb.vinfo
		v.XOffset = 0
		v.YOffset = uint32(next * fb.h)
		if err := fb.dev.pan(&v); err != nil {
			// Some drivers offer the room but refuse to pan. The frame is
			// already converted: show it by copying, and stop flipping.
			slog.Warn("framebuffer cannot pan; drawing into the visible page instead", "path", fb.path, "err", err)
			copy(fb.mem[fb.page*frame:(fb.page+1)*frame], dst)
			fb.double = false
			return nil
		}
		fb.vinfo = v
		fb.page = next
		return nil
	}
	// No second page: convert into the visible one. This used to go
	// through an off-screen copy (a second screen-sized buffer, 4 MB at
	// 1280×800, a tenth of an idle kit) and one memcpy; but that copy was
	// no more synchronised with scan-out than this is (fbdev offers no
	// wait for vertical blank here), it was only quicker. Rows the UI did
	// not change are rewritten with the pixels they had, so only what
	// changed can tear, and the visible memory is only written, never read
	// (it may be uncached).
	fb.convert(fb.mem[fb.page*frame:(fb.page+1)*frame], img)
	return nil
}

// convert writes img into dst, a frame with fb.line bytes per row. Only the
// visible bytes of each row are written.
func (fb *Framebuffer) convert(dst []byte, img *image.RGBA) {
	n := fb.w * 4
	for y := 0; y < fb.h; y++ {
		src := img.Pix[y*img.Stride : y*img.Stride+n]
		row := dst[y*fb.line : y*fb.line+fb.w*fb.pf.bytes]
		fb.pf.convertRow(row, src)
	}
}

// Status reports the framebuffer and its mode.
func (fb *Framebuffer) Status() drivers.Status {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	return drivers.Status{
		Kind:    "display",
		Name:    fmt.Sprintf("Framebuffer %s (%s)", fb.path, fb.name),
		Present: !fb.closed,
		Error:   fb.lastErr,
	}
}

// Close gives the console back its text mode and unmaps the framebuffer.
func (fb *Framebuffer) Close() error {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.closed {
		return nil
	}
	fb.closed = true
	var errs []error
	if fb.tty != nil {
		if err := fb.tty.setMode(kdText); err != nil {
			errs = append(errs, fmt.Errorf("restore text console: KDSETMODE KD_TEXT: %w", err))
		}
		if err := fb.tty.close(); err != nil {
			errs = append(errs, fmt.Errorf("close console: %w", err))
		}
	}
	if err := fb.dev.close(); err != nil {
		errs = append(errs, fmt.Errorf("close framebuffer %s: %w", fb.path, err))
	}
	fb.mem = nil
	return errors.Join(errs...)
}

// littleEndian gates the fast paths, which put two pixels in one word.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// pixelFormat converts RGBA rows to one framebuffer layout. Channels are
// truncated to the framebuffer's bit depth; bits that belong to no colour
// (X or alpha) are set, so ARGB scanout shows the frame opaque.
type pixelFormat struct {
	name        string
	bytes       int    // 4 or 2
	rs, gs, bs  uint   // right shift from 8 bits to the channel's length
	ro, gor, bo uint   // channel offsets within the pixel
	fill        uint32 // bits of no colour channel
}

func newPixelFormat(v *varScreeninfo) (pixelFormat, error) {
	bpp := v.BitsPerPixel
	if bpp != 32 && bpp != 16 {
		return pixelFormat{}, fmt.Errorf("unsupported depth of %d bits per pixel; supported are 32 (XRGB8888) and 16 (RGB565)", bpp)
	}
	for _, c := range []struct {
		name string
		f    bitfield
	}{{"red", v.Red}, {"green", v.Green}, {"blue", v.Blue}} {
		if c.f.Length == 0 || c.f.Length > 8 || c.f.Offset+c.f.Length > bpp || c.f.MSBRight != 0 {
			return pixelFormat{}, fmt.Errorf("unsupported %d-bit pixel layout: %s channel is %d bits at offset %d", bpp, c.name, c.f.Length, c.f.Offset)
		}
	}
	mask := func(f bitfield) uint32 { return (1<<f.Length - 1) << f.Offset }
	used := mask(v.Red) | mask(v.Green) | mask(v.Blue)
	all := uint32(1<<bpp - 1)
	if bpp == 32 {
		all = 0xffffffff
	}
	pf := pixelFormat{
		bytes: int(bpp / 8),
		rs:    uint(8 - v.Red.Length), gs: uint(8 - v.Green.Length), bs: uint(8 - v.Blue.Length),
		ro: uint(v.Red.Offset), gor: uint(v.Green.Offset), bo: uint(v.Blue.Offset),
		fill: all &^ used,
	}
	switch {
	case bpp == 32 && v.Red.Offset == 16 && v.Green.Offset == 8 && v.Blue.Offset == 0 && v.Red.Length == 8:
		pf.name = "XRGB8888"
	case bpp == 32 && v.Red.Offset == 0 && v.Green.Offset == 8 && v.Blue.Offset == 16 && v.Red.Length == 8:
		pf.name = "XBGR8888"
	case bpp == 16 && v.Red.Offset == 11 && v.Green.Offset == 5 && v.Blue.Offset == 0 && v.Green.Length == 6:
		pf.name = "RGB565"
	case bpp == 16 && v.Red.Offset == 0 && v.Green.Offset == 5 && v.Blue.Offset == 11 && v.Green.Length == 6:
		pf.name = "BGR565"
	default:
		pf.name = fmt.Sprintf("%d bpp r%d@%d g%d@%d b%d@%d", bpp, v.Red.Length, v.Red.Offset, v.Green.Length, v.Green.Offset, v.Blue.Length, v.Blue.Offset)
	}
	return pf, nil
}

// convertRow converts one row of RGBA pixels (src) into dst, which holds
// exactly as many framebuffer pixels. Framebuffer memory is in the CPU's
// byte order. The loops index with bounds the compiler can prove, and the
// shifts are masked so they compile to single instructions: this is the
// whole cost of a frame.
func (pf *pixelFormat) convertRow(dst, src []byte) {
	rs, gs, bs := pf.rs&7, pf.gs&7, pf.bs&7
	ro, gor, bo := pf.ro&31, pf.gor&31, pf.bo&31
	fill := pf.fill
	if pf.bytes == 4 {
		n := min(len(dst), len(src)) / 4
		dst, src = dst[:n*4], src[:n*4]
		if pf.name == "XRGB8888" && littleEndian {
			// RGBA read as a little-endian word is ABGR: swap R and B, two
			// pixels at a time.
			const keep, low = 0x0000ff00_0000ff00, 0x000000ff_000000ff
			fill2 := uint64(fill)<<32 | uint64(fill)
			i := 0
			for ; i+8 <= len(src) && i+8 <= len(dst); i += 8 {
				v := binary.LittleEndian.Uint64(src[i:])
				v = v&keep | (v&low)<<16 | (v>>16)&low | fill2
				binary.NativeEndian.PutUint64(dst[i:], v)
			}
			if i+4 <= len(src) && i+4 <= len(dst) {
				v := binary.LittleEndian.Uint32(src[i:])
				binary.NativeEndian.PutUint32(dst[i:], v&0xff00|v&0xff<<16|v>>16&0xff|fill)
			}
			return
		}
		for i := 0; i+4 <= len(src) && i+4 <= len(dst); i += 4 {
			s := src[i : i+4 : i+4]
			v := uint32(s[0]>>rs)<<ro | uint32(s[1]>>gs)<<gor | uint32(s[2]>>bs)<<bo | fill
			binary.NativeEndian.PutUint32(dst[i:], v)
		}
		return
	}
	fill16 := uint16(fill)
	n := min(len(dst)/2, len(src)/4)
	dst, src = dst[:n*2], src[:n*4]
	i, j := 0, 0
	if pf.name == "RGB565" && littleEndian {
		// Two pixels per step: keep the top 5, 6, 5 bits of R, G, B.
		for ; i+8 <= len(src) && j+4 <= len(dst); i, j = i+8, j+4 {
			v := binary.LittleEndian.Uint64(src[i:])
			p0, p1 := uint32(v), uint32(v>>32)
			q0 := (p0&0xf8)<<8 | (p0>>5)&0x07e0 | (p0>>19)&0x1f
			q1 := (p1&0xf8)<<8 | (p1>>5)&0x07e0 | (p1>>19)&0x1f
			binary.LittleEndian.PutUint32(dst[j:], q0|q1<<16)
		}
	}
	for ; i+4 <= len(src) && j+2 <= len(dst); i, j = i+4, j+2 {
		s := src[i : i+4 : i+4]
		v := uint16(s[0]>>rs)<<ro | uint16(s[1]>>gs)<<gor | uint16(s[2]>>bs)<<bo | fill16
		binary.NativeEndian.PutUint16(dst[j:], v)
	}
}
