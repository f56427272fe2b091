package cameratest

import (
	"bytes"
	"image"
	"image/jpeg"
	"time"
)

// Frames of the test pattern in the formats cameras deliver, for fixtures
// and tests of the V4L2 driver and the encoder path.

// DrawYUYV renders frame n of the pattern as packed 4:2:2 (Y0 U Y1 V),
// as a UVC camera's YUYV mode delivers it. buf holds w*h*2 bytes.
func DrawYUYV(buf []byte, w, h, n int, at time.Time) {
	i420 := make([]byte, w*h*3/2)
	Draw(i420, w, h, n, at)
	yp, up, vp := i420[:w*h], i420[w*h:w*h+w*h/4], i420[w*h+w*h/4:]
	for y := 0; y < h; y++ {
		for x := 0; x < w; x += 2 {
			c := (y/2)*(w/2) + x/2
			o := y*w*2 + x*2
			buf[o], buf[o+1], buf[o+2], buf[o+3] = yp[y*w+x], up[c], yp[y*w+x+1], vp[c]
		}
	}
}

// JPEG renders frame n of the pattern as a baseline 4:2:0 JPEG, as an
// MJPEG camera sends each frame.
func JPEG(w, h, n int, at time.Time, quality int) []byte {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	i420 := make([]byte, w*h*3/2)
	Draw(i420, w, h, n, at)
	copy(img.Y, i420[:w*h])
	copy(img.Cb, i420[w*h:w*h+w*h/4])
	copy(img.Cr, i420[w*h+w*h/4:])
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		panic(err) // encoding into memory does not fail
	}
	return b.Bytes()
}
