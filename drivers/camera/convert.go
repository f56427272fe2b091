package camera

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
)

// Converter turns MJPEG and YUYV frames into the I420 the H.264 encoder
// takes, reusing its output buffer. H.264 frames are not converted: they
// pass through to the meeting. A Converter is not safe for concurrent use.
type Converter struct {
	out     []byte
	scratch []byte // a JPEG with Huffman tables inserted
	rd      bytes.Reader
}

// I420 converts f, described by info, and returns the I420 frame (Y, then
// U, then V, each plane tightly packed). The result is valid until the
// next call.
func (c *Converter) I420(f Frame, info Info) ([]byte, error) {
	w, h := info.Width, info.Height
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 {
		return nil, fmt.Errorf("convert %s frame to I420: size %dx%d is not positive and even", info.Format, w, h)
	}
	size := w*h + 2*(w/2)*(h/2)
	if info.Format == I420 {
		// Passed through: a camera that sends I420 needs no second
		// frame-sized buffer (1.4 MB at 720p, one per Converter).
		if len(f.Data) < size {
			return nil, fmt.Errorf("convert I420 frame: %d bytes, want %d", len(f.Data), size)
		}
		return f.Data[:size], nil
	}
	if cap(c.out) < size {
		c.out = make([]byte, size)
	}
	c.out = c.out[:size]
	switch info.Format {
	case YUYV:
		if err := YUYVToI420(c.out, f.Data, w, h); err != nil {
			return nil, err
		}
		return c.out, nil
	case MJPEG:
		if err := c.mjpeg(f.Data, w, h); err != nil {
			return nil, err
		}
		return c.out, nil
	}
	return nil, fmt.Errorf("convert %s frame to I420: not a raw or JPEG format", info.Format)
}

// YUYVToI420 converts packed 4:2:2 (Y0 U Y1 V) to planar 4:2:0, averaging
// the chroma of each pair of rows. dst must hold w*h*3/2 bytes.
func YUYVToI420(dst, src []byte, w, h int) error {
	if len(src) < w*h*2 || len(dst) < w*h*3/2 || w%2 != 0 || h%2 != 0 {
		return fmt.Errorf("convert YUYV %dx%d: %d bytes in, %d out", w, h, len(src), len(dst))
	}
	yp := dst[:w*h]
	up := dst[w*h : w*h+w*h/4]
	vp := dst[w*h+w*h/4 : w*h+w*h/2]
	cw := w / 2
	for y := 0; y < h; y += 2 {
		r0 := src[y*w*2 : (y+1)*w*2]
		r1 := src[(y+1)*w*2 : (y+2)*w*2]
		y0 := yp[y*w : (y+1)*w]
		y1 := yp[(y+1)*w : (y+2)*w]
		u := up[y/2*cw : y/2*cw+cw]
		v := vp[y/2*cw : y/2*cw+cw]
		for x := 0; x < cw; x++ {
			a, b := r0[x*4:x*4+4], r1[x*4:x*4+4]
			y0[2*x], y0[2*x+1] = a[0], a[2]
			y1[2*x], y1[2*x+1] = b[0], b[2]
			u[x] = byte((uint(a[1]) + uint(b[1]) + 1) >> 1)
			v[x] = byte((uint(a[3]) + uint(b[3]) + 1) >> 1)
		}
	}
	return nil
}

