package camera

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// ErrNeedsDecoder is returned by Preview for an H.264 camera: its frames
// need the meeting's decoder, which a preview does not run.
var ErrNeedsDecoder = errors.New("H.264 frames need a decoder")

// PlaceholderH264Text is what H264Placeholder says.
const PlaceholderH264Text = "Preview needs decoding: not available"

// Preview turns a frame into a picture at most maxW wide, for a preview
// or a self-view. The frame's buffer belongs to the driver and is reused
// by the next Next while the screen may still be drawing, so the picture
// is a copy; made small, it costs less than the frame and is cheaper to
// draw too. conv is reused between calls.
func Preview(conv *Converter, info Info, f Frame, maxW int) (*image.YCbCr, error) {
	if info.Format == H264 {
		return nil, ErrNeedsDecoder
	}
	i420, err := conv.I420(f, info)
	if err != nil {
		return nil, err
	}
	return DownscaleI420(i420, info.Width, info.Height, maxW)
}

// DownscaleI420 copies a w×h I420 frame into a new image.YCbCr at most
// maxW wide, keeping every n-th pixel (nearest neighbour, as the screen
// scales video anyway).
func DownscaleI420(src []byte, w, h, maxW int) (*image.YCbCr, error) {
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 || len(src) < w*h*3/2 {
		return nil, fmt.Errorf("preview: I420 frame of %d bytes for %dx%d", len(src), w, h)
	}
	n := (w + maxW - 1) / maxW
	dw, dh := (w/n)&^1, (h/n)&^1
	if dw == 0 || dh == 0 {
		return nil, fmt.Errorf("preview: frame %dx%d too small", w, h)
	}
	img := image.NewYCbCr(image.Rect(0, 0, dw, dh), image.YCbCrSubsampleRatio420)
	ys, us, vs := src[:w*h], src[w*h:w*h+w*h/4], src[w*h+w*h/4:w*h*3/2]
	cw := w / 2
	if n == 1 {
		for y := range dh {
			copy(img.Y[y*img.YStride:y*img.YStride+dw], ys[y*w:])
		}
		for y := range dh / 2 {
			copy(img.Cb[y*img.CStride:y*img.CStride+dw/2], us[y*cw:])
			copy(img.Cr[y*img.CStride:y*img.CStride+dw/2], vs[y*cw:])
		}
		return img, nil
	}
	for y := range dh {
		row, out := ys[y*n*w:], img.Y[y*img.YStride:]
		for x := range dw {
			out[x] = row[x*n]
		}
	}
	// Destination chroma sample (x, y) covers destination pixels 2x, 2y,
	// which come from source pixels 2xn, 2yn: source chroma xn, yn.
	for y := range dh / 2 {
		ur, vr := us[y*n*cw:], vs[y*n*cw:]
		uo, vo := img.Cb[y*img.CStride:], img.Cr[y*img.CStride:]
		for x := range dw / 2 {
			uo[x], vo[x] = ur[x*n], vr[x*n]
		}
	}
	return img, nil
}

// H264Placeholder is the preview of a camera that only sends H.264: a
// dark picture that says why there is none. A generic "No camera
// picture" would send staff to check a camera that works. It is the same
// image on every call, so a caller can recognise it.
var H264Placeholder = sync.OnceValue(func() image.Image {
	face := basicfont.Face7x13
	// Small, so that the screen's scaling makes the text readable.
	w := font.MeasureString(face, PlaceholderH264Text).Ceil() + 2*12
	img := image.NewRGBA(image.Rect(0, 0, w, w*9/16))
	draw.Draw(img, img.Rect, image.NewUniform(color.RGBA{0x26, 0x2a, 0x33, 0xff}), image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.RGBA{0xc8, 0xcc, 0xd4, 0xff}), Face: face,
		Dot: fixed.P(12, img.Rect.Dy()/2+face.Ascent/2)}
	d.DrawString(PlaceholderH264Text)
	return img
})
