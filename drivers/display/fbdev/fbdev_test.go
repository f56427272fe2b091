package fbdev

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"io/fs"
	"strings"
	"testing"
)

// testFrame is opaque grey with a few known colours at known places.
func testFrame(w, h int, marks map[image.Point]color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 0x80, 0x80, 0x80, 0xff
	}
	for p, c := range marks {
		img.SetRGBA(p.X, p.Y, c)
	}
	return img
}

var (
	red    = color.RGBA{0xff, 0, 0, 0xff}
	green  = color.RGBA{0, 0xff, 0, 0xff}
	blue   = color.RGBA{0, 0, 0xff, 0xff}
	white  = color.RGBA{0xff, 0xff, 0xff, 0xff}
	odd    = color.RGBA{0x12, 0x34, 0x56, 0xff}
	padded = byte(0xAA) // what the fake memory starts as
)

func TestShowPixelExact(t *testing.T) {
	tests := []struct {
		name string
		fx   fixture
		want map[color.RGBA][]byte // bytes of one pixel in framebuffer memory
		grey []byte
	}{
		{"EFI XRGB8888 1080p", efi1080p, map[color.RGBA][]byte{
			red: {0x00, 0x00, 0xff, 0xff}, green: {0x00, 0xff, 0x00, 0xff}, blue: {0xff, 0x00, 0x00, 0xff},
			white: {0xff, 0xff, 0xff, 0xff}, odd: {0x56, 0x34, 0x12, 0xff},
		}, []byte{0x80, 0x80, 0x80, 0xff}},
		{"RGB565 padded stride", rgb565Padded, map[color.RGBA][]byte{
			red: {0x00, 0xf8}, green: {0xe0, 0x07}, blue: {0x1f, 0x00},
			white: {0xff, 0xff}, odd: {0xaa, 0x11},
		}, []byte{0x10, 0x84}},
		{"XBGR8888", bgr800, map[color.RGBA][]byte{
			red: {0xff, 0x00, 0x00, 0xff}, green: {0x00, 0xff, 0x00, 0xff}, blue: {0x00, 0x00, 0xff, 0xff},
			white: {0xff, 0xff, 0xff, 0xff}, odd: {0x12, 0x34, 0x56, 0xff},
		}, []byte{0x80, 0x80, 0x80, 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := newFakeFB(tt.fx, padded)
			fb, err := open(&fakeSys{fb: dev, tty: &fakeTTY{}}, "/dev/fb0", "/dev/tty0")
			if err != nil {
				t.Fatal(err)
			}
			defer fb.Close()
			w, h := int(tt.fx.v.XRes), int(tt.fx.v.YRes)
			marks := map[image.Point]color.RGBA{
				{0, 0}: red, {w - 1, 0}: green, {0, h - 1}: blue, {w - 1, h - 1}: white, {5, 7}: odd,
			}
			if err := fb.Show(testFrame(w, h, marks)); err != nil {
				t.Fatal(err)
			}
			line, bpp := int(tt.fx.f.LineLength), int(tt.fx.v.BitsPerPixel/8)
			shown := int(dev.v.YOffset) * line // the page on screen now
			pixel := func(x, y int) []byte {
				o := shown + y*line + x*bpp
				return dev.mem[o : o+bpp]
			}
			for p, c := range marks {
				if got := pixel(p.X, p.Y); !bytes.Equal(got, tt.want[c]) {
					t.Errorf("pixel %v = % x, want % x for %v", p, got, tt.want[c], c)
				}
			}
			if got := pixel(w/2, h/2); !bytes.Equal(got, tt.grey) {
				t.Errorf("grey background = % x, want % x", got, tt.grey)
			}
			// Bytes past the visible row belong to no pixel: untouched, on every page.
			for y := 0; y < int(tt.fx.v.YResVirtual); y++ {
				pad := dev.mem[y*line+w*bpp : (y+1)*line]
				for i, b := range pad {
					if b != padded {
						t.Fatalf("row %d: stride padding byte %d changed to %#x", y, i, b)
					}
				}
			}
		})
	}
}

