package camera_test

import (
	"bytes"
	"image/jpeg"
	"testing"
	"time"

	"roomkit/drivers/camera"
	"roomkit/drivers/camera/cameratest"
)

var clock = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

func TestYUYVToI420(t *testing.T) {
	const w, h = 320, 180
	want := make([]byte, w*h*3/2)
	cameratest.Draw(want, w, h, 7, clock)
	yuyv := make([]byte, w*h*2)
	cameratest.DrawYUYV(yuyv, w, h, 7, clock)
	var c camera.Converter
	got, err := c.I420(camera.Frame{Data: yuyv}, camera.Info{Format: camera.YUYV, Width: w, Height: h})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("YUYV of the pattern does not convert back to the pattern's I420")
	}
	if _, err := c.I420(camera.Frame{Data: yuyv[:100]}, camera.Info{Format: camera.YUYV, Width: w, Height: h}); err == nil {
		t.Error("a short YUYV frame converted without an error")
	}
}

// meanDiff is the mean absolute difference of two planes.
func meanDiff(a, b []byte) float64 {
	var s int
	for i := range a {
		d := int(a[i]) - int(b[i])
		s += max(d, -d)
	}
	return float64(s) / float64(len(a))
}

func TestMJPEGToI420(t *testing.T) {
	const w, h = 640, 360
	want := make([]byte, w*h*3/2)
	cameratest.Draw(want, w, h, 3, clock)
	jpg := cameratest.JPEG(w, h, 3, clock, 90)
	var c camera.Converter
	info := camera.Info{Format: camera.MJPEG, Width: w, Height: h}
	got, err := c.I420(camera.Frame{Data: jpg}, info)
	if err != nil {
		t.Fatal(err)
	}
	if d := meanDiff(got[:w*h], want[:w*h]); d > 2 {
		t.Errorf("decoded luma differs from the pattern by %.2f on average", d)
	}
	if d := meanDiff(got[w*h:], want[w*h:]); d > 2 {
		t.Errorf("decoded chroma differs from the pattern by %.2f on average", d)
	}

	// The same JPEG as many UVC cameras send it: without Huffman tables.
	stripped := stripDHT(t, jpg)
	if _, err := jpeg.Decode(bytes.NewReader(stripped)); err == nil {
		t.Fatal("the stripped JPEG still decodes: the test lost its point")
	}
	want2 := bytes.Clone(got)
	got2, err := c.I420(camera.Frame{Data: stripped}, info)
	if err != nil {
		t.Fatalf("JPEG without Huffman tables: %v", err)
	}
	if !bytes.Equal(got2, want2) {
		t.Error("with the standard tables inserted the frame decodes differently")
	}

	for _, tc := range []struct {
		name string
		data []byte
		info camera.Info
	}{
		{"not a JPEG", []byte("hello, world"), info},
		{"wrong size", jpg, camera.Info{Format: camera.MJPEG, Width: 1280, Height: 720}},
		{"truncated", jpg[:len(jpg)/2], info},
		{"H.264 is not converted", jpg, camera.Info{Format: camera.H264, Width: w, Height: h}},
	} {
		if _, err := c.I420(camera.Frame{Data: tc.data}, tc.info); err == nil {
			t.Errorf("%s: converted without an error", tc.name)
		}
	}
}

// stripDHT removes the DHT segments of a JPEG.
func stripDHT(t *testing.T, jpg []byte) []byte {
	out := append([]byte(nil), jpg[:2]...)
	i := 2
	for i+4 <= len(jpg) && jpg[i] == 0xff && jpg[i+1] != 0xda {
		n := 2 + (int(jpg[i+2])<<8 | int(jpg[i+3]))
		if jpg[i+1] != 0xc4 {
			out = append(out, jpg[i:i+n]...)
		}
		i += n
	}
	if len(out) == i {
		t.Fatal("no DHT segment found to strip")
	}
	return append(out, jpg[i:]...)
}

func FuzzConvertMJPEG(f *testing.F) {
	f.Add(cameratest.JPEG(64, 48, 0, clock, 50))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xda, 0, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c camera.Converter
		c.I420(camera.Frame{Data: b}, camera.Info{Format: camera.MJPEG, Width: 64, Height: 48})
	})
}
