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

// roundMask returns an anti-aliased mask of a w×h rectangle with corners of
// radius rad. Masks are cached: buttons keep their size from frame to frame.
func (r *Renderer) roundMask(w, h, rad int) *image.Alpha {
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
	r.masks[k] = m
	return m
}

// fillRound fills rect with colour c and rounded corners of radius rad.
func (r *Renderer) fillRound(dst *image.RGBA, rect image.Rectangle, rad int, c color.RGBA) {
	if rect.Empty() {
		return
	}
	if rad <= 0 {
		draw.Draw(dst, rect, image.NewUniform(c), image.Point{}, draw.Src)
		return
	}
	m := r.roundMask(rect.Dx(), rect.Dy(), rad)
	draw.DrawMask(dst, rect, image.NewUniform(c), image.Point{}, m, image.Point{}, draw.Over)
}
