package meeting

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
)

// YUYVToI420 converts a packed 4:2:2 YUYV frame (what most UVC cameras send
// uncompressed) into planar 4:2:0 for the encoder. Chroma of each pair of
// rows is averaged, which halves vertical chroma resolution as I420 needs.
func YUYVToI420(dst, src []byte, w, h int) error {
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 {
		return fmt.Errorf("yuyv: frame size %dx%d must be positive and even", w, h)
	}
	if len(src) < w*h*2 {
		return fmt.Errorf("yuyv: frame has %d bytes, want %d for %dx%d", len(src), w*h*2, w, h)
	}
	if len(dst) < w*h*3/2 {
		return fmt.Errorf("yuyv: I420 buffer has %d bytes, want %d", len(dst), w*h*3/2)
	}
	cw := w / 2
	yp, up, vp := dst[:w*h], dst[w*h:w*h+cw*h/2], dst[w*h+cw*h/2:w*h*3/2]
	for y := 0; y < h; y += 2 {
		r0 := src[y*w*2 : (y+1)*w*2]
		r1 := src[(y+1)*w*2 : (y+2)*w*2]
		y0 := yp[y*w : (y+1)*w]
		y1 := yp[(y+1)*w : (y+2)*w]
		u := up[(y/2)*cw : (y/2+1)*cw]
		v := vp[(y/2)*cw : (y/2+1)*cw]
		for x := 0; x < cw; x++ {
			a, b := r0[x*4:x*4+4], r1[x*4:x*4+4]
			y0[2*x], y0[2*x+1] = a[0], a[2]
			y1[2*x], y1[2*x+1] = b[0], b[2]
			u[x] = byte((uint(a[1]) + uint(b[1]) + 1) / 2)
			v[x] = byte((uint(a[3]) + uint(b[3]) + 1) / 2)
		}
	}
	return nil
}

// MJPEGToI420 decodes one JPEG frame of an MJPEG camera into I420. UVC
// cameras send 4:2:2 JPEGs (sometimes 4:2:0 or 4:4:4); all are resampled.
// A corrupt frame (cameras do send them after a USB hiccup) is an error,
// and the caller drops just that frame.
func MJPEGToI420(dst, src []byte, w, h int) error {
	if len(dst) < w*h*3/2 || w%2 != 0 || h%2 != 0 {
		return fmt.Errorf("mjpeg: I420 buffer of %d bytes does not fit %dx%d", len(dst), w, h)
	}
	img, err := jpeg.Decode(bytes.NewReader(src))
	if err != nil {
		return fmt.Errorf("mjpeg: %w", err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		return fmt.Errorf("mjpeg: frame is %dx%d, the camera said %dx%d", b.Dx(), b.Dy(), w, h)
	}
	yc, ok := img.(*image.YCbCr)
	if !ok {
		return fmt.Errorf("mjpeg: a %T frame is not a colour JPEG", img)
	}
	cw := w / 2
	yp, up, vp := dst[:w*h], dst[w*h:w*h+cw*h/2], dst[w*h+cw*h/2:w*h*3/2]
	r := yc.Rect
	for y := 0; y < h; y++ {
		copy(yp[y*w:(y+1)*w], yc.Y[yc.YOffset(r.Min.X, r.Min.Y+y):])
	}
	for y := 0; y < h/2; y++ {
		for x := 0; x < cw; x++ {
			// Sample chroma at the centre of each 2x2 block.
			o := yc.COffset(r.Min.X+2*x, r.Min.Y+2*y)
			up[y*cw+x], vp[y*cw+x] = yc.Cb[o], yc.Cr[o]
		}
	}
	return nil
}
