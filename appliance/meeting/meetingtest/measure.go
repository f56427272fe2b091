package meetingtest

import (
	"errors"
	"fmt"
	"image"
	"math"

	"roomkit/drivers/camera/cameratest"
)

// ZeroCrossingHz estimates the frequency of a tone sampled at rate from
// its rising zero crossings.
func ZeroCrossingHz(s []int16, rate int) float64 {
	n := 0
	for i := 1; i < len(s); i++ {
		if s[i-1] < 0 && s[i] >= 0 {
			n++
		}
	}
	return float64(n) * float64(rate) / float64(len(s))
}

// RMS is the loudness of s, 0 (silence, or no samples) to 32768.
func RMS(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

// ChangedPixels counts the luma samples in the top rows of a and b (where
// cameratest's pattern draws its clock) that differ by more than 60: a few
// dozen are coding noise, more mean the picture moved.
func ChangedPixels(a, b *image.YCbCr, rows int) int {
	n := 0
	for y := 0; y < rows && y < a.Rect.Dy(); y++ {
		for x := 0; x < a.Rect.Dx(); x++ {
			if d := int(a.Y[y*a.YStride+x]) - int(b.Y[y*b.YStride+x]); d > 60 || d < -60 {
				n++
			}
		}
	}
	return n
}

// CheckBars compares the middle row of pic with cameratest's eight colour
// bars and says which bars' Y, Cb or Cr is off by more than tolerance.
func CheckBars(pic *image.YCbCr, tolerance int) error {
	var bars [8][3]byte
	for i := range bars {
		bars[i] = cameratest.BarColour(i, len(bars))
	}
	return CheckBarsOf(pic, bars, tolerance)
}

// CheckBarsOf compares the middle row of pic with eight vertical bars of
// the given Y, Cb, Cr, left to right.
func CheckBarsOf(pic *image.YCbCr, bars [8][3]byte, tolerance int) error {
	w, row := pic.Rect.Dx(), pic.Rect.Dy()/2
	var errs []error
	for bar, want := range bars {
		x := (2*bar + 1) * w / 16
		got := pic.YCbCrAt(x, row)
		if off(got.Y, want[0]) > tolerance || off(got.Cb, want[1]) > tolerance || off(got.Cr, want[2]) > tolerance {
			errs = append(errs, fmt.Errorf("bar %d at x=%d: YUV %d,%d,%d, want about %v", bar, x, got.Y, got.Cb, got.Cr, want))
		}
	}
	return errors.Join(errs...)
}

func off(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }
