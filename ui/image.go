package ui

import (
	"encoding/binary"
	"image"
	"image/draw"
)

// Video frames are scaled with nearest-neighbour sampling straight into
// the back buffer. Six tiles at 30 frames a second on a small kit leave
// no time for filtering, and at the sizes tiles have (a 640×480 frame in
// a tile of a few hundred pixels to a full screen) nearest-neighbour
// looks fine on a room display seen from a few metres. The sampling
// tables are kept between frames: scaling allocates nothing once the
// largest tile has been drawn.
type scaler struct {
	xs   []int       // per destination column: offset in the source row (RGBA) or Y plane
	cs   []int       // per destination column: offset in the chroma planes (YCbCr)
	conv *image.RGBA // other image types are converted into this first
}

// fitRect returns the largest rectangle with the aspect ratio of size
// that fits in box, centred: a picture's letterboxing.
func fitRect(box image.Rectangle, size image.Point) image.Rectangle {
	bw, bh := box.Dx(), box.Dy()
	if size.X <= 0 || size.Y <= 0 || bw <= 0 || bh <= 0 {
		return image.Rectangle{}
	}
	w, h := bw, bw*size.Y/size.X
	if h > bh {
		w, h = bh*size.X/size.Y, bh
	}
	x := box.Min.X + (bw-w)/2
	y := box.Min.Y + (bh-h)/2
	return image.Rect(x, y, x+w, y+h)
}

// grow returns s with length n, reusing its array when big enough.
func grow(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}

// drawImage draws src scaled to exactly fit (see fitRect), clipped to dst.
func (r *Renderer) drawImage(dst *image.RGBA, fit image.Rectangle, src image.Image) {
	sb := src.Bounds()
	clip := fit.Intersect(dst.Rect)
	if clip.Empty() || sb.Empty() {
		return
	}
	// srcX and srcY map a destination pixel to the source pixel under
	// its centre.
	fw, fh, sw, sh := fit.Dx(), fit.Dy(), sb.Dx(), sb.Dy()
	srcX := func(x int) int { return sb.Min.X + ((2*(x-fit.Min.X)+1)*sw)/(2*fw) }
	srcY := func(y int) int { return sb.Min.Y + ((2*(y-fit.Min.Y)+1)*sh)/(2*fh) }
	sc := &r.sc
	n := clip.Dx()
	sc.xs = grow(sc.xs, n)

	switch s := src.(type) {
	case *image.YCbCr:
		sc.cs = grow(sc.cs, n)
		for i := range n {
			x := srcX(clip.Min.X + i)
			sc.xs[i] = s.YOffset(x, sb.Min.Y)
			sc.cs[i] = s.COffset(x, sb.Min.Y)
		}
		// Offsets are separable: offset(x, y) = offset(x, minY) + offset(minX, y) - offset(minX, minY).
		y0, c0 := s.YOffset(sb.Min.X, sb.Min.Y), s.COffset(sb.Min.X, sb.Min.Y)
		prev := -1
		for y := clip.Min.Y; y < clip.Max.Y; y++ {
			d := dst.Pix[dst.PixOffset(clip.Min.X, y):][:4*n]
			sy := srcY(y)
			if sy == prev {
				copy(d, dst.Pix[dst.PixOffset(clip.Min.X, y-1):][:4*n])
				continue
			}
			prev = sy
			yRow := s.YOffset(sb.Min.X, sy) - y0
			cRow := s.COffset(sb.Min.X, sy) - c0
			ys, cbs, crs := s.Y[yRow:], s.Cb[cRow:], s.Cr[cRow:]
			last := -1
			for i, xo := range sc.xs {
				if xo == last {
					// Upscaling repeats source pixels: copy the one just drawn.
					copy(d[4*i:4*i+4], d[4*i-4:4*i])
					continue
				}
				last = xo
				ci := sc.cs[i]
				cr, cg, cb := ycbcrToRGB(ys[xo], cbs[ci], crs[ci])
				p := d[4*i : 4*i+4 : 4*i+4]
				p[0], p[1], p[2], p[3] = cr, cg, cb, 0xff
			}
		}
		return
	case *image.RGBA:
		r.scaleRGBA(dst, clip, s, srcX, srcY)
	default:
		// Anything else (NRGBA, paletted, …) is converted first: slower,
		// but video decoders hand over YCbCr and tests RGBA.
		if sc.conv == nil || sc.conv.Rect.Dx() < sw || sc.conv.Rect.Dy() < sh {
			w, h := sw, sh
			if sc.conv != nil {
				w, h = max(w, sc.conv.Rect.Dx()), max(h, sc.conv.Rect.Dy())
			}
			sc.conv = image.NewRGBA(image.Rect(0, 0, w, h))
		}
		c := sc.conv.SubImage(image.Rect(0, 0, sw, sh)).(*image.RGBA)
		draw.Draw(c, c.Rect, src, sb.Min, draw.Src)
		// c has its origin at 0,0: shift the source coordinates.
		r.scaleRGBA(dst, clip, c,
			func(x int) int { return srcX(x) - sb.Min.X },
			func(y int) int { return srcY(y) - sb.Min.Y })
	}
}

func (r *Renderer) scaleRGBA(dst *image.RGBA, clip image.Rectangle, s *image.RGBA, srcX, srcY func(int) int) {
	n := clip.Dx()
	xs := r.sc.xs[:n]
	for i := range n {
		xs[i] = s.PixOffset(srcX(clip.Min.X+i), s.Rect.Min.Y) - s.PixOffset(s.Rect.Min.X, s.Rect.Min.Y)
	}
	prev := -1
	for y := clip.Min.Y; y < clip.Max.Y; y++ {
		d := dst.Pix[dst.PixOffset(clip.Min.X, y):][:4*n]
		sy := srcY(y)
		if sy == prev {
			// Upscaling repeats source rows: copy the row just drawn.
			copy(d, dst.Pix[dst.PixOffset(clip.Min.X, y-1):][:4*n])
			continue
		}
		prev = sy
		row := s.Pix[s.PixOffset(s.Rect.Min.X, sy):]
		for i, o := range xs {
			binary.LittleEndian.PutUint32(d[4*i:], binary.LittleEndian.Uint32(row[o:]))
		}
	}
}

// ycbcrToRGB is color.YCbCrToRGB, written so the compiler inlines it:
// the per-pixel call through image/color would dominate a frame's cost.
func ycbcrToRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	yy1 := int32(y) * 0x10101
	cb1 := int32(cb) - 128
	cr1 := int32(cr) - 128
	return clamp16(yy1 + 91881*cr1), clamp16(yy1 - 22554*cb1 - 46802*cr1), clamp16(yy1 + 116130*cb1)
}

// clamp16 is v>>16 clamped to 0..255, as in color.YCbCrToRGB.
func clamp16(v int32) uint8 {
	if uint32(v)&0xff000000 == 0 {
		return uint8(v >> 16)
	}
	return uint8(^(v >> 31))
}
