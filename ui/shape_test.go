package ui

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	"roomkit/ui/uitest"
)

// TestFillRoundMatchesWholeMask checks that filling a rounded rectangle
// through the cached bands of its mask draws exactly what one masked draw
// with the whole mask draws, opaque and translucent, over a background
// that is not flat.
func TestFillRoundMatchesWholeMask(t *testing.T) {
	tests := []struct {
		name    string
		r       image.Rectangle
		rad     int
		c       color.RGBA
		banding bool // whether the mask is kept as bands
	}{
		{"button", image.Rect(30, 40, 430, 160), 24, colAccent, true},
		{"video tile", image.Rect(5, 7, 905, 513), 16, colBackground, true},
		{"translucent label", image.Rect(100, 300, 420, 352), 12, color.RGBA{0, 0, 0, 0x99}, true},
		{"pill", image.Rect(10, 10, 210, 50), 40, colText, false},
		{"clipped by the screen", image.Rect(-20, 900, 300, 1100), 20, colAccent, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := busy(Size1080p), busy(Size1080p)
			r := NewRenderer(Size1080p)
			r.fillRound(got, tt.r, tt.rad, tt.c)
			if m := r.roundMask(tt.r.Dx(), tt.r.Dy(), tt.rad); (m.band != 0) != tt.banding {
				t.Errorf("mask kept as bands: %v, want %v", m.band != 0, tt.banding)
			}
			whole := rasterRound(tt.r.Dx(), tt.r.Dy(), min(tt.rad, tt.r.Dx()/2, tt.r.Dy()/2))
			draw.DrawMask(want, tt.r, image.NewUniform(tt.c), image.Point{}, whole, image.Point{}, draw.Over)
			if d, _ := uitest.Diff(got, want, 0); d != 0 {
				t.Errorf("%d pixels differ from a draw with the whole mask", d)
			}
		})
	}
}

// busy is an image whose every pixel differs from its neighbours'.
func busy(size image.Point) *image.RGBA {
	img := image.NewRGBA(image.Rectangle{Max: size})
	for y := range size.Y {
		for x := range size.X {
			img.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 0xff})
		}
	}
	return img
}
