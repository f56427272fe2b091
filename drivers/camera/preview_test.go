package camera_test

import (
	"errors"
	"image"
	"testing"
	"time"

	"roomkit/drivers/camera"
	"roomkit/drivers/camera/cameratest"
)

func TestDownscaleI420(t *testing.T) {
	const maxW = 640
	for _, tc := range []struct {
		w, h int
		want image.Point
	}{
		{1280, 720, image.Pt(640, 360)},
		{1920, 1080, image.Pt(640, 360)},
		{640, 480, image.Pt(640, 480)},
		{320, 180, image.Pt(320, 180)},
		{1280, 800, image.Pt(640, 400)},
	} {
		src := make([]byte, tc.w*tc.h*3/2)
		// Y says where a pixel is; U and V where its chroma sample is.
		for y := range tc.h {
			for x := range tc.w {
				src[y*tc.w+x] = byte(x + y)
			}
		}
		cw := tc.w / 2
		for y := range tc.h / 2 {
			for x := range cw {
				src[tc.w*tc.h+y*cw+x] = byte(x)
				src[tc.w*tc.h+tc.w*tc.h/4+y*cw+x] = byte(y)
			}
		}
		img, err := camera.DownscaleI420(src, tc.w, tc.h, maxW)
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Size() != tc.want {
			t.Errorf("%dx%d: preview %v, want %v", tc.w, tc.h, img.Bounds().Size(), tc.want)
			continue
		}
		n := tc.w / tc.want.X
		for _, p := range []image.Point{{0, 0}, {1, 1}, {tc.want.X - 1, tc.want.Y - 1}, {tc.want.X / 3, tc.want.Y / 2}} {
			c := img.YCbCrAt(p.X, p.Y)
			if c.Y != byte(p.X*n+p.Y*n) || c.Cb != byte(p.X/2*n) || c.Cr != byte(p.Y/2*n) {
				t.Errorf("%dx%d: preview pixel %v is %v; want the source pixel %v", tc.w, tc.h, p, c, p.Mul(n))
			}
		}
	}
	if _, err := camera.DownscaleI420(make([]byte, 10), 1280, 720, maxW); err == nil {
		t.Error("a short frame was taken")
	}
}

// patternAt is when the test pattern's clock shows.
var patternAt = time.Date(2026, 11, 3, 9, 41, 0, 0, time.UTC)

// patterns are the synthetic camera's test pattern at 1280×720 in I420,
// and at w×h in YUYV and MJPEG.
func patterns(w, h int) (i420, yuyv, mjpeg []byte) {
	i420 = make([]byte, 1280*720*3/2)
	cameratest.Draw(i420, 1280, 720, 0, patternAt)
	yuyv = make([]byte, w*h*2)
	cameratest.DrawYUYV(yuyv, w, h, 0, patternAt)
	return i420, yuyv, cameratest.JPEG(w, h, 0, patternAt, 80)
}

func TestPreview(t *testing.T) {
	i420, yuyv, mjpeg := patterns(640, 360)
	for _, tc := range []struct {
		name string
		info camera.Info
		data []byte
		want image.Point
		err  error
	}{
		{"I420 720p is halved", camera.Info{Format: camera.I420, Width: 1280, Height: 720}, i420, image.Pt(640, 360), nil},
		{"YUYV", camera.Info{Format: camera.YUYV, Width: 640, Height: 360}, yuyv, image.Pt(640, 360), nil},
		{"MJPEG", camera.Info{Format: camera.MJPEG, Width: 640, Height: 360}, mjpeg, image.Pt(640, 360), nil},
		{"H.264 needs a decoder", camera.Info{Format: camera.H264, Width: 1280, Height: 720}, []byte{0, 0, 0, 1, 0x65}, image.Point{}, camera.ErrNeedsDecoder},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conv camera.Converter
			img, err := camera.Preview(&conv, tc.info, camera.Frame{Data: tc.data}, 640)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Preview: %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if img.Bounds().Size() != tc.want {
				t.Errorf("preview %v, want %v", img.Bounds().Size(), tc.want)
			}
			// The bars: white at the left edge, black-ish at the right.
			if y0, y1 := img.YCbCrAt(4, tc.want.Y/2).Y, img.YCbCrAt(tc.want.X-4, tc.want.Y/2).Y; y0 < 150 || y1 > 100 {
				t.Errorf("preview luma %d at the left, %d at the right; want the bars (light, dark)", y0, y1)
			}
		})
	}
	if camera.H264Placeholder() != camera.H264Placeholder() || camera.H264Placeholder().Bounds().Empty() {
		t.Error("the H.264 placeholder is not one picture")
	}
}

// BenchmarkPreviewFrame is one preview picture from a 720p frame: what
// the Settings screen spends five times a second.
func BenchmarkPreviewFrame(b *testing.B) {
	i420, yuyv, mjpeg := patterns(1280, 720)
	for _, bc := range []struct {
		format camera.Format
		data   []byte
	}{
		{camera.I420, i420},
		{camera.YUYV, yuyv},
		{camera.MJPEG, mjpeg},
	} {
		b.Run(string(bc.format), func(b *testing.B) {
			var conv camera.Converter
			info := camera.Info{Format: bc.format, Width: 1280, Height: 720}
			for b.Loop() {
				if _, err := camera.Preview(&conv, info, camera.Frame{Data: bc.data}, 640); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
