package ui

import (
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/vector"
)

type roundKey struct{ w, h, r int }

// kappa places cubic Bézier control points to approximate a quarter circle.
const kappa = 0.5522847498

// roundMask is an anti-aliased mask of a w×h rectangle with rounded
// corners. Only the bands of rows the corners reach are kept (band rows at
// the top, then band at the bottom, in one image): the rows between are
// opaque from edge to edge. A whole mask of a video tile was 0.5 MB at
// 1080p, cached for every size drawn, 2.4 MB of a meeting's live heap.
type roundMask struct {
	bands *image.Alpha
	band  int // 0: bands is the whole mask
}

// roundMask returns the mask of a w×h rectangle with corners of radius
// rad. Masks are cached: buttons keep their size from frame to frame.
func (r *Renderer) roundMask(w, h, rad int) roundMask {
	if rad > w/2 {
		rad = w / 2
	}
	if rad > h/2 {
		rad = h / 2
	}
	k := roundKey{w, h, rad}
	if m, ok := r.masks[k]; ok {
		return m
	}
	rm := bandsOf(rasterRound(w, h, rad), rad+1)
	r.masks[k] = rm
	return rm
}

// rasterRound rasterises the whole mask of a w×h rectangle with corners of
// radius rad (at most half of w and of h).
func rasterRound(w, h, rad int) *image.Alpha {
	z := vector.NewRasterizer(w, h)
	fw, fh, fr := float32(w), float32(h), float32(rad)
	c := fr * (1 - kappa)
	z.MoveTo(fr, 0)
	z.LineTo(fw-fr, 0)
	z.CubeTo(fw-c, 0, fw, c, fw, fr)
	z.LineTo(fw, fh-fr)
	z.CubeTo(fw, fh-c, fw-c, fh, fw-fr, fh)
	z.LineTo(fr, fh)
	z.CubeTo(c, fh, 0, fh-c, 0, fh-fr)
	z.LineTo(0, fr)
	z.CubeTo(0, c, c, 0, fr, 0)
	z.ClosePath()
	m := image.NewAlpha(image.Rect(0, 0, w, h))
	z.Draw(m, m.Bounds(), image.Opaque, image.Point{})
	return m
}

// bandsOf keeps the top and bottom band rows of m if every row between is
// fully opaque, and all of m otherwise.
func bandsOf(m *image.Alpha, band int) roundMask {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	if 2*band >= h {
		return roundMask{bands: m}
	}
	for _, a := range m.Pix[band*m.Stride : (h-band)*m.Stride] {
		if a != 0xff {
			return roundMask{bands: m}
		}
	}
	b := image.NewAlpha(image.Rect(0, 0, w, 2*band))
	copy(b.Pix, m.Pix[:band*m.Stride])
	copy(b.Pix[band*b.Stride:], m.Pix[(h-band)*m.Stride:])
	return roundMask{bands: b, band: band}
}

// fillRound fills rect with colour c and rounded corners of radius rad.
func (r *Renderer) fillRound(dst *image.RGBA, rect image.Rectangle, rad int, c color.RGBA) {
	if rect.Empty() {
		return
	}
	if rad <= 0 {
		op := draw.Src
		if c.A != 0xff {
			op = draw.Over // translucent: a label's backdrop over video
		}
		draw.Draw(dst, rect, image.NewUniform(c), image.Point{}, op)
		return
	}
	m := r.roundMask(rect.Dx(), rect.Dy(), rad)
	u := image.NewUniform(c)
	if m.band == 0 {
		draw.DrawMask(dst, rect, u, image.Point{}, m.bands, image.Point{}, draw.Over)
		return
	}
	top, bottom := rect.Min.Y+m.band, rect.Max.Y-m.band
	draw.DrawMask(dst, image.Rect(rect.Min.X, rect.Min.Y, rect.Max.X, top), u, image.Point{}, m.bands, image.Point{}, draw.Over)
	// Where the mask is opaque, image/draw's masked Over computes exactly
	// what its unmasked Over does.
	draw.Draw(dst, image.Rect(rect.Min.X, top, rect.Max.X, bottom), u, image.Point{}, draw.Over)
	draw.DrawMask(dst, image.Rect(rect.Min.X, bottom, rect.Max.X, rect.Max.Y), u, image.Point{}, m.bands, image.Pt(0, m.band), draw.Over)
}

// drawRing draws a square outline of width w just inside rect.
func drawRing(dst *image.RGBA, rect image.Rectangle, w int, c color.RGBA) {
	if w <= 0 || rect.Empty() {
		return
	}
	u := image.NewUniform(c)
	for _, e := range [...]image.Rectangle{
		{rect.Min, image.Pt(rect.Max.X, rect.Min.Y+w)},
		{image.Pt(rect.Min.X, rect.Max.Y-w), rect.Max},
		{image.Pt(rect.Min.X, rect.Min.Y+w), image.Pt(rect.Min.X+w, rect.Max.Y-w)},
		{image.Pt(rect.Max.X-w, rect.Min.Y+w), image.Pt(rect.Max.X, rect.Max.Y-w)},
	} {
		draw.Draw(dst, e.Intersect(rect), u, image.Point{}, draw.Src)
	}
}

// fillAround fills outer except inner (the letterbox bars around a picture).
func fillAround(dst *image.RGBA, outer, inner image.Rectangle, c color.RGBA) {
	inner = inner.Intersect(outer)
	if inner.Empty() {
		draw.Draw(dst, outer, image.NewUniform(c), image.Point{}, draw.Src)
		return
	}
	u := image.NewUniform(c)
	for _, e := range [...]image.Rectangle{
		{outer.Min, image.Pt(outer.Max.X, inner.Min.Y)},
		{image.Pt(outer.Min.X, inner.Max.Y), outer.Max},
		{image.Pt(outer.Min.X, inner.Min.Y), image.Pt(inner.Min.X, inner.Max.Y)},
		{image.Pt(inner.Max.X, inner.Min.Y), image.Pt(outer.Max.X, inner.Max.Y)},
	} {
		if !e.Empty() {
			draw.Draw(dst, e, u, image.Point{}, draw.Src)
		}
	}
}