func TestPageFlipping(t *testing.T) {
	dev := newFakeFB(bgr800, padded)
	fb, err := open(&fakeSys{fb: dev, tty: &fakeTTY{}}, "/dev/fb0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	frame := 800 * 4 * 480
	first := testFrame(800, 480, map[image.Point]color.RGBA{{0, 0}: red})
	if err := fb.Show(first); err != nil {
		t.Fatal(err)
	}
	// The page on screen while the frame was drawn must not have been touched.
	for i, b := range dev.mem[:frame] {
		if b != padded {
			t.Fatalf("the visible page was written at byte %d before the flip", i)
		}
	}
	if err := fb.Show(testFrame(800, 480, map[image.Point]color.RGBA{{0, 0}: blue})); err != nil {
		t.Fatal(err)
	}
	if want := []uint32{480, 0}; !equal(dev.pans, want) {
		t.Errorf("FBIOPAN_DISPLAY yoffsets = %v, want %v", dev.pans, want)
	}
	if got := dev.mem[:4]; !bytes.Equal(got, []byte{0, 0, 0xff, 0xff}) {
		t.Errorf("second frame on page 0 starts % x, want blue", got)
	}
	if got := dev.mem[frame : frame+4]; !bytes.Equal(got, []byte{0xff, 0, 0, 0xff}) {
		t.Errorf("first frame on page 1 starts % x, want red", got)
	}
}

func TestPanRefusedFallsBackToCopy(t *testing.T) {
	dev := newFakeFB(bgr800, padded)
	dev.panErr = errors.New("invalid argument")
	fb, err := open(&fakeSys{fb: dev, tty: &fakeTTY{}}, "/dev/fb0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	for _, c := range []color.RGBA{red, green} {
		if err := fb.Show(testFrame(800, 480, map[image.Point]color.RGBA{{0, 0}: c})); err != nil {
			t.Fatal(err)
		}
		// The screen stays on page 0, so that is where the frame must be.
		want := []byte{c.R, c.G, c.B, 0xff}
		if got := dev.mem[:4]; !bytes.Equal(got, want) {
			t.Errorf("visible page starts % x, want % x", got, want)
		}
	}
}

func TestConsoleMode(t *testing.T) {
	tty := &fakeTTY{}
	fb, err := open(&fakeSys{fb: newFakeFB(efi1080p, 0), tty: tty}, "/dev/fb0", "/dev/tty0")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{kdGraphics}; !equalInts(tty.modes, want) {
		t.Errorf("after Open console modes = %v, want %v (graphics)", tty.modes, want)
	}
	if err := fb.Close(); err != nil {
		t.Fatal(err)
	}
	if want := []int{kdGraphics, kdText}; !equalInts(tty.modes, want) || !tty.closed {
		t.Errorf("after Close console modes = %v closed=%v, want %v and closed", tty.modes, tty.closed, want)
	}
	if err := fb.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if len(tty.modes) != 2 {
		t.Errorf("second Close set the console mode again: %v", tty.modes)
	}
	if err := fb.Show(testFrame(1920, 1080, nil)); err == nil {
		t.Error("Show after Close succeeded")
	}
	if fb.Status().Present {
		t.Error("closed framebuffer reports present")
	}
}

func TestNoConsoleStillShows(t *testing.T) {
	dev := newFakeFB(efi1080p, 0)
	fb, err := open(&fakeSys{fb: dev, ttyErr: fs.ErrNotExist}, "/dev/fb0", "/dev/tty0")
	if err != nil {
		t.Fatalf("a kit without a text console must still show the UI: %v", err)
	}
	defer fb.Close()
	if err := fb.Show(testFrame(1920, 1080, map[image.Point]color.RGBA{{0, 0}: red})); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dev.mem[:4], []byte{0, 0, 0xff, 0xff}) {
		t.Errorf("frame not shown: % x", dev.mem[:4])
	}
}

