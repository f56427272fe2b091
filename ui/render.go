package ui

import (
	"image"
	"image/draw"
	"math"
	"slices"
	"strings"

	"roomkit/internal/offheap"
	"roomkit/internal/textfield"
)

// Renderer draws Views for one screen size. It draws into a screen-sized
// image that keeps the last frame (its own back buffer, or pixels a display
// lends it: RenderTo), keeps a layer of everything that does not change
// from frame to frame, and caches font faces, glyphs, corner masks and QR
// codes, so that a frame where only the clock moved costs a few small
// blits.
//
// A Renderer is not safe for concurrent use: one goroutine (the appliance's
// render loop) owns it.
type Renderer struct {
	size  image.Point
	scale float64

	back *image.RGBA // what Render returns; made by its first call
	// dst is the image the last frame was drawn into (back, or what
	// RenderTo was given): the static items are drawn again into any
	// other.
	dst *image.RGBA
	// static keeps the background and non-dynamic items, but only under
	// the rectangles in saved: what the dynamic items cover and each frame
	// restores. Its pages (outside the heap) are given back whenever the
	// static items change, so an idle screen whose only dynamic item is
	// the clock keeps a strip of it, not a whole second screen.
	static *image.RGBA
	saved  []image.Rectangle

	staticItems []item // the non-dynamic items drawn into the frame
	// covers are the rectangles of dynamic items that paint every pixel
	// of them (video tiles) in this frame, prevCovers in the last one:
	// nothing under them needs saving or restoring while they stay put.
	covers, prevCovers []image.Rectangle
	staticValid        bool
	dirty              []image.Rectangle // dynamic rectangles drawn into the frame last time

	items []item // layout scratch space, reused
	order []int  // tile order scratch space, reused
	faces map[faceKey]*face
	masks map[roundKey]roundMask
	icons map[iconKey]*image.Alpha
	qr    qrCache
	sc    scaler  // video frame scaling tables, reused
	sh    *shaper // created when text first needs shaping
}

// NewRenderer returns a renderer for a screen of the given size in pixels.
// Everything is laid out on a 1920×1080 grid scaled to fit size, so
// Size1080p and Size800p (and other landscape sizes) all work.
func NewRenderer(size image.Point) *Renderer {
	s := min(float64(size.X)/1920, float64(size.Y)/1080)
	return &Renderer{
		size:  size,
		scale: s,
		// The screen-sized layers are most of an idle kit's memory:
		// outside the heap they do not double the collector's goal, and
		// only the pages written count. The back buffer waits for Render:
		// a display that lends its pixels (RenderTo) needs none.
		static: offheap.RGBA(image.Rectangle{Max: size}),
		faces:  make(map[faceKey]*face),
		masks:  make(map[roundKey]roundMask),
		icons:  make(map[iconKey]*image.Alpha),
	}
}

// Render draws v and returns the frame. The image is the renderer's back
// buffer: it stays valid until the next call to Render and must not be
// modified. Display.Show copies it, which is all callers need.
func (r *Renderer) Render(v View) *image.RGBA {
	if r.back == nil {
		r.back = offheap.RGBA(image.Rectangle{Max: r.size})
	}
	r.RenderTo(r.back, v)
	return r.back
}