// mjpeg decodes one JPEG into c.out. Many UVC cameras send "AVI1" MJPEG
// without Huffman tables, relying on the standard ones; those are inserted.
func (c *Converter) mjpeg(data []byte, w, h int) error {
	src, err := c.withHuffman(data)
	if err != nil {
		return err
	}
	c.rd.Reset(src)
	img, err := jpeg.Decode(&c.rd)
	if err != nil {
		return fmt.Errorf("decode MJPEG frame: %w", err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		return fmt.Errorf("decode MJPEG frame: it is %dx%d, the camera said %dx%d", b.Dx(), b.Dy(), w, h)
	}
	return toI420(c.out, img, w, h)
}

// toI420 copies a decoded JPEG's planes, subsampling chroma where the JPEG
// has more of it than 4:2:0.
func toI420(dst []byte, img image.Image, w, h int) error {
	yp, up, vp := dst[:w*h], dst[w*h:w*h+w*h/4], dst[w*h+w*h/4:]
	cw, ch := w/2, h/2
	switch m := img.(type) {
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			copy(yp[y*w:(y+1)*w], m.Y[y*m.YStride:])
		}
		// Chroma sample (cx, cy) of 4:2:0 covers pixels 2cx..2cx+1, 2cy..2cy+1.
		hs, vs := 1, 1 // chroma samples per 4:2:0 sample, horizontally and vertically
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio420:
		case image.YCbCrSubsampleRatio422:
			vs = 2
		case image.YCbCrSubsampleRatio444:
			hs, vs = 2, 2
		case image.YCbCrSubsampleRatio440:
			hs = 2
		default:
			return fmt.Errorf("decode MJPEG frame: chroma subsampling %v is not supported", m.SubsampleRatio)
		}
		for cy := 0; cy < ch; cy++ {
			for cx := 0; cx < cw; cx++ {
				var su, sv uint
				for dy := 0; dy < vs; dy++ {
					o := (cy*vs+dy)*m.CStride + cx*hs
					for dx := 0; dx < hs; dx++ {
						su += uint(m.Cb[o+dx])
						sv += uint(m.Cr[o+dx])
					}
				}
				n := uint(hs * vs)
				up[cy*cw+cx] = byte((su + n/2) / n)
				vp[cy*cw+cx] = byte((sv + n/2) / n)
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			copy(yp[y*w:(y+1)*w], m.Pix[y*m.Stride:])
		}
		for i := range up {
			up[i] = 128
		}
		for i := range vp {
			vp[i] = 128
		}
	default:
		return fmt.Errorf("decode MJPEG frame: %T images are not supported", img)
	}
	return nil
}

var errNotJPEG = errors.New("decode MJPEG frame: no JPEG start-of-image marker")

// withHuffman returns data, or a copy with the standard Huffman tables
// (JPEG Annex K.3) inserted after SOI when it has none before its scan.
func (c *Converter) withHuffman(data []byte) ([]byte, error) {
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return nil, errNotJPEG
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return data, nil // not at a marker: let the decoder complain
		}
		marker := data[i+1]
		switch {
		case marker == 0xc4: // DHT
			return data, nil
		case marker == 0xda: // SOS: the scan starts and no tables came
			c.scratch = append(append(append(c.scratch[:0], data[:2]...), standardDHT...), data[2:]...)
			return c.scratch, nil
		case marker == 0xff: // fill byte
			i++
			continue
		case marker >= 0xd0 && marker <= 0xd8 || marker == 0x01:
			i += 2 // markers without a length
			continue
		}
		i += 2 + (int(data[i+2])<<8 | int(data[i+3]))
	}
	return data, nil
}

// standardDHT is a DHT segment with the four tables of JPEG Annex K.3, the
// ones MJPEG streams without tables imply.
var standardDHT = func() []byte {
	tables := []struct {
		class byte
		bits  [16]byte
		vals  []byte
	}{
		{0x00, [16]byte{0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{0x10, [16]byte{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d}, []byte{
			0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
			0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
			0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
			0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
			0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
			0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
			0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
			0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
			0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
			0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa}},
		{0x01, [16]byte{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{0x11, [16]byte{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77}, []byte{
			0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
			0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
			0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
			0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
			0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
			0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
			0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
			0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
			0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
			0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa}},
	}
	var body []byte
	for _, t := range tables {
		body = append(append(append(body, t.class), t.bits[:]...), t.vals...)
	}
	return append([]byte{0xff, 0xc4, byte((len(body) + 2) >> 8), byte(len(body) + 2)}, body...)
}()