func TestOpenErrors(t *testing.T) {
	depth24 := efi1080p
	depth24.v.BitsPerPixel = 24
	pseudo := efi1080p
	pseudo.v.BitsPerPixel = 8
	pseudo.f.Visual = 3 // FB_VISUAL_PSEUDOCOLOR
	short := efi1080p
	short.f.LineLength = 1000
	tenBit := efi1080p
	tenBit.v.Red = bitfield{Offset: 20, Length: 10}
	tests := []struct {
		name string
		sys  *fakeSys
		want string
	}{
		{"missing", &fakeSys{}, "open framebuffer /dev/fb0: no such file (is the display connected and the fbdev driver loaded?)"},
		{"24 bpp", &fakeSys{fb: newFakeFB(depth24, 0)}, "unsupported depth of 24 bits per pixel; supported are 32 (XRGB8888) and 16 (RGB565)"},
		{"pseudocolour", &fakeSys{fb: newFakeFB(pseudo, 0)}, "(EFI VGA) is not a packed true-colour framebuffer"},
		{"short line", &fakeSys{fb: newFakeFB(short, 0)}, "line length 1000 bytes is shorter than a 1920-pixel row"},
		{"10-bit channels", &fakeSys{fb: newFakeFB(tenBit, 0)}, "red channel is 10 bits at offset 20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := open(tt.sys, "/dev/fb0", "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to say %q", err, tt.want)
			}
			if tt.sys.fb != nil && !tt.sys.fb.closed {
				t.Error("rejected framebuffer left open")
			}
		})
	}
}

func TestOpenMissingDevice(t *testing.T) {
	path := t.TempDir() + "/fb0"
	_, err := OpenConsole(path, "")
	want := "open framebuffer " + path + ": no such file (is the display connected and the fbdev driver loaded?)"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("error does not match fs.ErrNotExist")
	}
}

func TestShowWrongSize(t *testing.T) {
	fb, err := open(&fakeSys{fb: newFakeFB(efi1080p, 0)}, "/dev/fb0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	err = fb.Show(image.NewRGBA(image.Rect(0, 0, 1280, 720)))
	if err == nil || !strings.Contains(err.Error(), "1280x720 on the 1920x1080 framebuffer") {
		t.Fatalf("error = %v", err)
	}
	if got := fb.Status().Name; got != "Framebuffer /dev/fb0 (EFI VGA, 1920x1080 XRGB8888)" {
		t.Errorf("status name = %q", got)
	}
}

func equal(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func benchmarkShow(b *testing.B, fx fixture) {
	fb, err := open(&fakeSys{fb: newFakeFB(fx, 0)}, "/dev/fb0", "")
	if err != nil {
		b.Fatal(err)
	}
	defer fb.Close()
	img := testFrame(int(fx.v.XRes), int(fx.v.YRes), nil)
	b.SetBytes(int64(len(img.Pix)))
	b.ReportAllocs()
	for b.Loop() {
		if err := fb.Show(img); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkShowXRGB8888_1080p(b *testing.B) { benchmarkShow(b, efi1080p) }
func BenchmarkShowRGB565_1080p(b *testing.B)   { benchmarkShow(b, rgb565_1080p) }

// TestConvertRowTails checks rows whose pixel count is odd, where the
// two-pixels-at-a-time paths hand over to the one-pixel loop.
func TestConvertRowTails(t *testing.T) {
	src := []byte{0xff, 0, 0, 0xff, 0, 0xff, 0, 0xff, 0x12, 0x34, 0x56, 0xff}
	tests := []struct {
		fx   fixture
		want []byte
	}{
		{efi1080p, []byte{0, 0, 0xff, 0xff, 0, 0xff, 0, 0xff, 0x56, 0x34, 0x12, 0xff}},
		{rgb565_1080p, []byte{0x00, 0xf8, 0xe0, 0x07, 0xaa, 0x11}},
		{bgr800, []byte{0xff, 0, 0, 0xff, 0, 0xff, 0, 0xff, 0x12, 0x34, 0x56, 0xff}},
	}
	for _, tt := range tests {
		pf, err := newPixelFormat(&tt.fx.v)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]byte, len(tt.want)+2)
		dst[len(dst)-2], dst[len(dst)-1] = padded, padded
		pf.convertRow(dst[:len(tt.want)], src)
		if !bytes.Equal(dst[:len(tt.want)], tt.want) {
			t.Errorf("%s: 3 pixels = % x, want % x", pf.name, dst[:len(tt.want)], tt.want)
		}
		if dst[len(dst)-2] != padded || dst[len(dst)-1] != padded {
			t.Errorf("%s: wrote past the row", pf.name)
		}
	}
}