// RenderTo draws v into dst, an image of the screen's size at (0,0), and
// draws only what changed if dst is the image of the previous call and
// nobody else wrote to it since. It is for a display that lends the UI its
// own pixels (display.Canvas): the screen then costs one buffer, the
// display's, instead of a back buffer and a copy of it.
func (r *Renderer) RenderTo(dst *image.RGBA, v View) {
	if dst.Rect != (image.Rectangle{Max: r.size}) {
		panic("ui: RenderTo an image of " + dst.Rect.String() + " on a renderer for " + r.size.String())
	}
	if dst != r.dst {
		r.staticValid, r.dst = false, dst
	}
	items := r.layout(v)
	r.prevCovers, r.covers = r.covers, r.prevCovers[:0]
	for i := range items {
		if items[i].dynamic && items[i].covers() {
			r.covers = append(r.covers, items[i].r.Intersect(dst.Rect))
		}
	}
	// A tile that moved or went uncovers pixels nobody saved: draw the
	// static items again then, as when they change.
	sameCovers := slices.Equal(r.covers, r.prevCovers)
	if !r.staticValid || !sameCovers || !sameStatic(items, r.staticItems) {
		draw.Draw(dst, dst.Rect, image.NewUniform(colBackground), image.Point{}, draw.Src)
		r.staticItems = r.staticItems[:0]
		for i := range items {
			if !items[i].dynamic {
				r.drawItem(dst, &items[i])
				r.staticItems = append(r.staticItems, items[i])
			}
		}
		r.staticValid = true
		offheap.Discard(r.static)
		r.saved = r.saved[:0]
	} else {
		// Same screen as last frame: only undo what the dynamic items
		// drew, except where a tile paints over it again anyway.
		for _, d := range r.dirty {
			if !r.covered(d) {
				draw.Draw(dst, d, r.static, d.Min, draw.Src)
			}
		}
	}
	// dst shows only the static items now, but under the tiles: keep what
	// lies under each other dynamic item before drawing it. Under a tile
	// that stays put nothing is ever restored, so the static layer does not
	// hold most of a meeting's screen (8 MB at 1080p).
	for i := range items {
		if items[i].dynamic && !r.covered(items[i].r) {
			r.save(items[i].r)
		}
	}
	r.dirty = r.dirty[:0]
	for i := range items {
		if items[i].dynamic {
			r.drawItem(dst, &items[i])
			r.dirty = append(r.dirty, items[i].r)
		}
	}
}

// save copies the frame's pixels under d into the static layer, unless
// they were copied since the static items last changed. It runs while the
// frame (r.dst) shows the static items alone.
func (r *Renderer) save(d image.Rectangle) {
	d = d.Intersect(r.dst.Rect)
	for _, s := range r.saved {
		if d.In(s) {
			return
		}
	}
	if len(r.saved) >= maxSaved {
		// Dynamic items that keep moving over an unchanged screen: keep
		// one rectangle around them all rather than a growing list.
		for _, s := range r.saved {
			d = d.Union(s)
		}
		r.saved = r.saved[:0]
	}
	draw.Draw(r.static, d, r.dst, d.Min, draw.Src)
	r.saved = append(r.saved, d)
}

// covered reports whether d lies inside one of this frame's tiles (covers
// of dynamic items that paint all their pixels).
func (r *Renderer) covered(d image.Rectangle) bool {
	d = d.Intersect(r.dst.Rect)
	for _, c := range r.covers {
		if d.In(c) {
			return true
		}
	}
	return false
}

// covers reports whether drawItem paints every pixel of the item's
// rectangle: a video frame with its letterbox bars (see drawItem).
func (it *item) covers() bool {
	return it.img != nil && !it.ring && it.radius == 0 && it.fill.A == 0xff
}

// maxSaved bounds the rectangles the static layer keeps apart; screens
// have a few dozen dynamic items at most.
const maxSaved = 64

// Hit returns the action of the control at p on the screen v describes, or
// None when p is on no control.
func (r *Renderer) Hit(v View, p image.Point) Action {
	items := r.layout(v)
	// Later items are drawn on top: test them first.
	for i := len(items) - 1; i >= 0; i-- {
		if items[i].action.Kind != None && p.In(items[i].r) {
			return items[i].action
		}
	}
	return act(None)
}

// markDynamic makes every item with a picture dynamic, and every item
// drawn over a dynamic one: a name label on a video tile is redrawn each
// frame because the frame under it is.
func markDynamic(items []item) {
	for i := range items {
		if items[i].img != nil {
			items[i].dynamic = true
		}
		if !items[i].dynamic {
			continue
		}
		for j := i + 1; j < len(items); j++ {
			if !items[j].dynamic && items[j].r.Overlaps(items[i].r) {
				items[j].dynamic = true
			}
		}
	}
}

