package display_test

import (
	"image"
	"image/color"
	"strconv"
	"strings"
	"testing"

	"roomkit/drivers/display"
	"roomkit/drivers/display/displaytest"
)

// grid makes an image from rows of letters, each letter a colour, so the
// expected pictures below can be read.
func grid(rows ...string) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, len(rows[0]), len(rows)))
	for y, row := range rows {
		for x, c := range row {
			img.SetRGBA(x, y, color.RGBA{R: uint8(c), G: uint8(c) * 3, B: 255 - uint8(c), A: 255})
		}
	}
	return img
}

func TestRotate(t *testing.T) {
	// The room's view: 4 wide, 3 high, every pixel different.
	room := grid(
		"abcd",
		"efgh",
		"ijkl",
	)
	tests := []struct {
		degrees int
		panel   *image.RGBA // what the panel, in its own orientation, must hold
	}{
		{0, room},
		// Turned 90° clockwise: the panel's own top edge is on the room's
		// right, so the room's right column, top down, is the panel's top
		// row, left to right.
		{90, grid(
			"dhl",
			"cgk",
			"bfj",
			"aei",
		)},
		{180, grid(
			"lkji",
			"hgfe",
			"dcba",
		)},
		{270, grid(
			"iea",
			"jfb",
			"kgc",
			"lhd",
		)},
	}
	for _, tt := range tests {
		fb := displaytest.New(tt.panel.Rect.Dx(), tt.panel.Rect.Dy())
		d, err := display.Rotate(fb, tt.degrees)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Bounds(); got != room.Rect {
			t.Errorf("%d°: the room sees %v, want %v", tt.degrees, got, room.Rect)
		}
		if err := d.Show(room); err != nil {
			t.Fatalf("%d°: %v", tt.degrees, err)
		}
		if got := fb.Frame(); string(got.Pix) != string(tt.panel.Pix) {
			t.Errorf("%d°: the panel shows\n%s\nwant\n%s", tt.degrees, letters(got), letters(tt.panel))
		}
		// A frame the size of the panel, not the room, is refused.
		if tt.degrees%180 != 0 {
			if err := d.Show(tt.panel); err == nil || !strings.Contains(err.Error(), "turned") {
				t.Errorf("%d°: a frame in the panel's orientation: %v", tt.degrees, err)
			}
		}
	}
}

func TestRotateOptions(t *testing.T) {
	fb := displaytest.New(8, 6)
	if d, err := display.Rotate(fb, 0); err != nil || d != display.Display(fb) {
		t.Errorf("0°: %v, %v; want the display itself, untouched", d, err)
	}
	if _, err := display.Rotate(fb, 45); err == nil || !strings.Contains(err.Error(), "want 0, 90, 180 or 270") {
		t.Errorf("45°: %v", err)
	}
	d, _ := display.Rotate(fb, 270)
	if st := d.Status(); st.Name != "In-memory framebuffer, turned 270°" || !st.Present {
		t.Errorf("status %+v", st)
	}
}

// letters prints an image made by grid.
func letters(img *image.RGBA) string {
	var b strings.Builder
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			b.WriteByte(img.RGBAAt(x, y).R)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// BenchmarkRotate is the cost a turned kit pays per frame, on a 1280×800
// panel, before the display's own conversion.
func BenchmarkRotate(b *testing.B) {
	for _, degrees := range []int{90, 180} {
		b.Run(strconv.Itoa(degrees), func(b *testing.B) {
			d, _ := display.Rotate(displaytest.New(1280, 800), degrees)
			frame := image.NewRGBA(d.Bounds())
			b.SetBytes(int64(len(frame.Pix)))
			for b.Loop() {
				d.Show(frame)
			}
		})
	}
}
