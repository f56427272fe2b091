package meetingtest

import (
	"image"
	"math"
	"strings"
	"testing"
	"time"

	"roomkit/drivers/camera/cameratest"
)

func tone(hz, amplitude float64, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(amplitude * math.Sin(2*math.Pi*hz*float64(i)/48000))
	}
	return s
}

func TestZeroCrossingHz(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    []int16
		want float64
	}{
		{"440 Hz", tone(440, 8000, 48000), 440},
		{"660 Hz", tone(660, 8000, 48000), 660},
		{"silence", make([]int16, 48000), 0},
	} {
		if got := ZeroCrossingHz(tc.s, 48000); math.Abs(got-tc.want) > 2 {
			t.Errorf("%s: %.1f Hz, want %.0f", tc.name, got, tc.want)
		}
	}
}

func TestRMS(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    []int16
		want float64
	}{
		{"sine", tone(440, 8000, 48000), 8000 / math.Sqrt2},
		{"square", []int16{1000, -1000, 1000, -1000}, 1000},
		{"silence", make([]int16, 960), 0},
		{"nothing", nil, 0},
	} {
		if got := RMS(tc.s); math.Abs(got-tc.want) > 1 {
			t.Errorf("%s: RMS %.1f, want %.1f", tc.name, got, tc.want)
		}
	}
}

// frame is frame n of cameratest's pattern as a picture, as a decoder
// would hand it over.
func frame(w, h, n int) *image.YCbCr {
	pic := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	buf := make([]byte, w*h*3/2)
	cameratest.Draw(buf, w, h, n, time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC).Add(time.Duration(n)*time.Second))
	copy(pic.Y, buf[:w*h])
	copy(pic.Cb, buf[w*h:w*h*5/4])
	copy(pic.Cr, buf[w*h*5/4:])
	return pic
}

func TestChangedPixels(t *testing.T) {
	a, b := frame(320, 240, 0), frame(320, 240, 30)
	rows := 240 / 40 * 12
	for _, tc := range []struct {
		name  string
		a, b  *image.YCbCr
		moved bool
		rows  int
	}{
		{"same frame", a, a, false, rows},
		{"the clock moved", a, b, true, rows},
		{"more rows than the picture", a, a, false, 1000},
	} {
		if n := ChangedPixels(tc.a, tc.b, tc.rows); (n >= 50) != tc.moved {
			t.Errorf("%s: %d changed pixels, want moved=%v", tc.name, n, tc.moved)
		}
	}
}

func TestCheckBars(t *testing.T) {
	grey := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
	for i := range grey.Y {
		grey.Y[i] = 128
	}
	for i := range grey.Cb {
		grey.Cb[i], grey.Cr[i] = 128, 128
	}
	for _, tc := range []struct {
		name    string
		pic     *image.YCbCr
		wantErr string
	}{
		{"the pattern", frame(320, 240, 0), ""},
		{"the pattern at 720p", frame(1280, 720, 5), ""},
		{"grey", grey, "bar 0 at x=20"},
	} {
		err := CheckBars(tc.pic, 12)
		if tc.wantErr == "" && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.wantErr)
		}
	}
}