// sameStatic reports whether the non-dynamic items of items are exactly
// those the static layer was drawn from. The layout is the one source of
// truth, so equal items draw equal pixels: the clock ticking or a video
// frame changing never redraws the static layer.
func sameStatic(items, static []item) bool {
	n := 0
	for i := range items {
		if items[i].dynamic {
			continue
		}
		if n >= len(static) || items[i] != static[n] {
			return false
		}
		n++
	}
	return n == len(static)
}

// drawItem draws one item into dst, clipped to the item's rectangle.
func (r *Renderer) drawItem(dst *image.RGBA, it *item) {
	if it.ring {
		drawRing(dst, it.r, it.stroke, it.border)
		return
	}
	if it.img != nil && it.radius == 0 && it.fill.A == 0xff {
		// A video frame: fill only the letterbox bars, the frame covers
		// the rest.
		fit := fitRect(it.r, it.img.Bounds().Size())
		fillAround(dst, it.r, fit, it.fill)
		r.drawImage(dst, fit, it.img)
	} else if it.border.A != 0 {
		r.fillRound(dst, it.r, it.radius, it.border)
		inner := it.r.Inset(it.stroke)
		bg := it.fill
		if bg.A == 0 {
			bg = colBackground
		}
		r.fillRound(dst, inner, it.radius-it.stroke, bg)
	} else if it.fill.A != 0 {
		r.fillRound(dst, it.r, it.radius, it.fill)
	}
	if it.img != nil && !(it.radius == 0 && it.fill.A == 0xff) {
		r.drawImage(dst, fitRect(it.r, it.img.Bounds().Size()), it.img)
	}
	if it.icon != noIcon {
		r.drawIcon(dst, it.r, it.icon, it.color)
	}
	if it.qr != "" {
		r.drawQR(dst, it.r, it.qr)
	}
	if it.text != "" {
		r.drawLabel(dst, it)
	}
}

// drawLabel fits the item's text into its rectangle (less padding), cutting
// it with an ellipsis if needed, and centres it vertically.
func (r *Renderer) drawLabel(dst *image.RGBA, it *item) {
	box := it.r.Inset(it.pad)
	if box.Empty() {
		return
	}
	fc := r.face(it.font, it.size)
	s := fc.fit(oneLine(it.text), box.Dx())
	w := fc.width(s)
	x := box.Min.X
	switch it.align {
	case center:
		x += (box.Dx() - w) / 2
	case right:
		x += box.Dx() - w
	}
	y := it.r.Min.Y + (it.r.Dy()-(fc.ascent+fc.descent))/2 + fc.ascent
	clipR := it.r
	if !it.dynamic && fc.needsShaping(s) {
		// Arabic dots and marks and CJK ideographs reach past the Go
		// font's ascent and descent, which size the row: let them out a
		// little rather than cut them. Static items only: a dynamic one
		// is erased by its rectangle every frame.
		m := fc.size / 4
		clipR = image.Rect(it.r.Min.X, it.r.Min.Y-m, it.r.Max.X, it.r.Max.Y+m)
	}
	clip := dst.SubImage(clipR).(*image.RGBA)
	fc.drawText(clip, x, y, s, it.color)
}

// oneLine turns control characters (newlines and tabs in error messages
// from elsewhere) and bidi embeddings and overrides into spaces: every
// label is a single line, and no label reorders another.
func oneLine(s string) string {
	if strings.IndexFunc(s, textfield.Refused) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if textfield.Refused(r) {
			return ' '
		}
		return r
	}, s)
}

// px scales a length on the design grid to screen pixels.
func (r *Renderer) px(v float64) int { return int(math.Round(v * r.scale)) }
