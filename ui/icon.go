package ui

import (
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/vector"
)

// iconID names one of the UI's few icons. They are drawn from paths on a
// 24×24 grid, so they stay crisp at every size.
type iconID uint8

const (
	noIcon iconID = iota
	micOff        // a microphone struck through: muted
)

type iconKey struct {
	id   iconID
	w, h int
}

// iconMask returns the cached mask of icon id rasterised at w×h.
func (r *Renderer) iconMask(id iconID, w, h int) *image.Alpha {
	k := iconKey{id, w, h}
	if m, ok := r.icons[k]; ok {
		return m
	}
	z := vector.NewRasterizer(w, h)
	sx, sy := float32(w)/24, float32(h)/24
	poly := func(pts ...float32) {
		z.MoveTo(pts[0]*sx, pts[1]*sy)
		for i := 2; i < len(pts); i += 2 {
			z.LineTo(pts[i]*sx, pts[i+1]*sy)
		}
		z.ClosePath()
	}
	switch id {
	case micOff:
		// Capsule.
		z.MoveTo(9*sx, 6*sy)
		z.CubeTo(9*sx, 2*sy, 15*sx, 2*sy, 15*sx, 6*sy)
		z.LineTo(15*sx, 11*sy)
		z.CubeTo(15*sx, 15*sy, 9*sx, 15*sy, 9*sx, 11*sy)
		z.ClosePath()
		// Cradle: a U from (5,10) to (19,10), 2 units thick.
		z.MoveTo(5*sx, 10*sy)
		z.CubeTo(5*sx, 20*sy, 19*sx, 20*sy, 19*sx, 10*sy)
		z.LineTo(17*sx, 10*sy)
		z.CubeTo(17*sx, 17.5*sy, 7*sx, 17.5*sy, 7*sx, 10*sy)
		z.ClosePath()
		// Stem and foot.
		poly(11, 17, 13, 17, 13, 20, 11, 20)
		poly(8, 20, 16, 20, 16, 22, 8, 22)
		// The strike, corner to corner.
		poly(3.5, 2.1, 21.9, 20.5, 20.5, 21.9, 2.1, 3.5)
	}
	m := image.NewAlpha(image.Rect(0, 0, w, h))
	z.Draw(m, m.Bounds(), image.Opaque, image.Point{})
	r.icons[k] = m
	return m
}

// drawIcon draws icon id in colour c, as a square centred in box.
func (r *Renderer) drawIcon(dst *image.RGBA, box image.Rectangle, id iconID, c color.RGBA) {
	s := min(box.Dx(), box.Dy())
	if s <= 0 {
		return
	}
	x := box.Min.X + (box.Dx()-s)/2
	y := box.Min.Y + (box.Dy()-s)/2
	rr := image.Rect(x, y, x+s, y+s)
	draw.DrawMask(dst, rr, image.NewUniform(c), image.Point{}, r.iconMask(id, s, s), image.Point{}, draw.Over)
}
